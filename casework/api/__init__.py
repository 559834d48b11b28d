"""The JSON API under /api/v1 (flask-smorest): bearer tokens, problem+json errors.

Each resource module defines a flask-smorest Blueprint whose thin handlers call the domains'
operations and schemas and ask `casework.policy`, exactly like the pages do.
"""

from __future__ import annotations

import http
from collections.abc import Iterator

from apispec import BasePlugin
from flask import Flask, request
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from marshmallow import INCLUDE
from werkzeug.routing import IntegerConverter

from casework import schemas
from casework.api.problems import abort_problem
from casework.auth.loading import load_api_user
from casework.extensions import csrf
from casework.policy import public

PROBLEM_JSON = "application/problem+json"
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


class ProblemSchema(schemas.ProblemSchema):
    """The documented problem: RFC 9457 lets a problem carry extension members (`candidates`,
    `current_version`, `allowed_actions`, `locked_until`...), so extra members are allowed."""

    class Meta:
        unknown = INCLUDE


class ProblemResponsesPlugin(BasePlugin):
    """Error answers documented without a body (`@blp.alt_response(409, description=...)`) are
    problem+json, as casework.errors answers them: say so in the document."""

    def operation_helper(self, path=None, operations=None, **kwargs) -> None:
        for operation in (operations or {}).values():
            if not isinstance(operation, dict):
                continue
            for status, response in (operation.get("responses") or {}).items():
                if (
                    isinstance(response, dict)
                    and str(status).isdigit()
                    and int(status) >= 400
                    and "content" not in response
                    and "$ref" not in response
                ):
                    response["content"] = {PROBLEM_JSON: {"schema": PROBLEM_REF}}


class RecordIdConverter(IntegerConverter):
    """`<int:...>` in the API's routes: a record id, a PostgreSQL `integer`. A larger number
    names no record (404), instead of failing in the database (a 500: out of range for
    PostgreSQL's `integer`, or for SQLite's driver past 64 bits)."""

    def __init__(self, map, *args, **kwargs) -> None:
        kwargs.setdefault("max", schemas.MAX_RECORD_ID)
        super().__init__(map, *args, **kwargs)


class CaseworkApi(Api):
    # Errors are documented, and answered, as problem+json (see casework.errors).
    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self) -> None:
        """casework.errors answers every HTTP error, for the API and the pages alike."""

    def _register_responses(self) -> None:
        """flask-smorest's shared error responses, with the media type that casework.errors
        answers (flask-smorest documents them as application/json)."""
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)


api = CaseworkApi(
    spec_kwargs={
        "info": {
            "description": "Casework's API. Sign in with POST /auth/token, then send "
            "`Authorization: Bearer <token>`."
        },
        "extra_plugins": [ProblemResponsesPlugin()],
    }
)


def _api_callers_use_tokens() -> None:
    if request.path.startswith("/api/v1/"):
        load_api_user()


NUL = "\x00"


def _has_nul(*texts) -> bool:
    return any(isinstance(text, str) and NUL in text for text in texts)


def _nul_fields(value, name: str) -> Iterator[str]:
    """The names of the JSON members whose text (or key) holds a NUL character."""
    if isinstance(value, str):
        if NUL in value:
            yield name
    elif isinstance(value, dict):
        for key, item in value.items():
            member = f"{name}.{key}" if name else str(key)
            if NUL in key:
                yield member
            yield from _nul_fields(item, member)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nul_fields(item, f"{name}.{index}" if name else str(index))


def _refuse_nul_characters() -> None:
    """PostgreSQL stores no NUL (U+0000) in text: refuse it, naming the fields, before a
    query or a write fails on it with a 500."""
    if not request.path.startswith("/api/v1/"):
        return
    fields = [key for key, value in request.args.items(multi=True) if _has_nul(key, value)]
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        fields += [key for key, value in request.form.items(multi=True) if _has_nul(key, value)]
    if request.is_json:
        fields += _nul_fields(request.get_json(silent=True), "")
    if fields:
        message = "Text may not contain the NUL character (U+0000)."
        abort_problem(
            422,
            "Unprocessable Content",
            message,
            errors={str(field or "body"): [message] for field in dict.fromkeys(fields)},
        )


def register_api(app: Flask) -> None:
    from casework.api import (
        audit,
        auth,
        case_files,
        cases,
        docs,
        exports,
        imports,
        people,
        referrals,
        services,
        stats,
        workflows,
    )

    api.init_app(app)
    app.before_request(_api_callers_use_tokens)
    app.before_request(_refuse_nul_characters)
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    # The API's `int` path parameters, and only theirs, are bounded record ids (a rule takes
    # its converters when it is added).
    converters = app.url_map.converters
    integer, converters["int"] = converters["int"], RecordIdConverter
    try:
        for module in (
            auth, audit, people, cases, case_files, workflows, referrals, services, stats,
            imports, exports,
        ):  # fmt: skip
            api.register_blueprint(module.blp, url_prefix=f"/api/v1{module.PREFIX}")
            csrf.exempt(module.blp)  # bearer tokens are not ambient credentials
    finally:
        converters["int"] = integer
    # The OpenAPI document is public: it describes the API, it holds no data.
    spec_view = app.view_functions["api-docs.openapi_json"]

    @public
    def openapi_json():
        return spec_view()

    app.view_functions["api-docs.openapi_json"] = openapi_json
    app.register_blueprint(docs.bp)
