"""Who writes the sensitive fields, and the mass-assignment guard (issue #7 item 5): an API
caller that sends a field it may not write is answered 400 naming the field, before anything
is written; a field unknown to the resource is still the schema's 422.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from casework.audit.models import AuditEntry
from casework.cases.models import Case, CaseEvent
from casework.extensions import db
from casework.people.models import Person
from tests.security.conftest import MEDICAL, NARRATIVE, NGO_NOTES, RABAT_NOTES

PROBLEM = "application/problem+json"


def case_row(app, sensitive, key: str) -> dict:
    with app.app_context():
        case = db.session.get(Case, sensitive.cases[key])
        return {
            "version": case.version,
            "state": case.state,
            "claim_narrative": case.claim_narrative,
            "medical_details": case.medical_details,
            "office_id": case.office_id,
            "events": db.session.scalar(
                select(func.count(CaseEvent.id)).where(CaseEvent.case_id == case.id)
            ),
        }


def notes_of(app, sensitive, key: str) -> str | None:
    with app.app_context():
        return db.session.get(Person, sensitive.people[key]).vulnerability_notes


def assert_refused(response, status: int, *fields: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json()
    if fields:
        assert set(body["errors"]) == set(fields)
    return body


def set_state(app, sensitive, key: str, state: str) -> None:
    with app.app_context():
        db.session.get(Case, sensitive.cases[key]).state = state
        db.session.commit()


# --- PATCH /api/v1/cases/<id>: the confidential fields ----------------------------------------

# (caller, file, body, expected status)
CASE_WRITES = [
    ("caseworker", "asylum", {"claim_narrative": "New account."}, 200),
    ("caseworker", "illness", {"medical_details": "New diagnosis."}, 200),
    ("caseworker", "asylum", {"medical_details": "x"}, 400),  # not a serious-illness file
    ("caseworker", "regular", {"claim_narrative": "x"}, 400),  # not an asylum file
    ("caseworker2", "asylum", {"claim_narrative": "x"}, 404),  # another office's file
    ("regional", "asylum", {"claim_narrative": "x"}, 403),  # supervisors read, never write
    ("supervisor", "asylum", {"claim_narrative": "x"}, 403),
    ("ngo", "asylum", {"claim_narrative": "x"}, 403),
    ("admin", "asylum", {"claim_narrative": "x"}, 403),
    ("auditor", "asylum", {"claim_narrative": "x"}, 403),
]


@pytest.mark.parametrize(("caller", "file", "body", "status"), CASE_WRITES)
def test_writing_confidential_fields_through_the_api(
    app, client, sensitive, api, caller, file, body, status
) -> None:
    before = case_row(app, sensitive, file)
    response = client.patch(
        f"/api/v1/cases/{sensitive.cases[file]}",
        json={"version": before["version"], **body},
        headers=api(caller),
    )
    after = case_row(app, sensitive, file)
    if status == 200:
        assert response.status_code == 200, response.get_json()
        [(name, text)] = body.items()
        assert response.get_json()[name] == text and after[name] == text
        assert after["version"] == before["version"] + 1
    else:
        assert_refused(response, status, *(body if status == 400 else ()))
        assert after == before


def test_the_confidential_fields_freeze_once_a_decision_is_proposed(
    app, client, sensitive, api
) -> None:
    set_state(app, sensitive, "asylum", "decision_proposed")
    before = case_row(app, sensitive, "asylum")
    response = client.patch(
        f"/api/v1/cases/{sensitive.cases['asylum']}",
        json={"version": before["version"], "claim_narrative": "Rewritten."},
        headers=api("caseworker"),
    )
    body = assert_refused(response, 400, "claim_narrative")
    assert "current state" in body["errors"]["claim_narrative"][0]
    assert case_row(app, sensitive, "asylum") == before
    # Sent back to the caseworker: the file is under examination again.
    set_state(app, sensitive, "asylum", "interviewed")
    response = client.patch(
        f"/api/v1/cases/{sensitive.cases['asylum']}",
        json={
            "version": case_row(app, sensitive, "asylum")["version"],
            "claim_narrative": "Rewritten.",
        },
        headers=api("caseworker"),
    )
    assert response.status_code == 200


def test_a_stale_version_is_a_conflict_through_the_api(app, client, sensitive, api) -> None:
    before = case_row(app, sensitive, "asylum")
    response = client.patch(
        f"/api/v1/cases/{sensitive.cases['asylum']}",
        json={"version": before["version"] - 1, "claim_narrative": "Late."},
        headers=api("caseworker"),
    )
    assert assert_refused(response, 409)["current_version"] == before["version"]
    assert case_row(app, sensitive, "asylum") == before


def test_a_change_is_audited_by_field_name_never_by_text(app, client, sensitive, api) -> None:
    version = case_row(app, sensitive, "asylum")["version"]
    client.patch(
        f"/api/v1/cases/{sensitive.cases['asylum']}",
        json={"version": version, "claim_narrative": "A secret account."},
        headers=api("caseworker"),
    )
    with app.app_context():
        entry = db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == "case.confidential_update")
            .order_by(AuditEntry.id.desc())
        ).first()
        assert entry.record_id == sensitive.cases["asylum"]
        assert entry.data == {"fields": ["claim_narrative"]}


# --- PATCH /api/v1/people/<id>: the vulnerability notes ----------------------------------------

PERSON_WRITES = [
    ("caseworker", "rabat", 200),  # the office holding the person
    ("caseworker", "walk_in", 400),  # reached through the consent: not the NGO's notes
    ("ngo", "walk_in", 200),  # its own walk-in
    ("ngo", "rabat", 400),  # referred to it: never the notes
    ("caseworker2", "rabat", 404),
    ("supervisor", "rabat", 403),
    ("regional", "rabat", 403),
    ("admin", "rabat", 403),
    ("auditor", "rabat", 403),
]


@pytest.mark.parametrize(("caller", "person", "status"), PERSON_WRITES)
def test_writing_notes_through_the_api(app, client, sensitive, api, caller, person, status):
    before = notes_of(app, sensitive, person)
    with app.app_context():
        version = db.session.get(Person, sensitive.people[person]).version
    response = client.patch(
        f"/api/v1/people/{sensitive.people[person]}",
        json={"version": version, "vulnerability_notes": "Overwritten."},
        headers=api(caller),
    )
    if status == 200:
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["vulnerability_notes"] == "Overwritten."
        assert notes_of(app, sensitive, person) == "Overwritten."
    else:
        assert_refused(response, status, *(["vulnerability_notes"] if status == 400 else []))
        assert notes_of(app, sensitive, person) == before


def test_other_fields_of_a_shared_walk_in_stay_writable(app, client, sensitive, api) -> None:
    """The guard refuses the field, not the record: the answer leaves the notes out."""
    with app.app_context():
        version = db.session.get(Person, sensitive.people["walk_in"]).version
    response = client.patch(
        f"/api/v1/people/{sensitive.people['walk_in']}",
        json={"version": version, "phone": "+212 611 111 111"},
        headers=api("caseworker"),
    )
    assert response.status_code == 200
    assert "vulnerability_notes" not in response.get_json()
    assert notes_of(app, sensitive, "walk_in") == NGO_NOTES


# --- The mass-assignment guard on every write endpoint -----------------------------------------


def test_creating_a_person_with_a_read_only_field(app, client, sensitive, api) -> None:
    """Every role that registers people may write notes on its own new record: only read-only
    fields can be refused here."""
    body = {"family_name": "Koné", "given_names": "Ali", "sex": "M", "created_at": "2020-01-01"}
    assert_refused(client.post("/api/v1/people", json=body, headers=api("ngo")), 400, "created_at")
    with app.app_context():
        assert db.session.scalar(select(Person).where(Person.family_name == "Koné")) is None
    body = {**body, "vulnerability_notes": "Walk-in notes."}
    del body["created_at"]
    created = client.post("/api/v1/people", json=body, headers=api("ngo"))
    assert created.status_code == 201 and created.get_json()["vulnerability_notes"]


def test_patching_a_person_with_read_only_fields(app, client, sensitive, api) -> None:
    before = notes_of(app, sensitive, "rabat")
    response = client.patch(
        f"/api/v1/people/{sensitive.people['rabat']}",
        json={"version": 1, "merged_into_id": 3, "anonymised_at": None, "phone": "+212 6"},
        headers=api("caseworker"),
    )
    assert_refused(response, 400, "merged_into_id", "anonymised_at")
    with app.app_context():
        person = db.session.get(Person, sensitive.people["rabat"])
        assert person.phone is None and person.merged_into_id is None
    assert notes_of(app, sensitive, "rabat") == before == RABAT_NOTES


def _cases_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Case.id)))


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"kind": "asylum", "state": "recognised"}, {"state"}),
        ({"kind": "asylum", "reference": "ASY-1", "office_id": 2}, {"reference", "office_id"}),
        ({"kind": "asylum", "medical_details": "x"}, {"medical_details"}),
        ({"kind": "regularisation", "category": "residence_5_years", "claim_narrative": "x"},
         {"claim_narrative"}),
        ({"kind": "asylum", "first_instance_outcome": "favourable", "processing_days": 1},
         {"first_instance_outcome", "processing_days"}),
    ],
)  # fmt: skip
def test_filing_a_case_with_a_field_the_caller_may_not_set(
    app, client, sensitive, api, body, fields
) -> None:
    before = _cases_count(app)
    response = client.post(
        "/api/v1/cases",
        json={"applicant_id": sensitive.people["tanger"], **body},
        headers=api("caseworker2"),
    )
    assert_refused(response, 400, *fields)
    assert _cases_count(app) == before


def test_filing_an_asylum_case_with_its_narrative(app, client, sensitive, api) -> None:
    response = client.post(
        "/api/v1/cases",
        json={"kind": "asylum", "applicant_id": sensitive.people["tanger"],
              "claim_narrative": "My account."},
        headers=api("caseworker2"),
    )  # fmt: skip
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["claim_narrative"] == "My account."
    assert "medical_details" not in response.get_json()


@pytest.mark.parametrize(
    ("path", "body", "fields"),
    [
        ("", {"state": "closed"}, {"state"}),
        ("", {"processing_days": 3, "decided_on": "2026-01-01"}, {"processing_days", "decided_on"}),
        ("/actions/start_pre_screening", {"state": "recognised"}, {"state"}),
        ("/actions/start_pre_screening", {"first_instance_outcome": "favourable"},
         {"first_instance_outcome"}),
        ("/actions/start_pre_screening", {"claim_narrative": "x"}, {"claim_narrative"}),
        ("/assign", {"assignee_id": None, "office_id": 2}, {"office_id"}),
    ],
)  # fmt: skip
def test_case_writes_refuse_fields_the_caller_may_not_set(
    app, client, sensitive, api, path, body, fields
) -> None:
    before = case_row(app, sensitive, "asylum")
    response = client.post if path else client.patch
    response = response(
        f"/api/v1/cases/{sensitive.cases['asylum']}{path}",
        json={"version": before["version"], **body},
        headers=api("caseworker"),
    )
    assert_refused(response, 400, *fields)
    assert case_row(app, sensitive, "asylum") == before


def test_a_note_with_a_read_only_field_adds_no_note(app, client, sensitive, api) -> None:
    before = case_row(app, sensitive, "asylum")
    response = client.post(
        f"/api/v1/cases/{sensitive.cases['asylum']}/notes",
        json={"comment": "Called the applicant.", "reference": "X"},
        headers=api("caseworker"),
    )
    assert_refused(response, 400, "reference")
    assert case_row(app, sensitive, "asylum") == before


@pytest.mark.parametrize(
    ("method", "url"),
    [("patch", "/api/v1/cases/{asylum}"), ("patch", "/api/v1/people/{rabat}")],
)
def test_a_field_unknown_to_the_resource_is_still_unprocessable(
    app, client, sensitive, api, method, url
) -> None:
    url = url.format(asylum=sensitive.cases["asylum"], rabat=sensitive.people["rabat"])
    response = getattr(client, method)(
        url, json={"version": 1, "favourite_colour": "blue"}, headers=api("caseworker")
    )
    assert_refused(response, 422, "favourite_colour")


def test_the_400_is_documented_on_every_guarded_endpoint(client) -> None:
    document = client.get("/api/v1/openapi.json").get_json()["paths"]
    guarded = [
        ("/api/v1/people", "post"),
        ("/api/v1/people/{person_id}", "patch"),
        ("/api/v1/cases", "post"),
        ("/api/v1/cases/{case_id}", "patch"),
        ("/api/v1/cases/{case_id}/actions/{action}", "post"),
        ("/api/v1/cases/{case_id}/assign", "post"),
        ("/api/v1/cases/{case_id}/notes", "post"),
    ]
    for path, method in guarded:
        answer = document[path][method]["responses"]["400"]
        assert list(answer["content"]) == [PROBLEM], (path, method)


# --- The pages ---------------------------------------------------------------------------------


def _csrf(page: str) -> str:
    """The form's CSRF token (the testing settings turn CSRF off: then none)."""
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    return found.group(1) if found else ""


def _confidential_form(client, case_id: int) -> tuple[str, str]:
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    version = re.search(r'name="confidential-version" type="hidden" value="(\d+)"', page)
    return _csrf(page), version.group(1)


def test_the_office_caseworker_edits_the_narrative_on_the_case_page(
    app, sensitive, browser_as
) -> None:
    client = browser_as("caseworker")
    token, version = _confidential_form(client, sensitive.cases["asylum"])
    response = client.post(
        f"/cases/{sensitive.cases['asylum']}/confidential",
        data={"csrf_token": token, "confidential-version": version,
              "confidential-claim_narrative": "Corrected account."},
    )  # fmt: skip
    assert response.status_code == 302
    assert case_row(app, sensitive, "asylum")["claim_narrative"] == "Corrected account."


def test_a_stale_version_on_the_confidential_form_is_refused_and_keeps_the_input(
    app, sensitive, browser_as
) -> None:
    client = browser_as("caseworker")
    token, version = _confidential_form(client, sensitive.cases["illness"])
    with app.app_context():  # someone else saves first
        db.session.get(Case, sensitive.cases["illness"]).medical_details = "Their change."
        db.session.commit()
    response = client.post(
        f"/cases/{sensitive.cases['illness']}/confidential",
        data={"csrf_token": token, "confidential-version": version,
              "confidential-medical_details": "My careful rewrite."},
    )  # fmt: skip
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Someone else changed this file" in page
    assert "My careful rewrite." in page  # what the user typed, kept in the form
    assert case_row(app, sensitive, "illness")["medical_details"] == "Their change."


@pytest.mark.parametrize(("caller", "file"), [("regional", "asylum"), ("caseworker", "regular")])
def test_who_may_not_write_gets_no_form_and_a_refusal(sensitive, browser_as, caller, file):
    client = browser_as(caller)
    page = client.get(f"/cases/{sensitive.cases[file]}").get_data(as_text=True)
    assert 'name="confidential-claim_narrative"' not in page
    response = client.post(
        f"/cases/{sensitive.cases[file]}/confidential",
        data={"csrf_token": _csrf(page), "confidential-claim_narrative": "x"},
    )
    assert response.status_code == 403


def test_the_asylum_filing_form_takes_the_narrative(app, sensitive, browser_as) -> None:
    client = browser_as("caseworker2")
    person_id = sensitive.people["tanger"]
    page = client.get(f"/people/{person_id}/cases/new").get_data(as_text=True)
    operation = re.search(r'<option[^>]*value="(ASY[^"]*)"', page)
    data = {"csrf_token": _csrf(page), "kind": "regularisation", "category": "",
            "claim_narrative": "Why I fled."}  # fmt: skip
    if operation:
        data["operation"] = operation.group(1)
    refused = client.post(f"/people/{person_id}/cases/new", data=data)
    assert refused.status_code == 200 and "Why I fled." in refused.get_data(as_text=True)
    data["kind"] = "asylum"
    filed = client.post(f"/people/{person_id}/cases/new", data=data)
    assert filed.status_code == 302, filed.get_data(as_text=True)
    with app.app_context():
        case = db.session.scalars(select(Case).order_by(Case.id.desc())).first()
        assert case.kind == "asylum" and case.claim_narrative == "Why I fled."


def test_the_person_form_leaves_out_notes_the_user_may_not_write(
    app, sensitive, browser_as
) -> None:
    client = browser_as("caseworker")
    shared = client.get(f"/people/{sensitive.people['walk_in']}/edit").get_data(as_text=True)
    assert 'name="vulnerability_notes"' not in shared and NGO_NOTES not in shared
    held = client.get(f"/people/{sensitive.people['rabat']}/edit").get_data(as_text=True)
    assert 'name="vulnerability_notes"' in held and RABAT_NOTES in held
    # A notes field posted anyway is ignored, and the NGO's notes stay.
    response = client.post(
        f"/people/{sensitive.people['walk_in']}/edit",
        data={"csrf_token": _csrf(shared), "family_name": "Traoré", "given_names": "Aminata",
              "sex": "F", "version": "1", "vulnerability_notes": "Overwritten."},
    )  # fmt: skip
    assert response.status_code in (302, 409)
    assert notes_of(app, sensitive, "walk_in") == NGO_NOTES


@pytest.mark.parametrize(("caller", "url"), [("caseworker", "/people/new"),
                                             ("ngo", "/ngo/beneficiaries/new")])  # fmt: skip
def test_registration_forms_take_notes(sensitive, browser_as, caller, url) -> None:
    page = browser_as(caller).get(url).get_data(as_text=True)
    assert 'name="vulnerability_notes"' in page


def test_medical_details_are_never_on_an_asylum_form(sensitive, browser_as) -> None:
    page = browser_as("caseworker").get(f"/cases/{sensitive.cases['asylum']}")
    text = page.get_data(as_text=True)
    assert 'name="confidential-claim_narrative"' in text
    assert "confidential-medical_details" not in text
    assert NARRATIVE in text and MEDICAL not in text
