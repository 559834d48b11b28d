"""Case files through the API: filing, queues, the workflow's actions, assignment, notes."""

from __future__ import annotations

from flask_login import current_user
from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from casework.admin.models import Organisation
from casework.api.answers import commit_and_answer
from casework.api.guard import writes_fields
from casework.api.problems import abort_problem
from casework.auth.models import User
from casework.cases import operations
from casework.cases.confidential import CONFIDENTIAL_FIELDS, update_confidential
from casework.cases.errors import ActionForbidden, ActionNotAvailable, ActionTooLate, InvalidInput
from casework.cases.models import Case, CaseKind
from casework.cases.presenters import CaseForCaller
from casework.cases.queries import CaseFilter, Queue, queue_page
from casework.cases.schemas import (
    ActionInSchema,
    AssignInSchema,
    CaseInSchema,
    CasesArgsSchema,
    CaseSchema,
    CaseSummarySchema,
    CaseUpdateInSchema,
    NoteInSchema,
)
from casework.cases.workflows import WORKFLOWS
from casework.conflicts import EditConflict
from casework.extensions import db
from casework.pagination import BadCursor
from casework.people.models import Person
from casework.policy import cases_scope, people_scope, requires
from casework.reference.models import Operation
from casework.schemas import page_schema

PREFIX = "/cases"
blp = Blueprint("api_cases", __name__, description="Case files and their workflows")
SECURITY = [{"bearerAuth": []}]
ALL_ACTIONS = sorted({a for w in WORKFLOWS.values() for a in w.actions})


def get_case_or_404(case_id: int) -> Case:
    case = db.session.scalar(select(Case).where(Case.id == case_id, cases_scope(current_user)))
    if case is None:
        abort_problem(404, "Not Found", "No case with this id in your scope.")
    return case


def case_to_file(body: dict) -> Case:
    """The unsaved file a filing would make, for the field rules that depend on it (a claim
    narrative on asylum files, medical details on serious-illness ones)."""
    return Case(kind=body.get("kind"), category_code=body.get("category"))


def case_for_action(case_id: int, action: str) -> Case:
    return get_case_or_404(case_id)


def present(case: Case) -> CaseForCaller:
    return CaseForCaller(case, current_user)


def refuse(error: Exception, case: Case | None = None):
    """Turn an operation's refusal into the problem+json answer it deserves."""
    db.session.rollback()
    if isinstance(error, ActionNotAvailable):
        abort_problem(
            409,
            "Action not available",
            f"'{error.action}' is not possible in state '{error.state}'.",
            state=error.state,
            allowed_actions=operations.allowed_actions(case, current_user) if case else [],
        )
    if isinstance(error, ActionForbidden):
        reasons = {
            "role": "Your role may not take this action.",
            "scope": "This file is outside your office or region.",
            "four_eyes": "A decision must be approved by someone other than who proposed it.",
        }
        abort_problem(403, "Forbidden", reasons.get(error.reason, error.reason))
    if isinstance(error, ActionTooLate):
        abort_problem(409, "Action not possible now", error.message)
    if isinstance(error, InvalidInput):
        abort_problem(422, "Unprocessable Content", "Some fields are invalid.", errors=error.errors)
    if isinstance(error, EditConflict | StaleDataError):
        current = db.session.get(Case, case.id) if case else None
        abort_problem(
            409,
            "Conflict",
            "The case changed since you read it; fetch it again and retry.",
            current_version=current.version if current else None,
        )
    raise error


@blp.route("")
@requires("case.view")
@blp.arguments(CasesArgsSchema, location="query")
@blp.response(200, page_schema(CaseSummarySchema, "CasesPage"))
@blp.doc(security=SECURITY)
def list_cases(args: dict):
    """The caller's queues: `queue` = mine, unassigned, waiting_information, overdue,
    awaiting_approval, renewals_due or all; filters; newest first; by cursor."""
    criteria = CaseFilter(
        kind=args.get("kind"),
        state=args.get("state"),
        category=args.get("category"),
        nationality=args.get("nationality"),
        filed_from=args.get("filed_from"),
        filed_to=args.get("filed_to"),
    )
    if criteria.filed_from and criteria.filed_to and criteria.filed_from > criteria.filed_to:
        abort_problem(400, "Bad Request", "filed_from is after filed_to.",
                      errors={"filed_from": ["After filed_to."]})  # fmt: skip
    try:
        page = queue_page(
            current_user, Queue(args["queue"]), criteria, sort=args["sort"],
            cursor=args["cursor"], limit=args["limit"],
        )  # fmt: skip
    except BadCursor:
        abort_problem(400, "Bad Request", "Unknown cursor.", errors={"cursor": ["Unknown cursor."]})
    return {"items": page.items, "next": page.next_cursor}


@blp.route("", methods=["POST"])
@requires("case.file")
@writes_fields(blp, CaseInSchema, model=Case, output=CaseSchema, new=case_to_file)
@blp.arguments(CaseInSchema)
@blp.response(201, CaseSchema)
@blp.doc(security=SECURITY)
def create_case(values: dict):
    """File a case; the office defaults to yours, the operation to the one open for the kind."""
    applicant = db.session.scalar(
        select(Person).where(Person.id == values["applicant_id"], people_scope(current_user))
    )
    if applicant is None:
        abort_problem(422, "Unprocessable Content", errors={"applicant_id": ["Unknown person."]})
    members = []
    for person_id in values.get("member_ids") or []:
        member = db.session.scalar(
            select(Person).where(Person.id == person_id, people_scope(current_user))
        )
        if member is None:
            abort_problem(422, "Unprocessable Content",
                          errors={"member_ids": [f"Unknown person {person_id}."]})  # fmt: skip
        members.append(member)
    office = None
    if values.get("office_code"):
        office = db.session.scalar(
            select(Organisation).where(Organisation.code == values["office_code"])
        )
        if office is None:
            abort_problem(422, "Unprocessable Content", errors={"office_code": ["Unknown office."]})
        if office.id != current_user.organisation_id:
            abort_problem(403, "Forbidden", "You may only file cases at your own office.")
    operation = None
    if values.get("operation"):
        operation = db.session.get(Operation, values["operation"])
        if operation is None:
            abort_problem(
                422, "Unprocessable Content", errors={"operation": ["Unknown operation."]}
            )
    renewal_of = None
    if values.get("renewal_of"):
        renewal_of = db.session.scalar(
            select(Case).where(Case.id == values["renewal_of"], cases_scope(current_user))
        )
        if renewal_of is None:
            abort_problem(422, "Unprocessable Content", errors={"renewal_of": ["Unknown case."]})
    confidential = {name: values[name] for name in CONFIDENTIAL_FIELDS if name in values}
    try:
        case = operations.file_case(
            kind=CaseKind(values["kind"]), applicant=applicant, by=current_user,
            category=values.get("category"), members=members, office=office,
            operation=operation, renewal_of=renewal_of,
        )  # fmt: skip
        if confidential:
            update_confidential(case, confidential, by=current_user, expected_version=None)
    except (InvalidInput, ActionForbidden) as error:
        refuse(error)
    return commit_and_answer(CaseSchema, present(case), 201)


@blp.route("/<int:case_id>")
@requires("case.view")
@blp.response(200, CaseSchema)
@blp.doc(security=SECURITY)
def get_case(case_id: int):
    """One case with `allowed_actions` for the caller and its `timeline`; the view is audited."""
    case = get_case_or_404(case_id)
    operations.record_case_view(case, by=current_user, channel="api")
    return commit_and_answer(CaseSchema, present(case))


# After `get_case`: werkzeug tries one path's rules in their order, and a PATCH rule met first
# would turn the GET of an id out of range (404) into a 405.
@blp.route("/<int:case_id>", methods=["PATCH"])
@requires("case.sensitive.edit")
@writes_fields(blp, CaseUpdateInSchema, model=Case, output=CaseSchema, load=get_case_or_404)
@blp.arguments(CaseUpdateInSchema)
@blp.response(200, CaseSchema)
@blp.alt_response(409, description="The case changed since you read it")
@blp.doc(security=SECURITY)
def update_case(values: dict, case_id: int):
    """Change the case's confidential fields (the claim narrative of an asylum file, the
    medical details of a serious-illness file) while it is under examination; send the
    `version` you read. Other fields change through actions, assignment and notes."""
    case = get_case_or_404(case_id)
    expected = values.pop("version")
    try:
        update_confidential(case, values, by=current_user, expected_version=expected)
        return commit_and_answer(CaseSchema, present(case))
    except (ActionForbidden, InvalidInput, EditConflict, StaleDataError) as error:
        refuse(error, case)


ACTION_PARAMETER = {
    "in": "path",
    "name": "action",
    "required": True,
    "schema": {"type": "string", "enum": ALL_ACTIONS},
    "description": "An action of the case's workflow table (see GET /workflows).",
}


@blp.route(
    "/<int:case_id>/actions/<string:action>", methods=["POST"], parameters=[ACTION_PARAMETER]
)
@requires("case.act")
@writes_fields(blp, ActionInSchema, model=Case, output=CaseSchema, load=case_for_action)
@blp.arguments(ActionInSchema)
@blp.response(200, CaseSchema)
@blp.alt_response(409, description="Not possible in this state, too late, or a stale version")
@blp.doc(security=SECURITY)
def take_action(values: dict, case_id: int, action: str):
    """Take a workflow action; send the `version` you read and the action's fields."""
    case = get_case_or_404(case_id)
    expected = values.pop("version")
    try:
        operations.perform(case, action, by=current_user, expected_version=expected, fields=values)
        return commit_and_answer(CaseSchema, present(case))
    except (ActionNotAvailable, ActionForbidden, ActionTooLate, InvalidInput) as error:
        refuse(error, case)
    except (EditConflict, StaleDataError) as error:
        refuse(error, case)


@blp.route("/<int:case_id>/assign", methods=["POST"])
@requires("case.assign")
@writes_fields(blp, AssignInSchema, model=Case, output=CaseSchema, load=get_case_or_404)
@blp.arguments(AssignInSchema)
@blp.response(200, CaseSchema)
@blp.doc(security=SECURITY)
def assign_case(values: dict, case_id: int):
    """Assign the case to a caseworker of its office, or unassign it (`assignee_id: null`)."""
    case = get_case_or_404(case_id)
    assignee = db.session.get(User, values["assignee_id"]) if values["assignee_id"] else None
    if values["assignee_id"] and assignee is None:
        abort_problem(422, "Unprocessable Content", errors={"assignee_id": ["Unknown user."]})
    try:
        operations.assign(case, assignee, by=current_user, expected_version=values["version"])
        return commit_and_answer(CaseSchema, present(case))
    except (InvalidInput, ActionForbidden, EditConflict, StaleDataError) as error:
        refuse(error, case)


@blp.route("/<int:case_id>/notes", methods=["POST"])
@requires("case.note")
@writes_fields(blp, NoteInSchema, model=Case, output=CaseSchema, load=get_case_or_404)
@blp.arguments(NoteInSchema)
@blp.response(201, CaseSchema)
@blp.doc(security=SECURITY)
def add_note(values: dict, case_id: int):
    """Add a note to the case's timeline."""
    case = get_case_or_404(case_id)
    operations.add_note(case, values["comment"], by=current_user)
    return commit_and_answer(CaseSchema, present(case), 201)
