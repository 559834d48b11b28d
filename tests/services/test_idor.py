"""No organisation reaches another's records through the referrals, services and people API.

Two offices (RAB, TNG) and two NGOs (NGO1, NGO2) refer people to each other. A small oracle,
`Scenario.sees`, written from the rules (not from the code under test), says who may see
what; every endpoint under /api/v1/referrals, /services and /people is then called with every
id a caller must not see, and must answer exactly as for an id that does not exist.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from casework.admin.models import Organisation
from casework.auth.models import User
from casework.cases.operations import file_case
from casework.extensions import db
from casework.people.models import Person
from casework.services import operations
from casework.services.models import Referral
from casework.services.referral_flow import REFERRAL_ACTIONS
from tests.conftest import api_token
from tests.factories import World, user_by_key
from tests.services.test_api import NGO_VIEW_FIELDS, Partners, build_partners

TODAY = date.today()
MISSING = 987654
PREFIXES = ("/api/v1/referrals", "/api/v1/services", "/api/v1/people")
CALLERS = {"caseworker": "RAB", "caseworker2": "TNG", "ngo": "NGO1", "ngo2": "NGO2"}
NGOS = {"NGO1", "NGO2"}

ASSISTANCE = {
    "date": TODAY.isoformat(),
    "service_code": "school_enrolment",
    "quantity": 1,
    "unit": "kit",
}

# Every route under PREFIXES, by how a foreign id reaches it. A new route fails
# `test_every_route_is_covered` until it is added here.
ID_ROUTES = {
    ("/api/v1/people/<int:person_id>", "GET"): ("person", None),
    ("/api/v1/people/<int:person_id>", "PATCH"): ("person", {"phone": "+212 600", "version": 1}),
    ("/api/v1/people/<int:person_id>/duplicates", "GET"): ("person", None),
    ("/api/v1/referrals/<int:referral_id>", "GET"): ("referral", None),
    ("/api/v1/referrals/<int:referral_id>/actions/<string:action>", "POST"): (
        "referral",
        {"version": 1, "reason": "x", "outcome": "x"},
    ),
    ("/api/v1/referrals/<int:referral_id>/assistance", "GET"): ("referral", None),
    ("/api/v1/referrals/<int:referral_id>/assistance", "POST"): ("referral", ASSISTANCE),
}
LIST_ROUTES = {
    ("/api/v1/people", "GET"),
    ("/api/v1/referrals", "GET"),
    ("/api/v1/services", "GET"),
}
BODY_ID_ROUTES = {  # ids in the body: a foreign one is refused like an unknown one
    ("/api/v1/referrals", "POST"),
    ("/api/v1/people", "POST"),
}


@dataclass
class Scenario:
    """Ids of the records, and the facts the oracle reasons on (plain values)."""

    partners: Partners
    holder: dict[str, str] = field(default_factory=dict)  # person -> organisation holding it
    referrals: dict[str, dict] = field(default_factory=dict)  # key -> facts, with "id"
    assistance: dict[str, dict] = field(default_factory=dict)  # key -> facts, with "id"
    cases: dict[str, int] = field(default_factory=dict)  # person -> case id
    case_references: list[str] = field(default_factory=list)

    def person_id(self, key: str) -> int:
        return self.partners.people[key]

    # --- The oracle: who sees what, from the rules ---

    def sees(self, caller: str, kind: str, key: str) -> bool:
        org = CALLERS[caller]
        if kind == "person":
            if self.holder[key] == org:  # own people (an office's files are its own people here)
                return True
            return org in NGOS and any(  # an NGO: people in its open referrals
                r["provider"] == org and r["open"] and r["person"] == key
                for r in self.referrals.values()
            )
        if kind == "referral":
            facts = self.referrals[key]
            if org in NGOS:
                return org in (facts["sender"], facts["provider"])
            return facts["sender"] == org or self.sees(caller, "person", facts["person"])
        facts = self.assistance[key]
        if org in NGOS:
            return facts["provider"] == org
        return self.sees(caller, "person", facts["person"])

    def foreign(self, caller: str, kind: str) -> list[str]:
        keys = {"person": self.holder, "referral": self.referrals, "assistance": self.assistance}
        return [key for key in keys[kind] if not self.sees(caller, kind, key)]


def build_scenario(world: World) -> Scenario:
    partners = build_partners(world)
    scenario = Scenario(partners=partners)
    scenario.holder = {
        "rabat": "RAB",
        "rabat_child": "RAB",
        "vulnerable": "RAB",
        "tanger": "TNG",
        "walk_in": "NGO1",
        "walk_in2": "NGO2",
    }
    user = {key: user_by_key(world, key) for key in ("caseworker", "caseworker2", "ngo")}
    user["ngo2"] = db.session.scalar(select(User).where(User.email == partners.users["ngo2"]))
    orgs = {key: db.session.get(Organisation, partners.orgs[key]) for key in NGOS}
    people = {key: db.session.get(Person, partners.people[key]) for key in scenario.holder}

    # (key, sender, provider, person, service, the provider's steps); assistance on accepting.
    plan = [
        ("rab_ngo1", "caseworker", "NGO1", "rabat", "school_enrolment", ["accept"]),
        ("tng_ngo2", "caseworker2", "NGO2", "tanger", "school_enrolment", ["accept"]),
        ("ngo1_ngo2", "ngo", "NGO2", "walk_in", "emergency_shelter", ["accept"]),
        (
            "done_ngo1",
            "caseworker",
            "NGO1",
            "rabat_child",
            "school_enrolment",
            ["accept", "start", "complete"],
        ),
        ("sent_ngo2", "caseworker", "NGO2", "vulnerable", "school_enrolment", []),
    ]
    provider_user = {"NGO1": user["ngo"], "NGO2": user["ngo2"]}
    for key, sender, provider, person, service, steps in plan:
        referral = operations.send_referral(
            people[person],
            service_code=service,
            provider=orgs[provider],
            purpose="Help",
            urgency="normal",
            due_date=None,
            by=user[sender],
            consent={"given": True, "date": TODAY, "shared_vulnerabilities": ["disability"]},
        )
        by = provider_user[provider]
        for step in steps:
            operations.act_on_referral(referral, step, by=by, expected_version=None, outcome="ok")
            if step == "accept":
                row = operations.record_assistance(
                    referral, {**ASSISTANCE, "date": TODAY, "service_code": service}, by=by
                )
                scenario.assistance[f"a_{key}"] = {
                    "id": row.id,
                    "provider": provider,
                    "person": person,
                    "referral": key,
                }
        scenario.referrals[key] = {
            "id": referral.id,
            "sender": CALLERS[sender],
            "provider": provider,
            "person": person,
            "open": referral.is_open,
        }
    for person, by in (("vulnerable", "caseworker"), ("tanger", "caseworker2")):
        case = file_case(kind="asylum", applicant=people[person], by=user[by])
        scenario.cases[person] = case.id
        scenario.case_references.append(case.reference)
    return scenario


@pytest.fixture
def scenario(app: Flask, world: World) -> Scenario:
    with app.app_context():
        built = build_scenario(world)
        db.session.commit()
        return built


@pytest.fixture
def headers(client, scenario: Scenario):
    tokens: dict[str, dict[str, str]] = {}

    def of(key: str) -> dict[str, str]:
        if key not in tokens:
            tokens[key] = api_token(client, scenario.partners.users[key])
        return tokens[key]

    return of


def routes(app: Flask) -> list[tuple[str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(PREFIXES):
            found += [(rule.rule, method) for method in rule.methods - {"HEAD", "OPTIONS"}]
    return sorted(found)


def fill(rule: str, **values) -> str:
    return re.sub(r"<(?:[^:<>]+:)?(\w+)>", lambda m: str(values[m.group(1)]), rule)


def answer(response) -> tuple[int, object]:
    return response.status_code, response.get_json()


def ids_in(response) -> set[int]:
    body = response.get_json()
    items = body["items"] if isinstance(body, dict) else body
    return {item["id"] for item in items}


# --- Every endpoint, every foreign id ------------------------------------------------------


def test_every_route_is_covered(app: Flask) -> None:
    covered = set(ID_ROUTES) | LIST_ROUTES | BODY_ID_ROUTES
    assert set(routes(app)) == covered


def test_the_oracle_matches_the_story(scenario: Scenario) -> None:
    """The oracle itself, on the cases the issue names."""
    assert scenario.sees("ngo", "person", "rabat")  # open referral to NGO1
    assert not scenario.sees("ngo", "person", "rabat_child")  # its referral is completed
    assert scenario.sees("ngo", "assistance", "a_done_ngo1")  # but NGO1's records stay
    assert scenario.sees("ngo2", "person", "walk_in")  # NGO1 referred its walk-in to NGO2
    assert not scenario.sees("ngo", "assistance", "a_ngo1_ngo2")  # NGO2 gave it, not NGO1
    assert not scenario.sees("caseworker", "referral", "ngo1_ngo2")
    assert scenario.sees("caseworker", "assistance", "a_rab_ngo1")


@pytest.mark.parametrize("caller", sorted(CALLERS))
def test_foreign_ids_answer_like_missing_ones(client, scenario: Scenario, headers, caller):
    checked = 0
    for (rule, method), (kind, body) in ID_ROUTES.items():
        actions = REFERRAL_ACTIONS if "<string:action>" in rule else [None]
        for action in actions:
            ids = [
                scenario.partners.people[k] if kind == "person" else scenario.referrals[k]["id"]
                for k in scenario.foreign(caller, kind)
            ]
            assert ids, f"no foreign {kind} for {caller}: the scenario is too small"
            missing = client.open(
                fill(rule, person_id=MISSING, referral_id=MISSING, action=action),
                method=method,
                json=body,
                headers=headers(caller),
            )
            assert missing.status_code in (403, 404), (rule, method, answer(missing))
            for foreign_id in ids:
                url = fill(rule, person_id=foreign_id, referral_id=foreign_id, action=action)
                response = client.open(url, method=method, json=body, headers=headers(caller))
                where = f"{method} {url} as {caller}"
                assert answer(response) == answer(missing), where
                checked += 1
    assert checked > 10


@pytest.mark.parametrize("caller", sorted(CALLERS))
def test_foreign_people_cannot_be_referred(client, scenario: Scenario, headers, caller) -> None:
    def refer(person_id: int):
        body = {
            "person_id": person_id,
            "service_code": "legal_aid",
            "provider_id": scenario.partners.orgs["NGO1"],
            "purpose": "Help",
            "consent": {"given": True, "date": TODAY.isoformat()},
        }
        return client.post("/api/v1/referrals", json=body, headers=headers(caller))

    missing = refer(MISSING)
    assert missing.status_code == 422
    assert set(missing.get_json()["errors"]) == {"person_id"}
    for key in scenario.foreign(caller, "person"):
        assert answer(refer(scenario.person_id(key))) == answer(missing), key
    # A person referred to an NGO may be referred on to another provider, with the person's
    # consent (issue #4: "a caseworker, or an NGO to another provider, refers a person").


def test_a_new_person_cannot_be_placed_in_another_organisation(client, scenario, headers):
    body = {
        "family_name": "X",
        "given_names": "Y",
        "sex": "F",
        "organisation_id": scenario.partners.orgs["NGO2"],
    }
    response = client.post("/api/v1/people", json=body, headers=headers("ngo"))
    # A member of the resource the caller may not set: the mass-assignment guard's 400.
    assert response.status_code == 400
    assert "organisation_id" in response.get_json()["errors"]


@pytest.mark.parametrize("caller", sorted(CALLERS))
def test_lists_never_hold_foreign_records(client, scenario: Scenario, headers, caller) -> None:
    foreign_people = {scenario.person_id(k) for k in scenario.foreign(caller, "person")}
    foreign_referrals = {scenario.referrals[k]["id"] for k in scenario.foreign(caller, "referral")}
    foreign_assistance = {
        scenario.assistance[k]["id"] for k in scenario.foreign(caller, "assistance")
    }
    h = headers(caller)

    people_queries = [{}, {"sex": "M"}, {"sex": "F"}, {"nationality": "SN"}, {"limit": 200}]
    people_queries += [
        {"q": name}
        for name in ("Diallo", "Okafor", "Traoré", "Mensah", "Bamba", "Awa", "ML1234567")
    ]
    listed_people: set[int] = set()
    for query in people_queries:
        response = client.get("/api/v1/people", query_string=query, headers=h)
        assert response.status_code == 200
        assert not ids_in(response) & foreign_people, query
        listed_people |= ids_in(response)
    visible = {scenario.person_id(k) for k in scenario.holder} - foreign_people
    assert listed_people == visible

    listed_referrals: set[int] = set()
    for query in [
        {},
        {"role": "inbox"},
        {"role": "sent"},
        {"overdue": "true"},
        *({"state": s} for s in ("sent", "accepted", "completed")),
    ]:
        response = client.get("/api/v1/referrals", query_string=query, headers=h)
        assert response.status_code == 200
        assert not ids_in(response) & foreign_referrals, query
        listed_referrals |= ids_in(response)
    assert listed_referrals == {r["id"] for r in scenario.referrals.values()} - foreign_referrals

    for key, facts in scenario.referrals.items():
        if scenario.sees(caller, "referral", key):
            response = client.get(f"/api/v1/referrals/{facts['id']}/assistance", headers=h)
            assert response.status_code == 200
            assert not ids_in(response) & foreign_assistance, key

    catalogue = client.get("/api/v1/services", headers=h)
    assert catalogue.status_code == 200  # the catalogue is the same for everyone


# --- What an NGO reaches ----------------------------------------------------------------------


@pytest.mark.parametrize("caller", ["ngo", "ngo2"])
def test_ngo_reaches_only_open_referrals_and_walk_ins(client, scenario, headers, caller):
    h = headers(caller)
    outside = scenario.foreign(caller, "person")
    assert outside
    for key in outside:
        person_id = scenario.person_id(key)
        assert client.get(f"/api/v1/people/{person_id}", headers=h).status_code == 404
        patch = client.patch(
            f"/api/v1/people/{person_id}", json={"phone": "1", "version": 1}, headers=h
        )
        assert patch.status_code == 404
    names = {
        "rabat": "Diallo",
        "rabat_child": "Awa",
        "tanger": "Okafor",
        "walk_in": "Traoré",
        "walk_in2": "Mensah",
        "vulnerable": "Bamba",
    }
    for key in outside:
        found = client.get("/api/v1/people", query_string={"q": names[key]}, headers=h)
        assert scenario.person_id(key) not in ids_in(found)
    assert client.get("/api/v1/cases", headers=h).status_code == 403
    for case_id in scenario.cases.values():
        assert client.get(f"/api/v1/cases/{case_id}", headers=h).status_code == 403


def test_completed_referral_keeps_assistance_but_not_the_person(client, scenario, headers):
    h = headers("ngo")
    referral = scenario.referrals["done_ngo1"]
    assert referral["open"] is False
    listed = client.get(f"/api/v1/referrals/{referral['id']}/assistance", headers=h)
    assert ids_in(listed) == {scenario.assistance["a_done_ngo1"]["id"]}
    person = client.get(f"/api/v1/people/{scenario.person_id('rabat_child')}", headers=h)
    assert person.status_code == 404


def test_ngo_view_never_holds_case_data(client, scenario, headers) -> None:
    """NGO2 has Rabat's vulnerable person (who has an asylum file) in its inbox."""
    h = headers("ngo2")
    person_id = scenario.person_id("vulnerable")
    person = client.get(f"/api/v1/people/{person_id}", headers=h).get_json()
    assert set(person) == NGO_VIEW_FIELDS
    assert person["shared_vulnerabilities"] == ["disability"]
    listed = client.get("/api/v1/people", headers=h).get_json()["items"]
    # Everyone NGO2 lists but its own walk-in is shown in the NGO view.
    referred = [item for item in listed if item["id"] != scenario.person_id("walk_in2")]
    assert {item["id"] for item in referred} == {
        scenario.person_id(k) for k in ("vulnerable", "tanger", "walk_in")
    }
    assert all(set(item) == NGO_VIEW_FIELDS for item in referred)
    referral_id = scenario.referrals["sent_ngo2"]["id"]
    bodies = [
        person,
        referred,
        client.get(f"/api/v1/referrals/{referral_id}", headers=h).get_json(),
        client.get("/api/v1/referrals", headers=h).get_json(),
    ]
    text = json.dumps(bodies, ensure_ascii=False).casefold()
    for secret in [
        *scenario.case_references,
        "asylum",
        "wheelchair",
        "impasse",
        "ml1234567",
        "vulnerability_notes",
        "date_of_birth",
        "documents",
        "address",
    ]:
        assert secret.casefold() not in text, secret


# --- The oracle, on (user, record) pairs hypothesis chooses ------------------------------------


def test_every_answer_agrees_with_the_oracle(client, scenario: Scenario, headers) -> None:
    records = [("person", key) for key in scenario.holder]
    records += [("referral", key) for key in scenario.referrals]
    records += [("assistance", key) for key in scenario.assistance]

    def api_sees(caller: str, kind: str, key: str) -> bool:
        h = headers(caller)
        if kind == "person":
            status = client.get(f"/api/v1/people/{scenario.person_id(key)}", headers=h).status_code
            assert status in (200, 404)
            return status == 200
        if kind == "referral":
            referral_id = scenario.referrals[key]["id"]
            status = client.get(f"/api/v1/referrals/{referral_id}", headers=h).status_code
            assert status in (200, 404)
            return status == 200
        facts = scenario.assistance[key]
        referral_id = scenario.referrals[facts["referral"]]["id"]
        listed = client.get(f"/api/v1/referrals/{referral_id}/assistance", headers=h)
        return listed.status_code == 200 and facts["id"] in ids_in(listed)

    @settings(
        max_examples=60,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(caller=st.sampled_from(sorted(CALLERS)), record=st.sampled_from(records))
    def agrees(caller: str, record: tuple[str, str]) -> None:
        kind, key = record
        assert api_sees(caller, kind, key) == scenario.sees(caller, kind, key), (caller, record)

    agrees()


# --- Policy gaps found on the way (reported; policy.py is not this change's to edit) -----------


def test_regional_supervisor_does_not_see_ngo_walk_ins(client, scenario, headers) -> None:
    h = api_token(client, scenario.partners.world.users["regional"])
    walk_in = scenario.person_id("walk_in")  # held by NGO1, an NGO of region 04
    assert client.get(f"/api/v1/people/{walk_in}", headers=h).status_code == 404


def test_referral_states_in_the_scenario(app: Flask, scenario: Scenario) -> None:
    with app.app_context():
        states = {
            key: db.session.get(Referral, facts["id"]).state
            for key, facts in scenario.referrals.items()
        }
    assert states == {
        "rab_ngo1": "accepted",
        "tng_ngo2": "accepted",
        "ngo1_ngo2": "accepted",
        "done_ngo1": "completed",
        "sent_ngo2": "sent",
    }
