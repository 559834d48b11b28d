"""Referrals to partner NGOs through the API: sending with consent, inboxes, the referral's
actions, and the assistance the provider records.

Answers: a referral outside the caller's scope is 404, exactly like a missing one; a person
the caller cannot see, or a record to correct that is not this referral's, is 422 naming the
field, exactly like an unknown id. Assistance on a referral that is not accepted or in
progress is 422 naming `referral` (the state is part of the input's validity, as for the web
form); an action the referral's state does not allow is 409 with `state` and
`allowed_actions`; an action of the other side of the referral is 403.
"""

from __future__ import annotations

from flask_login import current_user
from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from casework.admin.models import Organisation
from casework.api.answers import commit_and_answer
from casework.api.guard import writes_fields
from casework.api.problems import abort_problem
from casework.conflicts import EditConflict
from casework.extensions import db
from casework.pagination import BadCursor, page_by_id_desc
from casework.people.models import Person
from casework.policy import people_scope, referrals_scope, requires
from casework.schemas import page_schema
from casework.services import operations, queries
from casework.services.models import AssistanceRecord, Referral
from casework.services.referral_flow import REFERRAL_ACTIONS
from casework.services.schemas import (
    AssistanceForCaller,
    AssistanceInSchema,
    AssistanceSchema,
    ReferralActionInSchema,
    ReferralForCaller,
    ReferralInSchema,
    ReferralsArgsSchema,
    ReferralSchema,
)

PREFIX = "/referrals"
blp = Blueprint(
    "api_referrals", __name__, description="Referrals to partner NGOs and the assistance given"
)
SECURITY = [{"bearerAuth": []}]
UNPROCESSABLE = "Unprocessable Content"


def get_referral_or_404(referral_id: int) -> Referral:
    referral = db.session.scalar(
        select(Referral).where(Referral.id == referral_id, referrals_scope(current_user))
    )
    if referral is None:
        abort_problem(404, "Not Found", "No referral with this id in your scope.")
    return referral


def present(referral: Referral) -> ReferralForCaller:
    return ReferralForCaller(referral, current_user)


def refuse(error: Exception, referral: Referral | None = None):
    """Turn an operation's refusal into its problem+json answer; nothing was changed."""
    db.session.rollback()
    if isinstance(error, operations.ServiceError):
        abort_problem(422, UNPROCESSABLE, "Some fields are invalid.", errors=error.errors)
    if isinstance(error, operations.ReferralActionNotAvailable):
        abort_problem(
            409,
            "Action not available",
            f"'{error.action}' is not possible in state '{error.state}'.",
            state=error.state,
            allowed_actions=operations.referral_allowed_actions(referral, current_user)
            if referral is not None
            else [],
        )
    if isinstance(error, operations.ReferralActionForbidden):
        side = "receiving organisation" if str(error) == "provider" else "sending organisation"
        abort_problem(403, "Forbidden", f"Only the {side} of the referral may do this.")
    if isinstance(error, EditConflict | StaleDataError):
        current = db.session.get(Referral, referral.id) if referral is not None else None
        abort_problem(
            409,
            "Conflict",
            "The referral changed since you read it; fetch it again and retry.",
            current_version=current.version if current else None,
        )
    raise error


@blp.route("", methods=["POST"])
@requires("referral.send")
@writes_fields(
    blp, ReferralInSchema, model=Referral, output=ReferralSchema, new=lambda _: Referral()
)
@blp.arguments(ReferralInSchema)
@blp.response(201, ReferralSchema)
@blp.alt_response(422, description="Invalid input, no consent, or an unknown person")
@blp.doc(security=SECURITY)
def send_referral(values: dict):
    """Refer a person in your scope to a provider offering the service, with their consent
    (`consent.given: true`); the consent is recorded with the referral."""
    person = db.session.scalar(
        select(Person).where(Person.id == values["person_id"], people_scope(current_user))
    )
    if person is None:
        abort_problem(422, UNPROCESSABLE, errors={"person_id": ["Unknown person."]})
    provider = db.session.scalar(
        select(Organisation).where(
            Organisation.id == values["provider_id"], Organisation.active.is_(True)
        )
    )
    try:
        referral = operations.send_referral(
            person, service_code=values["service_code"], provider=provider,
            purpose=values["purpose"], urgency=values["urgency"], due_date=values["due_date"],
            consent=values.get("consent"), by=current_user,
            include_household=values["include_household"],
        )  # fmt: skip
    except operations.ServiceError as error:
        refuse(error)
    return commit_and_answer(ReferralSchema, present(referral), 201)


@blp.route("")
@requires("referral.view")
@blp.arguments(ReferralsArgsSchema, location="query")
@blp.response(200, page_schema(ReferralSchema, "ReferralsPage"))
@blp.doc(security=SECURITY)
def list_referrals(args: dict):
    """An NGO's inbox, or the referrals in an agency user's scope; `role`, `state` and
    `overdue` filter; newest first, by cursor."""
    query = queries.referral_list(
        current_user, box=args.get("role"), state=args.get("state"), overdue_only=args["overdue"]
    )
    try:
        page = page_by_id_desc(query, Referral.id, args["cursor"], args["limit"])
    except BadCursor:
        abort_problem(400, "Bad Request", "Unknown cursor.", errors={"cursor": ["Unknown cursor."]})
    return {"items": [present(referral) for referral in page.items], "next": page.next_cursor}


@blp.route("/<int:referral_id>")
@requires("referral.view")
@blp.response(200, ReferralSchema)
@blp.doc(security=SECURITY)
def get_referral(referral_id: int):
    """One referral, with what you may do with it now (`allowed_actions`)."""
    return present(get_referral_or_404(referral_id))


ACTION_PARAMETER = {
    "in": "path",
    "name": "action",
    "required": True,
    "schema": {"type": "string", "enum": REFERRAL_ACTIONS},
    "description": "accept, decline (needs `reason`), start, complete and close (need "
    "`outcome`) are the receiving organisation's; cancel is the sender's.",
}


@blp.route(
    "/<int:referral_id>/actions/<string:action>",
    methods=["POST"],
    parameters=[ACTION_PARAMETER],
)
@requires("referral.act")
@writes_fields(
    blp, ReferralActionInSchema, model=Referral, output=ReferralSchema,
    load=lambda referral_id, action: get_referral_or_404(referral_id),
)  # fmt: skip
@blp.arguments(ReferralActionInSchema)
@blp.response(200, ReferralSchema)
@blp.alt_response(403, description="An action of the other side of the referral")
@blp.alt_response(409, description="Not possible in this state, or a stale version")
@blp.alt_response(422, description="A required reason or outcome is missing")
@blp.doc(security=SECURITY)
def take_action(values: dict, referral_id: int, action: str):
    """Move the referral on; send the `version` you read."""
    referral = get_referral_or_404(referral_id)
    try:
        operations.act_on_referral(
            referral, action, by=current_user, expected_version=values["version"],
            reason=values.get("reason"), outcome=values.get("outcome"),
        )  # fmt: skip
        return commit_and_answer(ReferralSchema, present(referral))
    except (
        operations.ReferralActionNotAvailable,
        operations.ReferralActionForbidden,
        operations.ServiceError,
        EditConflict,
        StaleDataError,
    ) as error:
        refuse(error, referral)


@blp.route("/<int:referral_id>/assistance")
@requires("assistance.view")
@blp.response(200, AssistanceSchema(many=True))
@blp.doc(security=SECURITY)
def list_assistance(referral_id: int):
    """The assistance recorded on the referral that you may see, corrections included."""
    referral = get_referral_or_404(referral_id)
    rows = queries.assistance_of_referral(current_user, referral)
    superseded = operations.superseded_ids(rows)
    return [AssistanceForCaller(row, row.id in superseded) for row in rows]


@blp.route("/<int:referral_id>/assistance", methods=["POST"])
@requires("assistance.record")
@writes_fields(
    blp, AssistanceInSchema, model=AssistanceRecord, output=AssistanceSchema,
    new=lambda _: AssistanceRecord(),
)  # fmt: skip
@blp.arguments(AssistanceInSchema)
@blp.response(201, AssistanceSchema)
@blp.alt_response(403, description="You are not the organisation the person was referred to")
@blp.alt_response(
    422,
    description="Invalid input (quantity, a date in the future...), or the referral is not "
    "accepted or in progress (`errors.referral`)",
)
@blp.doc(security=SECURITY)
def record_assistance(values: dict, referral_id: int):
    """Record what you gave on an accepted or ongoing referral; with `corrects_id`, a new
    record that replaces an earlier one of this referral (nothing is deleted)."""
    referral = get_referral_or_404(referral_id)
    corrects_id = values.pop("corrects_id", None)
    try:
        if corrects_id is None:
            row = operations.record_assistance(referral, values, by=current_user)
        else:
            original = queries.assistance_in_referral(current_user, referral, corrects_id)
            if original is None:
                abort_problem(422, UNPROCESSABLE, errors={"corrects_id": ["Unknown record."]})
            row = operations.correct_assistance(original, values, by=current_user)
    except (operations.ServiceError, operations.ReferralActionForbidden) as error:
        refuse(error, referral)
    return commit_and_answer(AssistanceSchema, AssistanceForCaller(row, superseded=False), 201)
