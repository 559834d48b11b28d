"""Who reads the sensitive fields (issue #7 item 5): each field × caller × relation, on the
pages and through the API, from `casework.policy.FIELD_RULES`.

Expected answers: "shown" (the text is there), "absent" (the record is reached, the field is
not there), or the status of a record the caller does not reach at all (404 out of scope, 403
for a role that never sees such records).
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from casework.audit.models import AuditEntry
from casework.cases.models import Case
from casework.extensions import db
from casework.people.models import Person
from casework.people.operations import update_person
from casework.policy import FIELD_RULES, can_read_field, readable_fields
from tests.factories import user_by_key
from tests.security.conftest import MEDICAL, NARRATIVE, NARRATIVE_TNG, NGO_NOTES, RABAT_NOTES

CASE_TEXT = {
    ("asylum", "claim_narrative"): NARRATIVE,
    ("asylum_tng", "claim_narrative"): NARRATIVE_TNG,
    ("illness", "medical_details"): MEDICAL,
}
CASE_FIELDS = ("claim_narrative", "medical_details")

# (caller, file, expected) — "shown": the file's field that applies is shown, and only it.
CASE_MATRIX = [
    ("caseworker", "asylum", "shown"),  # the file's office
    ("caseworker", "illness", "shown"),
    ("caseworker", "regular", "absent"),  # neither field exists on an ordinary file
    ("caseworker2", "asylum", 404),  # another office
    ("caseworker2", "asylum_tng", "shown"),
    ("regional", "asylum", "shown"),  # supervisor of the file's region
    ("regional", "illness", "shown"),
    ("regional", "asylum_tng", 404),  # supervisor of another region
    ("supervisor", "asylum", "shown"),  # national supervisor
    ("supervisor", "asylum_tng", "shown"),
    ("ngo", "asylum", 403),  # NGOs never see files
    ("admin", "asylum", 403),
    ("auditor", "asylum", 403),
]

# (caller, person, expected) for the vulnerability notes.
PERSON_MATRIX = [
    ("caseworker", "rabat", "shown"),  # the office holding the person
    ("caseworker2", "rabat", 404),
    ("regional", "rabat", "shown"),
    ("supervisor", "rabat", "shown"),
    ("ngo", "rabat", "absent"),  # referred to the NGO: its card, never the notes
    ("ngo", "walk_in", "shown"),  # the NGO's own walk-in: it wrote the notes
    ("caseworker", "walk_in", "absent"),  # reached only through the share-with-agency consent
    ("regional", "walk_in", "absent"),
    ("supervisor", "walk_in", "absent"),
    ("caseworker2", "walk_in", 404),
    ("admin", "rabat", 403),
    ("auditor", "rabat", 403),
]
PERSON_TEXT = {"rabat": RABAT_NOTES, "walk_in": NGO_NOTES}


def _case_texts(file: str) -> dict[str, str]:
    return {name: text for (key, name), text in CASE_TEXT.items() if key == file}


@pytest.mark.parametrize(("caller", "file", "expected"), CASE_MATRIX)
def test_case_page_shows_confidential_fields_only_to_allowed(
    sensitive, browser_as, caller, file, expected
) -> None:
    response = browser_as(caller).get(f"/cases/{sensitive.cases[file]}")
    page = response.get_data(as_text=True)
    if isinstance(expected, int):
        assert response.status_code == expected
    else:
        assert response.status_code == 200
        assert ('id="confidential"' in page) == (expected == "shown")
    for text in CASE_TEXT.values():
        shown = expected == "shown" and text in _case_texts(file).values()
        assert (text in page) == shown, text


@pytest.mark.parametrize(("caller", "file", "expected"), CASE_MATRIX)
def test_case_api_includes_confidential_fields_only_for_allowed(
    client, sensitive, api, caller, file, expected
) -> None:
    response = client.get(f"/api/v1/cases/{sensitive.cases[file]}", headers=api(caller))
    if isinstance(expected, int):
        assert response.status_code == expected
        assert response.mimetype == "application/problem+json"
        return
    body = response.get_json()
    assert response.status_code == 200
    texts = _case_texts(file) if expected == "shown" else {}
    assert {name: body[name] for name in CASE_FIELDS if name in body} == texts


def test_lists_of_files_never_carry_confidential_fields(client, sensitive, api) -> None:
    body = client.get("/api/v1/cases", headers=api("caseworker")).get_json()
    assert body["items"]
    assert not any(set(CASE_FIELDS) & set(item) for item in body["items"])


@pytest.mark.parametrize(("caller", "person", "expected"), PERSON_MATRIX)
def test_person_page_shows_notes_only_to_allowed(
    sensitive, browser_as, caller, person, expected
) -> None:
    response = browser_as(caller).get(f"/people/{sensitive.people[person]}")
    if isinstance(expected, int):
        assert response.status_code == expected
        return
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert (PERSON_TEXT[person] in page) == (expected == "shown")


@pytest.mark.parametrize(("caller", "person", "expected"), PERSON_MATRIX)
def test_person_api_includes_notes_only_for_allowed(
    client, sensitive, api, caller, person, expected
) -> None:
    response = client.get(f"/api/v1/people/{sensitive.people[person]}", headers=api(caller))
    if isinstance(expected, int):
        assert response.status_code == expected
        return
    body = response.get_json()
    if expected == "shown":
        assert body["vulnerability_notes"] == PERSON_TEXT[person]
    else:
        assert "vulnerability_notes" not in body
        assert PERSON_TEXT[person] not in response.get_data(as_text=True)


@pytest.mark.parametrize("caller", ["caseworker", "regional", "supervisor", "ngo"])
def test_people_lists_carry_notes_only_where_allowed(client, sensitive, api, caller) -> None:
    items = client.get("/api/v1/people?limit=200", headers=api(caller)).get_json()["items"]
    expected = {key: exp for who, key, exp in PERSON_MATRIX if who == caller}
    for item in items:
        key = next((k for k, v in sensitive.people.items() if v == item["id"]), None)
        if expected.get(key) == "shown":
            assert item["vulnerability_notes"] == PERSON_TEXT[key]
        elif key in expected:
            assert "vulnerability_notes" not in item, (caller, key)


def test_an_office_with_a_file_on_a_walk_in_reads_the_ngo_notes(
    app, client, sensitive, api
) -> None:
    """Having a file on them: once Rabat files for the NGO's walk-in, its caseworkers read
    the notes (the file's examination needs them); the consent alone did not give them."""
    from tests.cases.helpers import new_case, request_context

    url = f"/api/v1/people/{sensitive.people['walk_in']}"
    assert "vulnerability_notes" not in client.get(url, headers=api("caseworker")).get_json()
    with app.app_context(), request_context(app):
        new_case(sensitive.world, applicant="walk_in")
        db.session.commit()
    body = client.get(url, headers=api("caseworker")).get_json()
    assert body["vulnerability_notes"] == NGO_NOTES


def test_the_policy_answers_the_same_as_the_pages(app, sensitive) -> None:
    """`readable_fields` is the one place asked; spot-check it directly."""
    with app.app_context():
        caseworker = user_by_key(sensitive.world, "caseworker")
        ngo = user_by_key(sensitive.world, "ngo")
        asylum = db.session.get(Case, sensitive.cases["asylum"])
        walk_in = db.session.get(Person, sensitive.people["walk_in"])
        assert readable_fields(caseworker, asylum) == {"claim_narrative"}
        assert not can_read_field(caseworker, walk_in, "vulnerability_notes")
        assert can_read_field(ngo, walk_in, "vulnerability_notes")
        assert can_read_field(ngo, walk_in, "family_name")  # not sensitive: goes with the record
        assert {name for _, name in FIELD_RULES} == {
            "claim_narrative",
            "medical_details",
            "vulnerability_notes",
        }


# --- Reading is audited ---------------------------------------------------------------------


def _last(app, action: str, record_id: int) -> AuditEntry:
    with app.app_context():
        return db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == action, AuditEntry.record_id == record_id)
            .order_by(AuditEntry.id.desc())
        ).first()


@pytest.mark.parametrize("channel", ["web", "api"])
def test_a_case_view_records_which_confidential_fields_were_shown(
    app, client, sensitive, api, browser_as, channel
) -> None:
    case_id = sensitive.cases["asylum"]
    if channel == "web":
        browser_as("regional").get(f"/cases/{case_id}")
    else:
        client.get(f"/api/v1/cases/{case_id}", headers=api("regional"))
    entry = _last(app, "case.view", case_id)
    assert entry.data["channel"] == channel
    assert entry.data["sensitive_fields"] == ["claim_narrative"]
    assert NARRATIVE not in str(entry.data)
    browser_as("caseworker").get(f"/cases/{sensitive.cases['regular']}")
    assert "sensitive_fields" not in _last(app, "case.view", sensitive.cases["regular"]).data


def test_a_person_view_records_the_notes_only_when_shown(app, sensitive, browser_as) -> None:
    walk_in = sensitive.people["walk_in"]
    browser_as("caseworker").get(f"/people/{walk_in}")
    assert "sensitive_fields" not in _last(app, "person.view", walk_in).data
    browser_as("ngo").get(f"/people/{walk_in}")
    assert _last(app, "person.view", walk_in).data["sensitive_fields"] == ["vulnerability_notes"]
    rabat = sensitive.people["rabat"]
    browser_as("ngo").get(f"/people/{rabat}")  # the referral card
    entry = _last(app, "person.view", rabat)
    assert entry.data["channel"] == "referral_card" and "sensitive_fields" not in entry.data


# --- Other places a person's data leaves the server -----------------------------------------


def test_corrections_of_notes_are_listed_without_their_text_to_those_who_may_not_read_them(
    app, sensitive, browser_as
) -> None:
    with app.app_context():
        walk_in = db.session.get(Person, sensitive.people["walk_in"])
        update_person(walk_in, {"vulnerability_notes": "Moved to a shelter."},
                      by=user_by_key(sensitive.world, "ngo"), expected_version=None)  # fmt: skip
        db.session.commit()
    page = browser_as("caseworker").get(f"/people/{sensitive.people['walk_in']}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Moved to a shelter." not in text and NGO_NOTES not in text
    # Nobody sees it: a correction of notes is recorded without their text (rectification
    # history, casework.people.data_protection.record_revision).
    assert "changed (the text is not kept in the history)" in text


@pytest.mark.parametrize("dataset", ["people", "cases"])
def test_full_exports_never_carry_sensitive_fields(client, sensitive, api, dataset) -> None:
    response = client.get(f"/api/v1/exports/{dataset}.csv", headers=api("caseworker"))
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    header = text.lstrip("\ufeff").splitlines()[0].split(",")
    assert not {"vulnerability_notes", *CASE_FIELDS} & set(header)
    for secret in (NARRATIVE, MEDICAL, RABAT_NOTES, NGO_NOTES):
        assert secret not in text


def test_the_referral_card_never_shows_notes(sensitive, browser_as) -> None:
    page = browser_as("ngo").get(f"/people/{sensitive.people['rabat']}").get_data(as_text=True)
    assert "Referred person" in page or "person-card-title" in page
    assert RABAT_NOTES not in page
