"""Builders of test records. They add and flush; the test (or fixture) commits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from sqlalchemy import select

from casework.admin.models import Organisation, OrganisationKind
from casework.auth.models import User
from casework.auth.passwords import hash_password
from casework.extensions import db
from casework.people.models import Person
from casework.people.operations import create_household, register_person
from casework.policy import Role

PASSWORD = "correct horse battery staple"


@lru_cache(maxsize=1)
def password_hash() -> str:
    """Hashing with argon2 on purpose is slow: hash the shared test password once."""
    return hash_password(PASSWORD)


def make_organisation(code: str, kind: OrganisationKind, prefecture: str | None) -> Organisation:
    from casework.reference.models import Prefecture

    region = db.session.get(Prefecture, prefecture).region_code if prefecture else None
    org = Organisation(
        code=code,
        name=f"Organisation {code}",
        kind=kind.value,
        prefecture_code=prefecture,
        region_code=region,
        active=True,
    )
    db.session.add(org)
    db.session.flush()
    return org


def make_user(
    email: str, role: Role, organisation: Organisation, region: str | None = None
) -> User:
    user = User(
        email=email,
        name=email.split("@")[0].title(),
        role=role.value,
        organisation_id=organisation.id,
        region_code=region,
        password_hash=password_hash(),
        active=True,
        failed_signins=0,
        session_version=1,
        preferred_language="en",
    )
    db.session.add(user)
    db.session.flush()
    return user


def make_person(by: User, **values) -> Person:
    defaults = {
        "family_name": "Diallo",
        "given_names": "Mamadou",
        "family_name_ar": "ديالو",
        "given_names_ar": "مامادو",
        "sex": "M",
        "date_of_birth": date(1990, 5, 17),
        "nationality": "SN",
    }
    return register_person({**defaults, **values}, by=by)


@dataclass
class World:
    """Ids and emails of the standard test world (plain values: safe outside a context)."""

    users: dict[str, str] = field(default_factory=dict)  # key -> email
    user_ids: dict[str, int] = field(default_factory=dict)
    orgs: dict[str, int] = field(default_factory=dict)
    people: dict[str, int] = field(default_factory=dict)
    households: dict[str, int] = field(default_factory=dict)


def build_world() -> World:
    """Two foreigners' offices in two regions, an NGO, and one account per role:

    * `caseworker` (Rabat), `caseworker2` (Tanger), `supervisor` (national),
      `regional` (supervisor of Rabat-Salé-Kénitra, region 04), `ngo`, `admin`, `auditor`;
    * people `rabat` and `rabat_child` (a household) held by Rabat, `tanger` held by Tanger,
      `walk_in` registered by the NGO.
    """
    world = World()
    rab = make_organisation("RAB", OrganisationKind.FOREIGNERS_OFFICE, "RAB")
    tng = make_organisation("TNG", OrganisationKind.FOREIGNERS_OFFICE, "TNG")
    ngo = make_organisation("NGO1", OrganisationKind.NGO, "RAB")
    adm = make_organisation("ADM", OrganisationKind.PUBLIC_SERVICE, None)
    world.orgs = {"RAB": rab.id, "TNG": tng.id, "NGO1": ngo.id, "ADM": adm.id}
    accounts = {
        "admin": (Role.ADMIN, adm, None),
        "supervisor": (Role.SUPERVISOR, adm, None),
        "regional": (Role.SUPERVISOR, rab, "04"),
        "caseworker": (Role.CASEWORKER, rab, None),
        "caseworker2": (Role.CASEWORKER, tng, None),
        "ngo": (Role.NGO, ngo, None),
        "auditor": (Role.AUDITOR, adm, None),
    }
    users = {}
    for key, (role, org, region) in accounts.items():
        users[key] = make_user(f"{key}@test.example", role, org, region)
        world.users[key] = users[key].email
        world.user_ids[key] = users[key].id
    rabat = make_person(users["caseworker"])
    child = make_person(
        users["caseworker"],
        given_names="Awa",
        given_names_ar="عوا",
        sex="F",
        date_of_birth=date(2015, 3, 2),
    )
    tanger = make_person(
        users["caseworker2"],
        family_name="Okafor",
        given_names="Chinedu",
        family_name_ar="أوكافور",
        given_names_ar="شينيدو",
        nationality="NG",
    )
    walk_in = make_person(users["ngo"], family_name="Traoré", given_names="Aminata", sex="F")
    household = create_household(rabat, by=users["caseworker"])
    from casework.people.operations import add_member

    add_member(household, child, "child", by=users["caseworker"])
    world.people = {
        "rabat": rabat.id,
        "rabat_child": child.id,
        "tanger": tanger.id,
        "walk_in": walk_in.id,
    }
    world.households = {"rabat": household.id}
    return world


def user_by_key(world: World, key: str) -> User:
    return db.session.scalar(select(User).where(User.email == world.users[key]))
