"""HTTP security headers (Flask-Talisman): a strict CSP, no inline scripts or styles."""

from __future__ import annotations

from flask import Flask

from casework.extensions import talisman

CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    # Bootstrap draws a few icons (select arrows, toggler) as data: SVG images.
    "img-src": ["'self'", "data:"],
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}


def configure_security_headers(app: Flask) -> None:
    production = app.config["ENV_NAME"] == "production"
    talisman.init_app(
        app,
        force_https=app.config["FORCE_HTTPS"],
        strict_transport_security=production,
        content_security_policy=CONTENT_SECURITY_POLICY,
        frame_options="DENY",
        referrer_policy="same-origin",
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        session_cookie_http_only=True,
        session_cookie_samesite=app.config["SESSION_COOKIE_SAMESITE"],
    )
