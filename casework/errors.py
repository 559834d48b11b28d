"""Error answers: problem+json for the API, a translated page for browsers.

Neither ever shows a traceback, SQL or the request's data.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, g, jsonify, render_template, request
from flask_babel import gettext as _
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException, InternalServerError

from casework.extensions import db, login_manager

log = logging.getLogger(__name__)


def wants_problem_json() -> bool:
    return request.path.startswith("/api/")


def problem(
    status: int, title: str, detail: str | None = None, errors: dict | None = None, **extra
) -> Response:
    body = {"type": "about:blank", "status": status, "title": title}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def _page(error: HTTPException) -> tuple[str, int, list[tuple[str, str]]]:
    code = error.code or 500
    return render_template("errors/error.html", code=code, error=error), code, _headers(error)


def _headers(error: HTTPException) -> list[tuple[str, str]]:
    """The error's own headers, such as a 405's `Allow` (RFC 9110), without its media type."""
    return [(name, value) for name, value in error.get_headers() if name.lower() != "content-type"]


def handle_http_exception(error: HTTPException):
    if wants_problem_json():
        data = getattr(error, "data", None) or {}
        errors = data.get("errors") or _webargs_errors(data)
        response = problem(error.code or 500, error.name, error.description, errors=errors)
        response.headers.extend(_headers(error))
        if error.code == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="casework"'
        return response
    return _page(error)


def _webargs_errors(data: dict) -> dict | None:
    """webargs nests messages by location ({"json": {field: [...]}}); callers want fields."""
    messages = data.get("messages")
    if not isinstance(messages, dict):
        return None
    merged: dict = {}
    for location_errors in messages.values():
        if isinstance(location_errors, dict):
            merged.update(location_errors)
    return merged or None


def handle_unexpected(error: Exception):
    db.session.rollback()
    if isinstance(error, SQLAlchemyError):
        # The database failed this request: the answer must not need it. The rollback expired
        # the signed-in user, whom the language choice and the page's header would reload;
        # they see the caller as anonymous instead (the page is an error page either way).
        g._login_user = login_manager.anonymous_user()
    log.exception("Unhandled error on %s %s", request.method, request.endpoint)
    if wants_problem_json():
        return problem(500, "Internal Server Error", _("Something went wrong on our side."))
    return _page(InternalServerError())


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
