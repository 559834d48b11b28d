"""The JSON API under /api/v1 (flask-smorest): bearer tokens, problem+json errors.

Each resource module defines a flask-smorest Blueprint whose thin handlers call the domains'
operations and schemas and ask `casework.policy`, exactly like the pages do.
"""

from __future__ import annotations

from flask import Flask, request
from flask_smorest import Api

from casework.auth.loading import load_api_user
from casework.extensions import csrf
from casework.policy import public
from casework.schemas import ProblemSchema


class CaseworkApi(Api):
    # Errors are documented, and answered, as problem+json (see casework.errors).
    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self) -> None:
        """casework.errors answers every HTTP error, for the API and the pages alike."""


api = CaseworkApi(
    spec_kwargs={
        "info": {
            "description": "Casework's API. Sign in with POST /auth/token, then send "
            "`Authorization: Bearer <token>`."
        },
    }
)


def _api_callers_use_tokens() -> None:
    if request.path.startswith("/api/v1/"):
        load_api_user()


def register_api(app: Flask) -> None:
    from casework.api import (
        audit,
        auth,
        case_files,
        cases,
        docs,
        people,
        referrals,
        services,
        stats,
        workflows,
    )

    api.init_app(app)
    app.before_request(_api_callers_use_tokens)
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    for module in (auth, audit, people, cases, case_files, workflows, referrals, services, stats):
        api.register_blueprint(module.blp, url_prefix=f"/api/v1{module.PREFIX}")
        csrf.exempt(module.blp)  # bearer tokens are not ambient credentials
    # The OpenAPI document is public: it describes the API, it holds no data.
    spec_view = app.view_functions["api-docs.openapi_json"]

    @public
    def openapi_json():
        return spec_view()

    app.view_functions["api-docs.openapi_json"] = openapi_json
    app.register_blueprint(docs.bp)
