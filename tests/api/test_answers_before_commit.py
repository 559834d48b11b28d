"""A committed write is answered as usual even when the database connection is lost right
after the commit: the API's write handlers render their answer before committing
(`casework.api.answers`), so nothing is read from the database once the write is committed.

The loss is simulated: once the real commit is done, any further query of that request fails,
as a dead connection would make it."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest
from flask import Flask, g, has_request_context
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from casework.cases.models import Case, CaseDocument, CaseEvent
from casework.extensions import db
from casework.imports.models import ImportJob
from casework.services.models import AssistanceRecord, Referral
from tests.cases.test_documents import PDF, api_upload, new_case
from tests.conftest import api_token
from tests.factories import World
from tests.imports.helpers import GOOD_ROWS, PEOPLE_HEADER, csv_bytes
from tests.services.test_api import ASSISTANCE, Partners, build_partners, referral_body

GONE = OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))

Lost = Callable[[], AbstractContextManager[None]]


@pytest.fixture
def lost_after_commit(monkeypatch: pytest.MonkeyPatch) -> Lost:
    """`with lost_after_commit(): ...`: in the requests made inside, the connection is lost
    as soon as the commit is done: every later query of the request fails."""
    commit, execute = Session.commit, Session.execute
    armed = {"on": False}

    def commit_then_lose(self, *args, **kwargs):
        commit(self, *args, **kwargs)
        if armed["on"] and has_request_context():
            g.database_gone = True

    def execute_unless_gone(self, *args, **kwargs):
        if has_request_context() and g.get("database_gone"):
            raise GONE
        return execute(self, *args, **kwargs)

    monkeypatch.setattr(Session, "commit", commit_then_lose)
    monkeypatch.setattr(Session, "execute", execute_unless_gone)

    @contextmanager
    def lose() -> Iterator[None]:
        armed["on"] = True
        try:
            yield
        finally:
            armed["on"] = False

    return lose


@pytest.fixture
def partners(app: Flask, world: World) -> Partners:
    with app.app_context():
        built = build_partners(world)
        db.session.commit()
        return built


def _row(app: Flask, model, record_id: int):
    with app.app_context():
        row = db.session.get(model, record_id)
        db.session.expunge_all()
        return row


# --- Cases ------------------------------------------------------------------------------------


def _file(client, headers, world: World) -> dict:
    body = {"kind": "regularisation", "applicant_id": world.people["rabat"],
            "category": "residence_5_years"}  # fmt: skip
    response = client.post("/api/v1/cases", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_filing_a_case(app: Flask, world: World, lost_after_commit: Lost) -> None:
    client = app.test_client()
    headers = api_token(client, world.users["caseworker"])
    with lost_after_commit():
        case = _file(client, headers, world)
    assert case["state"] == "filed" and case["allowed_actions"] == ["start_review", "withdraw"]
    assert case["applicant"]["id"] == world.people["rabat"]
    assert _row(app, Case, case["id"]).reference == case["reference"]


def test_a_case_action_an_assignment_and_a_note(
    app: Flask, world: World, lost_after_commit: Lost
) -> None:
    client = app.test_client()
    headers = api_token(client, world.users["caseworker"])
    case = _file(client, headers, world)

    with lost_after_commit():
        acted = client.post(f"/api/v1/cases/{case['id']}/actions/start_review",
                            json={"version": case["version"]}, headers=headers)  # fmt: skip
    assert acted.status_code == 200, acted.get_json()
    assert acted.get_json()["state"] == "under_review"
    assert acted.get_json()["version"] == case["version"] + 1
    assert _row(app, Case, case["id"]).state == "under_review"

    with lost_after_commit():
        assigned = client.post(
            f"/api/v1/cases/{case['id']}/assign",
            json={"version": acted.get_json()["version"],
                  "assignee_id": world.user_ids["caseworker"]},
            headers=headers,
        )  # fmt: skip
    assert assigned.status_code == 200, assigned.get_json()
    assert assigned.get_json()["assigned_to"]["id"] == world.user_ids["caseworker"]
    assert _row(app, Case, case["id"]).assigned_to_id == world.user_ids["caseworker"]

    with lost_after_commit():
        noted = client.post(f"/api/v1/cases/{case['id']}/notes",
                            json={"comment": "Called the applicant."}, headers=headers)  # fmt: skip
    assert noted.status_code == 201, noted.get_json()
    assert "Called the applicant." in [e.get("comment") for e in noted.get_json()["timeline"]]
    with app.app_context():
        comments = db.session.scalars(
            select(CaseEvent.comment).where(CaseEvent.case_id == case["id"])
        )
        assert "Called the applicant." in list(comments)


def test_a_stale_version_is_still_refused(
    app: Flask, world: World, lost_after_commit: Lost
) -> None:
    client = app.test_client()
    headers = api_token(client, world.users["caseworker"])
    case = _file(client, headers, world)
    with lost_after_commit():
        stale = client.post(f"/api/v1/cases/{case['id']}/actions/start_review",
                            json={"version": case["version"] - 1}, headers=headers)  # fmt: skip
    assert stale.status_code == 409
    assert _row(app, Case, case["id"]).state == "filed"


# --- Documents --------------------------------------------------------------------------------


def test_uploading_and_verifying_a_document(
    app: Flask, world: World, lost_after_commit: Lost
) -> None:
    case_id = new_case(app, world)
    client = app.test_client()
    headers = api_token(client, world.users["caseworker"])
    with lost_after_commit():
        uploaded = api_upload(client, headers, case_id, PDF, "a.pdf", "proof_of_stay")
    assert uploaded.status_code == 201, uploaded.get_json()
    document_id = uploaded.get_json()["id"]
    assert _row(app, CaseDocument, document_id).case_id == case_id

    url = f"/api/v1/cases/{case_id}/documents/{document_id}/verification"
    with lost_after_commit():
        verified = client.post(url, json={"status": "verified"}, headers=headers)
    assert (verified.status_code, verified.get_json()["status"]) == (200, "verified")
    assert verified.get_json()["id"] == document_id
    assert _row(app, CaseDocument, document_id).status == "verified"


# --- Referrals --------------------------------------------------------------------------------


def test_a_referral_its_acceptance_and_the_assistance_given(
    app: Flask, partners: Partners, lost_after_commit: Lost
) -> None:
    client = app.test_client()
    caseworker = api_token(client, partners.users["caseworker"])
    ngo = api_token(client, partners.users["ngo"])
    body = referral_body(partners.people["vulnerable"], partners.orgs["NGO1"])

    with lost_after_commit():
        sent = client.post("/api/v1/referrals", json=body, headers=caseworker)
    assert sent.status_code == 201, sent.get_json()
    referral = sent.get_json()
    assert (referral["state"], referral["allowed_actions"]) == ("sent", ["cancel"])
    assert referral["provider"] == {"id": partners.orgs["NGO1"], "name": "Organisation NGO1"}
    assert _row(app, Referral, referral["id"]).state == "sent"

    with lost_after_commit():
        accepted = client.post(f"/api/v1/referrals/{referral['id']}/actions/accept",
                               json={"version": referral["version"]}, headers=ngo)  # fmt: skip
    assert accepted.status_code == 200, accepted.get_json()
    assert accepted.get_json()["state"] == "accepted"
    assert _row(app, Referral, referral["id"]).state == "accepted"

    with lost_after_commit():
        given = client.post(
            f"/api/v1/referrals/{referral['id']}/assistance", json=ASSISTANCE, headers=ngo
        )
    assert given.status_code == 201, given.get_json()
    record = given.get_json()
    assert (record["quantity"], record["superseded"]) == ("1.00", False)
    assert _row(app, AssistanceRecord, record["id"]).referral_id == referral["id"]


# --- Imports ----------------------------------------------------------------------------------


def test_an_import_is_answered_queued_and_runs(
    app: Flask, world: World, lost_after_commit: Lost, monkeypatch: pytest.MonkeyPatch
) -> None:
    from casework.imports import jobs

    started: list[int] = []
    monkeypatch.setattr(jobs, "_run_in_thread", lambda _app, job_id: started.append(job_id))
    client = app.test_client()
    headers = api_token(client, world.users["regional"])
    data = {"file": (io.BytesIO(csv_bytes(PEOPLE_HEADER, GOOD_ROWS)), "people.csv"),
            "kind": "people", "organisation": "RAB"}  # fmt: skip
    with lost_after_commit():
        response = client.post("/api/v1/imports", data=data, headers=headers,
                               content_type="multipart/form-data")  # fmt: skip
    assert response.status_code == 202, response.get_json()
    job = response.get_json()
    assert (job["state"], job["dry_run"], job["kind"]) == ("queued", True, "people")
    assert _row(app, ImportJob, job["id"]).state == "queued"
    assert started == [job["id"]]
