"""The regularisation path through the API, as issue #3's "done when" describes it."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Flask

from casework.cases.models import Case
from casework.extensions import db
from tests.conftest import api_token
from tests.factories import World


def _file(client, headers, world: World, **extra):
    body = {"kind": "regularisation", "applicant_id": world.people["rabat"],
            "category": "residence_5_years", **extra}  # fmt: skip
    response = client.post("/api/v1/cases", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _act(client, headers, case: dict, action: str, **fields):
    response = client.post(
        f"/api/v1/cases/{case['id']}/actions/{action}",
        json={"version": case["version"], **fields},
        headers=headers,
    )
    return response


def test_regularisation_from_filing_to_card(app: Flask, world: World) -> None:
    client = app.test_client()
    cw = api_token(client, world.users["caseworker"])
    sv = api_token(client, world.users["supervisor"])
    case = _file(client, cw, world, member_ids=[world.people["rabat_child"]])
    assert case["reference"].startswith(f"REG-{date.today().year}-RAB-")
    assert case["state"] == "filed"
    assert case["allowed_actions"] == ["start_review", "withdraw"]
    assert case["member_ids"] == [world.people["rabat_child"]]

    case = _act(client, cw, case, "start_review").get_json()
    case = _act(
        client, cw, case, "propose_decision", outcome="favourable",
        reasons=["meets_category_conditions"],
    ).get_json()  # fmt: skip
    assert case["state"] == "decision_proposed"
    # The caseworker who proposed cannot approve: their role may not.
    refused = _act(client, cw, case, "approve_decision")
    assert refused.status_code == 403
    assert refused.mimetype == "application/problem+json"
    case = _act(client, sv, case, "approve_decision").get_json()
    assert case["state"] == "accepted"
    assert case["first_instance_outcome"] == "favourable"
    case = _act(client, cw, case, "issue_card", card_number="CI-2026-000001").get_json()
    assert case["state"] == "card_issued"
    assert case["card_expires_on"] == (date.today() + timedelta(days=365)).isoformat()
    case = _act(client, cw, case, "close").get_json()
    assert case["state"] == "closed"
    timeline = client.get(f"/api/v1/cases/{case['id']}", headers=cw).get_json()["timeline"]
    assert [e["action"] for e in timeline] == [
        None,
        "start_review",
        "propose_decision",
        "approve_decision",
        "issue_card",
        "close",
    ]


def test_rejected_case_appeals_inside_the_window_and_not_after(app: Flask, world: World) -> None:
    client = app.test_client()
    cw = api_token(client, world.users["caseworker"])
    sv = api_token(client, world.users["supervisor"])
    case = _file(client, cw, world)
    case = _act(client, cw, case, "start_review").get_json()
    case = _act(client, cw, case, "propose_decision", outcome="unfavourable",
                reasons=["insufficient_proof_of_stay"]).get_json()  # fmt: skip
    case = _act(client, sv, case, "approve_decision").get_json()
    assert case["state"] == "rejected"
    assert case["deadline_kind"] == "appeal_window"

    # Move the notification 31 days back: the 30-day window has closed.
    with app.app_context():
        row = db.session.get(Case, case["id"])
        row.notified_on = date.today() - timedelta(days=31)
        db.session.commit()
        version = row.version
    late = client.post(f"/api/v1/cases/{case['id']}/actions/lodge_appeal",
                       json={"version": version}, headers=cw)  # fmt: skip
    assert late.status_code == 409
    assert "appeal window closed" in late.get_json()["detail"]

    with app.app_context():
        row = db.session.get(Case, case["id"])
        row.notified_on = date.today() - timedelta(days=29)
        db.session.commit()
        version = row.version
    case = client.post(f"/api/v1/cases/{case['id']}/actions/lodge_appeal",
                       json={"version": version}, headers=cw).get_json()  # fmt: skip
    assert case["state"] == "appeal_lodged"
    # The appeal is decided by someone other than who decided the file (four eyes).
    assert _act(client, sv, case, "decide_appeal", outcome="granted").status_code == 403
    other = api_token(client, world.users["regional"])
    case = _act(client, other, case, "decide_appeal", outcome="granted").get_json()
    assert case["state"] == "appeal_granted"


def test_illegal_action_answers_409_with_allowed_actions(app: Flask, world: World) -> None:
    client = app.test_client()
    cw = api_token(client, world.users["caseworker"])
    case = _file(client, cw, world)
    response = _act(client, cw, case, "issue_card", card_number="X-1")
    assert response.status_code == 409
    body = response.get_json()
    assert body["state"] == "filed"
    assert body["allowed_actions"] == ["start_review", "withdraw"]


def test_stale_version_answers_409_and_changes_nothing(app: Flask, world: World) -> None:
    client = app.test_client()
    cw = api_token(client, world.users["caseworker"])
    case = _file(client, cw, world)
    _act(client, cw, case, "start_review")
    stale = _act(client, cw, case, "withdraw", comment="applicant left")
    assert stale.status_code == 409
    current = client.get(f"/api/v1/cases/{case['id']}", headers=cw).get_json()
    assert current["state"] == "under_review"
