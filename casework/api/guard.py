"""The mass-assignment guard: an API caller never sets a field it may not write (400).

Every write endpoint declares, once, what its body may set and on which record:

    @blp.route("/<int:person_id>", methods=["PATCH"])
    @requires("person.edit")
    @writes_fields(blp, PersonPatchSchema, model=Person, output=PersonOutSchema,
                   load=lambda person_id: reach_person_or_404(person_id))
    @blp.arguments(PersonPatchSchema(partial=True))

Before the body is parsed, and so before anything is written, each of its members is sorted:

* a field of the input schema: allowed, unless it is a sensitive field that the policy
  (`casework.policy.field_refusal`) refuses this caller on this record;
* a field of the resource that the input schema does not take (a column of the model or a
  member of its output: `id`, `reference`, `state`, `office_id`, `created_at`, the decision
  fields that only workflow actions set...): read-only;
* anything else is unknown to the resource: left to the schema, which answers 422 as before.

The refused fields are answered together: 400 problem+json, `errors` naming each field and why.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import request
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema
from sqlalchemy import inspect

from casework.api.problems import abort_problem
from casework.policy import FieldRefusal, field_refusal

# Why a field was refused, as the problem's `errors` say it (API texts are English).
REFUSAL_MESSAGES = {
    FieldRefusal.ROLE: "Your role may not write this field.",
    FieldRefusal.SCOPE: "You may not write this field on this record.",
    FieldRefusal.NOT_APPLICABLE: "This record has no such field.",
    FieldRefusal.STATE: "This field may not be changed in the record's current state.",
    FieldRefusal.READ_ONLY: "This field is read-only: it is set by the application.",
}
DESCRIPTION = (
    "A field of the resource that you may not write: read-only (`id`, `state`...), or a "
    "sensitive field your role may not write on this record. `errors` names each one. "
    "Nothing was written."
)


def input_names(schema: type[Schema]) -> set[str]:
    """The members a body may carry for `schema` (as sent: data keys)."""
    return {
        field.data_key or name for name, field in schema().fields.items() if not field.dump_only
    }


def resource_names(model: type, output: type[Schema] | None) -> set[str]:
    """Every member a client can know the resource by: the model's columns and relationships,
    and the members its output schema answers with."""
    mapper = inspect(model)
    names = {column.key for column in mapper.column_attrs} | set(mapper.relationships.keys())
    if output is not None:
        names |= {field.data_key or name for name, field in output().fields.items()}
    return names


def refused_fields(
    body: dict[str, Any], user: Any, record: Any, writable: set[str], known: set[str]
) -> dict[str, str]:
    """field -> why it is refused, for the members of `body` the caller may not write."""
    refused: dict[str, str] = {}
    for name in body:
        if name in writable:
            reason = field_refusal(user, record, name, writing=True)
            if reason is not None:
                refused[name] = reason
        elif name in known:
            refused[name] = FieldRefusal.READ_ONLY
    return refused


def writes_fields(
    blp: Blueprint,
    schema: type[Schema],
    *,
    model: type,
    output: type[Schema] | None = None,
    load: Callable[..., Any] | None = None,
    new: Callable[[dict[str, Any]], Any] | None = None,
) -> Callable:
    """Guard a write endpoint (see the module's docstring) and document its 400 answer.

    `load(**view_kwargs)` returns the record written (answering 404 itself when the caller
    does not reach it); `new(body)` the unsaved record a creation would make, for the rules
    that depend on it (a narrative exists on asylum files only)."""
    writable = input_names(schema)
    known = resource_names(model, output)

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            body = request.get_json(silent=True) if request.is_json else None
            if isinstance(body, dict) and body:
                if load is not None:
                    record = load(**kwargs)
                else:
                    record = new(body) if new is not None else model()
                refused = refused_fields(body, current_user, record, writable, known)
                if refused:
                    abort_problem(
                        400,
                        "Bad Request",
                        "You may not set these fields: " + ", ".join(sorted(refused)) + ".",
                        errors={name: [REFUSAL_MESSAGES[why]] for name, why in refused.items()},
                    )
            return view(*args, **kwargs)

        return blp.alt_response(400, description=DESCRIPTION)(wrapper)

    return decorate
