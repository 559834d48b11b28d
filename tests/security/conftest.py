"""The sensitive-fields world: files and people with confidential text, and every relation a
caller can have to them (issue #7 item 5).

* `asylum`: an asylum file of Rabat (region 04) with a claim narrative;
* `illness`: a serious-illness regularisation file of Rabat with medical details;
* `regular`: an ordinary regularisation file of Rabat (neither field applies);
* `asylum_tng`: an asylum file of Tanger (another office, another region) with a narrative;
* people: `rabat` held by Rabat, with notes; `walk_in`, the NGO's walk-in with the NGO's notes,
  shared with Rabat by the person's consent (share-with-agency); `rabat` is also referred to
  the NGO (an open referral): the NGO reaches the person, never the notes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pytest
from flask import Flask

from casework.admin.models import Organisation
from casework.cases.confidential import update_confidential
from casework.cases.models import CaseKind
from casework.extensions import db
from casework.people.models import Person
from casework.services.models import ConsentScope, ProviderService
from casework.services.operations import record_consent, send_referral
from tests.cases.helpers import new_case, request_context, users
from tests.conftest import api_token, sign_in
from tests.factories import World

NARRATIVE = "Fled after threats from the militia in 2023."
NARRATIVE_TNG = "Persecuted for political opinion in the capital."
MEDICAL = "Renal failure; dialysis three times a week."
RABAT_NOTES = "Survivor of violence during the journey."
NGO_NOTES = "Told our social worker about trafficking; afraid of being found."
TODAY = date.today()


@dataclass
class Sensitive:
    world: World
    cases: dict[str, int] = field(default_factory=dict)
    people: dict[str, int] = field(default_factory=dict)

    def user(self, key: str) -> str:
        return self.world.users[key]


@pytest.fixture
def sensitive(app: Flask, world: World) -> Sensitive:
    with app.app_context(), request_context(app):
        who = users(world)
        scenario = Sensitive(world=world, people=dict(world.people))
        asylum = new_case(world, CaseKind.ASYLUM, filed_on=TODAY, who=who)
        illness = new_case(world, category="serious_illness", filed_on=TODAY, who=who)
        regular = new_case(world, applicant="rabat_child", filed_on=TODAY, who=who)
        asylum_tng = new_case(world, CaseKind.ASYLUM, applicant="tanger", by="caseworker2",
                              filed_on=TODAY, who=who)  # fmt: skip
        update_confidential(asylum, {"claim_narrative": NARRATIVE}, by=who.caseworker,
                            expected_version=None)  # fmt: skip
        update_confidential(illness, {"medical_details": MEDICAL}, by=who.caseworker,
                            expected_version=None)  # fmt: skip
        update_confidential(asylum_tng, {"claim_narrative": NARRATIVE_TNG},
                            by=who.caseworker2, expected_version=None)  # fmt: skip
        rabat = db.session.get(Person, world.people["rabat"])
        walk_in = db.session.get(Person, world.people["walk_in"])
        rabat.vulnerability_notes = RABAT_NOTES
        walk_in.vulnerability_notes = NGO_NOTES
        office = db.session.get(Organisation, world.orgs["RAB"])
        ngo = db.session.get(Organisation, world.orgs["NGO1"])
        record_consent(walk_in, scope=ConsentScope.SHARE_WITH_AGENCY, purpose="File at Rabat",
                       given_on=TODAY, given_to=office, by=who.ngo)  # fmt: skip
        db.session.add(ProviderService(organisation_id=ngo.id, service_code="legal_aid",
                                       region_codes=[ngo.region_code], active=True))  # fmt: skip
        db.session.flush()
        send_referral(rabat, service_code="legal_aid", provider=ngo, purpose="Legal advice",
                      urgency="normal", due_date=None, by=who.caseworker,
                      consent={"given": True, "date": TODAY})  # fmt: skip
        db.session.commit()
        scenario.cases = {"asylum": asylum.id, "illness": illness.id, "regular": regular.id,
                          "asylum_tng": asylum_tng.id}  # fmt: skip
        return scenario


@pytest.fixture
def api(client, sensitive: Sensitive):
    """Authorization headers for account `key` (one token per account and test)."""
    tokens: dict[str, dict[str, str]] = {}

    def of(key: str) -> dict[str, str]:
        if key not in tokens:
            tokens[key] = api_token(client, sensitive.user(key))
        return tokens[key]

    return of


@pytest.fixture
def browser_as(app: Flask, sensitive: Sensitive):
    """A test client signed in as account `key` (one per account and test)."""
    clients = {}

    def of(key: str):
        if key not in clients:
            clients[key] = app.test_client()
            assert sign_in(clients[key], sensitive.user(key)).status_code == 302
        return clients[key]

    return of
