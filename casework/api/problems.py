"""Raising problem+json answers from API handlers."""

from __future__ import annotations

from typing import Any, NoReturn

from flask import abort

from casework.errors import problem


def abort_problem(
    status: int, title: str, detail: str | None = None, errors: dict | None = None, **extra: Any
) -> NoReturn:
    response = problem(status, title, detail, errors=errors, **extra)
    if status == 401:  # RFC 9110: a 401 names the scheme to authenticate with
        response.headers["WWW-Authenticate"] = 'Bearer realm="casework"'
    abort(response)


def field_problem(field: str, message: str, status: int = 422) -> NoReturn:
    abort_problem(status, "Unprocessable Content", f"{field}: {message}", errors={field: [message]})
