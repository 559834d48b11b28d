"""Referrals, assistance and the catalogue through the API (/api/v1/referrals, /services), and
what an NGO reads of the people referred to it (/api/v1/people).

The partners' world: the standard test world (offices RAB and TNG, NGO1 with a walk-in) plus
NGO2 with its own walk-in, offers of services by both NGOs, and a person with vulnerabilities.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import pytest
from flask import Flask
from sqlalchemy import select

from casework.admin.models import Organisation, OrganisationKind
from casework.audit.models import AuditEntry
from casework.extensions import db
from casework.people.models import IdentityDocument, Person
from casework.policy import Role
from casework.services.models import AssistanceRecord, Consent, ProviderService, Referral
from tests.conftest import api_token
from tests.factories import World, make_organisation, make_person, make_user, user_by_key

PROBLEM = "application/problem+json"
TODAY = date.today()
BORN = date(TODAY.year - 30, 1, 1)  # 30 years old today, whatever today is

# What an NGO may read of a person referred to it; anything else is a leak.
NGO_VIEW_FIELDS = {
    "id",
    "family_name",
    "given_names",
    "family_name_ar",
    "given_names_ar",
    "sex",
    "age",
    "nationality",
    "languages",
    "phone",
    "household_size",
    "shared_vulnerabilities",
}


@dataclass
class Partners:
    """Plain ids and emails of the partners' world (safe outside an app context)."""

    world: World
    users: dict[str, str] = field(default_factory=dict)  # key -> email
    orgs: dict[str, int] = field(default_factory=dict)
    regions: dict[str, str | None] = field(default_factory=dict)
    people: dict[str, int] = field(default_factory=dict)


def build_partners(world: World) -> Partners:
    """NGO2 (Tanger) with a user and a walk-in; the NGOs' offers; a vulnerable person held by
    Rabat. Call inside an app context; the caller commits."""
    partners = Partners(world=world, users=dict(world.users), orgs=dict(world.orgs))
    partners.people = dict(world.people)
    ngo1 = db.session.get(Organisation, world.orgs["NGO1"])
    ngo2 = make_organisation("NGO2", OrganisationKind.NGO, "TNG")
    ngo2_user = make_user("ngo2@test.example", Role.NGO, ngo2)
    partners.orgs["NGO2"] = ngo2.id
    partners.regions = {"NGO1": ngo1.region_code, "NGO2": ngo2.region_code}
    partners.users["ngo2"] = ngo2_user.email
    offers = [
        (ngo1, "school_enrolment", 10, True),
        (ngo1, "legal_aid", None, True),
        (ngo2, "school_enrolment", 5, True),
        (ngo2, "emergency_shelter", 2, True),
        (ngo2, "vaccination", 3, False),  # withdrawn offer: not in the catalogue
    ]
    for org, code, capacity, active in offers:
        db.session.add(
            ProviderService(
                organisation_id=org.id,
                service_code=code,
                region_codes=[org.region_code],
                capacity=capacity,
                active=active,
            )
        )
    walk_in2 = make_person(ngo2_user, family_name="Mensah", given_names="Kofi", nationality="GH")
    vulnerable = make_person(
        user_by_key(world, "caseworker"),
        family_name="Bamba",
        given_names="Fatou",
        sex="F",
        date_of_birth=BORN,
        phone="+212 600 000 001",
        address="3 impasse des Lilas, Rabat",
        languages=["fr", "bm"],
        serious_illness=True,
        disability=True,
        vulnerability_notes="Needs a wheelchair; diagnosis in the medical file.",
    )
    vulnerable.documents.append(
        IdentityDocument(kind="passport", number="ML1234567", issuing_country="ML")
    )
    db.session.flush()
    partners.people.update(walk_in2=walk_in2.id, vulnerable=vulnerable.id)
    return partners


@pytest.fixture
def partners(app: Flask, world: World) -> Partners:
    with app.app_context():
        built = build_partners(world)
        db.session.commit()
        return built


@pytest.fixture
def headers(client, partners: Partners):
    """Authorization headers for account `key` (one token per account and test)."""
    tokens: dict[str, dict[str, str]] = {}

    def of(key: str) -> dict[str, str]:
        if key not in tokens:
            tokens[key] = api_token(client, partners.users[key])
        return tokens[key]

    return of


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == status
    return body


def referral_body(person_id: int, provider_id: int, /, **changes) -> dict:
    body = {
        "person_id": person_id,
        "service_code": "school_enrolment",
        "provider_id": provider_id,
        "purpose": "Enrol the children at the nearest school.",
        "urgency": "high",
        "due_date": (TODAY + timedelta(days=14)).isoformat(),
        "consent": {"given": True, "date": TODAY.isoformat(), "scope": "Referral for school"},
    }
    body.update(changes)
    return body


ASSISTANCE = {
    "date": TODAY.isoformat(),
    "service_code": "school_enrolment",
    "quantity": 1,
    "unit": "enrolment",
    "place": "École Al Amal",
}


def send(client, headers, key: str = "caseworker", **body) -> dict:
    """Send a referral (by default Rabat's caseworker refers the vulnerable person to NGO1)."""
    response = client.post("/api/v1/referrals", json=body, headers=headers(key))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def act(client, headers, key: str, referral_id: int, action: str, **fields):
    current = client.get(f"/api/v1/referrals/{referral_id}", headers=headers(key)).get_json()
    return client.post(
        f"/api/v1/referrals/{referral_id}/actions/{action}",
        json={"version": current["version"], **fields},
        headers=headers(key),
    )


def referral_to_ngo1(client, headers, partners: Partners, person: str = "vulnerable", **changes):
    body = referral_body(partners.people[person], partners.orgs["NGO1"], **changes)
    return send(client, headers, **body)


def accepted_referral(client, headers, partners: Partners, **changes) -> dict:
    referral = referral_to_ngo1(client, headers, partners, **changes)
    assert act(client, headers, "ngo", referral["id"], "accept").status_code == 200
    return referral


# --- The journey ----------------------------------------------------------------------------


def test_referral_journey_from_caseworker_to_ngo_and_back(client, partners, headers) -> None:
    person_id = partners.people["vulnerable"]
    body = referral_body(person_id, partners.orgs["NGO1"])
    body["consent"]["shared_vulnerabilities"] = ["serious_illness"]
    sent = send(client, headers, **body)
    assert sent["state"] == "sent"
    assert sent["person"]["id"] == person_id
    assert sent["provider"] == {"id": partners.orgs["NGO1"], "name": "Organisation NGO1"}
    assert sent["allowed_actions"] == ["cancel"]
    assert sent["consent"]["shared_vulnerabilities"] == ["serious_illness"]

    # The NGO finds it in its inbox and may accept or decline it.
    inbox = client.get("/api/v1/referrals", headers=headers("ngo")).get_json()
    assert [item["id"] for item in inbox["items"]] == [sent["id"]]
    detail = client.get(f"/api/v1/referrals/{sent['id']}", headers=headers("ngo")).get_json()
    assert sorted(detail["allowed_actions"]) == ["accept", "decline"]
    assert set(detail["person"]) == {
        "id",
        "family_name",
        "given_names",
        "family_name_ar",
        "given_names_ar",
        "sex",
        "age",
    }
    assert detail["person"]["age"] == 30
    assert "shared_vulnerabilities" not in detail["consent"]  # read on the person, while open
    person = client.get(f"/api/v1/people/{person_id}", headers=headers("ngo")).get_json()
    assert set(person) == NGO_VIEW_FIELDS
    assert person["shared_vulnerabilities"] == ["serious_illness"]

    accepted = act(client, headers, "ngo", sent["id"], "accept")
    assert accepted.status_code == 200
    assert accepted.get_json()["state"] == "accepted"
    given = client.post(
        f"/api/v1/referrals/{sent['id']}/assistance", json=ASSISTANCE, headers=headers("ngo")
    )
    assert given.status_code == 201, given.get_json()
    record = given.get_json()
    assert record["quantity"] == "1.00"
    assert record["date"] == TODAY.isoformat()
    assert record["superseded"] is False
    assert act(client, headers, "ngo", sent["id"], "start").status_code == 200
    completed = act(client, headers, "ngo", sent["id"], "complete", outcome="Enrolled in CE2.")
    assert completed.get_json()["state"] == "completed"
    assert completed.get_json()["allowed_actions"] == []

    # The caseworker sees the outcome and the assistance given.
    back = client.get(f"/api/v1/referrals/{sent['id']}", headers=headers("caseworker")).get_json()
    assert back["state"] == "completed"
    assert back["outcome"] == "Enrolled in CE2."
    seen = client.get(
        f"/api/v1/referrals/{sent['id']}/assistance", headers=headers("caseworker")
    ).get_json()
    assert [row["id"] for row in seen] == [record["id"]]
    assert seen[0]["place"] == "École Al Amal"
    assert seen[0]["provider"]["id"] == partners.orgs["NGO1"]

    # The NGO keeps its records, but no longer reaches the person.
    kept = client.get(f"/api/v1/referrals/{sent['id']}/assistance", headers=headers("ngo"))
    assert [row["id"] for row in kept.get_json()] == [record["id"]]
    assert_problem(client.get(f"/api/v1/people/{person_id}", headers=headers("ngo")), 404)


def test_sending_records_the_consent_and_audits(app, client, partners, headers) -> None:
    sent = referral_to_ngo1(client, headers, partners)
    with app.app_context():
        referral = db.session.get(Referral, sent["id"])
        consent = db.session.get(Consent, referral.consent_id)
        assert consent.given_to_id == partners.orgs["NGO1"]
        assert consent.scope == "referral"
        assert consent.purpose == "Referral for school"
        actions = db.session.scalars(
            select(AuditEntry.action).where(AuditEntry.record_type.in_(["referrals", "consents"]))
        ).all()
    assert sorted(actions) == ["consent.record", "referral.send"]


# --- Sending: refused input -----------------------------------------------------------------


@pytest.mark.parametrize(
    "consent",
    [None, {"given": False, "date": TODAY.isoformat()}, {"date": TODAY.isoformat()}],
    ids=["no consent", "consent refused", "consent not said"],
)
def test_no_referral_without_consent(app, client, partners, headers, consent) -> None:
    body = referral_body(partners.people["vulnerable"], partners.orgs["NGO1"], consent=consent)
    if consent is None:
        del body["consent"]
    response = client.post("/api/v1/referrals", json=body, headers=headers("caseworker"))
    assert "consent" in assert_problem(response, 422)["errors"]
    with app.app_context():
        assert db.session.scalars(select(Referral.id)).all() == []
        assert db.session.scalars(select(Consent.id)).all() == []


def test_consent_must_be_a_real_true(client, partners, headers) -> None:
    body = referral_body(partners.people["vulnerable"], partners.orgs["NGO1"])
    body["consent"]["given"] = "yes"
    response = client.post("/api/v1/referrals", json=body, headers=headers("caseworker"))
    assert "consent" in assert_problem(response, 422)["errors"]


def test_consent_given_in_the_future_is_refused(client, partners, headers) -> None:
    body = referral_body(partners.people["vulnerable"], partners.orgs["NGO1"])
    body["consent"]["date"] = (TODAY + timedelta(days=1)).isoformat()
    response = client.post("/api/v1/referrals", json=body, headers=headers("caseworker"))
    assert "consent.date" in assert_problem(response, 422)["errors"]


def test_provider_must_offer_the_service(client, partners, headers) -> None:
    body = referral_body(
        partners.people["vulnerable"], partners.orgs["NGO1"], service_code="emergency_shelter"
    )
    response = client.post("/api/v1/referrals", json=body, headers=headers("caseworker"))
    assert set(assert_problem(response, 422)["errors"]) == {"provider_id"}


@pytest.mark.parametrize("provider", ["RAB", "TNG", None], ids=["own office", "office", "none"])
def test_provider_must_be_a_provider_of_the_service(client, partners, headers, provider) -> None:
    provider_id = partners.orgs[provider] if provider else 987654
    body = referral_body(partners.people["vulnerable"], provider_id)
    response = client.post("/api/v1/referrals", json=body, headers=headers("caseworker"))
    assert "provider_id" in assert_problem(response, 422)["errors"]


def test_a_withdrawn_offer_takes_no_referral(client, partners, headers) -> None:
    body = referral_body(
        partners.people["vulnerable"], partners.orgs["NGO2"], service_code="vaccination"
    )
    response = client.post("/api/v1/referrals", json=body, headers=headers("caseworker"))
    assert "provider_id" in assert_problem(response, 422)["errors"]


def test_an_inactive_provider_takes_no_referral(app, client, partners, headers) -> None:
    with app.app_context():
        db.session.get(Organisation, partners.orgs["NGO1"]).active = False
        db.session.commit()
    body = referral_body(partners.people["vulnerable"], partners.orgs["NGO1"])
    response = client.post("/api/v1/referrals", json=body, headers=headers("caseworker"))
    assert "provider_id" in assert_problem(response, 422)["errors"]


def test_a_person_out_of_scope_looks_like_an_unknown_one(client, partners, headers) -> None:
    other = referral_body(partners.people["tanger"], partners.orgs["NGO1"])
    missing = referral_body(987654, partners.orgs["NGO1"])
    answers = [
        client.post("/api/v1/referrals", json=body, headers=headers("caseworker"))
        for body in (other, missing)
    ]
    bodies = [assert_problem(answer, 422) for answer in answers]
    assert bodies[0] == bodies[1]
    assert set(bodies[0]["errors"]) == {"person_id"}


@pytest.mark.parametrize(
    ("changes", "field_name"),
    [
        ({"urgency": "whenever"}, "urgency"),
        ({"due_date": (TODAY - timedelta(days=1)).isoformat()}, "due_date"),
        ({"purpose": "  "}, "purpose"),
        ({"service_code": "teleportation"}, "service_code"),
        ({"include_household": "yes"}, "include_household"),
    ],
)
def test_invalid_referral_input_names_the_field(client, partners, headers, changes, field_name):
    body = referral_body(partners.people["vulnerable"], partners.orgs["NGO1"], **changes)
    response = client.post("/api/v1/referrals", json=body, headers=headers("caseworker"))
    assert field_name in assert_problem(response, 422)["errors"]


@pytest.mark.parametrize(
    "changes",
    [{"sender_organisation_id": 1}, {"state": "completed"}, {"id": 5, "created_at": "2026-01-01"}],
)
def test_fields_the_application_sets_are_refused_with_400(client, partners, headers, changes):
    """The mass-assignment guard (casework.api.guard): nothing is sent."""
    body = referral_body(partners.people["vulnerable"], partners.orgs["NGO1"], **changes)
    response = client.post("/api/v1/referrals", json=body, headers=headers("caseworker"))
    assert set(assert_problem(response, 400)["errors"]) == set(changes)
    listed = client.get("/api/v1/referrals", query_string={"role": "sent"},
                        headers=headers("caseworker"))  # fmt: skip
    assert listed.get_json()["items"] == []


def test_an_action_or_assistance_cannot_set_the_referrals_state(client, partners, headers):
    sent = send(client, headers, "caseworker",
                **referral_body(partners.people["vulnerable"], partners.orgs["NGO1"]))  # fmt: skip
    url = f"/api/v1/referrals/{sent['id']}"
    forced = client.post(f"{url}/actions/accept", headers=headers("ngo"),
                         json={"version": sent["version"], "state": "completed"})  # fmt: skip
    assert set(assert_problem(forced, 400)["errors"]) == {"state"}
    accepted = client.post(f"{url}/actions/accept", headers=headers("ngo"),
                           json={"version": sent["version"]})  # fmt: skip
    assert accepted.status_code == 200
    assistance = client.post(f"{url}/assistance", headers=headers("ngo"),
                             json={"kind": "in_kind", "provided_on": TODAY.isoformat(),
                                   "provider_id": partners.orgs["NGO2"]})  # fmt: skip
    assert set(assert_problem(assistance, 400)["errors"]) == {"provider_id"}


def test_ngo_refers_its_walk_in_onwards(client, partners, headers) -> None:
    body = referral_body(
        partners.people["walk_in"], partners.orgs["NGO2"], service_code="emergency_shelter"
    )
    sent = send(client, headers, "ngo", **body)
    assert sent["sender_organisation"]["id"] == partners.orgs["NGO1"]
    assert sent["allowed_actions"] == ["cancel"]
    outbox = client.get("/api/v1/referrals", query_string={"role": "sent"}, headers=headers("ngo"))
    assert [item["id"] for item in outbox.get_json()["items"]] == [sent["id"]]
    inbox = client.get("/api/v1/referrals", headers=headers("ngo")).get_json()
    assert inbox["items"] == []
    assert [
        i["id"]
        for i in client.get("/api/v1/referrals", headers=headers("ngo2")).get_json()["items"]
    ] == [sent["id"]]


def test_roles_that_may_not_refer(client, partners, headers) -> None:
    body = referral_body(partners.people["vulnerable"], partners.orgs["NGO1"])
    for key in ("supervisor", "admin", "auditor"):
        assert_problem(client.post("/api/v1/referrals", json=body, headers=headers(key)), 403)


# --- Actions --------------------------------------------------------------------------------


def test_an_action_the_state_does_not_allow_is_409_with_the_allowed_ones(
    client, partners, headers
) -> None:
    referral = referral_to_ngo1(client, headers, partners)
    body = assert_problem(act(client, headers, "ngo", referral["id"], "complete", outcome="x"), 409)
    assert body["state"] == "sent"
    assert sorted(body["allowed_actions"]) == ["accept", "decline"]
    unknown = assert_problem(act(client, headers, "ngo", referral["id"], "teleport"), 409)
    assert unknown["state"] == "sent"


def test_the_sender_cannot_accept_and_the_provider_cannot_cancel(
    app, client, partners, headers
) -> None:
    referral = referral_to_ngo1(client, headers, partners)
    assert_problem(act(client, headers, "caseworker", referral["id"], "accept"), 403)
    assert_problem(act(client, headers, "ngo", referral["id"], "cancel"), 403)
    with app.app_context():
        assert db.session.get(Referral, referral["id"]).state == "sent"


def test_the_sender_cancels(client, partners, headers) -> None:
    referral = referral_to_ngo1(client, headers, partners)
    cancelled = act(client, headers, "caseworker", referral["id"], "cancel")
    assert cancelled.status_code == 200
    assert cancelled.get_json()["state"] == "cancelled"
    assert cancelled.get_json()["closed_at"] is not None


def test_a_stale_version_is_refused(app, client, partners, headers) -> None:
    referral = referral_to_ngo1(client, headers, partners)
    stale = referral["version"]
    assert act(client, headers, "ngo", referral["id"], "accept").status_code == 200
    response = client.post(
        f"/api/v1/referrals/{referral['id']}/actions/start",
        json={"version": stale},
        headers=headers("ngo"),
    )
    body = assert_problem(response, 409)
    assert body["current_version"] == stale + 1
    with app.app_context():
        assert db.session.get(Referral, referral["id"]).state == "accepted"


@pytest.mark.parametrize(
    ("steps", "action", "field_name"),
    [
        ([], "decline", "reason"),
        (["accept"], "close", "outcome"),
        (["accept", "start"], "complete", "outcome"),
    ],
)
def test_reason_or_outcome_is_required(client, partners, headers, steps, action, field_name):
    referral = referral_to_ngo1(client, headers, partners)
    for step in steps:
        assert act(client, headers, "ngo", referral["id"], step).status_code == 200
    response = act(client, headers, "ngo", referral["id"], action, **{field_name: "   "})
    assert set(assert_problem(response, 422)["errors"]) == {field_name}


def test_decline_keeps_the_reason(client, partners, headers) -> None:
    referral = referral_to_ngo1(client, headers, partners)
    declined = act(client, headers, "ngo", referral["id"], "decline", reason="No places left.")
    assert declined.get_json()["state"] == "declined"
    seen = client.get(f"/api/v1/referrals/{referral['id']}", headers=headers("caseworker"))
    assert seen.get_json()["decline_reason"] == "No places left."


def test_an_action_needs_the_version(client, partners, headers) -> None:
    referral = referral_to_ngo1(client, headers, partners)
    response = client.post(
        f"/api/v1/referrals/{referral['id']}/actions/accept", json={}, headers=headers("ngo")
    )
    assert "version" in assert_problem(response, 422)["errors"]


def test_supervisors_see_referrals_but_no_action(client, partners, headers) -> None:
    """The regional supervisor works at the sending office: the sender's side, but no role to
    act (`referral.act`), so `allowed_actions` must not offer `cancel`."""
    referral = referral_to_ngo1(client, headers, partners)
    seen = client.get(f"/api/v1/referrals/{referral['id']}", headers=headers("regional"))
    assert seen.status_code == 200
    assert seen.get_json()["allowed_actions"] == []
    assert_problem(act(client, headers, "regional", referral["id"], "cancel"), 403)


# --- Assistance -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "steps",
    [[], [("decline", {"reason": "Full"})], [("accept", {}), ("close", {"outcome": "Moved"})]],
    ids=["sent", "declined", "closed"],
)
def test_no_assistance_outside_accepted_or_ongoing(client, partners, headers, steps) -> None:
    referral = referral_to_ngo1(client, headers, partners)
    for action, fields in steps:
        assert act(client, headers, "ngo", referral["id"], action, **fields).status_code == 200
    response = client.post(
        f"/api/v1/referrals/{referral['id']}/assistance", json=ASSISTANCE, headers=headers("ngo")
    )
    assert "referral" in assert_problem(response, 422)["errors"]


@pytest.mark.parametrize(
    "quantity",
    [0, -2, "three", None, True, "NaN", "Infinity", 0.001, 1e12, "1.005"],
)
def test_quantity_must_be_a_positive_number(app, client, partners, headers, quantity) -> None:
    referral = accepted_referral(client, headers, partners)
    response = client.post(
        f"/api/v1/referrals/{referral['id']}/assistance",
        json={**ASSISTANCE, "quantity": quantity},
        headers=headers("ngo"),
    )
    assert "quantity" in assert_problem(response, 422)["errors"]
    with app.app_context():
        assert db.session.scalars(select(AssistanceRecord.id)).all() == []


@pytest.mark.parametrize("quantity", [2.5, "2.50", 9999999999.99, "0.01"])
def test_quantity_accepts_two_decimals(app, client, partners, headers, quantity) -> None:
    referral = accepted_referral(client, headers, partners)
    response = client.post(
        f"/api/v1/referrals/{referral['id']}/assistance",
        json={**ASSISTANCE, "quantity": quantity},
        headers=headers("ngo"),
    )
    assert response.status_code == 201, response.get_json()
    assert Decimal(response.get_json()["quantity"]) == Decimal(str(quantity))


def test_assistance_in_the_future_is_refused(client, partners, headers) -> None:
    referral = accepted_referral(client, headers, partners)
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    response = client.post(
        f"/api/v1/referrals/{referral['id']}/assistance",
        json={**ASSISTANCE, "date": tomorrow},
        headers=headers("ngo"),
    )
    assert set(assert_problem(response, 422)["errors"]) == {"date"}


@pytest.mark.parametrize("missing", ["date", "service_code", "quantity", "unit"])
def test_assistance_fields_are_required(client, partners, headers, missing) -> None:
    referral = accepted_referral(client, headers, partners)
    body = {k: v for k, v in ASSISTANCE.items() if k != missing}
    response = client.post(
        f"/api/v1/referrals/{referral['id']}/assistance", json=body, headers=headers("ngo")
    )
    assert missing in assert_problem(response, 422)["errors"]


def test_only_the_provider_records_assistance(client, partners, headers) -> None:
    """The sending NGO sees the referral but gave nothing: 403; agency staff have no role."""
    body = referral_body(
        partners.people["walk_in"], partners.orgs["NGO2"], service_code="emergency_shelter"
    )
    referral = send(client, headers, "ngo", **body)
    assert act(client, headers, "ngo2", referral["id"], "accept").status_code == 200
    url = f"/api/v1/referrals/{referral['id']}/assistance"
    assert_problem(client.post(url, json=ASSISTANCE, headers=headers("ngo")), 403)
    mine = referral_to_ngo1(client, headers, partners)
    assert act(client, headers, "ngo", mine["id"], "accept").status_code == 200
    url = f"/api/v1/referrals/{mine['id']}/assistance"
    assert_problem(client.post(url, json=ASSISTANCE, headers=headers("caseworker")), 403)


def test_a_correction_supersedes_the_record_and_only_once(client, partners, headers) -> None:
    referral = accepted_referral(client, headers, partners)
    url = f"/api/v1/referrals/{referral['id']}/assistance"
    first = client.post(url, json=ASSISTANCE, headers=headers("ngo")).get_json()
    fixed = client.post(
        url, json={**ASSISTANCE, "quantity": 2, "corrects_id": first["id"]}, headers=headers("ngo")
    )
    assert fixed.status_code == 201, fixed.get_json()
    assert fixed.get_json()["corrects_id"] == first["id"]
    rows = {row["id"]: row for row in client.get(url, headers=headers("caseworker")).get_json()}
    assert rows[first["id"]]["superseded"] is True
    assert rows[fixed.get_json()["id"]]["superseded"] is False
    again = client.post(
        url, json={**ASSISTANCE, "quantity": 3, "corrects_id": first["id"]}, headers=headers("ngo")
    )
    assert set(assert_problem(again, 422)["errors"]) == {"corrects_id"}


def test_corrections_are_allowed_once_the_referral_is_completed(client, partners, headers):
    referral = accepted_referral(client, headers, partners)
    url = f"/api/v1/referrals/{referral['id']}/assistance"
    first = client.post(url, json=ASSISTANCE, headers=headers("ngo")).get_json()
    assert act(client, headers, "ngo", referral["id"], "start").status_code == 200
    assert (
        act(client, headers, "ngo", referral["id"], "complete", outcome="Done").status_code == 200
    )
    assert_problem(client.post(url, json=ASSISTANCE, headers=headers("ngo")), 422)
    fixed = client.post(
        url, json={**ASSISTANCE, "corrects_id": first["id"], "unit": "term"}, headers=headers("ngo")
    )
    assert fixed.status_code == 201


def test_a_record_of_another_referral_is_not_corrected_here(client, partners, headers) -> None:
    one = accepted_referral(client, headers, partners)
    other = accepted_referral(client, headers, partners, person_id=partners.people["rabat"])
    record = client.post(
        f"/api/v1/referrals/{one['id']}/assistance", json=ASSISTANCE, headers=headers("ngo")
    ).get_json()
    for corrects_id in (record["id"], 987654):
        response = client.post(
            f"/api/v1/referrals/{other['id']}/assistance",
            json={**ASSISTANCE, "corrects_id": corrects_id},
            headers=headers("ngo"),
        )
        assert set(assert_problem(response, 422)["errors"]) == {"corrects_id"}


# --- Lists ----------------------------------------------------------------------------------


def test_filters_state_overdue_and_role(app, client, partners, headers) -> None:
    first = referral_to_ngo1(client, headers, partners)
    second = referral_to_ngo1(client, headers, partners, person_id=partners.people["rabat"])
    third = referral_to_ngo1(client, headers, partners, person_id=partners.people["rabat_child"])
    act(client, headers, "ngo", second["id"], "accept")
    act(client, headers, "ngo", third["id"], "decline", reason="Full")
    with app.app_context():
        for referral_id in (first["id"], third["id"]):
            db.session.get(Referral, referral_id).due_date = TODAY - timedelta(days=2)
        db.session.commit()

    def ids(key: str, **query) -> list[int]:
        response = client.get("/api/v1/referrals", query_string=query, headers=headers(key))
        assert response.status_code == 200, response.get_json()
        return [item["id"] for item in response.get_json()["items"]]

    assert ids("ngo") == [third["id"], second["id"], first["id"]]
    assert ids("ngo", state="accepted") == [second["id"]]
    assert ids("ngo", overdue="true") == [first["id"]]  # the declined one is closed
    assert ids("ngo", role="sent") == []
    assert ids("caseworker", role="sent") == [third["id"], second["id"], first["id"]]
    assert ids("caseworker", role="inbox") == []
    assert ids("caseworker2") == []
    listed = client.get("/api/v1/referrals", headers=headers("ngo")).get_json()["items"]
    assert [item["overdue"] for item in listed] == [False, False, True]


def test_list_pages_by_cursor(client, partners, headers) -> None:
    sent = [
        referral_to_ngo1(client, headers, partners, person_id=partners.people[key])["id"]
        for key in ("vulnerable", "rabat", "rabat_child")
    ]
    seen, cursor = [], None
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/referrals", query_string=query, headers=headers("ngo"))
        body = page.get_json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next"]
        if cursor is None:
            break
    assert seen == sorted(sent, reverse=True)
    bad = client.get("/api/v1/referrals", query_string={"cursor": "!!"}, headers=headers("ngo"))
    assert "cursor" in assert_problem(bad, 400)["errors"]


@pytest.mark.parametrize(
    "query", [{"state": "lost"}, {"role": "everything"}, {"overdue": "perhaps"}, {"limit": 0}]
)
def test_bad_list_filters_are_refused(client, partners, headers, query) -> None:
    response = client.get("/api/v1/referrals", query_string=query, headers=headers("ngo"))
    assert set(assert_problem(response, 422)["errors"]) == set(query)


# --- Catalogue ------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["admin", "supervisor", "caseworker", "ngo", "auditor"])
def test_every_role_reads_the_catalogue(client, partners, headers, key) -> None:
    response = client.get("/api/v1/services", headers=headers(key))
    assert response.status_code == 200
    programmes = response.get_json()
    assert [p["number"] for p in programmes] == list(range(1, 12))
    education = programmes[0]
    assert education["code"] == "education_culture"
    assert education["kind"] == "sectoral"
    assert set(education) == {
        "code",
        "number",
        "kind",
        "name_fr",
        "name_en",
        "name_ar",
        "sdg_targets",
        "services",
    }
    assert education["sdg_targets"][0]["code"] == "4.1"
    assert all(education["sdg_targets"][0][f"name_{lang}"] for lang in ("fr", "en", "ar"))
    school = next(s for s in education["services"] if s["code"] == "school_enrolment")
    assert school["name_en"] == "School enrolment"
    assert sorted(school["providers"], key=lambda p: p["name"]) == [
        {
            "id": partners.orgs["NGO1"],
            "name": "Organisation NGO1",
            "regions": [partners.regions["NGO1"]],
            "capacity": 10,
        },
        {
            "id": partners.orgs["NGO2"],
            "name": "Organisation NGO2",
            "regions": [partners.regions["NGO2"]],
            "capacity": 5,
        },
    ]


def test_the_catalogue_hides_withdrawn_offers(client, partners, headers) -> None:
    programmes = client.get("/api/v1/services", headers=headers("ngo")).get_json()
    services = {s["code"]: s for p in programmes for s in p["services"]}
    assert services["vaccination"]["providers"] == []
    assert [p["id"] for p in services["emergency_shelter"]["providers"]] == [partners.orgs["NGO2"]]


def test_the_catalogue_needs_a_token(client, partners) -> None:
    assert_problem(client.get("/api/v1/services"), 401)


# --- People, as an NGO reads them -----------------------------------------------------------


def test_ngo_view_of_a_referred_person(app, client, partners, headers) -> None:
    body = referral_body(partners.people["vulnerable"], partners.orgs["NGO1"])
    body["consent"]["shared_vulnerabilities"] = ["serious_illness", "pregnant"]
    send(client, headers, **body)
    response = client.get(f"/api/v1/people/{partners.people['vulnerable']}", headers=headers("ngo"))
    assert response.status_code == 200
    person = response.get_json()
    assert set(person) == NGO_VIEW_FIELDS
    assert person["age"] == 30
    assert person["household_size"] == 1
    assert person["languages"] == ["fr", "bm"]
    # Consented and true; not "disability" (not consented) nor "pregnant" (not true).
    assert person["shared_vulnerabilities"] == ["serious_illness"]
    text = json.dumps(person, ensure_ascii=False)
    for secret in ("wheelchair", "impasse", "ML1234567", BORN.isoformat()):
        assert secret not in text
    with app.app_context():
        assert db.session.scalars(
            select(AuditEntry.id).where(
                AuditEntry.action == "person.view",
                AuditEntry.record_id == partners.people["vulnerable"],
            )
        ).all()


def test_household_size_counts_the_household(client, partners, headers) -> None:
    send(client, headers, **referral_body(partners.people["rabat"], partners.orgs["NGO1"]))
    person = client.get(f"/api/v1/people/{partners.people['rabat']}", headers=headers("ngo"))
    assert person.get_json()["household_size"] == 2


def test_shared_vulnerabilities_come_from_open_referrals_only(client, partners, headers) -> None:
    person_id = partners.people["vulnerable"]
    first = referral_body(person_id, partners.orgs["NGO1"])
    first["consent"]["shared_vulnerabilities"] = ["disability"]
    declined = send(client, headers, **first)
    act(client, headers, "ngo", declined["id"], "decline", reason="Full")
    second = referral_body(person_id, partners.orgs["NGO1"], service_code="legal_aid")
    second["consent"]["shared_vulnerabilities"] = ["serious_illness"]
    send(client, headers, **second)
    person = client.get(f"/api/v1/people/{person_id}", headers=headers("ngo")).get_json()
    assert person["shared_vulnerabilities"] == ["serious_illness"]


def test_a_withdrawn_consent_ends_the_ngo_view(app, client, partners, headers) -> None:
    referral = referral_to_ngo1(client, headers, partners)
    url = f"/api/v1/people/{partners.people['vulnerable']}"
    assert client.get(url, headers=headers("ngo")).status_code == 200
    with app.app_context():
        consent = db.session.get(Referral, referral["id"]).consent
        consent.withdrawn_on = TODAY
        db.session.commit()
    assert_problem(client.get(url, headers=headers("ngo")), 404)


def test_ngo_still_reads_its_walk_in_in_full(client, partners, headers) -> None:
    response = client.get(f"/api/v1/people/{partners.people['walk_in']}", headers=headers("ngo"))
    person = response.get_json()
    assert "date_of_birth" in person
    assert "address" in person
    assert "age" not in person


def test_ngo_lists_its_walk_ins_and_referred_people(client, partners, headers) -> None:
    referral_to_ngo1(client, headers, partners)
    items = client.get("/api/v1/people", headers=headers("ngo")).get_json()["items"]
    by_id = {item["id"]: item for item in items}
    assert set(by_id) == {partners.people["walk_in"], partners.people["vulnerable"]}
    assert set(by_id[partners.people["vulnerable"]]) == NGO_VIEW_FIELDS
    assert "date_of_birth" in by_id[partners.people["walk_in"]]


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ({"q": "bamba"}, True),
        ({"q": "fatou"}, True),
        ({"sex": "F"}, True),
        ({"nationality": "sn"}, True),
        ({"q": "ML1234567"}, False),  # a document number the NGO view does not show
        ({"document_number": "ML1234567"}, False),
        ({"date_of_birth": BORN.isoformat()}, False),
        ({"q": "diallo"}, False),
    ],
)
def test_ngo_searches_referred_people_only_on_what_it_sees(
    client, partners, headers, query, found
) -> None:
    referral_to_ngo1(client, headers, partners)
    response = client.get("/api/v1/people", query_string=query, headers=headers("ngo"))
    assert response.status_code == 200
    ids = [item["id"] for item in response.get_json()["items"]]
    assert (partners.people["vulnerable"] in ids) is found


def test_ngo_may_not_edit_a_referred_person(app, client, partners, headers) -> None:
    referral_to_ngo1(client, headers, partners)
    person_id = partners.people["vulnerable"]
    response = client.patch(
        f"/api/v1/people/{person_id}",
        json={"phone": "+212 699 999 999", "version": 1},
        headers=headers("ngo"),
    )
    assert_problem(response, 403)
    with app.app_context():
        assert db.session.get(Person, person_id).phone == "+212 600 000 001"


def test_agency_staff_keep_the_full_record(client, partners, headers) -> None:
    referral_to_ngo1(client, headers, partners)
    response = client.get(
        f"/api/v1/people/{partners.people['vulnerable']}", headers=headers("caseworker")
    )
    person = response.get_json()
    assert person["vulnerability_notes"].startswith("Needs a wheelchair")
    assert person["documents"][0]["number"] == "ML1234567"
