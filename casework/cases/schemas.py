"""API schemas for case files: input per operation, output per audience."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, post_dump, validate

from casework.cases.confidential import CONFIDENTIAL_FIELDS, MAX_LENGTH
from casework.cases.models import CaseKind
from casework.cases.workflows import APPEAL_OUTCOMES, DECISION_REASONS, OUTCOMES, state_label
from casework.schemas import ListArgsSchema, RecordId, UtcDateTime


def confidential_text(description: str) -> fields.String:
    """A confidential field of a case (casework.policy.FIELD_RULES decides who sets it)."""
    return fields.String(
        allow_none=True,
        validate=validate.Length(max=MAX_LENGTH),
        metadata={"description": f"{description} Confidential."},
    )


class CaseInSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in CaseKind]))
    applicant_id = RecordId(required=True)
    category = fields.String(allow_none=True, validate=validate.Length(max=40))
    member_ids = fields.List(RecordId(), load_default=list)
    office_code = fields.String(allow_none=True, validate=validate.Length(max=12))
    operation = fields.String(allow_none=True, validate=validate.Length(max=20))
    renewal_of = RecordId(allow_none=True, metadata={"description": "For kind=renewal."})
    claim_narrative = confidential_text("Asylum files only: the applicant's account.")
    medical_details = confidential_text("Serious-illness files only.")


class CaseUpdateInSchema(Schema):
    """What a caller may change on a case directly: its confidential fields. Everything else
    changes through the workflow's actions, the assignment and notes."""

    version = fields.Integer(required=True, metadata={"description": "The version you read."})
    claim_narrative = confidential_text(
        "Asylum files, while under examination; null or empty clears."
    )
    medical_details = confidential_text("Serious-illness files, while under examination.")


class ActionInSchema(Schema):
    """The fields an action may take; which ones it requires is in the workflow table."""

    version = fields.Integer(required=True, metadata={"description": "The version you read."})
    comment = fields.String(allow_none=True, validate=validate.Length(max=4000))
    due_date = fields.Date(allow_none=True)
    outcome = fields.String(allow_none=True, validate=validate.OneOf([*OUTCOMES, *APPEAL_OUTCOMES]))
    reasons = fields.List(fields.String(validate=validate.OneOf(list(DECISION_REASONS))))
    decision_text = fields.String(allow_none=True, validate=validate.Length(max=4000))
    notified_on = fields.Date(allow_none=True)
    card_number = fields.String(allow_none=True, validate=validate.Length(max=40))
    interview_on = fields.AwareDateTime(allow_none=True, default_timezone=None)
    interpreter_language = fields.String(allow_none=True, validate=validate.Length(max=8))


class AssignInSchema(Schema):
    version = fields.Integer(required=True)
    assignee_id = RecordId(allow_none=True, required=True)


class NoteInSchema(Schema):
    comment = fields.String(required=True, validate=validate.Length(min=1, max=4000))


class PersonRefSchema(Schema):
    id = fields.Integer()
    family_name = fields.String()
    given_names = fields.String()


class UserRefSchema(Schema):
    id = fields.Integer()
    name = fields.String()


class OfficeRefSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    name_ar = fields.String(
        allow_none=True, metadata={"description": "The name in Arabic script, when recorded."}
    )


class EventSchema(Schema):
    at = UtcDateTime()
    user = fields.Nested(UserRefSchema, allow_none=True)
    kind = fields.String()
    action = fields.String(allow_none=True)
    from_state = fields.String(allow_none=True)
    to_state = fields.String(allow_none=True)
    comment = fields.String(allow_none=True)
    data = fields.Dict()


class CaseSummarySchema(Schema):
    id = fields.Integer()
    reference = fields.String()
    kind = fields.String()
    operation = fields.String(attribute="operation_code")
    category = fields.String(attribute="category_code", allow_none=True)
    state = fields.String()
    state_label = fields.Function(lambda case: state_label(case.state))
    version = fields.Integer()
    applicant = fields.Nested(PersonRefSchema)
    office = fields.Nested(OfficeRefSchema)
    assigned_to = fields.Nested(UserRefSchema, allow_none=True)
    filed_on = fields.Date()
    deadline_on = fields.Date(allow_none=True)
    deadline_kind = fields.String(allow_none=True)


class CaseSchema(CaseSummarySchema):
    """One case as its office and supervisors see it, with what the caller may do now."""

    member_ids = fields.Function(lambda case: [m.person_id for m in case.members])
    information_due_on = fields.Date(allow_none=True)
    proposed_outcome = fields.String(allow_none=True)
    proposed_reasons = fields.List(fields.String())
    decision_text = fields.String(allow_none=True)
    first_instance_outcome = fields.String(allow_none=True)
    decided_on = fields.Date(allow_none=True)
    notified_on = fields.Date(allow_none=True)
    appeal_deadline = fields.Date(allow_none=True)
    appeal_lodged_on = fields.Date(allow_none=True)
    appeal_outcome = fields.String(allow_none=True)
    appeal_decided_on = fields.Date(allow_none=True)
    interview_on = UtcDateTime(allow_none=True)
    interpreter_language = fields.String(allow_none=True)
    referred_to_bra_on = fields.Date(allow_none=True)
    card_number = fields.String(allow_none=True)
    card_issued_on = fields.Date(allow_none=True)
    card_expires_on = fields.Date(allow_none=True)
    closed_on = fields.Date(allow_none=True)
    renewal_of_id = fields.Integer(allow_none=True)
    allowed_actions = fields.List(fields.String())
    warnings = fields.List(fields.String())
    timeline = fields.List(fields.Nested(EventSchema), attribute="events")
    claim_narrative = fields.String(
        allow_none=True,
        metadata={"description": "Asylum files, for callers who may read it. Left out otherwise."},
    )
    medical_details = fields.String(
        allow_none=True,
        metadata={"description": "Serious-illness files, for callers who may read them. "
                  "Left out otherwise."},
    )  # fmt: skip

    @post_dump(pass_original=True)
    def _leave_out_hidden_fields(self, data: dict, original: Any, **_kwargs) -> dict:
        """Schemas per audience: the sensitive fields the caller may not read, or that the file
        has not, are left out (`CaseForCaller.hidden_fields`; a bare case hides them all)."""
        hidden = getattr(original, "hidden_fields", CONFIDENTIAL_FIELDS)
        return {name: value for name, value in data.items() if name not in hidden}


class CasesArgsSchema(ListArgsSchema):
    queue = fields.String(
        load_default="all",
        validate=validate.OneOf(
            ["all", "mine", "unassigned", "waiting_information", "overdue",
             "awaiting_approval", "renewals_due"]
        ),
    )  # fmt: skip
    kind = fields.String(validate=validate.OneOf([k.value for k in CaseKind]))
    state = fields.String(validate=validate.Length(max=30))
    category = fields.String(validate=validate.Length(max=40))
    nationality = fields.String(validate=validate.Length(equal=2))
    filed_from = fields.Date()
    filed_to = fields.Date()
    sort = fields.String(
        load_default="newest", validate=validate.OneOf(["newest", "oldest", "deadline"])
    )
