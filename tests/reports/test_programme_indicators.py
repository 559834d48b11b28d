"""Programme indicators (GET /api/v1/stats/programmes) against a few hand-built referrals and
assistance records: distinct people per programme and per SDG target, a corrected record
counted once, and a regional supervisor seeing what their region's organisations did.

    rabat   legal_aid (social assistance), accepted, sent by RAB (region 04)
    rabat   trafficking_victim_support (flow management), sent, sent by RAB
    tanger  assisted_voluntary_return (flow management), completed, sent by TNG (region 01)
    record  legal_aid for rabat by NGO1 (region 04), then corrected by a second record
    record  emergency_humanitarian_aid for walk_in by NGO1
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from flask import Flask

from casework.extensions import db
from casework.services.models import AssistanceRecord, Consent, Referral
from tests.conftest import api_token
from tests.factories import World

PROGRAMMES = "/api/v1/stats/programmes"
SOCIAL = "social_humanitarian_assistance"
FLOWS = "flow_management_trafficking"


def _refer(world: World, person: str, service: str, state: str, sender: str) -> int:
    consent = Consent(person_id=world.people[person], scope="referral", purpose="test",
                      given_on=date(2026, 3, 1), given_to_id=world.orgs["NGO1"],
                      shared_vulnerabilities=[])  # fmt: skip
    db.session.add(consent)
    db.session.flush()
    referral = Referral(person_id=world.people[person], service_code=service,
                        provider_id=world.orgs["NGO1"], sender_organisation_id=world.orgs[sender],
                        consent_id=consent.id, purpose="test", state=state,
                        created_at=datetime(2026, 3, 1, tzinfo=UTC))  # fmt: skip
    db.session.add(referral)
    db.session.flush()
    return referral.id


def _give(world: World, person: str, service: str, corrects: int | None = None) -> int:
    record = AssistanceRecord(person_id=world.people[person], provider_id=world.orgs["NGO1"],
                              service_code=service, given_on=date(2026, 3, 5),
                              quantity=Decimal(1), unit="kit", corrects_id=corrects)  # fmt: skip
    db.session.add(record)
    db.session.flush()
    return record.id


@pytest.fixture
def services_given(app: Flask, world: World) -> None:
    with app.app_context():
        _refer(world, "rabat", "legal_aid", "accepted", "RAB")
        _refer(world, "rabat", "trafficking_victim_support", "sent", "RAB")
        _refer(world, "tanger", "assisted_voluntary_return", "completed", "TNG")
        first = _give(world, "rabat", "legal_aid")
        _give(world, "rabat", "legal_aid", corrects=first)
        _give(world, "walk_in", "emergency_humanitarian_aid")
        db.session.commit()


def _indicators(app: Flask, world: World, user: str) -> tuple[dict, dict]:
    headers = api_token(app.test_client(), world.users[user])
    response = app.test_client().get(PROGRAMMES, headers=headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    return ({r["key"]: r for r in body["programmes"]}, {r["key"]: r for r in body["sdg_targets"]})


def test_people_are_counted_once_per_programme_and_per_target(
    app: Flask, world: World, services_given
) -> None:
    programmes, targets = _indicators(app, world, "supervisor")

    assert programmes[SOCIAL]["people_referred"] == 1
    assert programmes[SOCIAL]["people_accepted"] == 1
    assert programmes[SOCIAL]["people_served"] == 2
    assert programmes[SOCIAL]["assistance_records"] == 2  # the corrected record counts once
    assert programmes[FLOWS]["people_referred"] == 2
    assert programmes[FLOWS]["people_accepted"] == 1  # tanger's completed, rabat's only sent
    assert programmes["health"]["people_referred"] == 0
    # 10.7 groups flow management and the legal framework: rabat and tanger, once each.
    assert targets["10.7"]["programmes"] == [FLOWS, "legal_framework"]
    assert targets["10.7"]["people_referred"] == 2
    assert targets["1.3"]["people_served"] == 2
    assert targets["1.3"]["assistance_records"] == 2
    assert list(targets) == sorted(targets, key=lambda c: tuple(map(int, c.split("."))))


def test_a_regional_supervisor_counts_what_their_region_sent_or_recorded(
    app: Flask, world: World, services_given
) -> None:
    programmes, targets = _indicators(app, world, "regional")

    assert programmes[FLOWS]["people_referred"] == 1  # tanger's referral came from TNG
    assert targets["10.7"]["people_referred"] == 1
    assert programmes[SOCIAL]["people_served"] == 2  # NGO1 is in Rabat's region
