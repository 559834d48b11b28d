"""The service pages: referring a person with their consent, the NGO's inbox and referral page,
the card of a referred person (only what the service needs), assistance and its corrections,
bulk distributions, walk-ins and the catalogue; always inside the caller's scope.

The test data: the standard test world (offices RAB and TNG, NGO1 with a walk-in), plus NGO2
with an account, offers of services by both NGOs, and a person held by Rabat with two
vulnerabilities, a phone, an address, a passport and notes that no NGO may read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from html import unescape

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from casework.admin.models import Organisation, OrganisationKind
from casework.auth.models import User
from casework.extensions import db
from casework.people.models import IdentityDocument, Person
from casework.policy import Role
from casework.reference.models import Service
from casework.services import operations
from casework.services.models import (
    AssistanceRecord,
    Consent,
    ConsentScope,
    PersonEvent,
    ProviderService,
    Referral,
)
from tests.conftest import sign_in
from tests.factories import World, make_organisation, make_person, make_user, user_by_key

TODAY = date.today()
NOTES = "Needs a wheelchair; diagnosis in the medical file."
ADDRESS = "3 impasse des Lilas, Rabat"
PASSPORT = "ML1234567"
PHONE = "+212 600 000 001"


@dataclass
class Data:
    world: World
    users: dict[str, str] = field(default_factory=dict)
    orgs: dict[str, int] = field(default_factory=dict)
    people: dict[str, int] = field(default_factory=dict)


@pytest.fixture
def data(app: Flask, world: World) -> Data:
    """NGO2 and its account; offers (NGO1: school enrolment, legal aid and emergency aid;
    NGO2: school enrolment); a vulnerable person held by Rabat."""
    with app.app_context():
        built = Data(world=world, users=dict(world.users), orgs=dict(world.orgs))
        built.people = dict(world.people)
        ngo1 = db.session.get(Organisation, world.orgs["NGO1"])
        ngo2 = make_organisation("NGO2", OrganisationKind.NGO, "TNG")
        built.users["ngo2"] = make_user("ngo2@test.example", Role.NGO, ngo2).email
        built.orgs["NGO2"] = ngo2.id
        for org, code, capacity in (
            (ngo1, "school_enrolment", 10),
            (ngo1, "legal_aid", None),
            (ngo1, "emergency_humanitarian_aid", 40),
            (ngo2, "school_enrolment", 5),
        ):
            db.session.add(
                ProviderService(organisation_id=org.id, service_code=code,
                                region_codes=[org.region_code], capacity=capacity, active=True)
            )  # fmt: skip
        vulnerable = make_person(
            user_by_key(world, "caseworker"),
            family_name="Bamba",
            given_names="Fatou",
            family_name_ar="بامبا",
            given_names_ar="فاتو",
            sex="F",
            phone=PHONE,
            address=ADDRESS,
            languages=["fr", "bm"],
            serious_illness=True,
            disability=True,
            vulnerability_notes=NOTES,
        )
        vulnerable.documents.append(
            IdentityDocument(kind="passport", number=PASSPORT, issuing_country="ML")
        )
        db.session.flush()
        built.people["vulnerable"] = vulnerable.id
        db.session.commit()
        return built


def signed_in(app: Flask, data: Data, key: str) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, data.users[key]).status_code == 302
    return client


def text(response) -> str:
    return response.get_data(as_text=True)


def field_error(html: str, name: str) -> str | None:
    """The error shown next to field `name` (macros.html and services/_macros.html)."""
    match = re.search(rf'id="{name}-error">([^<]*)<', html)
    return unescape(match.group(1)) if match else None


def count(app: Flask, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def referral_row(app: Flask, referral_id: int) -> Referral:
    with app.app_context():
        row = db.session.get(Referral, referral_id)
        db.session.expunge(row)
        return row


def referral_form(data: Data, **changes) -> dict:
    values = {
        "provider_id": str(data.orgs["NGO1"]),
        "purpose": "Enrol the children at the neighbourhood school.",
        "urgency": "high",
        "due_date": (TODAY + timedelta(days=10)).isoformat(),
        "consent_given": "y",
        "consent_date": TODAY.isoformat(),
        "consent_scope": "Referral to the school enrolment service",
        "shared_vulnerabilities": ["serious_illness"],
    }
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


ASSISTANCE = {
    "given_on": TODAY.isoformat(),
    "service_code": "school_enrolment",
    "quantity": "2",
    "unit": "school kit",
    "place": "Rabat centre",
    "outcome": "Handed over",
    "notes": "",
}


def refer_directly(app: Flask, data: Data, *, provider: str = "NGO1", person: str = "vulnerable",
                   service: str = "school_enrolment", shared=("serious_illness",),
                   actions: tuple[str, ...] = ()) -> int:  # fmt: skip
    """A referral sent by the Rabat caseworker through the operation, then moved by `actions`
    (taken by the provider's staff, or the sender for "cancel")."""
    with app.test_request_context(headers={"Accept-Language": "en"}):
        sender = user_by_key(data.world, "caseworker")
        provider_org = db.session.get(Organisation, data.orgs[provider])
        provider_user = db.session.scalar(
            select(User).where(User.organisation_id == provider_org.id).order_by(User.id)
        )
        referral = operations.send_referral(
            db.session.get(Person, data.people[person]),
            service_code=service,
            provider=provider_org,
            purpose="Orientation.",
            urgency="normal",
            due_date=TODAY + timedelta(days=5),
            consent={
                "given": True,
                "date": TODAY,
                "scope": "Orientation",
                "shared_vulnerabilities": list(shared),
            },
            by=sender,
        )
        for action in actions:
            actor = sender if action == "cancel" else provider_user
            operations.act_on_referral(
                referral, action, by=actor, expected_version=referral.version,
                reason="Out of our area." if action == "decline" else None,
                outcome="Done." if action in {"complete", "close"} else None,
            )  # fmt: skip
        db.session.commit()
        return referral.id


def record_directly(app: Flask, data: Data, referral_id: int, **values) -> int:
    with app.test_request_context(headers={"Accept-Language": "en"}):
        referral = db.session.get(Referral, referral_id)
        ngo_user = user_by_key(data.world, "ngo")
        row = operations.record_assistance(
            referral,
            {"date": TODAY, "quantity": 1, "unit": "consultation", **values},
            by=ngo_user,
        )
        db.session.commit()
        return row.id


# --- The whole journey -----------------------------------------------------------------------


def test_a_referral_from_the_person_page_to_the_assistance_given(app: Flask, data: Data) -> None:
    person_id = data.people["vulnerable"]
    caseworker = signed_in(app, data, "caseworker")

    page = text(caseworker.get(f"/people/{person_id}"))
    assert "Referrals and assistance" in page
    assert f"/people/{person_id}/referrals/new" in page

    # Step 1: the services, grouped by programme.
    chooser = text(caseworker.get(f"/people/{person_id}/referrals/new"))
    assert "<optgroup" in chooser and 'value="school_enrolment"' in chooser

    # Step 2: only the organisations offering the chosen service are proposed.
    legal = text(caseworker.get(f"/people/{person_id}/referrals/new?service=legal_aid"))
    assert "Organisation NGO1" in legal
    assert "Organisation NGO2" not in legal
    school = text(caseworker.get(f"/people/{person_id}/referrals/new?service=school_enrolment"))
    assert "Organisation NGO1" in school and "Organisation NGO2" in school
    assert "Serious illness" in school and "Disability" in school  # the person's own flags

    url = f"/people/{person_id}/referrals/new?service=school_enrolment"
    response = caseworker.post(url, data=referral_form(data))
    assert response.status_code == 302
    referral_id = int(response.headers["Location"].rsplit("/", 1)[1])
    sent = referral_row(app, referral_id)
    assert (sent.state, sent.provider_id, sent.urgency) == ("sent", data.orgs["NGO1"], "high")
    with app.app_context():
        consent = db.session.get(Consent, sent.consent_id)
        assert consent.shared_vulnerabilities == ["serious_illness"]
        assert consent.purpose == "Referral to the school enrolment service"

    # The NGO finds it in its inbox (new), accepts, records assistance, starts and completes.
    ngo = signed_in(app, data, "ngo")
    inbox = text(ngo.get("/ngo/inbox"))
    assert f"/referrals/{referral_id}" in inbox
    assert "BAMBA Fatou" in inbox
    assert f"/referrals/{referral_id}" not in text(ngo.get("/ngo/inbox?tab=closed"))

    page = text(ngo.get(f"/referrals/{referral_id}"))
    assert f"/referrals/{referral_id}/actions/accept" in page
    assert f"/referrals/{referral_id}/actions/decline" in page
    assert f"/referrals/{referral_id}/actions/cancel" not in page  # the sender's action

    version = referral_row(app, referral_id).version
    response = ngo.post(f"/referrals/{referral_id}/actions/accept",
                        data={"accept-version": str(version)})  # fmt: skip
    assert response.status_code == 302
    assert referral_row(app, referral_id).state == "accepted"
    assert f"/referrals/{referral_id}" in text(ngo.get("/ngo/inbox?tab=accepted"))

    response = ngo.post(f"/referrals/{referral_id}/assistance", data=ASSISTANCE)
    assert response.status_code == 302
    with app.app_context():
        record = db.session.scalar(select(AssistanceRecord))
        assert (record.referral_id, record.person_id) == (referral_id, person_id)
        assert (record.unit, float(record.quantity)) == ("school kit", 2.0)

    version = referral_row(app, referral_id).version
    ngo.post(f"/referrals/{referral_id}/actions/start", data={"start-version": str(version)})
    assert referral_row(app, referral_id).state == "in_progress"

    # Completing asks for the outcome: without it the form answers next to the field.
    version = referral_row(app, referral_id).version
    refused = ngo.post(f"/referrals/{referral_id}/actions/complete",
                       data={"complete-version": str(version), "complete-outcome": ""})  # fmt: skip
    assert refused.status_code == 422
    assert field_error(text(refused), "complete-outcome") == "This field is required."
    assert referral_row(app, referral_id).state == "in_progress"
    done = ngo.post(f"/referrals/{referral_id}/actions/complete",
                    data={"complete-version": str(version),
                          "complete-outcome": "Both children enrolled."})  # fmt: skip
    assert done.status_code == 302
    assert referral_row(app, referral_id).state == "completed"

    # The caseworker sees the referral, the assistance and the consent on the person's page.
    page = text(caseworker.get(f"/people/{person_id}"))
    assert f"/referrals/{referral_id}" in page
    assert "Completed" in page
    assert "school kit" in page and "Rabat centre" in page
    assert "Referral to the school enrolment service" in page  # the consent's purpose
    assert "Assistance recorded" in page and "Referral accepted" in page  # the timeline


def test_without_the_consent_box_nothing_is_sent_and_the_form_is_kept(
    app: Flask, data: Data
) -> None:
    person_id = data.people["vulnerable"]
    caseworker = signed_in(app, data, "caseworker")
    before = {model: count(app, model) for model in (Referral, Consent, PersonEvent)}

    url = f"/people/{person_id}/referrals/new?service=school_enrolment"
    response = caseworker.post(url, data=referral_form(data, consent_given=None))

    assert response.status_code == 422
    page = text(response)
    assert field_error(page, "consent_given") == (
        "The person's consent is required before a referral is sent."
    )
    page = unescape(page)
    assert "Enrol the children at the neighbourhood school." in page  # what was typed is kept
    assert "Referral to the school enrolment service" in page
    assert re.search(r'value="serious_illness"[^>]*checked|checked[^>]*value="serious_illness"',
                     page)  # fmt: skip
    assert {model: count(app, model) for model in before} == before


def test_a_provider_that_does_not_offer_the_service_is_refused(app: Flask, data: Data) -> None:
    caseworker = signed_in(app, data, "caseworker")
    url = f"/people/{data.people['vulnerable']}/referrals/new?service=legal_aid"

    response = caseworker.post(url, data=referral_form(data, provider_id=str(data.orgs["NGO2"])))

    assert response.status_code == 422
    assert field_error(text(response), "provider_id") == (
        "This provider does not offer this service."
    )
    assert count(app, Referral) == 0


# --- What an NGO sees of a referred person ---------------------------------------------------


def test_the_ngo_card_shows_only_the_shared_vulnerabilities_and_no_file(
    app: Flask, data: Data
) -> None:
    from casework.cases.operations import file_case

    with app.test_request_context(headers={"Accept-Language": "en"}):
        case = file_case(kind="asylum", applicant=db.session.get(Person, data.people["vulnerable"]),
                         by=user_by_key(data.world, "caseworker"))  # fmt: skip
        db.session.commit()
        reference = case.reference
    referral_id = refer_directly(app, data, shared=("serious_illness",))
    ngo = signed_in(app, data, "ngo")

    for url in (f"/people/{data.people['vulnerable']}", f"/referrals/{referral_id}"):
        response = ngo.get(url)
        assert response.status_code == 200, url
        page = text(response)
        assert "BAMBA Fatou" in page and "فاتو بامبا" in page
        assert PHONE in page
        assert "Serious illness" in page
        assert "Disability" not in page  # not agreed to be shared
        for secret in (reference, NOTES, ADDRESS, PASSPORT, "Identity documents", "/cases/"):
            assert secret not in page, (url, secret)
    # Nor any other page showing the full record (editing, referring onwards with its flags).
    for url in ("edit", "referrals/new?service=legal_aid", "consents/share"):
        assert ngo.get(f"/people/{data.people['vulnerable']}/{url}").status_code == 404, url


def test_a_referral_to_another_ngo_is_not_found(app: Flask, data: Data) -> None:
    referral_id = refer_directly(app, data, provider="NGO2")
    ngo1 = signed_in(app, data, "ngo")

    assert ngo1.get(f"/referrals/{referral_id}").status_code == 404
    assert ngo1.post(f"/referrals/{referral_id}/actions/accept",
                     data={"accept-version": "1"}).status_code == 404  # fmt: skip
    assert ngo1.post(f"/referrals/{referral_id}/assistance", data=ASSISTANCE).status_code == 404
    assert ngo1.get(f"/people/{data.people['vulnerable']}").status_code == 404
    assert f"/referrals/{referral_id}" not in text(ngo1.get("/ngo/inbox"))
    assert referral_row(app, referral_id).state == "sent"

    ngo2 = signed_in(app, data, "ngo2")
    assert ngo2.get(f"/referrals/{referral_id}").status_code == 200


def test_a_closed_referral_keeps_the_assistance_but_not_the_person(app: Flask, data: Data) -> None:
    referral_id = refer_directly(app, data, actions=("accept",))
    record_directly(app, data, referral_id, unit="school kit")
    with app.test_request_context(headers={"Accept-Language": "en"}):
        referral = db.session.get(Referral, referral_id)
        operations.act_on_referral(
            referral,
            "close",
            by=user_by_key(data.world, "ngo"),
            expected_version=referral.version,
            outcome="Moved away.",
        )
        db.session.commit()  # fmt: skip
    ngo = signed_in(app, data, "ngo")

    page = text(ngo.get(f"/referrals/{referral_id}"))
    assert "school kit" in page
    assert PHONE not in page and "Serious illness" not in page
    assert ngo.get(f"/people/{data.people['vulnerable']}").status_code == 404
    assert f"/referrals/{referral_id}" in text(ngo.get("/ngo/inbox?tab=closed"))


def test_a_stale_version_is_a_conflict_and_changes_nothing(app: Flask, data: Data) -> None:
    referral_id = refer_directly(app, data)
    ngo = signed_in(app, data, "ngo")
    seen = referral_row(app, referral_id).version
    caseworker = signed_in(app, data, "caseworker")
    assert caseworker.post(f"/referrals/{referral_id}/actions/cancel",
                           data={"cancel-version": str(seen)}).status_code == 302  # fmt: skip

    response = ngo.post(f"/referrals/{referral_id}/actions/accept",
                        data={"accept-version": str(seen)})  # fmt: skip

    assert response.status_code == 409
    assert referral_row(app, referral_id).state == "cancelled"


# --- Assistance: corrections and distributions -----------------------------------------------


def test_a_correction_is_a_new_record_and_keeps_the_original(app: Flask, data: Data) -> None:
    referral_id = refer_directly(app, data, actions=("accept",))
    original_id = record_directly(app, data, referral_id, quantity=3, unit="session")
    ngo = signed_in(app, data, "ngo")

    form = text(ngo.get(f"/assistance/{original_id}/correct"))
    assert 'value="3"' in form and 'value="session"' in form  # prefilled with the original
    response = ngo.post(f"/assistance/{original_id}/correct",
                        data={**ASSISTANCE, "quantity": "2", "unit": "session",
                              "notes": "Typed 3 by mistake."})  # fmt: skip

    assert response.status_code == 302
    with app.app_context():
        records = db.session.scalars(select(AssistanceRecord).order_by(AssistanceRecord.id)).all()
        assert [(r.id, float(r.quantity), r.corrects_id) for r in records] == [
            (original_id, 3.0, None),
            (records[1].id, 2.0, original_id),
        ]
    page = text(ngo.get(f"/referrals/{referral_id}"))
    row = re.search(rf'<tr id="assistance-{original_id}"[^>]*>.*?</tr>', page, re.S).group(0)
    assert "<del>" in row and "corrected" in row
    # The superseded record cannot be corrected again: the latest one must be.
    assert ngo.get(f"/assistance/{original_id}/correct").status_code == 409
    assert ngo.post(f"/assistance/{original_id}/correct", data=ASSISTANCE).status_code == 409
    assert count(app, AssistanceRecord) == 2


def test_another_providers_assistance_cannot_be_corrected(app: Flask, data: Data) -> None:
    referral_id = refer_directly(app, data, actions=("accept",))
    record_id = record_directly(app, data, referral_id)
    ngo2 = signed_in(app, data, "ngo2")

    assert ngo2.get(f"/assistance/{record_id}/correct").status_code == 404
    assert ngo2.post(f"/assistance/{record_id}/correct", data=ASSISTANCE).status_code == 404


def _distribution(data: Data, targets: list[str], **changes) -> dict:
    return {**ASSISTANCE, "service_code": "emergency_humanitarian_aid", "quantity": "1",
            "unit": "food parcel", "targets": targets, **changes}  # fmt: skip


def test_a_distribution_records_one_service_for_everyone_ticked(app: Flask, data: Data) -> None:
    first = refer_directly(app, data, actions=("accept",))
    second = refer_directly(app, data, person="rabat", actions=("accept", "start"))
    waiting = refer_directly(app, data, person="rabat_child")  # sent: not offered
    ngo = signed_in(app, data, "ngo")

    page = text(ngo.get("/ngo/distributions"))
    assert f'value="r{first}"' in page and f'value="r{second}"' in page
    assert f'value="r{waiting}"' not in page
    assert f'value="p{data.people["walk_in"]}"' in page

    targets = [f"r{first}", f"r{second}", f"p{data.people['walk_in']}"]
    response = ngo.post("/ngo/distributions", data=_distribution(data, targets))

    assert response.status_code == 302
    with app.app_context():
        rows = db.session.scalars(select(AssistanceRecord)).all()
        assert sorted(r.person_id for r in rows) == sorted(
            [data.people["vulnerable"], data.people["rabat"], data.people["walk_in"]]
        )
        assert {r.service_code for r in rows} == {"emergency_humanitarian_aid"}
        assert len({r.batch for r in rows}) == 1 and rows[0].batch


def test_a_distribution_is_all_or_nothing(app: Flask, data: Data) -> None:
    first = refer_directly(app, data, actions=("accept",))
    second = refer_directly(app, data, person="rabat", actions=("accept",))
    ngo = signed_in(app, data, "ngo")
    targets = [f"r{first}", f"r{second}", f"p{data.people['walk_in']}"]

    # A wrong quantity: refused next to the field, nothing recorded, the ticks kept.
    response = ngo.post("/ngo/distributions", data=_distribution(data, targets, quantity="-1"))
    assert response.status_code == 422
    assert field_error(text(response), "quantity") == "Give a positive number."
    assert count(app, AssistanceRecord) == 0

    # One referral closed meanwhile: nobody gets a record, and the page says who and why.
    with app.test_request_context(headers={"Accept-Language": "en"}):
        referral = db.session.get(Referral, second)
        operations.act_on_referral(
            referral,
            "close",
            by=user_by_key(data.world, "ngo"),
            expected_version=referral.version,
            outcome="Left.",
        )
        db.session.commit()  # fmt: skip
    response = ngo.post("/ngo/distributions", data=_distribution(data, targets))
    assert response.status_code == 422
    page = text(response)
    assert "Nothing was recorded" in page
    assert "DIALLO Mamadou" in page and "Closed without service" in page
    assert count(app, AssistanceRecord) == 0


# --- Walk-ins --------------------------------------------------------------------------------


def test_an_ngo_registers_a_walk_in_and_records_consent_to_share_it(app: Flask, data: Data) -> None:
    ngo = signed_in(app, data, "ngo")
    response = ngo.post("/ngo/beneficiaries/new", data={
        "family_name": "Kouassi", "given_names": "Adjoua", "sex": "F", "nationality": "CI",
    })  # fmt: skip
    assert response.status_code == 302
    with app.app_context():
        person = db.session.scalar(select(Person).where(Person.family_name == "Kouassi"))
        assert person.organisation_id == data.orgs["NGO1"]
        person_id = person.id

    page = text(ngo.get(f"/people/{person_id}"))  # its own record: the full page
    assert "Referrals and assistance" in page
    assert f"/people/{person_id}/consents/share" in page

    refused = ngo.post(f"/people/{person_id}/consents/share", data={
        "office_id": str(data.orgs["RAB"]), "given_on": TODAY.isoformat(), "purpose": "",
    })  # fmt: skip
    assert refused.status_code == 422
    assert field_error(text(refused), "purpose") == "Say what the person agreed to."
    assert count(app, Consent) == 0

    response = ngo.post(f"/people/{person_id}/consents/share", data={
        "office_id": str(data.orgs["RAB"]), "given_on": TODAY.isoformat(),
        "purpose": "To prepare a regularisation file",
    })  # fmt: skip
    assert response.status_code == 302
    with app.app_context():
        consent = db.session.scalar(select(Consent))
        assert (consent.scope, consent.given_to_id, consent.person_id) == (
            ConsentScope.SHARE_WITH_AGENCY.value,
            data.orgs["RAB"],
            person_id,
        )
    assert "To prepare a regularisation file" in text(ngo.get(f"/people/{person_id}"))


def test_only_the_ngo_holding_a_walk_in_records_its_consent(app: Flask, data: Data) -> None:
    walk_in = data.people["walk_in"]
    assert signed_in(app, data, "ngo2").get(f"/people/{walk_in}/consents/share").status_code == 404
    caseworker = signed_in(app, data, "caseworker")
    assert caseworker.get(f"/people/{data.people['rabat']}/consents/share").status_code == 404


# --- The catalogue ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "supervisor", "caseworker", "ngo", "auditor"])
def test_every_role_reads_the_catalogue(app: Flask, data: Data, role: str) -> None:
    page = text(signed_in(app, data, role).get("/services"))

    assert page.count('class="card mb-3" id="programme-') == 11
    assert "School enrolment" in page
    assert "Organisation NGO2" in page and "10 open places" in page
    assert "Transversal" in page and "4.1" in page
    assert ("/services/providers" in page) == (role == "admin")


def test_an_administrator_manages_offers_and_services(app: Flask, data: Data) -> None:
    admin = signed_in(app, data, "admin")
    ngo1 = data.orgs["NGO1"]

    response = admin.post(f"/services/providers/{ngo1}", data={
        "service_code": "vaccination", "region_codes": ["04", "06"], "capacity": "12",
        "active": "y",
    })  # fmt: skip
    assert response.status_code == 302
    duplicate = admin.post(f"/services/providers/{ngo1}", data={"service_code": "vaccination"})
    assert duplicate.status_code == 422
    assert field_error(text(duplicate), "service_code") == (
        "This organisation already offers this service."
    )
    response = admin.post(f"/services/providers/{ngo1}/offers/vaccination",
                          data={"region_codes": ["04"], "capacity": ""})  # fmt: skip
    assert response.status_code == 302
    with app.app_context():
        offer = db.session.scalar(
            select(ProviderService).where(ProviderService.service_code == "vaccination")
        )
        assert (offer.region_codes, offer.capacity, offer.active) == (["04"], None, False)
    assert admin.get(f"/services/providers/{data.orgs['RAB']}").status_code == 404

    # Services are reference rows shared by the whole test session: put them back.
    with app.app_context():
        service = db.session.get(Service, "vaccination")
        saved = (service.name_fr, service.name_en, service.name_ar, service.active)
    try:
        response = admin.post("/services/vaccination/edit", data={
            "name_fr": "Vaccination (enfants)", "name_en": "Vaccination (children)",
            "name_ar": "تلقيح الأطفال",
        })  # fmt: skip
        assert response.status_code == 302
        with app.app_context():
            service = db.session.get(Service, "vaccination")
            assert (service.name_en, service.active) == ("Vaccination (children)", False)
        assert "Vaccination (children)" not in text(signed_in(app, data, "ngo").get("/services"))
    finally:
        with app.app_context():
            service = db.session.get(Service, "vaccination")
            service.name_fr, service.name_en, service.name_ar, service.active = saved
            db.session.commit()


def test_only_administrators_manage_the_catalogue(app: Flask, data: Data) -> None:
    ngo = signed_in(app, data, "ngo")
    assert ngo.get("/services/providers").status_code == 403
    assert ngo.post("/services/vaccination/edit", data={"name_fr": "x"}).status_code == 403
