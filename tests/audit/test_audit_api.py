"""GET /api/v1/audit for auditors, and refused authorisations in the trail."""

from __future__ import annotations

from flask import Flask

from casework.audit.models import AuditEntry
from casework.extensions import db
from tests.conftest import api_token, sign_in
from tests.factories import World


def test_auditors_search_the_trail_by_action_and_user(app: Flask, world: World) -> None:
    client = app.test_client()
    caseworker = api_token(client, world.users["caseworker"])
    client.get(f"/api/v1/people/{world.people['rabat']}", headers=caseworker)
    auditor = api_token(client, world.users["auditor"])
    response = client.get(
        "/api/v1/audit",
        query_string={"action": "person.view", "user": world.users["caseworker"]},
        headers=auditor,
    )
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert [e["record_id"] for e in items] == [world.people["rabat"]]
    assert items[0]["data"] == {"channel": "api"}


def test_only_auditors_read_the_trail(app: Flask, world: World) -> None:
    client = app.test_client()
    for role in ("admin", "supervisor", "caseworker", "ngo"):
        response = client.get("/api/v1/audit", headers=api_token(client, world.users[role]))
        assert response.status_code == 403, role


def test_bad_periods_are_refused_not_answered(app: Flask, world: World) -> None:
    client = app.test_client()
    auditor = api_token(client, world.users["auditor"])
    bad = client.get("/api/v1/audit?from=2026-02-01&to=2026-01-01", headers=auditor)
    assert bad.status_code == 400
    assert bad.mimetype == "application/problem+json"
    assert client.get("/api/v1/audit?from=yesterday", headers=auditor).status_code == 422


def test_a_refused_authorisation_is_audited(app: Flask, world: World) -> None:
    client = app.test_client()
    sign_in(client, world.users["ngo"])
    assert client.get("/admin/users").status_code == 403
    with app.app_context():
        entry = db.session.scalars(
            db.select(AuditEntry).where(AuditEntry.action == "authz.denied")
        ).one()
        assert entry.user_id == world.user_ids["ngo"]
        assert entry.data == {"endpoint": "admin.users", "needed": "user.manage"}
