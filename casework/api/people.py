"""People through the API: the same operations, scope and audit as the pages."""

from __future__ import annotations

from flask_login import current_user
from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from casework.api.problems import abort_problem
from casework.conflicts import EditConflict
from casework.extensions import db
from casework.pagination import BadCursor, page_by_id_desc
from casework.people import operations
from casework.people.models import Person
from casework.people.queries import PeopleFilter, search_people
from casework.people.schemas import (
    PeopleArgsSchema,
    PersonInSchema,
    PersonOutSchema,
    PersonPatchSchema,
)
from casework.policy import people_scope, requires
from casework.schemas import page_schema

PREFIX = "/people"
blp = Blueprint("api_people", __name__, description="Applicants and other people in the files")
SECURITY = [{"bearerAuth": []}]


def get_person_or_404(person_id: int) -> Person:
    person = db.session.scalar(
        select(Person).where(Person.id == person_id, people_scope(current_user))
    )
    if person is None:
        abort_problem(404, "Not Found", "No person with this id in your scope.")
    return person


@blp.route("")
@requires("person.search")
@blp.arguments(PeopleArgsSchema, location="query")
@blp.response(200, page_schema(PersonOutSchema, "PeoplePage"))
@blp.doc(security=SECURITY)
def list_people(args: dict):
    """Search the people in your scope; newest first, by pages."""
    criteria = PeopleFilter(
        q=args.get("q"),
        nationality=args.get("nationality"),
        sex=args.get("sex"),
        date_of_birth=args.get("date_of_birth"),
        document_number=args.get("document_number"),
    )
    try:
        page = page_by_id_desc(
            search_people(current_user, criteria), Person.id, args["cursor"], args["limit"]
        )
    except BadCursor:
        abort_problem(400, "Bad Request", "Unknown cursor.", errors={"cursor": ["Unknown cursor."]})
    return {"items": page.items, "next": page.next_cursor}


@blp.route("", methods=["POST"])
@requires("person.register")
@blp.arguments(PersonInSchema)
@blp.response(201, PersonOutSchema)
@blp.doc(security=SECURITY)
def create_person(values: dict):
    """Register a person, held by your organisation."""
    documents = values.pop("documents", [])
    try:
        person = operations.register_person(values, by=current_user, documents=documents)
    except operations.PersonError as error:
        abort_problem(422, "Unprocessable Content", errors={error.field: [error.message]})
    db.session.commit()
    return person


@blp.route("/<int:person_id>")
@requires("person.view")
@blp.response(200, PersonOutSchema)
@blp.doc(security=SECURITY)
def get_person(person_id: int):
    """One person; the view is audited."""
    person = get_person_or_404(person_id)
    operations.record_view(person, by=current_user, channel="api")
    db.session.commit()
    return person


@blp.route("/<int:person_id>", methods=["PATCH"])
@requires("person.edit")
@blp.arguments(PersonPatchSchema(partial=True))
@blp.response(200, PersonOutSchema)
@blp.alt_response(409, description="The person changed since you read it")
@blp.doc(security=SECURITY)
def patch_person(values: dict, person_id: int):
    """Change some fields; send the `version` you read."""
    person = get_person_or_404(person_id)
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
        db.session.commit()
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
    return person
