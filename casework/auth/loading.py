"""How a request finds its user: the session cookie for pages, a bearer token for the API."""

from __future__ import annotations

from flask import g, request
from flask_babel import lazy_gettext as _l

from casework.auth.models import User
from casework.auth.operations import user_for_token
from casework.extensions import db, login_manager

login_manager.login_view = "auth.sign_in"
login_manager.login_message = _l("Please sign in to continue.")
login_manager.login_message_category = "info"
# The session id changes on sign-in and the cookie is tied to the client's address and agent.
login_manager.session_protection = "strong"


@login_manager.user_loader
def load_user_from_session(session_id: str) -> User | None:
    """Session ids are `user_id:session_version`; a bumped version ends older sessions."""
    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def load_api_user() -> None:
    """`before_request` of the API: only bearer tokens count there, never the session cookie,
    so that a browser's ambient cookie cannot be used for cross-site API calls."""
    token = bearer_token()
    user = user_for_token(token) if token else None
    g.api_token_created_at = getattr(user, "_token_created_at", None)
    g._login_user = user if user is not None else login_manager.anonymous_user()


def end_stale_sessions() -> None:
    """`before_request`: sign out a session idle for too long or older than its absolute limit
    (30 minutes and 12 hours by default; ASVS 7.3)."""
    from datetime import UTC, datetime

    from flask import current_app, flash, session
    from flask_login import current_user, logout_user

    if request.path.startswith(("/api/", "/static/", "/bootstrap/")):
        return
    if not current_user.is_authenticated:
        return
    now = datetime.now(UTC).timestamp()
    started = session.get("signed_in_at", now)
    seen = session.get("seen_at", now)
    idle = current_app.config["SESSION_IDLE_MINUTES"] * 60
    absolute = current_app.permanent_session_lifetime.total_seconds()
    if now - seen > idle or now - started > absolute:
        logout_user()
        session.clear()
        flash(str(_l("Your session has ended. Please sign in again.")), "info")
        return
    session.setdefault("signed_in_at", now)
    session["seen_at"] = now
