"""Signing in, locking out, API tokens and account management."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from casework.audit.operations import record
from casework.auth.models import ApiToken, User
from casework.auth.passwords import hash_password, needs_rehash, verify_password
from casework.extensions import db
from casework.models_base import as_utc, utcnow
from casework.policy import Role


class AccountLocked(Exception):
    """Raised when the account is locked; carries when to try again."""

    def __init__(self, until: datetime) -> None:
        super().__init__(f"locked until {until.isoformat()}")
        self.until = until


@dataclass
class SignInResult:
    user: User | None
    locked_until: datetime | None = None
    # The password was right, and the account has a second factor still to check.
    needs_second_factor: bool = False

    @property
    def ok(self) -> bool:
        return self.user is not None and self.locked_until is None and not self.needs_second_factor


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def authenticate(email: str, password: str, *, channel: str) -> SignInResult:
    """Check credentials, counting failures; web and API share the same lockout.

    A wrong password and an unknown email give the same result, and take the same time (the
    password is verified against a dummy hash when there is no account).
    """
    user = find_user_by_email(email)
    now = utcnow()
    locked_until = as_utc(user.locked_until) if user else None
    if user is not None and locked_until is not None and locked_until > now:
        verify_password(None, password)  # same cost as a real attempt
        record("auth.signin_refused_locked", user=_as_actor(user), record=user, channel=channel)
        return SignInResult(user=None, locked_until=locked_until)

    valid = verify_password(user.password_hash if user else None, password)
    if user is None or not valid or not user.active:
        if user is not None:
            _count_failure(user, now)
            if user.locked_until is not None and as_utc(user.locked_until) > now:
                record("auth.account_locked", user=_as_actor(user), record=user, channel=channel)
        record(
            "auth.signin_failed",
            user=_as_actor(user) if user else None,
            record_type="users" if user else None,
            record_id=user.id if user else None,
            channel=channel,
        )
        return SignInResult(user=None)

    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    if user.has_second_factor:
        record("auth.password_accepted", user=_as_actor(user), record=user, channel=channel)
        return SignInResult(user=user, needs_second_factor=True)
    complete_sign_in(user, channel=channel)
    return SignInResult(user=user)


def complete_sign_in(user: User, *, channel: str) -> None:
    user.failed_signins = 0
    user.locked_until = None
    user.last_signin_at = utcnow()
    record("auth.signin", user=_as_actor(user), record=user, channel=channel)


def second_factor_failed(user: User, *, channel: str) -> None:
    """A wrong or replayed code counts towards the lockout, like a wrong password."""
    now = utcnow()
    _count_failure(user, now)
    record("auth.second_factor_failed", user=_as_actor(user), record=user, channel=channel)


def _count_failure(user: User, now: datetime) -> None:
    user.failed_signins = (user.failed_signins or 0) + 1
    if user.failed_signins >= current_app.config["LOCKOUT_THRESHOLD"]:
        user.locked_until = now + timedelta(minutes=current_app.config["LOCKOUT_MINUTES"])
        user.failed_signins = 0


class _Actor:
    """Lets `record` attribute an entry to a user who is not (yet) signed in."""

    is_authenticated = True

    def __init__(self, user: User) -> None:
        self.id = user.id


def _as_actor(user: User) -> _Actor:
    return _Actor(user)


def sign_out(user: User) -> None:
    """Invalidate every session of `user`: cookies carry the session version they were made for."""
    user.session_version = (user.session_version or 0) + 1
    record("auth.signout", user=user, record=user)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User) -> tuple[str, datetime]:
    """A new bearer token; only its digest is kept, the caller sees the token once."""
    token = secrets.token_urlsafe(32)
    expires_at = utcnow() + timedelta(hours=current_app.config["API_TOKEN_HOURS"])
    db.session.add(ApiToken(user=user, token_hash=_digest(token), expires_at=expires_at))
    record("auth.token_issued", user=user, record=user)
    return token, expires_at


def user_for_token(token: str) -> User | None:
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    if row is None or row.revoked_at is not None or as_utc(row.expires_at) <= utcnow():
        return None
    if not row.user.active:
        return None
    row.user._token_created_at = row.created_at  # for re-authentication checks
    return row.user


def create_user(
    *,
    email: str,
    name: str,
    role: Role | str,
    organisation_id: int,
    password: str,
    region_code: str | None = None,
    preferred_language: str = "fr",
    by: User | None = None,
    password_hash: str | None = None,
) -> User:
    """Create an account. `password_hash` lets a bulk loader hash a shared password once."""
    user = User(
        email=email.strip().lower(),
        name=name.strip(),
        role=Role(role).value,
        organisation_id=organisation_id,
        region_code=region_code or None,
        password_hash=password_hash or hash_password(password),
        preferred_language=preferred_language,
        active=True,
        failed_signins=0,
        session_version=1,
    )
    db.session.add(user)
    db.session.flush()
    record("user.create", user=by, record=user, role=user.role)
    return user


def update_user(user: User, *, by: User, **changes) -> User:
    changed = [key for key, value in changes.items() if getattr(user, key) != value]
    for key in changed:
        setattr(user, key, changes[key])
    if "active" in changed and not user.active:
        user.session_version += 1  # a deactivated account is signed out everywhere
    if changed:
        record("user.update", user=by, record=user, fields=sorted(changed))
    return user


def set_password(user: User, password: str, *, by: User) -> None:
    user.password_hash = hash_password(password)
    user.session_version += 1
    user.failed_signins = 0
    user.locked_until = None
    record("user.password_set", user=by, record=user)


def unlock(user: User, *, by: User) -> None:
    user.failed_signins = 0
    user.locked_until = None
    record("user.unlock", user=by, record=user)


def set_language(user: User, language: str) -> None:
    if user.preferred_language != language:
        user.preferred_language = language
        record("user.language", user=user, record=user, language=language)
