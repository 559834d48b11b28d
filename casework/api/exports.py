"""Full exports through the API: the people and case files in the caller's scope, as CSV or
XLSX, streamed and audited (`casework.imports.exports`, the same code as the pages)."""

from __future__ import annotations

from flask_login import current_user
from flask_smorest import Blueprint

from casework.api.case_files import BINARY
from casework.auth.reauth import requires_recent_authentication
from casework.imports import exports
from casework.policy import requires

PREFIX = "/exports"
SECURITY = [{"bearerAuth": []}]

blp = Blueprint("api_exports", __name__, description="Full exports of people and case files")


def _route(dataset: str, fmt: str, summary: str):
    content_type = exports.CSV_TYPE if fmt == "csv" else exports.XLSX_TYPE

    @requires("export.people")
    @requires_recent_authentication
    @blp.response(200, BINARY, content_type=content_type, description=summary)
    @blp.alt_response(401, description="The token is older than REAUTH_MINUTES: sign in again")
    @blp.doc(security=SECURITY, summary=summary)
    def view():
        return exports.export_response(dataset, fmt, current_user, channel="api")

    view.__name__ = f"export_{dataset}_{fmt}"
    view.__doc__ = (
        f"{summary}. Scoped like the lists (your office's or region's records); text that a "
        "spreadsheet would run as a formula starts with an apostrophe. Audited."
    )
    blp.route(f"/{dataset}.{fmt}", endpoint=view.__name__)(view)


_route("people", "csv", "Every person in your scope, as CSV")
_route("people", "xlsx", "Every person in your scope, as XLSX")
_route("cases", "csv", "Every case file in your scope, as CSV")
_route("cases", "xlsx", "Every case file in your scope, as XLSX")
