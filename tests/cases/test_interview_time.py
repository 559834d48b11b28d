"""An interview time typed on the case page is local (Africa/Casablanca) and is shown back as
typed: one zone database (Flask-Babel's pytz) reads and displays it, whatever the operating
system's tzdata says."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Flask
from flask_babel import get_timezone

from casework.cases.models import Case
from casework.extensions import db
from tests.cases.helpers import case_in
from tests.conftest import sign_in
from tests.factories import World


def test_the_interview_time_typed_is_the_time_shown(app: Flask, world: World) -> None:
    with app.app_context():
        case = case_in(world, "asylum", "certificate_issued")
        db.session.commit()
        case_id, version = case.id, case.version
    day = date.today() + timedelta(days=10)
    client = app.test_client()
    sign_in(client, world.users["caseworker"])

    response = client.post(
        f"/cases/{case_id}/actions/schedule_interview",
        data={
            "schedule_interview-version": str(version),
            "schedule_interview-interview_on": f"{day.isoformat()}T10:30",
            "schedule_interview-interpreter_language": "en",
        },
        headers={"Accept-Language": "en"},
    )

    assert response.status_code == 302
    with app.test_request_context():
        stored = db.session.get(Case, case_id).interview_on
        local = stored.astimezone(get_timezone())
        assert (local.date(), local.hour, local.minute) == (day, 10, 30)
    page = client.get(f"/cases/{case_id}", headers={"Accept-Language": "en"})
    assert "10:30" in page.get_data(as_text=True)
