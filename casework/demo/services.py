"""Demo provider offers, referrals in every state, assistance records and NGO walk-ins."""

from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy import select

from casework.admin.models import Organisation
from casework.auth.models import User
from casework.extensions import db
from casework.people.models import Person
from casework.policy import Role
from casework.services.models import ProviderService
from casework.services.operations import (
    act_on_referral,
    record_assistance,
    record_walk_in_assistance,
    send_referral,
)

# provider code -> (regions covered, services offered with (unit, typical quantity), capacity)
OFFERS = {
    "NGO1": (["04", "06"], {
        "school_enrolment": ("school kit", 1), "non_formal_education": ("session", 10),
        "vaccination": ("dose", 1), "maternal_health": ("consultation", 3),
        "ramed_enrolment": ("application", 1), "emergency_humanitarian_aid": ("MAD", 500),
        "legal_aid": ("consultation", 2), "ofppt_training": ("training place", 1),
        "language_courses": ("hour", 20),
    }, 40),
    "NGO2": (["01", "02"], {
        "emergency_humanitarian_aid": ("food parcel", 2), "emergency_shelter": ("night", 7),
        "legal_aid": ("consultation", 1), "trafficking_victim_support": ("follow-up", 4),
        "assisted_voluntary_return": ("counselling session", 2),
        "anapec_job_search": ("interview", 1), "mental_health_support": ("session", 4),
    }, 25),
}  # fmt: skip

# The walk through the referral table to reach each state (provider actions after "sent").
PATHS = {
    "sent": [],
    "accepted": ["accept"],
    "declined": ["decline"],
    "in_progress": ["accept", "start"],
    "completed": ["accept", "start", "complete"],
    "closed_without_service": ["accept", "close"],
    "cancelled": ["cancel"],
}
PURPOSES = {
    "school_enrolment": "Inscription des enfants à l'école du quartier.",
    "emergency_humanitarian_aid": "Famille sans ressources depuis l'arrivée.",
    "legal_aid": "Accompagnement pour le recours.",
}


def ensure_offers() -> dict[str, Organisation]:
    providers = {}
    for code, (regions, services, capacity) in OFFERS.items():
        org = db.session.scalar(select(Organisation).where(Organisation.code == code))
        providers[code] = org
        for service_code in services:
            exists = db.session.scalar(
                select(ProviderService.id).where(
                    ProviderService.organisation_id == org.id,
                    ProviderService.service_code == service_code,
                )
            )
            if exists is None:
                db.session.add(
                    ProviderService(
                        organisation_id=org.id, service_code=service_code,
                        region_codes=regions, capacity=capacity, active=True,
                    )
                )  # fmt: skip
    db.session.flush()
    return providers


def _staff(org_code: str, role: Role) -> User | None:
    return db.session.scalar(
        select(User)
        .join(Organisation, Organisation.id == User.organisation_id)
        .where(Organisation.code == org_code, User.role == role.value)
        .order_by(User.id)
    )


def generate_referrals(seed: int = 4, per_office: int = 28) -> int:
    """Referrals from the Rabat office to NGO1 and from Tanger to NGO2, in every state."""
    rng = random.Random(seed)
    providers = ensure_offers()
    count = 0
    for office_code, provider_code in (("RAB", "NGO1"), ("TNG", "NGO2")):
        sender = _staff(office_code, Role.CASEWORKER)
        ngo_user = _staff(provider_code, Role.NGO)
        provider = providers[provider_code]
        if sender is None or provider is None:
            continue
        people = db.session.scalars(
            select(Person)
            .where(Person.organisation_id == sender.organisation_id)
            .order_by(Person.id)
            .limit(per_office)
        ).all()
        services = list(OFFERS[provider_code][1])
        states = list(PATHS)
        for index, person in enumerate(people):
            target = states[index % len(states)]
            if ngo_user is None and target != "sent":
                continue
            service = services[index % len(services)]
            referral = send_referral(
                person,
                service_code=service,
                provider=provider,
                purpose=PURPOSES.get(service, "Orientation vers le service."),
                urgency=rng.choice(["low", "normal", "normal", "high", "emergency"]),
                due_date=date.today() + timedelta(days=rng.randint(5, 40)),
                consent={
                    "given": True,
                    "date": date.today() - timedelta(days=rng.randint(0, 20)),
                    "scope": "Orientation et suivi par le partenaire",
                    "shared_vulnerabilities": person.vulnerability_codes[:1],
                },
                by=sender,
                include_household=person.membership is not None,
            )
            for action in PATHS[target]:
                actor = sender if action == "cancel" else ngo_user
                act_on_referral(
                    referral, action, by=actor, expected_version=referral.version,
                    reason="Hors de notre zone d'intervention." if action == "decline" else None,
                    outcome="Service rendu." if action in {"complete", "close"} else None,
                )  # fmt: skip
                if action in {"accept", "start"} and target in {"in_progress", "completed"}:
                    unit, quantity = OFFERS[provider_code][1][service]
                    record_assistance(
                        referral,
                        {"date": date.today() - timedelta(days=rng.randint(0, 10)),
                         "quantity": quantity, "unit": unit, "place": provider.name[:60],
                         "outcome": "Remis"},
                        by=ngo_user,
                    )  # fmt: skip
            count += 1
    count += _walk_ins(rng, providers["NGO1"])
    return count


def _walk_ins(rng: random.Random, provider: Organisation) -> int:
    """A few people the NGO registered itself, with the aid they received."""
    from casework.people.operations import register_person

    ngo_user = _staff(provider.code, Role.NGO)
    if ngo_user is None:
        return 0
    names = [("Kouassi", "Adjoua", "كواسي", "أدجوا", "F", "CI"),
             ("Camara", "Sekou", "كامارا", "سيكو", "M", "GN"),
             ("Mbeki", "Grace", "مبيكي", "غريس", "F", "CD"),
             ("Bamba", "Ibrahim", "بامبا", "إبراهيم", "M", "ML")]  # fmt: skip
    for family, given, family_ar, given_ar, sex, nationality in names:
        person = register_person(
            {"family_name": family, "given_names": given, "family_name_ar": family_ar,
             "given_names_ar": given_ar, "sex": sex,
             "nationality": nationality,
             "date_of_birth": date(1990 + rng.randint(0, 12), rng.randint(1, 12), 1),
             "date_of_birth_approximate": True},
            by=ngo_user,
        )  # fmt: skip
        record_walk_in_assistance(
            person,
            {"date": date.today() - timedelta(days=rng.randint(0, 30)), "quantity": 1,
             "unit": "colis alimentaire", "service_code": "emergency_humanitarian_aid"},
            by=ngo_user,
        )  # fmt: skip
    return len(names)
