"""Casework: case management for asylum and regularisation files.

`create_app()` only wires things together; each domain lives in its own package.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from config import load_settings

__all__ = ["create_app"]


def create_app(environment: str | None = None, overrides: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_path=str(Path(__file__).resolve().parent.parent / "instance"))
    app.config.from_mapping(load_settings(environment, overrides))
    _refuse_unsafe_production(app)
    register_logging(app)
    register_extensions(app)
    register_request_hooks(app)
    register_blueprints(app)
    register_errors(app)
    register_cli(app)
    register_templates(app)
    if app.config["PROXY_FIX_HOPS"]:
        hops = app.config["PROXY_FIX_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    return app


def _refuse_unsafe_production(app: Flask) -> None:
    if app.config["ENV_NAME"] == "production" and app.debug:
        raise RuntimeError("Debug mode is refused in production.")


def register_logging(app: Flask) -> None:
    from casework.logging_setup import configure_logging

    configure_logging(app)


def register_extensions(app: Flask) -> None:
    from casework import auth  # noqa: F401 - registers the Flask-Login loaders
    from casework.auth.passwords import configure_hasher
    from casework.db_setup import configure_database
    from casework.extensions import bootstrap, csrf, db, limiter, login_manager, migrate
    from casework.field_encryption import init_app as configure_field_encryption
    from casework.i18n import register_i18n
    from casework.reports import reach as _reach  # noqa: F401 - keeps its table in step
    from casework.reports import summary as _summary  # noqa: F401 - keeps its table in step
    from casework.security import configure_security_headers
    from casework.services import models as _services_models  # noqa: F401 - mapped for scopes

    db.init_app(app)
    configure_database(app)
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    bootstrap.init_app(app)
    # Counters shared by every worker need Redis; without it each process counts alone.
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    limiter.init_app(app)
    register_i18n(app)
    configure_security_headers(app)
    configure_hasher(app.config.get("ARGON2_PARAMETERS"))
    configure_field_encryption(app)


def register_request_hooks(app: Flask) -> None:
    from casework.auth.loading import end_stale_sessions
    from casework.auth.views import require_enrolment
    from casework.policy import enforce_declared_policy

    app.before_request(enforce_declared_policy)
    app.before_request(end_stale_sessions)
    app.before_request(require_enrolment)

    @app.after_request
    def no_store_for_pages(response):
        # Every page and API answer may carry personal data: keep it out of shared caches and
        # the browser's history. Static assets are cacheable.
        if not request.path.startswith("/static/") and "/static/" not in request.path:
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.teardown_request
    def _forget_user(_exc):
        g.pop("_login_user", None)


def register_blueprints(app: Flask) -> None:
    from casework.admin.views import bp as admin_bp
    from casework.api import RecordIdConverter, register_api
    from casework.audit.views import bp as audit_bp
    from casework.auth.views import bp as auth_bp
    from casework.cases.document_views import bp as case_documents_bp
    from casework.cases.views import bp as cases_bp
    from casework.imports.views import bp as imports_bp
    from casework.main.views import bp as main_bp
    from casework.people.dp_views import bp as data_protection_bp
    from casework.people.views import bp as people_bp
    from casework.reference.views import bp as reference_bp
    from casework.reports.views import bp as reports_bp
    from casework.services.views import bp as services_bp

    # Every `<int:...>` in our routes is a record id: past PostgreSQL's `integer` it names no
    # record (404) instead of failing in the database (500). The API does the same for its own.
    app.url_map.converters["int"] = RecordIdConverter
    for blueprint in (main_bp, auth_bp, people_bp, cases_bp, admin_bp, audit_bp, reference_bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(case_documents_bp)
    app.register_blueprint(services_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(imports_bp)
    app.register_blueprint(data_protection_bp)
    register_api(app)


def register_errors(app: Flask) -> None:
    from casework.errors import register_error_handlers

    register_error_handlers(app)


def register_cli(app: Flask) -> None:
    from casework.cli import register_commands

    register_commands(app)


def register_templates(app: Flask) -> None:
    from casework.policy import template_helpers
    from casework.templating import register_template_helpers

    app.context_processor(template_helpers)
    register_template_helpers(app)


logging.getLogger(__name__).addHandler(logging.NullHandler())
