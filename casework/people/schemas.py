"""API schemas for people: separate input and output, fields per audience."""

from __future__ import annotations

from datetime import date
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates
from sqlalchemy import select

from casework.extensions import db
from casework.people.models import DocumentKind, Person, Sex
from casework.policy import hidden_fields
from casework.reference.models import Country, Prefecture
from casework.schemas import ListArgsSchema, UtcDateTime


def _country_exists(code: str) -> None:
    if code and db.session.get(Country, code.upper()) is None:
        raise ValidationError("Unknown country: use an ISO 3166 alpha-2 code such as SN.")


def _prefecture_exists(code: str) -> None:
    if code and db.session.scalar(select(Prefecture.code).where(Prefecture.code == code)) is None:
        raise ValidationError("Unknown prefecture or province code.")


class DocumentSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in DocumentKind]))
    number = fields.String(required=True, validate=validate.Length(min=1, max=60))
    issuing_country = fields.String(allow_none=True, validate=_country_exists)
    expires_on = fields.Date(allow_none=True)


class PersonInSchema(Schema):
    """What a caller may write on a person. Unknown fields are refused (mass assignment)."""

    family_name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    given_names = fields.String(required=True, validate=validate.Length(min=1, max=120))
    family_name_ar = fields.String(allow_none=True, validate=validate.Length(max=120))
    given_names_ar = fields.String(allow_none=True, validate=validate.Length(max=120))
    sex = fields.String(required=True, validate=validate.OneOf([s.value for s in Sex]))
    date_of_birth = fields.Date(allow_none=True)
    date_of_birth_approximate = fields.Boolean()
    nationality = fields.String(
        allow_none=True, validate=[validate.Length(equal=2), _country_exists]
    )
    languages = fields.List(fields.String(validate=validate.Length(min=2, max=3)))
    phone = fields.String(allow_none=True, validate=validate.Length(max=40))
    address = fields.String(allow_none=True, validate=validate.Length(max=300))
    prefecture_code = fields.String(allow_none=True, validate=_prefecture_exists)
    unaccompanied_minor = fields.Boolean()
    pregnant = fields.Boolean()
    serious_illness = fields.Boolean()
    disability = fields.Boolean()
    trafficking_victim = fields.Boolean()
    vulnerability_notes = fields.String(allow_none=True, validate=validate.Length(max=4000))
    documents = fields.List(fields.Nested(DocumentSchema), load_only=True)

    @validates("date_of_birth")
    def _not_in_future(self, value: date | None, **_kwargs) -> None:
        if value and value > date.today():
            raise ValidationError("The date of birth is in the future.")


class PersonPatchSchema(PersonInSchema):
    """A partial update; `version` is the one the caller read, so edits never cross."""

    version = fields.Integer(required=True, metadata={"description": "The version you read."})


class OrganisationRefSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.String()


class PersonOutSchema(Schema):
    """A person as agency staff see it."""

    id = fields.Integer()
    family_name = fields.String()
    given_names = fields.String()
    family_name_ar = fields.String(allow_none=True)
    given_names_ar = fields.String(allow_none=True)
    sex = fields.String()
    date_of_birth = fields.Date(allow_none=True)
    date_of_birth_approximate = fields.Boolean()
    nationality = fields.String(allow_none=True)
    languages = fields.List(fields.String())
    phone = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    prefecture_code = fields.String(allow_none=True)
    unaccompanied_minor = fields.Boolean()
    pregnant = fields.Boolean()
    serious_illness = fields.Boolean()
    disability = fields.Boolean()
    trafficking_victim = fields.Boolean()
    vulnerability_notes = fields.String(
        allow_none=True,
        metadata={
            "description": "Only for callers who may read the notes (casework.policy."
            "FIELD_RULES): the offices holding the person or a file on them, their "
            "supervisors, the NGO of a walk-in. Left out otherwise."
        },
    )
    documents = fields.List(fields.Nested(DocumentSchema))
    household_id = fields.Function(
        lambda p: p.membership.household_id if p.membership else None, allow_none=True
    )
    organisation = fields.Nested(OrganisationRefSchema)
    version = fields.Integer()
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


class PersonForNGO:
    """A person referred to an NGO (not its own walk-in), with the vulnerabilities the person
    agreed to share with it. Only `PersonForNGOSchema`'s fields ever leave the server."""

    def __init__(self, person: Person, shared_vulnerabilities: list[str]) -> None:
        self.person = person
        self.shared_vulnerabilities = shared_vulnerabilities

    def __getattr__(self, name: str) -> Any:
        return getattr(self.person, name)


def _household_size(person: Person) -> int:
    return len(person.membership.household.members) if person.membership else 1


class PersonForNGOSchema(Schema):
    """A person as a partner NGO sees someone referred to it: who to call and help, nothing
    about files, documents, notes, address or exact date of birth."""

    id = fields.Integer()
    family_name = fields.String()
    given_names = fields.String()
    family_name_ar = fields.String(allow_none=True)
    given_names_ar = fields.String(allow_none=True)
    sex = fields.String()
    age = fields.Function(
        lambda p: p.age_on(date.today()),
        allow_none=True,
        metadata={"type": "integer", "description": "In years."},
    )
    nationality = fields.String(allow_none=True)
    languages = fields.List(fields.String())
    phone = fields.String(allow_none=True)
    household_size = fields.Function(_household_size, metadata={"type": "integer"})
    shared_vulnerabilities = fields.List(
        fields.String(),
        metadata={"description": "What the person agreed to share in an open referral to you."},
    )


def person_out_schema(user: Any, person: Person) -> PersonOutSchema:
    """The full record's schema for `user`: without the sensitive fields they may not read."""
    return PersonOutSchema(exclude=sorted(hidden_fields(user, person)))


def person_for_caller(view: Person | PersonForNGO, user: Any) -> dict:
    """The full record (less what `user` may not read), or the NGO view, as JSON-ready data."""
    if isinstance(view, PersonForNGO):
        return PersonForNGOSchema().dump(view)
    return person_out_schema(user, view).dump(view)


class PeopleArgsSchema(ListArgsSchema):
    q = fields.String(metadata={"description": "Name in either script, or a document number."})
    nationality = fields.String(validate=validate.Length(equal=2))
    sex = fields.String(validate=validate.OneOf([s.value for s in Sex]))
    date_of_birth = fields.Date()
    document_number = fields.String()


class RegisterArgsSchema(Schema):
    check_duplicates = fields.Boolean(
        load_default=False,
        metadata={
            "description": "Refuse (409, with the candidates) a person who is probably already "
            "registered in your scope. Send again without it to register anyway."
        },
    )


class CandidateSchema(Schema):
    """A person who may be the same as another, with the likeness and why."""

    id = fields.Integer(metadata={"description": "The candidate person's id."})
    score = fields.Float(metadata={"description": "Likeness from 0 to 1."})
    reasons = fields.List(
        fields.String(),
        metadata={
            "description": "What agrees: name, name swapped, Arabic name, date of birth exact, "
            "date of birth within 1 year (approximate), date of birth close, same nationality, "
            "same document number."
        },
    )


class CandidatesSchema(Schema):
    items = fields.List(fields.Nested(CandidateSchema))
    probable = fields.Float(
        metadata={"description": "The score from which it is probably one person."}
    )
