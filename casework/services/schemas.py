"""API schemas for referrals, assistance and the catalogue: input and output apart, and the
presenters that add what depends on the caller (allowed actions, what consent it may read)."""

from __future__ import annotations

from datetime import date
from typing import Any

from marshmallow import Schema, fields, validate

from casework.auth.models import User
from casework.policy import Role
from casework.schemas import ListArgsSchema, RecordId, UtcDateTime
from casework.services.models import AssistanceRecord, Referral, ReferralState
from casework.services.operations import URGENCIES, referral_allowed_actions, side_of
from casework.services.referral_flow import SENDER

# A JSON boolean only: "yes", 1 or "true" is not a person's consent.
STRICT_BOOLEAN = {"truthy": {True}, "falsy": {False}}


# --- Input ----------------------------------------------------------------------------------


class ConsentInSchema(Schema):
    given = fields.Boolean(
        **STRICT_BOOLEAN, metadata={"description": "The person agreed; must be true."}
    )
    date = fields.Date(metadata={"description": "The day the person gave consent."})
    scope = fields.String(
        allow_none=True,
        validate=validate.Length(max=4000),
        metadata={"description": "What the person agreed to; defaults to the purpose."},
    )
    shared_vulnerabilities = fields.List(
        fields.String(),
        metadata={"description": "Vulnerability codes the person agreed to share with the NGO."},
    )


class ReferralInSchema(Schema):
    person_id = RecordId(required=True)
    service_code = fields.String(required=True, validate=validate.Length(min=1, max=40))
    provider_id = RecordId(
        required=True, metadata={"description": "An organisation offering the service."}
    )
    purpose = fields.String(required=True, validate=validate.Length(max=4000))
    urgency = fields.String(load_default="normal", validate=validate.OneOf(URGENCIES))
    due_date = fields.Date(load_default=None, allow_none=True)
    include_household = fields.Boolean(load_default=False, **STRICT_BOOLEAN)
    consent = fields.Nested(
        ConsentInSchema,
        allow_none=True,
        metadata={"description": "Required, with `given: true`: nothing is sent without it."},
    )


class ReferralsArgsSchema(ListArgsSchema):
    role = fields.String(
        validate=validate.OneOf(["inbox", "sent"]),
        metadata={
            "description": "inbox: referrals to your organisation; sent: from it. Default: "
            "an NGO's inbox, or every referral in an agency user's scope."
        },
    )
    state = fields.String(validate=validate.OneOf([s.value for s in ReferralState]))
    overdue = fields.Boolean(
        load_default=False, metadata={"description": "Open referrals past their due date."}
    )


class ReferralActionInSchema(Schema):
    version = fields.Integer(required=True, metadata={"description": "The version you read."})
    reason = fields.String(
        allow_none=True,
        validate=validate.Length(max=4000),
        metadata={"description": "Required to decline."},
    )
    outcome = fields.String(
        allow_none=True,
        validate=validate.Length(max=4000),
        metadata={"description": "Required to complete or close."},
    )


class AssistanceInSchema(Schema):
    date = fields.Date(required=True, metadata={"description": "When it was given; not later."})
    service_code = fields.String(required=True, validate=validate.Length(min=1, max=40))
    quantity = fields.Decimal(
        required=True,
        metadata={"description": "A positive number with at most two decimals."},
    )
    unit = fields.String(required=True, validate=validate.Length(min=1, max=40))
    place = fields.String(allow_none=True, validate=validate.Length(max=200))
    outcome = fields.String(allow_none=True, validate=validate.Length(max=200))
    notes = fields.String(allow_none=True, validate=validate.Length(max=4000))
    corrects_id = RecordId(
        allow_none=True,
        metadata={"description": "The record of this referral this one corrects (replaces)."},
    )


# --- Presenters -----------------------------------------------------------------------------


class ReferralForCaller:
    """Delegates to the referral; adds `allowed_actions`, `overdue`, and the consent as the
    caller may read it (the vulnerabilities agreed for sharing: agency staff and the sender
    only; the provider reads them on the person while the referral is open)."""

    def __init__(self, referral: Referral, user: User, today: date | None = None) -> None:
        self._referral = referral
        self.allowed_actions = referral_allowed_actions(referral, user)
        self.overdue = referral.is_overdue(today or date.today())
        consent = referral.consent
        reads_shared = Role(user.role) != Role.NGO or SENDER in side_of(user, referral)
        self.consent = {
            "date": consent.given_on,
            "scope": consent.purpose,
            "withdrawn_on": consent.withdrawn_on,
            **({"shared_vulnerabilities": consent.shared_vulnerabilities} if reads_shared else {}),
        }

    def __getattr__(self, name: str) -> Any:
        return getattr(self._referral, name)


class AssistanceForCaller:
    """Delegates to the record; adds `superseded` (a later record corrects it)."""

    def __init__(self, row: AssistanceRecord, superseded: bool) -> None:
        self._row = row
        self.superseded = superseded

    def __getattr__(self, name: str) -> Any:
        return getattr(self._row, name)


# --- Output ---------------------------------------------------------------------------------


class TrilingualSchema(Schema):
    name_fr = fields.String()
    name_en = fields.String()
    name_ar = fields.String()


class OrganisationNameSchema(Schema):
    id = fields.Integer()
    name = fields.String()


class ServiceRefSchema(TrilingualSchema):
    code = fields.String()


class PersonCardSchema(Schema):
    """Who the referral is for: enough to recognise the person, nothing more."""

    id = fields.Integer()
    family_name = fields.String()
    given_names = fields.String()
    family_name_ar = fields.String(allow_none=True)
    given_names_ar = fields.String(allow_none=True)
    sex = fields.String()
    age = fields.Function(
        lambda p: p.age_on(date.today()), allow_none=True, metadata={"type": "integer"}
    )


class ConsentOutSchema(Schema):
    date = fields.Date()
    scope = fields.String()
    withdrawn_on = fields.Date(allow_none=True)
    shared_vulnerabilities = fields.List(
        fields.String(), metadata={"description": "For agency staff and the sender only."}
    )


class ReferralSchema(Schema):
    id = fields.Integer()
    person_id = fields.Integer()
    person = fields.Nested(PersonCardSchema)
    include_household = fields.Boolean()
    service_code = fields.String()
    service = fields.Nested(ServiceRefSchema)
    provider = fields.Nested(OrganisationNameSchema)
    sender_organisation = fields.Nested(OrganisationNameSchema)
    purpose = fields.String()
    urgency = fields.String()
    due_date = fields.Date(allow_none=True)
    state = fields.String()
    overdue = fields.Boolean()
    decline_reason = fields.String(allow_none=True)
    outcome = fields.String(allow_none=True)
    consent = fields.Nested(ConsentOutSchema)
    allowed_actions = fields.List(
        fields.String(), metadata={"description": "What you may do with it now."}
    )
    responded_at = UtcDateTime(allow_none=True)
    closed_at = UtcDateTime(allow_none=True)
    created_at = UtcDateTime()
    updated_at = UtcDateTime()
    version = fields.Integer()


class AssistanceSchema(Schema):
    id = fields.Integer()
    referral_id = fields.Integer(allow_none=True)
    person_id = fields.Integer()
    provider = fields.Nested(OrganisationNameSchema)
    service_code = fields.String()
    date = fields.Date(attribute="given_on")
    quantity = fields.Decimal(as_string=True)
    unit = fields.String()
    place = fields.String(allow_none=True)
    outcome = fields.String(allow_none=True)
    notes = fields.String(allow_none=True)
    corrects_id = fields.Integer(allow_none=True)
    superseded = fields.Boolean(metadata={"description": "A later record corrects this one."})
    batch = fields.String(allow_none=True)
    recorded_at = UtcDateTime()


class SdgTargetSchema(TrilingualSchema):
    code = fields.String()


class ProviderOfferSchema(Schema):
    id = fields.Integer(metadata={"description": "The provider organisation (`provider_id`)."})
    name = fields.String()
    regions = fields.List(fields.String())
    capacity = fields.Integer(allow_none=True, metadata={"description": "Open places, if known."})


class CatalogueServiceSchema(ServiceRefSchema):
    providers = fields.List(fields.Nested(ProviderOfferSchema))


class ProgrammeSchema(TrilingualSchema):
    code = fields.String()
    number = fields.Integer()
    kind = fields.String()
    sdg_targets = fields.List(fields.Nested(SdgTargetSchema))
    services = fields.List(fields.Nested(CatalogueServiceSchema))
