"""A person with a bit of everything the system can hold about someone, for the law 09-08 tests.

`rabat` (Rabat office): a passport, a phone, an address and notes; one correction of the phone
and address; a regularisation file accepted, its card issued, then closed; a referral to
NGO1 for school enrolment (consent given, assistance recorded, completed); a withdrawn consent
to share with the Tanger office. `rabat_child` is in the household; the other people are the
standard test world's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from flask import Flask
from flask.testing import FlaskClient

from casework.admin.models import Organisation
from casework.extensions import db
from casework.people.models import IdentityDocument, Person
from casework.people.operations import update_person
from casework.services import operations as services
from casework.services.models import ConsentScope, ProviderService
from tests.cases.helpers import act, case_in, users
from tests.conftest import sign_in
from tests.factories import World

PASSPORT = "SN0099887"
OLD_PHONE = "+212 600 111 222"
NEW_PHONE = "+212 611 999 888"
OLD_ADDRESS = "12 rue des Orangers, Rabat"
NEW_ADDRESS = "7 avenue Hassan II, Salé"
NOTES = "Follow-up for asthma at the Souissi clinic."
REFERRAL_PURPOSE = "Enrol the daughter at the neighbourhood school."
CONSENT_PURPOSE = "School enrolment through NGO1"
SHARE_PURPOSE = "To prepare a file at the Tanger office"
TODAY = date.today()


@dataclass
class Story:
    world: World
    person_id: int
    case_id: int
    referral_id: int
    consent_id: int
    share_consent_id: int
    assistance_id: int


def build_story(app: Flask, world: World) -> Story:
    with app.test_request_context(headers={"Accept-Language": "en"}):
        who = users(world)
        ngo1 = db.session.get(Organisation, world.orgs["NGO1"])
        tanger = db.session.get(Organisation, world.orgs["TNG"])
        db.session.add(
            ProviderService(organisation_id=ngo1.id, service_code="school_enrolment",
                            region_codes=[ngo1.region_code], capacity=10, active=True)
        )  # fmt: skip
        person = db.session.get(Person, world.people["rabat"])
        person.documents.append(
            IdentityDocument(kind="passport", number=PASSPORT, issuing_country="SN")
        )
        person.phone, person.address, person.vulnerability_notes = OLD_PHONE, OLD_ADDRESS, NOTES
        person.serious_illness = True
        db.session.flush()
        update_person(
            person,
            {"phone": NEW_PHONE, "address": NEW_ADDRESS},
            by=who.caseworker,
            expected_version=person.version,
        )
        case = case_in(world, "regularisation", "card_issued")
        act(case, "close", who.caseworker)
        referral = services.send_referral(
            person,
            service_code="school_enrolment",
            provider=ngo1,
            purpose=REFERRAL_PURPOSE,
            urgency="normal",
            due_date=TODAY + timedelta(days=5),
            consent={"given": True, "date": TODAY, "scope": CONSENT_PURPOSE},
            by=who.caseworker,
        )
        services.act_on_referral(referral, "accept", by=who.ngo, expected_version=referral.version)
        assistance = services.record_assistance(
            referral,
            {"date": TODAY, "quantity": Decimal("2"), "unit": "school kit",
             "place": "Rabat centre", "notes": "Shoe size 32."},
            by=who.ngo,
        )  # fmt: skip
        services.act_on_referral(referral, "start", by=who.ngo, expected_version=referral.version)
        services.act_on_referral(
            referral, "complete", by=who.ngo, expected_version=referral.version, outcome="Done."
        )
        share = services.record_consent(
            person,
            scope=ConsentScope.SHARE_WITH_AGENCY,
            purpose=SHARE_PURPOSE,
            given_on=TODAY - timedelta(days=3),
            given_to=tanger,
            by=who.caseworker,
        )
        services.withdraw_consent(share, by=who.caseworker, on=TODAY - timedelta(days=1))
        db.session.commit()
        return Story(
            world=world,
            person_id=person.id,
            case_id=case.id,
            referral_id=referral.id,
            consent_id=referral.consent_id,
            share_consent_id=share.id,
            assistance_id=assistance.id,
        )


@pytest.fixture
def story(app: Flask, world: World) -> Story:
    return build_story(app, world)


def signed_in(app: Flask, world: World, key: str) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, world.users[key]).status_code == 302
    return client
