"""Password hashing (argon2id) and the password rules.

Werkzeug's default scrypt parameters are below ASVS 5.0's minimum; argon2-cffi's defaults
(argon2id, 64 MiB, t=3, p=4) meet it, and `needs_rehash` lets sign-in upgrade old hashes.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _

_hasher = PasswordHasher()

# Verified against when the account does not exist, so unknown and known accounts take as long.
_DUMMY_HASH = _hasher.hash("casework-dummy-password-for-timing")


def configure_hasher(parameters: dict | None) -> None:
    """Use argon2-cffi's defaults (argon2id, t=3, m=64 MiB, p=4: ASVS 5.0 11.4.2) unless the
    settings ask otherwise — only the test settings do, to keep the suite fast."""
    global _hasher, _DUMMY_HASH
    _hasher = PasswordHasher(**parameters) if parameters else PasswordHasher()
    _DUMMY_HASH = _hasher.hash("casework-dummy-password-for-timing")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches; an empty password never does (whatever was stored)."""
    try:
        valid = _hasher.verify(password_hash or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    return valid and bool(password_hash) and bool(password)


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    text = files("casework.auth").joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(
        line.strip().casefold()
        for line in text.splitlines()
        if line.strip() and not line.startswith("#")
    )


def password_problems(password: str, *, email: str = "", name: str = "") -> list[str]:
    """Why `password` is refused, as messages for the user; empty when it is acceptable.

    Length and a deny-list only: composition rules make passwords weaker, not stronger.
    """
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    maximum = current_app.config["PASSWORD_MAX_LENGTH"]
    problems = []
    if len(password) < minimum:
        problems.append(_("Use at least %(n)d characters.", n=minimum))
    if len(password) > maximum:
        problems.append(_("Use at most %(n)d characters.", n=maximum))
    folded = password.casefold()
    personal = {email.casefold(), email.split("@")[0].casefold(), name.casefold()} - {""}
    if folded in common_passwords() or folded in personal:
        problems.append(_("This password is too common or too easy to guess; choose another."))
    return problems
