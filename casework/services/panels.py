"""What the pages show about a person's referrals and assistance, computed in one place.

* `person_services`: the "Referrals and assistance" section of the person page: the referrals,
  assistance records and consents the caller may see, and the timeline lines about them;
* `referred_person_card`: what a provider NGO sees of a person referred to it (never the
  agency's record): name, sex, age, nationality, languages, phone, household size and only the
  vulnerabilities the person agreed to share with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from casework.auth.models import User
from casework.extensions import db
from casework.people.models import VULNERABILITIES, Person
from casework.policy import Role, can
from casework.services import queries
from casework.services.models import (
    OPEN_REFERRAL_STATES,
    AssistanceRecord,
    Consent,
    ConsentScope,
    PersonEvent,
    Referral,
    ReferralState,
)
from casework.services.operations import superseded_ids

CLOSED_REFERRAL_STATES = (
    ReferralState.COMPLETED,
    ReferralState.CLOSED_WITHOUT_SERVICE,
    ReferralState.DECLINED,
    ReferralState.CANCELLED,
)

EVENT_LABELS = {
    "consent": _l("Consent recorded"),
    "consent_withdrawn": _l("Consent withdrawn"),
    "referral_sent": _l("Referral sent"),
    "referral_accept": _l("Referral accepted"),
    "referral_decline": _l("Referral declined"),
    "referral_cancel": _l("Referral cancelled"),
    "referral_start": _l("Service started"),
    "referral_complete": _l("Referral completed"),
    "referral_close": _l("Referral closed without service"),
    "assistance_recorded": _l("Assistance recorded"),
    "assistance_corrected": _l("Assistance corrected"),
}

CONSENT_SCOPE_LABELS = {
    ConsentScope.REFERRAL.value: _l("Referral"),
    ConsentScope.SHARE_WITH_AGENCY.value: _l("Sharing with an agency office"),
}


def event_label(kind: str) -> str:
    return str(EVENT_LABELS.get(kind, kind))


def consent_scope_label(scope: str) -> str:
    return str(CONSENT_SCOPE_LABELS.get(scope, scope))


@dataclass
class TimelineLine:
    event: PersonEvent
    label: str
    detail: str = ""


@dataclass
class PersonServices:
    referrals: list[Referral] = field(default_factory=list)
    overdue_ids: set[int] = field(default_factory=set)
    assistance: list[AssistanceRecord] = field(default_factory=list)
    superseded: set[int] = field(default_factory=set)
    consents: list[Consent] = field(default_factory=list)
    timeline: list[TimelineLine] = field(default_factory=list)
    may_refer: bool = False
    may_share: bool = False


def visible_consents(user: User, person: Person) -> list[Consent]:
    """Agency staff see every consent of a person in their files; an NGO the consents given to
    it or recorded by its staff."""
    query = select(Consent).where(Consent.person_id == person.id)
    if Role(user.role) == Role.NGO:
        own_staff = select(User.id).where(User.organisation_id == user.organisation_id)
        query = query.where(
            or_(
                Consent.given_to_id == user.organisation_id,
                Consent.recorded_by_id.in_(own_staff),
            )
        )
    return list(db.session.scalars(query.order_by(Consent.given_on.desc(), Consent.id.desc())))


def person_services(user: User, person: Person, today: date | None = None) -> PersonServices:
    """The person page's section on referrals and assistance, inside the caller's scope."""
    today = today or date.today()
    panel = PersonServices()
    if can(user, "referral.view"):
        panel.referrals = queries.referrals_of_person(user, person)
        panel.overdue_ids = {r.id for r in panel.referrals if r.is_overdue(today)}
    if can(user, "assistance.view"):
        panel.assistance = queries.assistance_of_person(user, person)
        panel.superseded = superseded_ids(panel.assistance)
    panel.consents = visible_consents(user, person)
    panel.timeline = _timeline(person, panel)
    panel.may_refer = can(user, "referral.send", person)
    panel.may_share = (
        Role(user.role) == Role.NGO
        and person.organisation_id == user.organisation_id
        and can(user, "consent.record")
    )
    return panel


def _timeline(person: Person, panel: PersonServices) -> list[TimelineLine]:
    """The person's events, leaving out those about records the caller may not see."""
    visible = {
        "referrals": {r.id: r for r in panel.referrals},
        "assistance_records": {a.id: a for a in panel.assistance},
        "consents": {c.id: c for c in panel.consents},
    }
    lines = []
    for event in queries.person_timeline(person):
        records = visible.get(event.record_type or "")
        if records is not None and event.record_id not in records:
            continue
        record = records.get(event.record_id) if records is not None else None
        detail = ""
        if isinstance(record, Referral):
            detail = f"{record.service.name} · {record.provider.name}"
        elif isinstance(record, AssistanceRecord):
            detail = record.service.name
        elif isinstance(record, Consent):
            detail = record.given_to.name
        lines.append(TimelineLine(event=event, label=event_label(event.kind), detail=detail))
    return lines


# --- The card a provider NGO sees -----------------------------------------------------------


@dataclass
class PersonCard:
    person: Person
    age: int | None
    household_size: int
    vulnerabilities: list[str]
    referrals: list[Referral]


def open_referrals_to(user: User, person_id: int) -> list[Referral]:
    """The open referrals of `person_id` to the caller's organisation whose consent stands."""
    query = (
        queries.inbox(user)
        .join(Consent, Consent.id == Referral.consent_id)
        .where(
            Referral.person_id == person_id,
            Referral.state.in_([s.value for s in OPEN_REFERRAL_STATES]),
            Consent.withdrawn_on.is_(None),
        )
    )
    return list(db.session.scalars(query.order_by(Referral.id.desc())))


def person_card(person: Person, referrals: list[Referral], today: date | None = None) -> PersonCard:
    """Only what the service needs; of the vulnerabilities, only those the person has and
    agreed, in these referrals' consents, to share."""
    shared: set[str] = set()
    for referral in referrals:
        consent = referral.consent
        if consent is not None and consent.withdrawn_on is None:
            shared.update(consent.shared_vulnerabilities or [])
    household = person.membership.household if person.membership else None
    return PersonCard(
        person=person,
        age=person.age_on(today or date.today()),
        household_size=len(household.members) if household else 1,
        vulnerabilities=[
            code for code in VULNERABILITIES if code in shared and getattr(person, code)
        ],
        referrals=referrals,
    )


def referred_person_card(user: User, person_id: int) -> PersonCard | None:
    """The card of a person referred to the caller's NGO, while a referral is open and its
    consent stands (`queries.referred_person`, as the API decides it); otherwise None."""
    person = queries.referred_person(user, person_id)
    if person is None:
        return None
    return person_card(person, open_referrals_to(user, person_id))


def shows_card(user: User, referral: Referral) -> bool:
    """A provider sees the referred person's card while the referral is open and its consent
    stands, unless the person is its own walk-in (then it has the full record anyway)."""
    return (
        referral.is_open
        and referral.provider_id == user.organisation_id
        and referral.consent.withdrawn_on is None
        and referral.person.organisation_id != user.organisation_id
    )
