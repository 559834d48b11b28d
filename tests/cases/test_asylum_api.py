"""The asylum path through the API (issue #3), its appeal, and the API's refusals."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from casework.cases.models import Case
from casework.extensions import db
from tests.conftest import api_token
from tests.factories import World

PROBLEM = "application/problem+json"


class Api:
    """A signed-in API caller."""

    def __init__(self, client: FlaskClient, world: World, key: str) -> None:
        self.client = client
        self.headers = api_token(client, world.users[key])

    def file(self, **body):
        return self.client.post("/api/v1/cases", json=body, headers=self.headers)

    def get(self, case_id: int):
        return self.client.get(f"/api/v1/cases/{case_id}", headers=self.headers)

    def act(self, case: dict, action: str, **fields):
        return self.client.post(
            f"/api/v1/cases/{case['id']}/actions/{action}",
            json={"version": case["version"], **fields},
            headers=self.headers,
        )

    def ok(self, case: dict, action: str, **fields) -> dict:
        response = self.act(case, action, **fields)
        assert response.status_code == 200, response.get_json()
        return response.get_json()


class Callers(dict):
    """Signs a caller in on first use (a token costs an argon2 check)."""

    def __init__(self, client: FlaskClient, world: World) -> None:
        super().__init__()
        self.client, self.world = client, world

    def __missing__(self, key: str) -> Api:
        self[key] = Api(self.client, self.world, key)
        return self[key]


@pytest.fixture
def callers(app: Flask, world: World) -> Callers:
    return Callers(app.test_client(), world)


def _asylum(callers: dict[str, Api], world: World, key: str = "caseworker", person="rabat"):
    response = callers[key].file(kind="asylum", applicant_id=world.people[person])
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _to_interviewed(cw: Api, case: dict) -> dict:
    case = cw.ok(case, "start_pre_screening")
    case = cw.ok(case, "issue_certificate")
    case = cw.ok(case, "schedule_interview", interview_on="2026-12-10T09:30:00+01:00",
                 interpreter_language="ar")  # fmt: skip
    return cw.ok(case, "record_interview")


def _instant(text: str) -> datetime:
    """A datetime the API returned; SQLite gives it back naive (in UTC when stored in UTC)."""
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_json()
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == status and body["title"]
    return body


def test_asylum_from_registration_to_card_closing_and_reopening(
    callers: dict[str, Api], world: World
) -> None:
    cw, sv = callers["caseworker"], callers["supervisor"]
    today = date.today()
    case = _asylum(callers, world)
    assert case["reference"] == f"ASY-{today.year}-RAB-000001"
    assert (case["state"], case["kind"], case["operation"], case["category"]) == (
        "registered",
        "asylum",
        "ASYLUM",
        None,
    )
    assert case["allowed_actions"] == ["start_pre_screening", "withdraw"]

    case = cw.ok(case, "start_pre_screening")
    assert case["state"] == "pre_screening"
    case = cw.ok(case, "issue_certificate")
    assert case["state"] == "certificate_issued"
    case = cw.ok(case, "schedule_interview", interview_on="2026-12-10T09:30:00Z",
                 interpreter_language="ar")  # fmt: skip
    assert case["state"] == "interview_scheduled"
    assert _instant(case["interview_on"]) == datetime(2026, 12, 10, 9, 30, tzinfo=UTC)
    assert case["interpreter_language"] == "ar"
    assert case["allowed_actions"] == ["schedule_interview", "record_interview", "withdraw"]
    case = cw.ok(case, "record_interview")
    assert case["state"] == "interviewed"
    case = cw.ok(case, "propose_decision", outcome="favourable", reasons=["well_founded_fear"],
                 decision_text="Credible account of persecution.")  # fmt: skip
    assert (case["state"], case["proposed_outcome"]) == ("decision_proposed", "favourable")
    assert case["warnings"] == []
    assert sv.get(case["id"]).get_json()["allowed_actions"] == [
        "approve_decision",
        "return_proposal",
    ]
    case = sv.ok(case, "approve_decision")
    assert (case["state"], case["first_instance_outcome"]) == ("recognised", "favourable")
    assert case["decided_on"] == today.isoformat()
    case = cw.ok(case, "refer_to_bra")
    assert (case["state"], case["referred_to_bra_on"]) == ("referred_to_bra", today.isoformat())
    case = cw.ok(case, "mark_pending_bra")
    assert case["state"] == "pending_bra"
    case = cw.ok(case, "issue_card", card_number="ref-2026-000123")
    assert (case["state"], case["card_number"]) == ("card_issued", "REF-2026-000123")
    assert case["card_expires_on"] == (today + timedelta(days=365)).isoformat()
    case = cw.ok(case, "close")
    assert (case["state"], case["closed_on"]) == ("closed", today.isoformat())
    assert case["allowed_actions"] == []

    # Re-opening is for a supervisor, and needs a reason.
    _assert_problem(cw.act(case, "reopen", comment="New evidence."), 403)
    missing = _assert_problem(sv.act(case, "reopen"), 422)
    assert set(missing["errors"]) == {"comment"}
    case = sv.ok(case, "reopen", comment="New evidence from the BRA.")
    assert (case["state"], case["closed_on"]) == ("registered", None)

    timeline = cw.get(case["id"]).get_json()["timeline"]
    assert [e["action"] for e in timeline] == [
        None, "start_pre_screening", "issue_certificate", "schedule_interview", "record_interview",
        "propose_decision", "approve_decision", "refer_to_bra", "mark_pending_bra", "issue_card",
        "close", "reopen",
    ]  # fmt: skip
    assert timeline[-1]["comment"] == "New evidence from the BRA."
    assert (timeline[-1]["from_state"], timeline[-1]["to_state"]) == ("closed", "registered")
    assert [e["to_state"] for e in timeline][:3] == ["registered", "pre_screening",
                                                       "certificate_issued"]  # fmt: skip


def test_a_rejected_asylum_seeker_appeals_within_30_days_and_is_recognised(
    app: Flask, callers: dict[str, Api], world: World
) -> None:
    cw, sv, regional = callers["caseworker"], callers["supervisor"], callers["regional"]
    case = _to_interviewed(cw, _asylum(callers, world))
    case = cw.ok(case, "propose_decision", outcome="unfavourable", reasons=["not_credible"])
    case = sv.ok(case, "approve_decision")
    today = date.today()
    assert (case["state"], case["first_instance_outcome"]) == ("rejected", "unfavourable")
    assert case["deadline_kind"] == "appeal_window"
    assert case["appeal_deadline"] == (today + timedelta(days=30)).isoformat()
    # Closing now is refused: the window is still open.
    too_soon = _assert_problem(cw.act(case, "close"), 409)
    assert (today + timedelta(days=30)).isoformat() in too_soon["detail"]

    # Notified 30 days ago: today is the last day of the window.
    with app.app_context():
        row = db.session.get(Case, case["id"])
        row.notified_on = today - timedelta(days=30)
        db.session.commit()
        case["version"] = row.version
    case = cw.ok(case, "lodge_appeal")
    assert (case["state"], case["appeal_lodged_on"]) == ("appeal_lodged", today.isoformat())
    assert case["deadline_kind"] is None

    # The officer who decided the first instance may not hear the appeal.
    assert "decide_appeal" not in sv.get(case["id"]).get_json()["allowed_actions"]
    four_eyes = _assert_problem(sv.act(case, "decide_appeal", outcome="granted"), 403)
    assert "someone other" in four_eyes["detail"]
    assert "decide_appeal" in regional.get(case["id"]).get_json()["allowed_actions"]
    missing = _assert_problem(regional.act(case, "decide_appeal"), 422)
    assert set(missing["errors"]) == {"outcome"}
    case = regional.ok(case, "decide_appeal", outcome="granted")
    assert (case["state"], case["appeal_outcome"]) == ("recognised", "granted")
    assert case["appeal_decided_on"] == today.isoformat()
    assert case["first_instance_outcome"] == "unfavourable"
    case = cw.ok(case, "refer_to_bra")
    assert case["state"] == "referred_to_bra"


def test_a_dismissed_asylum_appeal_closes_the_file(
    app: Flask, callers: dict[str, Api], world: World
) -> None:
    cw, sv, regional = callers["caseworker"], callers["supervisor"], callers["regional"]
    case = _to_interviewed(cw, _asylum(callers, world))
    case = cw.ok(case, "propose_decision", outcome="unfavourable",
                 reasons=["outside_convention_grounds"])  # fmt: skip
    case = sv.ok(case, "approve_decision")
    case = cw.ok(case, "lodge_appeal")
    case = regional.ok(case, "decide_appeal", outcome="dismissed")
    assert case["state"] == "appeal_dismissed"
    case = sv.ok(case, "close")
    assert case["state"] == "closed"


def test_a_supervisor_sends_a_proposal_back_to_the_interviewed_state(
    callers: dict[str, Api], world: World
) -> None:
    cw, sv = callers["caseworker"], callers["supervisor"]
    case = _to_interviewed(cw, _asylum(callers, world))
    case = cw.ok(case, "propose_decision", outcome="favourable", reasons=["well_founded_fear"])
    _assert_problem(sv.act(case, "propose_decision", outcome="favourable",
                           reasons=["well_founded_fear"]), 409)  # fmt: skip
    case = sv.ok(case, "return_proposal", comment="Check the travel route.")
    assert (case["state"], case["proposed_outcome"], case["proposed_reasons"]) == (
        "interviewed",
        None,
        [],
    )


def test_another_offices_caseworker_cannot_find_the_file(
    callers: dict[str, Api], world: World
) -> None:
    case = _asylum(callers, world)  # Rabat
    tanger = callers["caseworker2"]
    for response in (
        tanger.get(case["id"]),
        tanger.act(case, "start_pre_screening"),
        tanger.client.post(f"/api/v1/cases/{case['id']}/assign",
                           json={"version": case["version"], "assignee_id": None},
                           headers=tanger.headers),
        tanger.client.post(f"/api/v1/cases/{case['id']}/notes", json={"comment": "hello"},
                           headers=tanger.headers),
    ):  # fmt: skip
        _assert_problem(response, 404)
    # Nothing changed.
    current = callers["caseworker"].get(case["id"]).get_json()
    assert (current["state"], current["version"], len(current["timeline"])) == (
        "registered",
        case["version"],
        1,
    )


def test_a_regional_supervisor_cannot_find_another_regions_file(
    callers: dict[str, Api], world: World
) -> None:
    case = _asylum(callers, world, "caseworker2", "tanger")
    assert case["reference"].startswith(f"ASY-{date.today().year}-TNG-")
    _assert_problem(callers["regional"].get(case["id"]), 404)
    assert callers["supervisor"].get(case["id"]).status_code == 200


def test_asylum_files_have_no_category(callers: dict[str, Api], world: World) -> None:
    response = callers["caseworker"].file(
        kind="asylum", applicant_id=world.people["rabat"], category="residence_5_years"
    )
    body = _assert_problem(response, 422)
    assert set(body["errors"]) == {"category"}


def test_scheduling_an_interview_needs_its_fields_and_a_timezone(
    callers: dict[str, Api], world: World
) -> None:
    cw = callers["caseworker"]
    case = cw.ok(cw.ok(_asylum(callers, world), "start_pre_screening"), "issue_certificate")
    missing = _assert_problem(cw.act(case, "schedule_interview"), 422)
    assert set(missing["errors"]) == {"interview_on", "interpreter_language"}
    naive = _assert_problem(cw.act(case, "schedule_interview", interview_on="2026-12-10T09:30:00",
                                   interpreter_language="ar"), 422)  # fmt: skip
    assert "interview_on" in naive["errors"]
    too_long = _assert_problem(cw.act(case, "schedule_interview", interpreter_language="x" * 9,
                                      interview_on="2026-12-10T09:30:00Z"), 422)  # fmt: skip
    assert "interpreter_language" in too_long["errors"]
    assert cw.get(case["id"]).get_json()["state"] == "certificate_issued"


ON_SQLITE = not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql")


def test_an_interview_time_keeps_its_instant(callers: dict[str, Api], world: World) -> None:
    cw = callers["caseworker"]
    case = cw.ok(cw.ok(_asylum(callers, world), "start_pre_screening"), "issue_certificate")
    case = cw.ok(case, "schedule_interview", interview_on="2026-12-10T09:30:00+01:00",
                 interpreter_language="ar")  # fmt: skip
    stored = _instant(cw.get(case["id"]).get_json()["interview_on"])
    assert stored == datetime(2026, 12, 10, 8, 30, tzinfo=UTC)


def test_refusals_are_problem_documents(callers: dict[str, Api], world: World) -> None:
    cw, sv, ngo = callers["caseworker"], callers["supervisor"], callers["ngo"]
    case = _asylum(callers, world)

    not_here = _assert_problem(cw.act(case, "refer_to_bra"), 409)
    assert not_here["state"] == "registered"
    assert not_here["allowed_actions"] == ["start_pre_screening", "withdraw"]

    role = _assert_problem(sv.act(case, "start_pre_screening"), 403)
    assert role["detail"] == "Your role may not take this action."

    _assert_problem(ngo.act(case, "start_pre_screening"), 403)
    _assert_problem(ngo.get(case["id"]), 403)

    invalid = _assert_problem(cw.act(case, "withdraw"), 422)
    assert set(invalid["errors"]) == {"comment"}

    bad_action = _assert_problem(cw.act(case, "no_such_action"), 409)
    assert bad_action["allowed_actions"] == ["start_pre_screening", "withdraw"]

    moved = cw.ok(case, "start_pre_screening")
    stale = _assert_problem(cw.act(case, "withdraw", comment="Left the country."), 409)
    assert stale["current_version"] == moved["version"]

    missing_version = cw.client.post(f"/api/v1/cases/{case['id']}/actions/issue_certificate",
                                     json={}, headers=cw.headers)  # fmt: skip
    assert "version" in _assert_problem(missing_version, 422)["errors"]

    _assert_problem(cw.get(999_999), 404)
    anonymous = cw.client.get(f"/api/v1/cases/{case['id']}")
    _assert_problem(anonymous, 401)
