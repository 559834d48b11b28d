"""Personal data (law 09-08, CNDP): purposes, consents and corrections of a person's record.

Operations only (no Flask request here): the person's page and the subject-access export call
them with the user they act for.

* Purposes: each processing of the person's data has a declared purpose: the registration by
  the organisation holding the record (an agency office: the examination of a regularisation or
  asylum file; a partner NGO: the assistance it gives), and each referral's own purpose, given
  with the person's consent;
* Consents: given on which date, to whom, for what, withdrawn or not;
* Rectification: `person.update` audit entries name the fields that changed, never their
  values; `record_revision` keeps the old and new values (`PersonRevision`) so that a
  correction can be shown and reported to the person ("history of corrections").

What a caller sees stays inside the policy: referrals through `referrals_scope`, consents as
the services panel shows them, corrections only to agency staff (`HISTORY_ROLES`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from casework.admin.models import OrganisationKind
from casework.extensions import db
from casework.models_base import utcnow
from casework.people.dp_models import PersonRevision
from casework.people.models import Person
from casework.policy import CASEWORKER, SUPERVISOR, Role, can, hidden_fields, sensitive_fields

# Who sees the history of corrections on the person's page: the agency staff who examine the
# files (an NGO's staff see their walk-ins' page, not the agency's corrections).
HISTORY_ROLES = frozenset({CASEWORKER, SUPERVISOR})

# The purpose of the registration, by the kind of organisation holding the record.
REGISTRATION_PURPOSES = {
    "agency": _l("Examination of a regularisation or asylum file"),
    OrganisationKind.NGO.value: _l(
        "Social and humanitarian assistance given by the partner organisation"
    ),
}

# The person's fields as the forms name them (same messages, same translations).
FIELD_LABELS = {
    "family_name": _l("Family name"),
    "given_names": _l("Given names"),
    "family_name_ar": _l("Family name (Arabic script)"),
    "given_names_ar": _l("Given names (Arabic script)"),
    "sex": _l("Sex"),
    "date_of_birth": _l("Date of birth"),
    "date_of_birth_approximate": _l("Approximate date of birth"),
    "nationality": _l("Nationality"),
    "languages": _l("Languages spoken"),
    "phone": _l("Phone"),
    "address": _l("Address"),
    "prefecture_code": _l("Prefecture or province"),
    "unaccompanied_minor": _l("Unaccompanied minor"),
    "pregnant": _l("Pregnant"),
    "serious_illness": _l("Serious illness"),
    "disability": _l("Disability"),
    "trafficking_victim": _l("Victim of trafficking"),
    "vulnerability_notes": _l("Vulnerability notes"),
}


def field_label(name: str) -> str:
    return str(FIELD_LABELS.get(name, name))


def json_value(value: Any) -> Any:
    """A value as JSON keeps it: dates as ISO text, decimals as text, lists copied."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [json_value(item) for item in value]
    return value


# --- Rectification --------------------------------------------------------------------------


# What a correction of a sensitive field keeps instead of its old and new values.
TEXT_NOT_KEPT = None


def record_revision(person: Person, previous: dict[str, Any], *, by: Any) -> PersonRevision | None:
    """Keep the old and new values of the fields `previous` names (field -> value before the
    change; the person already holds the new ones). Called by `update_person`; flushes."""
    fields = {
        name: [json_value(old), json_value(getattr(person, name))]
        for name, old in sorted(previous.items())
    }
    fields = {name: pair for name, pair in fields.items() if pair[0] != pair[1]}
    if not fields:
        return None
    # Sensitive text (vulnerability notes) is only recorded as changed: a copy here would
    # escape the field's access rule and its encryption at rest (casework.field_encryption).
    for name in fields.keys() & set(sensitive_fields("person")):
        fields[name] = TEXT_NOT_KEPT
    revision = PersonRevision(
        person_id=person.id,
        changed_at=utcnow(),
        changed_by_id=getattr(by, "id", None),
        fields=fields,
    )
    db.session.add(revision)
    db.session.flush()
    return revision


def revisions_of(person_ids: int | list[int]) -> list[PersonRevision]:
    """The corrections of one record (or of a person and the records merged into it), newest
    first."""
    ids = [person_ids] if isinstance(person_ids, int) else list(person_ids)
    query = (
        select(PersonRevision)
        .where(PersonRevision.person_id.in_(ids))
        .order_by(PersonRevision.changed_at.desc(), PersonRevision.id.desc())
    )
    return list(db.session.scalars(query))


# --- Purposes ---------------------------------------------------------------------------------


@dataclass
class Purpose:
    """One processing of the person's data: what for, by whom, since when."""

    kind: str  # "registration" | "referral"
    purpose: str
    controller: str  # the organisation that processes the data for this purpose
    since: date | datetime | None
    detail: str = ""
    ended: bool = False  # a closed referral: the purpose is fulfilled


def registration_purpose(person: Person) -> Purpose:
    organisation = person.organisation
    key = organisation.kind if organisation.kind == OrganisationKind.NGO.value else "agency"
    return Purpose(
        kind="registration",
        purpose=str(REGISTRATION_PURPOSES[key]),
        controller=organisation.name,
        since=person.created_at,
    )


def referral_purposes(referrals: list[Any]) -> list[Purpose]:
    return [
        Purpose(
            kind="referral",
            purpose=referral.purpose,
            controller=referral.provider.name,
            since=referral.created_at,
            detail=f"{referral.service.name} · {referral.state_label}",
            ended=not referral.is_open,
        )
        for referral in referrals
    ]


@dataclass
class DataProtectionPanel:
    """The person page's "Personal data" section (`data_protection/_purposes.html`)."""

    purposes: list[Purpose] = field(default_factory=list)
    consents: list[Any] = field(default_factory=list)
    revisions: list[PersonRevision] = field(default_factory=list)
    show_revisions: bool = False
    # Sensitive fields whose old and new values the caller may not read (FIELD_RULES): their
    # corrections are listed without the values.
    hidden_fields: frozenset[str] = frozenset()
    anonymised_at: datetime | None = None
    may_export: bool = False


def data_protection_panel(user: Any, person: Person) -> DataProtectionPanel:
    """Purposes, consents and corrections of `person`, as far as `user` may see them."""
    from casework.services.panels import visible_consents
    from casework.services.queries import referrals_of_person

    referrals = referrals_of_person(user, person) if can(user, "referral.view") else []
    show_revisions = Role(user.role) in HISTORY_ROLES
    return DataProtectionPanel(
        purposes=[registration_purpose(person), *referral_purposes(referrals)],
        consents=visible_consents(user, person),
        revisions=revisions_of(person.id) if show_revisions else [],
        show_revisions=show_revisions,
        hidden_fields=hidden_fields(user, person),
        anonymised_at=person.anonymised_at,
        may_export=can(user, "person.subject_access", person),
    )
