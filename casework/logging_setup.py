"""Application logs: one line per event, with a request id and no personal data.

Log messages name endpoints and record ids, never names, documents or query strings: the
URL's query string can carry a search term, so only the endpoint is logged.
"""

from __future__ import annotations

import logging
import secrets

from flask import Flask, g, has_request_context, request


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = getattr(g, "request_id", "-") if has_request_context() else "-"
        return True


def configure_logging(app: Flask) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s")
    )
    root = logging.getLogger("casework")
    root.handlers[:] = [handler]
    root.setLevel(app.config["LOG_LEVEL"])
    root.propagate = False

    @app.before_request
    def assign_request_id() -> None:
        incoming = request.headers.get("X-Request-Id", "")
        # Accept a proxy's id only when it looks like one; never echo arbitrary text.
        ok = 8 <= len(incoming) <= 64 and incoming.replace("-", "").isalnum()
        g.request_id = incoming if ok else secrets.token_hex(8)

    @app.after_request
    def return_request_id(response):
        response.headers["X-Request-Id"] = g.get("request_id", "-")
        return response


class DropQueryStrings(logging.Filter):
    """The development server logs request lines; their query strings can hold search terms."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args and isinstance(record.args, tuple):
            record.args = tuple(
                _strip_query(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        return True


def _strip_query(text: str) -> str:
    if "?" not in text:
        return text
    head, _, rest = text.partition("?")
    _, space, tail = rest.partition(" ")
    return f"{head}?…{space}{tail}" if space else f"{head}?…"


logging.getLogger("werkzeug").addFilter(DropQueryStrings())
