"""Reading referrals, assistance and the catalogue, always inside the caller's scope."""

from __future__ import annotations

from datetime import date

from sqlalchemy import ColumnElement, Select, false, select
from sqlalchemy.orm import selectinload

from casework.admin.models import Organisation
from casework.auth.models import User
from casework.extensions import db
from casework.people.models import VULNERABILITIES, Person
from casework.people.queries import PeopleFilter, search_people
from casework.policy import Role, assistance_scope, referrals_scope
from casework.reference.models import Programme, Service
from casework.services.models import (
    OPEN_REFERRAL_STATES,
    AssistanceRecord,
    Consent,
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


# --- Reads of the API (casework.api.referrals, casework.api.people) ---------------------------

OPEN_STATES = [state.value for state in OPEN_REFERRAL_STATES]


def referral_list(
    user: User,
    *,
    box: str | None = None,
    state: str | None = None,
    overdue_only: bool = False,
    today: date | None = None,
) -> Select:
    """The referrals a list shows, inside the caller's scope: `box` "inbox" (to the caller's
    organisation) or "sent" (from it). Without `box`, NGOs see their inbox and agency staff
    everything in their scope."""
    if box is None and Role(user.role) == Role.NGO:
        box = "inbox"
    query = visible_referrals(user)
    if box == "inbox":
        query = query.where(Referral.provider_id == user.organisation_id)
    elif box == "sent":
        query = query.where(Referral.sender_organisation_id == user.organisation_id)
    if state:
        query = query.where(Referral.state == state)
    if overdue_only:
        query = query.where(
            Referral.due_date < (today or date.today()), Referral.state.in_(OPEN_STATES)
        )
    return query.options(
        selectinload(Referral.person),
        selectinload(Referral.service),
        selectinload(Referral.provider),
        selectinload(Referral.sender_organisation),
        selectinload(Referral.consent),
    )


def _open_referrals_to(user: User) -> Select:
    """Referrals to the caller's organisation that are still open and whose consent stands."""
    return (
        select(Referral.person_id)
        .join(Consent, Consent.id == Referral.consent_id)
        .where(
            Referral.provider_id == user.organisation_id,
            Referral.state.in_(OPEN_STATES),
            Consent.withdrawn_on.is_(None),
        )
    )


def referred_people_scope(user: User) -> ColumnElement[bool]:
    """The people an NGO reaches beyond its walk-ins (policy.people_scope): those referred to
    it by an open referral whose consent was not withdrawn. They are shown in the NGO view."""
    if Role(user.role) != Role.NGO:
        return false()
    return Person.id.in_(_open_referrals_to(user))


def referred_person(user: User, person_id: int) -> Person | None:
    return db.session.scalar(
        select(Person).where(Person.id == person_id, referred_people_scope(user))
    )


def shared_vulnerabilities(user: User, people: list[Person]) -> dict[int, list[str]]:
    """By person: the vulnerabilities the person has and agreed, in the consent of an open
    referral to the caller's organisation, to share with it."""
    if not people:
        return {}
    query = (
        _open_referrals_to(user)
        .add_columns(Consent.shared_vulnerabilities)
        .where(Referral.person_id.in_([person.id for person in people]))
    )
    consented: dict[int, set[str]] = {}
    for person_id, codes in db.session.execute(query):
        consented.setdefault(person_id, set()).update(codes or [])
    return {
        person.id: [
            code
            for code in VULNERABILITIES
            if code in consented.get(person.id, set()) and getattr(person, code)
        ]
        for person in people
    }


def ngo_people_search(user: User, criteria: PeopleFilter) -> Select:
    """An NGO's search: people.queries.search_people applies the NGO's limits itself."""
    return search_people(user, criteria)


def assistance_of_referral(user: User, referral: Referral) -> list[AssistanceRecord]:
    query = visible_assistance(user).where(AssistanceRecord.referral_id == referral.id)
    return list(
        db.session.scalars(
            query.options(selectinload(AssistanceRecord.provider)).order_by(AssistanceRecord.id)
        )
    )


def assistance_in_referral(
    user: User, referral: Referral, record_id: int
) -> AssistanceRecord | None:
    return db.session.scalar(
        visible_assistance(user).where(
            AssistanceRecord.id == record_id, AssistanceRecord.referral_id == referral.id
        )
    )
