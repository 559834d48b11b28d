"""People through the API: listing and searching by pages, registering, reading, editing;
who reaches whom; problem+json answers; and the audit trail of every access."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from casework.audit.models import AuditEntry
from casework.extensions import db
from casework.people.models import Person
from casework.people.operations import PERSON_FIELDS
from tests.conftest import api_token
from tests.factories import World, make_person, user_by_key

PROBLEM = "application/problem+json"

NEW_PERSON = {
    "family_name": "Koné",
    "given_names": "Mariam",
    "family_name_ar": "كوني",
    "given_names_ar": "مريم",
    "sex": "F",
    "date_of_birth": "1994-08-21",
    "nationality": "CI",
    "languages": ["fr", "dyu"],
    "phone": "+212 600 111 222",
    "address": "12 rue des Orangers, Salé",
}


@pytest.fixture
def as_role(client, world: World) -> Callable[[str], dict[str, str]]:
    """Authorization headers for the account `key` of the test world (one token per role)."""
    tokens: dict[str, dict[str, str]] = {}

    def headers(key: str) -> dict[str, str]:
        if key not in tokens:
            tokens[key] = api_token(client, world.users[key])
        return tokens[key]

    return headers


def register_people(app: Flask, world: World, by: str, count: int, **values) -> list[int]:
    """`count` more people held by the organisation of account `by`; returns their ids."""
    with app.app_context():
        user = user_by_key(world, by)
        ids = [make_person(user, given_names=f"Person {n}", **values).id for n in range(count)]
        db.session.commit()
    return ids


def audit_entries(app: Flask, action: str, record_id: int | None = None) -> list[AuditEntry]:
    with app.app_context():
        query = select(AuditEntry).where(AuditEntry.action == action)
        if record_id is not None:
            query = query.where(AuditEntry.record_id == record_id)
        entries = db.session.scalars(query.order_by(AuditEntry.id)).all()
        db.session.expunge_all()
        return list(entries)


def people_count(app: Flask) -> int:
    with app.app_context():
        return len(db.session.scalars(select(Person.id)).all())


def stored_person(app: Flask, person_id: int) -> dict:
    with app.app_context():
        person = db.session.get(Person, person_id)
        return {name: getattr(person, name) for name in (*PERSON_FIELDS, "version")}


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == status
    assert body["title"]
    return body


def assert_holds_no_personal_data(data: dict, values: dict) -> None:
    """Audit data may name fields; it must never repeat what the person's record says."""
    text = json.dumps(data, ensure_ascii=False, default=str).casefold()
    for name, value in values.items():
        if isinstance(value, str) and len(value) > 2 and name not in ("sex", "nationality"):
            assert value.casefold() not in text, f"audit data repeats {name}"
    assert set(data.get("fields", [])) <= set(PERSON_FIELDS)


def ids_of(response) -> list[int]:
    return [item["id"] for item in response.get_json()["items"]]


# --- Listing and pages -----------------------------------------------------------------------


def test_people_list_is_a_page_of_items_with_a_next_cursor(client, world: World, as_role) -> None:
    response = client.get("/api/v1/people", headers=as_role("caseworker"))

    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"items", "next"}
    assert body["next"] is None
    assert sorted(ids_of(response)) == sorted([world.people["rabat"], world.people["rabat_child"]])


def test_people_list_shows_newest_first(app: Flask, client, world: World, as_role) -> None:
    newer = register_people(app, world, "caseworker", 2)
    ids = ids_of(client.get("/api/v1/people", headers=as_role("caseworker")))
    assert ids == sorted(ids, reverse=True)
    assert ids[:2] == sorted(newer, reverse=True)


@pytest.mark.parametrize("extra", [7, 8], ids=["last page partly full", "last page exactly full"])
def test_walking_every_page_returns_each_person_once(
    app: Flask, client, world: World, as_role, extra: int
) -> None:
    expected = {world.people["rabat"], world.people["rabat_child"]}
    expected |= set(register_people(app, world, "caseworker", extra))
    register_people(app, world, "caseworker2", 3)  # another office's files never show

    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        query = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        response = client.get("/api/v1/people", query_string=query, headers=as_role("caseworker"))
        assert response.status_code == 200
        body = response.get_json()
        assert len(body["items"]) <= 3
        seen.extend(item["id"] for item in body["items"])
        pages += 1
        cursor = body["next"]
        if cursor is None:
            break
        assert pages < 10, "pagination never ends"

    assert len(seen) == len(set(seen)), "a person appeared on two pages"
    assert set(seen) == expected
    assert pages == -(-len(expected) // 3)


def test_cursor_is_opaque_and_a_forged_one_is_a_bad_request(client, world: World, as_role) -> None:
    for cursor in ("not-a-cursor!", "abc", "eyJpZCI6IDF9"):
        response = client.get(
            "/api/v1/people", query_string={"cursor": cursor}, headers=as_role("caseworker")
        )
        body = assert_problem(response, 400)
        assert "cursor" in body["errors"]


def test_pagination_keeps_the_search_terms(app: Flask, client, world: World, as_role) -> None:
    sow = set(register_people(app, world, "caseworker", 5, family_name="Sow"))
    register_people(app, world, "caseworker", 3, family_name="Ba")

    first = client.get(
        "/api/v1/people", query_string={"q": "sow", "limit": 3}, headers=as_role("caseworker")
    ).get_json()
    second = client.get(
        "/api/v1/people",
        query_string={"q": "sow", "limit": 3, "cursor": first["next"]},
        headers=as_role("caseworker"),
    ).get_json()

    assert second["next"] is None
    assert {item["id"] for item in first["items"] + second["items"]} == sow


# --- Searching -------------------------------------------------------------------------------


@pytest.mark.parametrize("q", ["traore", "TRAORE", "Traoré", "traoré aminata", "aminata traore"])
def test_search_by_latin_name_ignores_accents_case_and_word_order(
    client, world: World, as_role, q: str
) -> None:
    response = client.get("/api/v1/people", query_string={"q": q}, headers=as_role("ngo"))
    assert ids_of(response) == [world.people["walk_in"]]


@pytest.mark.parametrize("q", ["ديالو", "مامادو ديالو", "DIALLO"])
def test_search_by_name_finds_in_both_scripts(client, world: World, as_role, q: str) -> None:
    response = client.get("/api/v1/people", query_string={"q": q}, headers=as_role("caseworker"))
    assert world.people["rabat"] in ids_of(response)


def test_search_by_arabic_name_written_without_hamza(client, world: World, as_role) -> None:
    response = client.get(
        "/api/v1/people", query_string={"q": "اوكافور"}, headers=as_role("caseworker2")
    )
    assert ids_of(response) == [world.people["tanger"]]


def test_search_with_all_names_narrows_to_one_person(client, world: World, as_role) -> None:
    response = client.get(
        "/api/v1/people", query_string={"q": "diallo mamadou"}, headers=as_role("caseworker")
    )
    assert ids_of(response) == [world.people["rabat"]]


@pytest.mark.parametrize("q", ["MA1234567", "ma 123 4567", "MA-123-4567", " ma-1234 567 "])
def test_search_by_document_number_ignores_spaces_and_dashes(
    client, world: World, as_role, q: str
) -> None:
    created = client.post(
        "/api/v1/people",
        json={**NEW_PERSON, "documents": [{"kind": "passport", "number": "MA 123-4567"}]},
        headers=as_role("caseworker"),
    )
    assert created.status_code == 201

    by_q = client.get("/api/v1/people", query_string={"q": q}, headers=as_role("caseworker"))
    by_number = client.get(
        "/api/v1/people", query_string={"document_number": q}, headers=as_role("caseworker")
    )
    assert ids_of(by_q) == [created.get_json()["id"]]
    assert ids_of(by_number) == [created.get_json()["id"]]


def test_search_never_finds_a_person_outside_the_callers_scope(
    client, world: World, as_role
) -> None:
    for q in ("diallo", "ديالو", "traore"):
        response = client.get(
            "/api/v1/people", query_string={"q": q}, headers=as_role("caseworker2")
        )
        assert response.status_code == 200
        assert ids_of(response) == [], q


def test_search_by_document_number_does_not_reach_another_office(
    client, world: World, as_role
) -> None:
    client.post(
        "/api/v1/people",
        json={**NEW_PERSON, "documents": [{"kind": "passport", "number": "MA 123-4567"}]},
        headers=as_role("caseworker"),
    )
    response = client.get(
        "/api/v1/people", query_string={"q": "MA1234567"}, headers=as_role("caseworker2")
    )
    assert ids_of(response) == []


def test_search_filters_by_nationality_and_sex(client, world: World, as_role) -> None:
    supervisor = as_role("supervisor")
    nigerians = client.get("/api/v1/people", query_string={"nationality": "ng"}, headers=supervisor)
    women = client.get("/api/v1/people", query_string={"sex": "F"}, headers=supervisor)
    assert ids_of(nigerians) == [world.people["tanger"]]
    assert ids_of(women) == [world.people["rabat_child"]]  # the NGO's walk-in is not shared


@pytest.mark.parametrize("q", ["   ", "--", "%", "ـ"])
def test_search_term_of_punctuation_only_is_no_filter_and_no_error(
    client, world: World, as_role, q: str
) -> None:
    response = client.get("/api/v1/people", query_string={"q": q}, headers=as_role("caseworker"))
    assert response.status_code == 200
    assert len(ids_of(response)) == 2


def test_search_wildcards_are_taken_literally(client, world: World, as_role) -> None:
    for q in ("_", "d_allo", "__"):
        response = client.get(
            "/api/v1/people", query_string={"q": q}, headers=as_role("caseworker")
        )
        assert ids_of(response) == [], q


# --- Who reaches whom ------------------------------------------------------------------------


def test_caseworker_reads_a_person_their_office_holds(client, world: World, as_role) -> None:
    response = client.get(f"/api/v1/people/{world.people['rabat']}", headers=as_role("caseworker"))
    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == world.people["rabat"]
    assert body["family_name"] == "Diallo"
    assert body["family_name_ar"] == "ديالو"
    assert body["organisation"]["id"] == world.orgs["RAB"]
    assert body["household_id"] == world.households["rabat"]
    assert body["version"] == 1


def test_unknown_person_id_is_not_found(client, world: World, as_role) -> None:
    response = client.get("/api/v1/people/987654", headers=as_role("caseworker"))
    assert_problem(response, 404)


def test_tanger_caseworker_cannot_reach_a_person_rabat_holds(client, world: World, as_role) -> None:
    response = client.get(f"/api/v1/people/{world.people['rabat']}", headers=as_role("caseworker2"))
    body = assert_problem(response, 404)
    unknown = client.get("/api/v1/people/987654", headers=as_role("caseworker2")).get_json()
    assert body == unknown, "an out-of-scope person must look exactly like a missing one"


def test_ngo_cannot_reach_person_not_referred_to_it(client, world: World, as_role) -> None:
    for key in ("rabat", "rabat_child", "tanger"):
        response = client.get(f"/api/v1/people/{world.people[key]}", headers=as_role("ngo"))
        assert_problem(response, 404)


def test_ngo_reads_its_own_walk_in(client, world: World, as_role) -> None:
    response = client.get(f"/api/v1/people/{world.people['walk_in']}", headers=as_role("ngo"))
    assert response.status_code == 200
    assert response.get_json()["family_name"] == "Traoré"


def test_ngo_lists_only_its_walk_ins(client, world: World, as_role) -> None:
    response = client.get("/api/v1/people", headers=as_role("ngo"))
    assert ids_of(response) == [world.people["walk_in"]]


def test_regional_supervisor_sees_rabat_people_but_not_tanger(
    client, world: World, as_role
) -> None:
    headers = as_role("regional")
    listed = set(ids_of(client.get("/api/v1/people", headers=headers)))

    assert {world.people["rabat"], world.people["rabat_child"]} <= listed
    assert world.people["tanger"] not in listed
    assert client.get(f"/api/v1/people/{world.people['rabat']}", headers=headers).status_code == 200
    assert_problem(client.get(f"/api/v1/people/{world.people['tanger']}", headers=headers), 404)


def test_national_supervisor_sees_every_agency_file_but_not_ngo_walk_ins(
    client, world: World, as_role
) -> None:
    listed = set(ids_of(client.get("/api/v1/people", headers=as_role("supervisor"))))
    # An NGO's walk-in is shared with agency staff only with the person's consent.
    assert listed == set(world.people.values()) - {world.people["walk_in"]}


@pytest.mark.parametrize("role", ["admin", "auditor"])
def test_administrators_and_auditors_do_not_read_files(
    client, world: World, as_role, role: str
) -> None:
    headers = as_role(role)
    assert_problem(client.get("/api/v1/people", headers=headers), 403)
    assert_problem(client.get(f"/api/v1/people/{world.people['rabat']}", headers=headers), 403)


def test_auditor_cannot_register_a_person(app: Flask, client, world: World, as_role) -> None:
    response = client.post("/api/v1/people", json=NEW_PERSON, headers=as_role("auditor"))
    assert_problem(response, 403)
    assert people_count(app) == 4
    assert len(audit_entries(app, "person.create")) == 4  # the test world's own


def test_supervisor_cannot_edit_a_person(app: Flask, client, world: World, as_role) -> None:
    person_id = world.people["rabat"]
    response = client.patch(
        f"/api/v1/people/{person_id}",
        json={"phone": "+212 600 000 000", "version": 1},
        headers=as_role("supervisor"),
    )
    assert_problem(response, 403)
    assert stored_person(app, person_id)["phone"] is None


# --- Registering -----------------------------------------------------------------------------


def test_registering_a_person_answers_201_with_the_new_record(
    app: Flask, client, world: World, as_role
) -> None:
    response = client.post("/api/v1/people", json=NEW_PERSON, headers=as_role("caseworker"))

    assert response.status_code == 201
    body = response.get_json()
    assert isinstance(body["id"], int)
    assert body["family_name"] == "Koné"
    assert body["languages"] == ["fr", "dyu"]
    assert body["version"] == 1
    assert body["organisation"]["id"] == world.orgs["RAB"]
    assert stored_person(app, body["id"])["given_names_ar"] == "مريم"


def test_registered_person_is_found_at_once_by_folded_name(client, world: World, as_role) -> None:
    client.post("/api/v1/people", json=NEW_PERSON, headers=as_role("caseworker"))
    for q in ("kone", "KONE mariam", "كوني"):
        response = client.get(
            "/api/v1/people", query_string={"q": q}, headers=as_role("caseworker")
        )
        assert [item["family_name"] for item in response.get_json()["items"]] == ["Koné"], q


def test_ngo_registers_a_walk_in_held_by_the_ngo(client, world: World, as_role) -> None:
    response = client.post("/api/v1/people", json=NEW_PERSON, headers=as_role("ngo"))
    assert response.status_code == 201
    person_id = response.get_json()["id"]
    assert response.get_json()["organisation"]["id"] == world.orgs["NGO1"]
    assert_problem(client.get(f"/api/v1/people/{person_id}", headers=as_role("caseworker")), 404)


def test_nationality_is_stored_upper_case(client, world: World, as_role) -> None:
    response = client.post(
        "/api/v1/people", json={**NEW_PERSON, "nationality": "ci"}, headers=as_role("caseworker")
    )
    assert response.status_code == 201
    assert response.get_json()["nationality"] == "CI"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("sex", "Q"),
        ("nationality", "ZZ"),
        ("nationality", "SEN"),
        ("date_of_birth", (date.today() + timedelta(days=1)).isoformat()),
        ("date_of_birth", "17/05/1990"),
        ("family_name", ""),
        ("family_name", None),
        ("family_name", "x" * 121),
        ("languages", "fr"),
        ("prefecture_code", "NOPE"),
        ("pregnant", "maybe"),
    ],
)
def test_registering_with_a_bad_value_names_the_field(
    app: Flask, client, world: World, as_role, field: str, value
) -> None:
    response = client.post(
        "/api/v1/people", json={**NEW_PERSON, field: value}, headers=as_role("caseworker")
    )
    body = assert_problem(response, 422)
    assert list(body["errors"]) == [field]
    assert people_count(app) == 4
    assert len(audit_entries(app, "person.create")) == 4  # the test world's own


@pytest.mark.parametrize("missing", ["family_name", "given_names", "sex"])
def test_registering_without_a_required_field_names_it(
    client, world: World, as_role, missing: str
) -> None:
    values = {k: v for k, v in NEW_PERSON.items() if k != missing}
    body = assert_problem(
        client.post("/api/v1/people", json=values, headers=as_role("caseworker")), 422
    )
    assert list(body["errors"]) == [missing]


def test_registering_with_blank_family_name_is_refused(client, world: World, as_role) -> None:
    response = client.post(
        "/api/v1/people", json={**NEW_PERSON, "family_name": "   "}, headers=as_role("caseworker")
    )
    assert "family_name" in assert_problem(response, 422)["errors"]


def test_every_bad_field_is_named_at_once(client, world: World, as_role) -> None:
    response = client.post(
        "/api/v1/people",
        json={
            "given_names": "Mariam",
            "sex": "Q",
            "nationality": "ZZ",
            "date_of_birth": (date.today() + timedelta(days=30)).isoformat(),
            "favourite_colour": "blue",
        },
        headers=as_role("caseworker"),
    )
    errors = assert_problem(response, 422)["errors"]
    assert set(errors) == {
        "family_name",
        "sex",
        "nationality",
        "date_of_birth",
        "favourite_colour",
    }


@pytest.mark.parametrize(
    "extra",
    [
        {"organisation_id": 2},
        {"id": 4242},
        {"version": 7},
        {"search_text": "anything"},
        {"created_by_id": 1},
    ],
    ids=lambda extra: next(iter(extra)),
)
def test_caller_cannot_set_fields_the_server_owns(
    app: Flask, client, world: World, as_role, extra: dict
) -> None:
    response = client.post(
        "/api/v1/people", json={**NEW_PERSON, **extra}, headers=as_role("caseworker")
    )
    # Issue #7 item 5: a member of the resource the caller may not write is a 400 (the
    # mass-assignment guard), answered before anything is written.
    assert set(assert_problem(response, 400)["errors"]) == set(extra)
    with app.app_context():
        assert db.session.scalar(select(Person).where(Person.family_name == "Koné")) is None


def test_registering_with_a_bad_document_names_the_document_field(
    client, world: World, as_role
) -> None:
    response = client.post(
        "/api/v1/people",
        json={**NEW_PERSON, "documents": [{"kind": "library_card", "number": "1"}]},
        headers=as_role("caseworker"),
    )
    assert "documents" in assert_problem(response, 422)["errors"]


@pytest.mark.parametrize(
    "body",
    ['{"family_name": "Koné", ', "{'family_name': 'Koné'}", "not json at all", "\x00\x01"],
    ids=["truncated", "single quotes", "plain text", "binary"],
)
def test_malformed_json_is_a_bad_request_never_a_server_error(
    client, world: World, as_role, body: str
) -> None:
    response = client.post(
        "/api/v1/people",
        data=body,
        content_type="application/json",
        headers=as_role("caseworker"),
    )
    assert_problem(response, 400)


@pytest.mark.parametrize("body", [[NEW_PERSON], "Koné", 42, None])
def test_json_that_is_not_an_object_is_refused(client, world: World, as_role, body) -> None:
    response = client.post(
        "/api/v1/people",
        data=json.dumps(body),
        content_type="application/json",
        headers=as_role("caseworker"),
    )
    assert response.status_code in (400, 422)
    assert response.mimetype == PROBLEM


# --- Editing ---------------------------------------------------------------------------------


def test_patch_without_version_is_refused(app: Flask, client, world: World, as_role) -> None:
    person_id = world.people["rabat"]
    response = client.patch(
        f"/api/v1/people/{person_id}", json={"phone": "+212 600 1"}, headers=as_role("caseworker")
    )
    assert "version" in assert_problem(response, 422)["errors"]
    assert stored_person(app, person_id)["phone"] is None


def test_patch_changes_only_the_fields_sent_and_bumps_version(
    app: Flask, client, world: World, as_role
) -> None:
    person_id = world.people["rabat"]
    before = stored_person(app, person_id)

    response = client.patch(
        f"/api/v1/people/{person_id}",
        json={"phone": "+212 600 123 456", "version": 1},
        headers=as_role("caseworker"),
    )

    assert response.status_code == 200
    assert response.get_json()["phone"] == "+212 600 123 456"
    assert response.get_json()["version"] == 2
    after = stored_person(app, person_id)
    assert after == {**before, "phone": "+212 600 123 456", "version": 2}


def test_patch_with_stale_version_is_a_conflict_and_changes_nothing(
    app: Flask, client, world: World, as_role
) -> None:
    person_id = world.people["rabat"]
    headers = as_role("caseworker")
    first = client.patch(
        f"/api/v1/people/{person_id}", json={"phone": "+212 600 1", "version": 1}, headers=headers
    )
    assert first.status_code == 200
    before = stored_person(app, person_id)

    second = client.patch(
        f"/api/v1/people/{person_id}",
        json={"phone": "+212 600 2", "family_name": "Ndiaye", "version": 1},
        headers=headers,
    )

    body = assert_problem(second, 409)
    assert body["current_version"] == 2
    assert stored_person(app, person_id) == before
    assert len(audit_entries(app, "person.update", person_id)) == 1


def test_two_clerks_editing_the_same_version_the_second_is_told(
    app: Flask, client, world: World, as_role
) -> None:
    person_id = world.people["rabat"]
    caseworker = as_role("caseworker")
    as_read = client.get(f"/api/v1/people/{person_id}", headers=as_role("regional")).get_json()
    version = as_read["version"]

    one = client.patch(
        f"/api/v1/people/{person_id}",
        json={"address": "Rabat", "version": version},
        headers=caseworker,
    )
    two = client.patch(
        f"/api/v1/people/{person_id}",
        json={"address": "Salé", "version": version},
        headers=caseworker,
    )
    assert one.status_code == 200
    assert_problem(two, 409)
    assert stored_person(app, person_id)["address"] == "Rabat"


def test_patch_that_changes_nothing_keeps_the_version(
    app: Flask, client, world: World, as_role
) -> None:
    person_id = world.people["rabat"]
    response = client.patch(
        f"/api/v1/people/{person_id}",
        json={"family_name": "Diallo", "version": 1},
        headers=as_role("caseworker"),
    )
    assert response.status_code == 200
    assert response.get_json()["version"] == 1
    assert audit_entries(app, "person.update", person_id) == []


def test_patch_rename_is_found_by_the_new_name(client, world: World, as_role) -> None:
    headers = as_role("caseworker")
    client.patch(
        f"/api/v1/people/{world.people['rabat']}",
        json={"family_name": "Ndiaye", "family_name_ar": "نجاي", "version": 1},
        headers=headers,
    )
    for q in ("ndiaye", "نجاي"):
        found = client.get("/api/v1/people", query_string={"q": q}, headers=headers)
        assert ids_of(found) == [world.people["rabat"]], q


@pytest.mark.parametrize(
    ("field", "value"),
    [("sex", "Q"), ("nationality", "ZZ"), ("family_name", None), ("family_name", "  ")],
)
def test_patch_with_a_bad_value_names_the_field_and_changes_nothing(
    app: Flask, client, world: World, as_role, field: str, value
) -> None:
    person_id = world.people["rabat"]
    before = stored_person(app, person_id)
    response = client.patch(
        f"/api/v1/people/{person_id}",
        json={field: value, "version": 1},
        headers=as_role("caseworker"),
    )
    assert list(assert_problem(response, 422)["errors"]) == [field]
    assert stored_person(app, person_id) == before


def test_patch_cannot_move_a_person_to_another_office(
    app: Flask, client, world: World, as_role
) -> None:
    person_id = world.people["rabat"]
    response = client.patch(
        f"/api/v1/people/{person_id}",
        json={"organisation_id": world.orgs["TNG"], "version": 1},
        headers=as_role("caseworker"),
    )
    assert "organisation_id" in assert_problem(response, 400)["errors"]
    with app.app_context():
        assert db.session.get(Person, person_id).organisation_id == world.orgs["RAB"]


def test_patch_with_malformed_json_is_a_bad_request(app: Flask, client, world: World, as_role):
    person_id = world.people["rabat"]
    response = client.patch(
        f"/api/v1/people/{person_id}",
        data='{"phone": "+212", "version": ',
        content_type="application/json",
        headers=as_role("caseworker"),
    )
    assert_problem(response, 400)
    assert stored_person(app, person_id)["version"] == 1


def test_tanger_caseworker_cannot_edit_a_person_rabat_holds(
    app: Flask, client, world: World, as_role
) -> None:
    person_id = world.people["rabat"]
    response = client.patch(
        f"/api/v1/people/{person_id}",
        json={"phone": "+212 600 9", "version": 1},
        headers=as_role("caseworker2"),
    )
    assert_problem(response, 404)
    assert stored_person(app, person_id)["phone"] is None


def test_ngo_edits_its_own_walk_in_but_no_one_else(app: Flask, client, world: World, as_role):
    headers = as_role("ngo")
    own = client.patch(
        f"/api/v1/people/{world.people['walk_in']}",
        json={"phone": "+212 611", "version": 1},
        headers=headers,
    )
    other = client.patch(
        f"/api/v1/people/{world.people['rabat']}",
        json={"phone": "+212 611", "version": 1},
        headers=headers,
    )
    assert own.status_code == 200
    assert_problem(other, 404)


# --- Audit trail -----------------------------------------------------------------------------


def test_every_read_of_a_person_is_audited(app: Flask, client, world: World, as_role) -> None:
    person_id = world.people["rabat"]
    for _ in range(2):
        client.get(f"/api/v1/people/{person_id}", headers=as_role("caseworker"))
    client.get(f"/api/v1/people/{person_id}", headers=as_role("regional"))

    entries = audit_entries(app, "person.view", person_id)
    assert [entry.user_id for entry in entries] == [
        world.user_ids["caseworker"],
        world.user_ids["caseworker"],
        world.user_ids["regional"],
    ]
    assert all(entry.record_type == "people" for entry in entries)
    assert all(entry.data == {"channel": "api"} for entry in entries)


def test_refused_read_does_not_audit_a_view(app: Flask, client, world: World, as_role) -> None:
    client.get(f"/api/v1/people/{world.people['rabat']}", headers=as_role("caseworker2"))
    assert audit_entries(app, "person.view", world.people["rabat"]) == []


def test_registration_is_audited_without_personal_data(
    app: Flask, client, world: World, as_role
) -> None:
    response = client.post("/api/v1/people", json=NEW_PERSON, headers=as_role("caseworker"))
    person_id = response.get_json()["id"]

    [entry] = audit_entries(app, "person.create", person_id)
    assert entry.user_id == world.user_ids["caseworker"]
    assert entry.record_type == "people"
    assert_holds_no_personal_data(entry.data, NEW_PERSON)


def test_edit_is_audited_with_field_names_only(app: Flask, client, world: World, as_role) -> None:
    person_id = world.people["rabat"]
    change = {
        "phone": "+212 600 777 888",
        "address": "Douar Hajja, Rabat",
        "vulnerability_notes": "Needs a Wolof interpreter",
        "given_names": "Mamadou Lamine",
    }
    client.patch(
        f"/api/v1/people/{person_id}", json={**change, "version": 1}, headers=as_role("caseworker")
    )

    [entry] = audit_entries(app, "person.update", person_id)
    assert entry.user_id == world.user_ids["caseworker"]
    assert entry.data == {"fields": sorted(change)}
    assert_holds_no_personal_data(entry.data, {**change, "family_name": "Diallo"})
