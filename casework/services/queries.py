"""Reading referrals, assistance and the catalogue, always inside the caller's scope."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Select, select

from casework.admin.models import Organisation
from casework.auth.models import User
from casework.extensions import db
from casework.people.models import Person
from casework.policy import assistance_scope, referrals_scope
from casework.reference.models import Programme, Service
from casework.services.models import (
    OPEN_REFERRAL_STATES,
    AssistanceRecord,
    PersonEvent,
    ProviderService,
    Referral,
)


def visible_referrals(user: User) -> Select:
    return select(Referral).where(referrals_scope(user))


def inbox(user: User, *, state: str | None = None, overdue_only: bool = False) -> Select:
    """Referrals to the caller's organisation, open first by due date."""
    query = visible_referrals(user).where(Referral.provider_id == user.organisation_id)
    if state:
        query = query.where(Referral.state == state)
    if overdue_only:
        query = query.where(
            Referral.due_date < date.today(),
            Referral.state.in_([s.value for s in OPEN_REFERRAL_STATES]),
        )
    return query


def sent_by_organisation(user: User) -> Select:
    return visible_referrals(user).where(Referral.sender_organisation_id == user.organisation_id)


def referrals_of_person(user: User, person: Person) -> list[Referral]:
    query = visible_referrals(user).where(Referral.person_id == person.id)
    return list(db.session.scalars(query.order_by(Referral.id.desc())))


def assistance_of_person(user: User, person: Person) -> list[AssistanceRecord]:
    query = select(AssistanceRecord).where(
        assistance_scope(user), AssistanceRecord.person_id == person.id
    )
    return list(db.session.scalars(query.order_by(AssistanceRecord.given_on.desc())))


def visible_assistance(user: User) -> Select:
    return select(AssistanceRecord).where(assistance_scope(user))


def person_timeline(person: Person, limit: int = 100) -> list[PersonEvent]:
    query = (
        select(PersonEvent)
        .where(PersonEvent.person_id == person.id)
        .order_by(PersonEvent.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query))


def catalogue() -> list[Programme]:
    return list(db.session.scalars(select(Programme).order_by(Programme.number)))


def providers_of(service_code: str) -> list[ProviderService]:
    query = (
        select(ProviderService)
        .join(Organisation, Organisation.id == ProviderService.organisation_id)
        .where(
            ProviderService.service_code == service_code,
            ProviderService.active.is_(True),
            Organisation.active.is_(True),
        )
        .order_by(Organisation.name)
    )
    return list(db.session.scalars(query))


def offers_by_service() -> dict[str, list[ProviderService]]:
    """Every active offer, by service code: the catalogue's provider lists in one query."""
    query = (
        select(ProviderService)
        .join(Organisation, Organisation.id == ProviderService.organisation_id)
        .where(ProviderService.active.is_(True), Organisation.active.is_(True))
        .order_by(Organisation.name)
    )
    offers: dict[str, list[ProviderService]] = {}
    for offer in db.session.scalars(query):
        offers.setdefault(offer.service_code, []).append(offer)
    return offers


def active_services() -> list[Service]:
    query = select(Service).where(Service.active.is_(True)).order_by(Service.programme_code)
    return list(db.session.scalars(query))
