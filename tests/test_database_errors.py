"""When the database fails a request, the answer is still written, without the database: a
500 problem (API) or the generic error page (pages), never an exception out of the app.

The failed request's rollback expires the signed-in user, whom choosing the language and the
page's header would reload; the failure is simulated so that any further query fails too."""

from __future__ import annotations

import pytest
from flask import Flask, g, has_request_context
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from casework.extensions import db
from tests.conftest import api_token, sign_in
from tests.factories import World

GONE = OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))


@pytest.fixture
def database_goes_away(app: Flask, monkeypatch: pytest.MonkeyPatch):
    """Replace a view by one that loses the database: from then on, in that request only,
    every query fails."""
    execute = Session.execute

    def execute_unless_gone(self, *args, **kwargs):
        if has_request_context() and g.get("database_gone"):
            raise GONE
        return execute(self, *args, **kwargs)

    monkeypatch.setattr(Session, "execute", execute_unless_gone)

    def break_view(endpoint: str, action: str) -> None:
        def lost(**_kwargs):
            db.session.expire_all()
            g.database_gone = True
            raise GONE

        lost.casework_action = action  # declared, like the view it replaces
        monkeypatch.setitem(app.view_functions, endpoint, lost)

    return break_view


def test_the_api_answers_a_500_problem(app: Flask, world: World, database_goes_away) -> None:
    client = app.test_client()
    headers = api_token(client, world.users["caseworker"])
    database_goes_away("api_people.get_person", "person.view")

    response = client.get(f"/api/v1/people/{world.people['rabat']}", headers=headers)

    assert response.status_code == 500
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 500


def test_a_page_answers_the_error_page(app: Flask, world: World, database_goes_away) -> None:
    client = app.test_client()
    sign_in(client, world.users["caseworker"])
    database_goes_away("people.view", "person.view")

    response = client.get(f"/people/{world.people['rabat']}")

    assert response.status_code == 500
    assert "text/html" in response.content_type
    assert "Traceback" not in response.get_data(as_text=True)
