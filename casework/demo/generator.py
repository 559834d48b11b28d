"""Synthetic demo data: organisations, one account per role, applicants and households.

Deterministic (seeded) so that two machines show the same demo. Names come from
`demo/data/names.json`, in Latin and Arabic script.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from importlib.resources import files

from sqlalchemy import select

from casework.admin.models import Organisation
from casework.auth.models import User
from casework.auth.operations import create_user
from casework.demo.organisations import DEMO_ACCOUNTS, DEMO_ORGANISATIONS, OFFICE_WEIGHTS
from casework.extensions import db
from casework.people.models import DocumentKind, Relationship
from casework.people.operations import add_member, create_household, register_person
from casework.reference.models import Prefecture

TODAY = date(2026, 11, 1)  # fixed, so that ages do not drift between runs


@dataclass
class DemoResult:
    organisations: int = 0
    accounts: int = 0
    people: int = 0
    households: int = 0
    cases: int = 0
    referrals: int = 0
    created_accounts: list[str] = field(default_factory=list)


def load_names() -> list[dict]:
    text = files("casework.demo").joinpath("data", "names.json").read_text("utf-8")
    return json.loads(text)["nationalities"]


def ensure_organisations() -> dict[str, Organisation]:
    organisations = {}
    for code, name, name_ar, kind, prefecture_code in DEMO_ORGANISATIONS:
        org = db.session.scalar(select(Organisation).where(Organisation.code == code))
        if org is not None and org.name_ar is None:
            org.name_ar = name_ar  # a demo loaded before organisations had Arabic names
        if org is None:
            region = (
                db.session.get(Prefecture, prefecture_code).region_code if prefecture_code else None
            )
            org = Organisation(
                code=code,
                name=name,
                name_ar=name_ar,
                kind=kind.value,
                prefecture_code=prefecture_code,
                region_code=region,
                active=True,
            )
            db.session.add(org)
        organisations[code] = org
    db.session.flush()
    return organisations


def ensure_accounts(organisations: dict[str, Organisation], password: str) -> list[str]:
    from casework.auth.passwords import hash_password

    created = []
    shared_hash = hash_password(password)  # argon2 is slow on purpose: hash the shared one once
    for email, name, role, org_code, region in DEMO_ACCOUNTS:
        if db.session.scalar(select(User).where(User.email == email)) is None:
            create_user(
                email=email,
                name=name,
                role=role,
                organisation_id=organisations[org_code].id,
                region_code=region,
                password=password,
                password_hash=shared_hash,
            )
            created.append(email)
    return created


class ApplicantFactory:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.nationalities = load_names()
        self.weights = [n["weight"] for n in self.nationalities]

    def nationality(self) -> dict:
        return self.rng.choices(self.nationalities, weights=self.weights)[0]

    def person_values(self, origin: dict, *, sex: str, age: int, family: list[str]) -> dict:
        given = self.rng.choice(origin["given_female" if sex == "F" else "given_male"])
        born = TODAY - timedelta(days=age * 365 + self.rng.randrange(365))
        approximate = self.rng.random() < 0.12
        if approximate:
            born = date(born.year, 1, 1)
        values = {
            "family_name": family[0],
            "given_names": given[0],
            "family_name_ar": family[1],
            "given_names_ar": given[1],
            "sex": sex,
            "date_of_birth": born,
            "date_of_birth_approximate": approximate,
            "nationality": origin["code"],
            "languages": origin["languages"][: self.rng.randint(1, len(origin["languages"]))],
            "phone": f"+2126{self.rng.randrange(10**7, 10**8)}"
            if self.rng.random() < 0.8
            else None,
            "pregnant": sex == "F" and 18 <= age <= 40 and self.rng.random() < 0.06,
            "serious_illness": self.rng.random() < 0.03,
            "disability": self.rng.random() < 0.02,
            "trafficking_victim": self.rng.random() < 0.01,
            "unaccompanied_minor": age < 18 and self.rng.random() < 0.3,
        }
        notes = " ".join(text for flag, text in DEMO_NOTES.items() if values[flag])
        return {**values, "vulnerability_notes": notes or None}

    def documents(self, origin: dict) -> list[dict]:
        if self.rng.random() > 0.65:
            return []
        number = f"{origin['code']}{self.rng.randrange(10**6, 10**7)}"
        return [
            {
                "kind": DocumentKind.PASSPORT.value,
                "number": number,
                "issuing_country": origin["code"],
                "expires_on": TODAY + timedelta(days=self.rng.randrange(-400, 2000)),
            }
        ]


# Invented notes for the demo's vulnerable people (confidential: casework.policy.FIELD_RULES).
DEMO_NOTES = {
    "pregnant": "Grossesse suivie au centre de santé du quartier ; prochain rendez-vous fixé.",
    "serious_illness": "Traitement de longue durée ; orientation vers l'hôpital de référence.",
    "disability": "Mobilité réduite : prévoir un accueil au rez-de-chaussée.",
    "trafficking_victim": "Orientée vers une association spécialisée ; ne pas contacter l'employeur.",
    "unaccompanied_minor": "Mineur non accompagné : tuteur provisoire à désigner.",
}


def generate_applicants(organisations: dict[str, Organisation], count: int, seed: int) -> tuple:
    """About a third of applicants come as households (a couple or a parent with children)."""
    rng = random.Random(seed)
    factory = ApplicantFactory(rng)
    caseworkers = {org_code: _staff_of(organisations[org_code]) for org_code in OFFICE_WEIGHTS}
    offices = list(OFFICE_WEIGHTS)
    people = households = 0
    while people < count:
        office = rng.choices(offices, weights=list(OFFICE_WEIGHTS.values()))[0]
        by = caseworkers[office]
        origin = factory.nationality()
        family = rng.choice(origin["family"])
        sex = "M" if rng.random() < 0.58 else "F"
        head_age = rng.randint(19, 58)
        head = register_person(
            factory.person_values(origin, sex=sex, age=head_age, family=family),
            by=by,
            documents=factory.documents(origin),
        )
        people += 1
        if rng.random() < 0.3 and people < count:
            household = create_household(head, by=by)
            households += 1
            if rng.random() < 0.6:
                spouse = register_person(
                    factory.person_values(
                        origin,
                        sex="F" if sex == "M" else "M",
                        age=head_age - rng.randint(-3, 8),
                        family=family if rng.random() < 0.5 else rng.choice(origin["family"]),
                    ),
                    by=by,
                    documents=factory.documents(origin),
                )
                add_member(household, spouse, Relationship.SPOUSE.value, by=by)
                people += 1
            for _ in range(rng.randint(0, 3)):
                child_age = rng.randint(0, max(0, min(17, head_age - 18)))
                child = register_person(
                    factory.person_values(
                        origin, sex=rng.choice("FM"), age=child_age, family=family
                    ),
                    by=by,
                )
                add_member(household, child, Relationship.CHILD.value, by=by)
                people += 1
    return people, households


class _Staff:
    """The office itself registering its historical applicants (no particular user)."""

    is_authenticated = False

    def __init__(self, organisation: Organisation) -> None:
        self.id = None
        self.organisation_id = organisation.id


def _staff_of(organisation: Organisation):
    user = db.session.scalar(select(User).where(User.organisation_id == organisation.id))
    return user or _Staff(organisation)


def load_demo(password: str, *, people: int = 300, seed: int = 2014) -> DemoResult:
    """Create the demo organisations, accounts and applicants; the caller commits."""
    result = DemoResult()
    organisations = ensure_organisations()
    result.organisations = len(organisations)
    result.created_accounts = ensure_accounts(organisations, password)
    result.accounts = len(DEMO_ACCOUNTS)
    result.people, result.households = generate_applicants(organisations, people, seed)
    db.session.flush()
    from casework.demo.cases import generate_cases

    result.cases = generate_cases(seed)
    from casework.demo.services import generate_referrals

    result.referrals = generate_referrals()
    return result
