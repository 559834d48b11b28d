"""A readable page of the OpenAPI document, rendered by the server (no CDN, no script)."""

from __future__ import annotations

from flask import Blueprint, render_template

from casework.policy import public

bp = Blueprint("api_docs_page", __name__)


@bp.route("/api/v1/docs")
@public
def reference():
    from casework.api import api

    spec = api.spec.to_dict()
    return render_template("api/docs.html", spec=spec)
