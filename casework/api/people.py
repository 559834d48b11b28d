"""People through the API: the same operations, scope and audit as the pages."""

from __future__ import annotations

from flask import jsonify
from flask_login import current_user
from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from casework.api.answers import commit_and_answer, committed
from casework.api.guard import writes_fields
from casework.api.problems import abort_problem
from casework.conflicts import EditConflict
from casework.extensions import db
from casework.pagination import BadCursor, page_by_id_desc
from casework.people import operations
from casework.people.duplicates import PROBABLE, find_candidates, probable
from casework.people.models import Person
from casework.people.queries import PeopleFilter, search_people
from casework.people.schemas import (
    CandidatesSchema,
    PeopleArgsSchema,
    PersonForNGO,
    PersonForNGOSchema,
    PersonInSchema,
    PersonOutSchema,
    PersonPatchSchema,
    RegisterArgsSchema,
    person_for_caller,
    person_out_schema,
)
from casework.policy import Role, people_scope, requires
from casework.services import queries as services_queries

PREFIX = "/people"
blp = Blueprint("api_people", __name__, description="Applicants and other people in the files")
SECURITY = [{"bearerAuth": []}]


def reach_person_or_404(person_id: int) -> Person | PersonForNGO:
    """A person in the caller's scope, or, for an NGO, a person referred to it (NGO view)."""
    person = db.session.scalar(
        select(Person).where(Person.id == person_id, people_scope(current_user))
    )
    if person is None:
        abort_problem(404, "Not Found", "No person with this id in your scope.")
    return views_for_caller([person])[0]


def person_written(person_id: int) -> Person:
    """The record a write to `person_id` would change (the person behind an NGO's view)."""
    view = reach_person_or_404(person_id)
    return view.person if isinstance(view, PersonForNGO) else view


def views_for_caller(people: list[Person]) -> list[Person | PersonForNGO]:
    """An NGO sees its walk-ins in full and the people referred to it in the NGO view."""
    if Role(current_user.role) != Role.NGO:
        return list(people)
    referred = [p for p in people if p.organisation_id != current_user.organisation_id]
    shared = services_queries.shared_vulnerabilities(current_user, referred)
    return [PersonForNGO(p, shared[p.id]) if p.id in shared else p for p in people]


@blp.route("")
@requires("person.search")
@blp.arguments(PeopleArgsSchema, location="query")
@blp.response(
    200,
    {
        "type": "object",
        "required": ["items", "next"],
        "properties": {
            "items": {"type": "array", "items": {"oneOf": [PersonOutSchema, PersonForNGOSchema]}},
            "next": {"type": "string", "nullable": True},
        },
    },
    description="An NGO's page also holds the people referred to it, in the PersonForNGO view.",
)
@blp.doc(security=SECURITY)
def list_people(args: dict):
    """Search the people in your scope; newest first, by pages. NGOs also find the people
    referred to them, by name, nationality and sex only."""
    criteria = PeopleFilter(
        q=args.get("q"),
        nationality=args.get("nationality"),
        sex=args.get("sex"),
        date_of_birth=args.get("date_of_birth"),
        document_number=args.get("document_number"),
    )
    if Role(current_user.role) == Role.NGO:
        query = services_queries.ngo_people_search(current_user, criteria)
    else:
        query = search_people(current_user, criteria)
    try:
        page = page_by_id_desc(query, Person.id, args["cursor"], args["limit"])
    except BadCursor:
        abort_problem(400, "Bad Request", "Unknown cursor.", errors={"cursor": ["Unknown cursor."]})
    items = [person_for_caller(view, current_user) for view in views_for_caller(page.items)]
    return jsonify({"items": items, "next": page.next_cursor})


@blp.route("", methods=["POST"])
@requires("person.register")
@writes_fields(
    blp, PersonInSchema, model=Person, output=PersonOutSchema,
    new=lambda _body: Person(organisation_id=current_user.organisation_id),
)  # fmt: skip
@blp.arguments(PersonInSchema)
@blp.arguments(RegisterArgsSchema, location="query")
@blp.response(201, PersonOutSchema)
@blp.alt_response(
    409,
    description="With `check_duplicates=true`: the person is probably already registered; "
    "`candidates` lists them (id, score, reasons). Nothing was saved.",
)
@blp.doc(security=SECURITY)
def create_person(values: dict, args: dict):
    """Register a person, held by your organisation; `check_duplicates=true` first looks for
    the same person among those in your scope."""
    documents = values.pop("documents", [])
    if args.get("check_duplicates"):
        found = probable(find_candidates({**values, "documents": documents}, current_user))
        if found:
            abort_problem(
                409,
                "Conflict",
                "This person is probably already registered: see `candidates`. Send the "
                "request again without check_duplicates to register anyway.",
                candidates=[candidate.as_json() for candidate in found],
            )
    try:
        person = operations.register_person(values, by=current_user, documents=documents)
    except operations.PersonError as error:
        abort_problem(422, "Unprocessable Content", errors={error.field: [error.message]})
    return commit_and_answer(person_out_schema(current_user, person), person, 201)


@blp.route("/<int:person_id>")
@requires("person.view")
@blp.response(
    200,
    {"oneOf": [PersonOutSchema, PersonForNGOSchema]},
    description="The person; for an NGO reading a person referred to it (not its own "
    "walk-in), the PersonForNGO view.",
)
@blp.doc(security=SECURITY)
def get_person(person_id: int):
    """One person; the view is audited."""
    view = reach_person_or_404(person_id)
    person = view.person if isinstance(view, PersonForNGO) else view
    operations.record_view(person, by=current_user, channel="api")
    return committed(jsonify(person_for_caller(view, current_user)))


@blp.route("/<int:person_id>", methods=["PATCH"])
@requires("person.edit")
@writes_fields(blp, PersonPatchSchema, model=Person, output=PersonOutSchema,
               load=lambda person_id: person_written(person_id))  # fmt: skip
@blp.arguments(PersonPatchSchema(partial=True))
@blp.response(200, PersonOutSchema)
@blp.alt_response(409, description="The person changed since you read it")
@blp.doc(security=SECURITY)
def patch_person(values: dict, person_id: int):
    """Change some fields; send the `version` you read."""
    person = reach_person_or_404(person_id)
    if isinstance(person, PersonForNGO):
        abort_problem(403, "Forbidden", "The organisation that holds this record edits it.")
    if "version" not in values:
        abort_problem(
            422,
            "Unprocessable Content",
            "Send the version you read.",
            errors={"version": ["Missing data for required field."]},
        )
    expected = values.pop("version")
    documents = values.pop("documents", None)
    try:
        operations.update_person(person, values, by=current_user, expected_version=expected)
        for document in documents or []:
            operations.add_document(person, document, by=current_user)
        return commit_and_answer(person_out_schema(current_user, person), person)
    except (EditConflict, StaleDataError):
        db.session.rollback()
        current = db.session.get(Person, person_id)
        abort_problem(
            409,
            "Conflict",
            "The person changed since you read it; fetch it again and re-apply your change.",
            current_version=current.version if current else None,
        )
    except operations.PersonError as error:
        db.session.rollback()
        abort_problem(422, "Unprocessable Content", errors={error.field: [error.message]})


@blp.route("/<int:person_id>/duplicates")
@requires("person.duplicates")
@blp.response(200, CandidatesSchema)
@blp.doc(security=SECURITY)
def person_duplicates(person_id: int):
    """The people in your scope who may be this person, best first (merged people and pairs
    dismissed as different people left out)."""
    person = db.session.scalar(
        select(Person).where(Person.id == person_id, people_scope(current_user))
    )
    if person is None:
        abort_problem(404, "Not Found", "No person with this id in your scope.")
    candidates = find_candidates(person, current_user, limit=20)
    return {"items": [c.as_json() for c in candidates], "probable": PROBABLE}
