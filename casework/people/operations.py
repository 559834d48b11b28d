"""Registering and editing people and households. Operations flush; the caller commits."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l

from casework.audit.operations import record
from casework.auth.models import User
from casework.conflicts import EditConflict, check_version
from casework.extensions import db
from casework.people.data_protection import record_revision
from casework.people.duplicates import note_suspected_pairs
from casework.people.models import (
    Household,
    HouseholdMember,
    IdentityDocument,
    Person,
    Relationship,
)
from casework.policy import can_write_field, readable_fields, sensitive_fields

# Fields a caller may set on a person through forms and the API.
PERSON_FIELDS = (
    "family_name",
    "given_names",
    "family_name_ar",
    "given_names_ar",
    "sex",
    "date_of_birth",
    "date_of_birth_approximate",
    "nationality",
    "languages",
    "phone",
    "address",
    "prefecture_code",
    "unaccompanied_minor",
    "pregnant",
    "serious_illness",
    "disability",
    "trafficking_victim",
    "vulnerability_notes",
)


# Fields only some callers read and write (casework.policy.FIELD_RULES).
SENSITIVE_FIELDS = sensitive_fields("person")

# A change to one of these may make the person look like someone else (duplicate detection).
IDENTITY_FIELDS = frozenset(
    {"family_name", "given_names", "family_name_ar", "given_names_ar", "date_of_birth",
     "date_of_birth_approximate", "nationality", "sex"}
)  # fmt: skip


class PersonError(ValueError):
    """A change to a person that the rules refuse; `field` names the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _refuse_unwritable(person: Person, names: list[str], by: User) -> None:
    """The policy's field rules, checked by the operation itself: a page or an API endpoint
    that forgot them still cannot write notes its caller may not write."""
    for name in names:
        if name in SENSITIVE_FIELDS and not can_write_field(by, person, name):
            raise PersonError(name, str(_l("You may not change this field.")))


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    cleaned = {}
    for key, value in values.items():
        if key not in PERSON_FIELDS:
            raise PersonError(key, str(_l("Unknown field.")))
        if isinstance(value, str):
            value = value.strip() or None
        cleaned[key] = value
    for required in ("family_name", "given_names"):
        if required in cleaned and not cleaned[required]:
            raise PersonError(required, str(_l("This field is required.")))
    born = cleaned.get("date_of_birth")
    if isinstance(born, date) and born > date.today():
        raise PersonError("date_of_birth", str(_l("This date is in the future.")))
    if cleaned.get("nationality"):
        cleaned["nationality"] = cleaned["nationality"].upper()
    if "languages" in cleaned:
        cleaned["languages"] = list(dict.fromkeys(cleaned["languages"] or []))
    return cleaned


def register_person(
    values: dict[str, Any], *, by: User, documents: list[dict[str, Any]] | None = None
) -> Person:
    """Register a person held by the registering user's organisation."""
    cleaned = _clean(values)
    defaults = {"languages": [], "date_of_birth_approximate": False}
    values = {**defaults, **{k: v for k, v in cleaned.items() if v is not None}}
    person = Person(organisation_id=by.organisation_id, created_by_id=by.id, **values)
    _refuse_unwritable(person, [name for name in SENSITIVE_FIELDS if values.get(name)], by)
    for document in documents or []:
        person.documents.append(IdentityDocument(**document))
    db.session.add(person)
    db.session.flush()
    record("person.create", user=by, record=person)
    note_suspected_pairs(person)
    return person


def update_person(
    person: Person, values: dict[str, Any], *, by: User, expected_version: int | None
) -> list[str]:
    """Apply `values`; refuse if the person changed since the caller read it. Returns the names
    of the fields that changed (audited without their values)."""
    check_version(person, expected_version)
    cleaned = _clean(values)
    changed = [key for key, value in cleaned.items() if getattr(person, key) != value]
    _refuse_unwritable(person, changed, by)
    previous = {key: getattr(person, key) for key in changed}
    for key in changed:
        setattr(person, key, cleaned[key])
    if changed:
        db.session.flush()
        record("person.update", user=by, record=person, fields=sorted(changed))
        record_revision(person, previous, by=by)  # the values, for the right of rectification
        if IDENTITY_FIELDS.intersection(changed):
            note_suspected_pairs(person)
    return changed


def add_document(person: Person, document: dict[str, Any], *, by: User) -> IdentityDocument:
    row = IdentityDocument(person=person, **document)
    db.session.add(row)
    db.session.flush()
    record("person.document_add", user=by, record=person, kind=row.kind)
    return row


def record_view(person: Person, *, by: User, channel: str) -> None:
    """Every view of a person's record is audited (ASVS: log access to sensitive data), naming
    the sensitive fields the caller was shown (a referral card never shows them: the policy
    gives an NGO no notes of a person merely referred to it)."""
    readable = readable_fields(by, person)
    shown = [name for name in sorted(readable) if getattr(person, name)]
    extra = {"sensitive_fields": shown} if shown else {}
    record("person.view", user=by, record=person, channel=channel, **extra)


class HouseholdError(ValueError):
    pass


def create_household(head: Person, *, by: User) -> Household:
    if head.membership is not None:
        raise HouseholdError("already_member")
    household = Household(organisation_id=by.organisation_id, created_by_id=by.id)
    household.members.append(HouseholdMember(person=head, relationship_to_head=Relationship.HEAD))
    db.session.add(household)
    db.session.flush()
    record("household.create", user=by, record=household)
    return household


def add_member(
    household: Household,
    person: Person,
    relationship: str,
    *,
    by: User,
    expected_version: int | None = None,
) -> HouseholdMember:
    check_version(household, expected_version)
    if person.membership is not None:
        raise HouseholdError("already_member")
    if Relationship(relationship) == Relationship.HEAD and household.head is not None:
        raise HouseholdError("head_exists")
    # Loading `household.members` must not autoflush the half-built member (SAWarning).
    with db.session.no_autoflush:
        member = HouseholdMember(person=person, relationship_to_head=Relationship(relationship))
        household.members.append(member)
    db.session.flush()
    _touch(household)
    record("household.add_member", user=by, record=household, person_id=person.id)
    return member


def remove_member(
    household: Household, member: HouseholdMember, *, by: User, expected_version: int | None
) -> None:
    check_version(household, expected_version)
    if member.relationship_to_head == Relationship.HEAD and len(household.members) > 1:
        raise HouseholdError("head_last")
    person_id = member.person_id
    household.members.remove(member)
    db.session.flush()
    _touch(household)
    record("household.remove_member", user=by, record=household, person_id=person_id)


def _touch(household: Household) -> None:
    """Changing members does not change the household row; bump its version explicitly."""
    from casework.models_base import utcnow

    household.updated_at = utcnow()
    db.session.flush()


__all__ = ["EditConflict", "HouseholdError", "PersonError"]
