"""Re-authentication before sensitive actions (bulk exports of personal data): the password
again if it was not typed in the last few minutes (ASVS 6.x, issue #7)."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import current_app, g, redirect, request, session, url_for

from casework.api.problems import abort_problem
from casework.models_base import as_utc, utcnow


def recently_authenticated() -> bool:
    window = current_app.config["REAUTH_MINUTES"] * 60
    return time.time() - session.get("reauthenticated_at", 0) <= window


def mark_reauthenticated() -> None:
    session["reauthenticated_at"] = time.time()


def fresh_token() -> bool:
    issued = g.get("api_token_created_at")
    window = current_app.config["REAUTH_MINUTES"] * 60
    return issued is not None and (utcnow() - as_utc(issued)).total_seconds() <= window


def requires_recent_authentication(view: Callable[..., Any]) -> Callable[..., Any]:
    """Pages: ask for the password again; API: ask for a token obtained in the last minutes."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if request.path.startswith("/api/"):
            if not fresh_token():
                abort_problem(
                    401,
                    "Re-authentication required",
                    "Bulk exports need a token obtained in the last "
                    f"{current_app.config['REAUTH_MINUTES']} minutes: sign in again.",
                )
        elif not recently_authenticated():
            return redirect(url_for("auth.confirm_password", next=request.full_path))
        return view(*args, **kwargs)

    return wrapper
