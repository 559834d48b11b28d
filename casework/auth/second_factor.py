"""Second factor: TOTP codes (RFC 6238, pyotp) and one-time recovery codes.

A code is accepted once: the time step of the last accepted code is stored and older or equal
steps are refused, so a code seen over someone's shoulder cannot be replayed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

import pyotp
import segno
from flask import current_app
from markupsafe import Markup

from casework.audit.operations import record
from casework.auth.models import User
from casework.models_base import utcnow

ISSUER = "Casework"
RECOVERY_CODES = 10


def required_for(user: User) -> bool:
    """Whether the settings (MFA_REQUIRED_ROLES) demand a second factor for this role."""
    return user.role in current_app.config.get("MFA_REQUIRED_ROLES", set())


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_svg(uri: str) -> Markup:
    """The enrolment QR code as inline SVG (no script, no external image)."""
    svg = segno.make(uri, error="m").svg_inline(scale=5, border=2, dark="#1d2b3a")

    # segno's markup of a URI we built.
    return Markup(svg)  # noqa: S704  # nosec B704


def _digest(code: str) -> str:
    return hashlib.sha256(code.strip().lower().replace("-", "").encode()).hexdigest()


def new_recovery_codes() -> tuple[list[str], list[str]]:
    """Codes to show once, and their digests to keep."""
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODES)]
    return codes, [_digest(code) for code in codes]


def _matching_step(secret: str, code: str) -> int | None:
    """The time step `code` belongs to (now, or one step either side for clock drift)."""
    totp = pyotp.TOTP(secret)
    now = totp.timecode(utcnow())
    for step in (now, now - 1, now + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def check_code(user: User, code: str | None) -> bool:
    """Accept a current TOTP code not used before, or an unused recovery code (spent now)."""
    code = (code or "").strip().replace(" ", "")
    if not code or not user.has_second_factor:
        return False
    if code.isdigit() and len(code) == 6:
        step = _matching_step(user.totp_secret, code)
        if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
            return False
        user.totp_last_step = step
        return True
    digest = _digest(code)
    remaining = list(user.recovery_codes or [])
    for kept in remaining:
        if hmac.compare_digest(kept, digest):
            remaining.remove(kept)
            user.recovery_codes = remaining
            record("auth.recovery_code_used", user=user, record=user, left=len(remaining))
            return True
    return False


def enable(user: User, secret: str, code: str) -> list[str] | None:
    """Turn the second factor on when `code` proves the authenticator app has `secret`.
    Returns the recovery codes to show once, or None when the code is wrong."""
    step = _matching_step(secret, (code or "").strip())
    if step is None:
        return None
    codes, digests = new_recovery_codes()
    user.totp_secret = secret
    user.totp_enabled_at = utcnow()
    user.totp_last_step = step
    user.recovery_codes = digests
    record("auth.second_factor_enabled", user=user, record=user)
    return codes


def disable(user: User, *, by: User) -> None:
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    user.recovery_codes = None
    user.session_version += 1  # sign out everywhere: the account's protection changed
    record("auth.second_factor_disabled", user=by, record=user)
