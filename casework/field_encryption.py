"""Optional encryption at rest of the sensitive fields (issue #7, item 5).

A column declared `mapped_column(EncryptedText("cases.claim_narrative"))` is stored as

    enc:v1:<key id>:<base64url(nonce || ciphertext || tag)>

with AES-256-GCM (the `cryptography` library's AESGCM), a random 96-bit nonce per value, and the
column's label ("table.column") as associated data, so that a ciphertext copied into another
encrypted column fails its tag check instead of showing up where it does not belong.

The keys come from the environment, `FIELD_ENCRYPTION_KEYS=k2026:<key>,k2025:<key>`: the first
encrypts every new write, the others only decrypt older values until `casework keys rotate` has
re-encrypted them. With no key the columns hold plaintext, as before (the demo and the tests);
plaintext already in the database stays readable once keys are set, so encryption can be turned
on before rotation has gone through the old rows.

What this protects: the sensitive text in a database dump or backup, and from someone who can
read the database but not the application's environment. It does not protect against anyone who
holds the keys (the application's environment, a shell on the application server). It does not
bind a value to its row either: someone able to write the database could swap two people's notes
within one column.

Why the keyring is looked up here rather than passed in: type decorators run wherever SQL runs —
requests, CLI commands, RQ jobs — with no request and no way to receive arguments. Each app
keeps its own keyring in `app.extensions`, found through the active app context, which
Flask-SQLAlchemy needs anyway and which the CLI and the RQ jobs push. There is deliberately no
process-wide keyring: the test suite runs many apps in one process, and "the last app created"
would be a silent, order-dependent choice. Writing an encrypted column outside an app context is
refused rather than stored in clear by mistake.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import Flask, current_app, has_app_context
from sqlalchemy import Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

PREFIX = "enc:v1:"
# Plaintext that looks like our own markers is stored behind this escape when no key is set,
# so that a note typed as "enc:v1:…" is never mistaken for a ciphertext (and never locks its
# record behind a decryption error).
ESCAPE = "plain:"
KEY_BYTES = 32
NONCE_BYTES = 12
# Lower case only, so that two ids never differ by case alone (easy to confuse when rotating).
KEY_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
EXTENSION = "field_encryption"


class KeyringError(ValueError):
    """FIELD_ENCRYPTION_KEYS is malformed: the app refuses to start."""


class DecryptionError(RuntimeError):
    """A stored value cannot be decrypted: unknown key id, or changed or misplaced ciphertext."""


@dataclass(frozen=True)
class Keyring:
    """Named AES-256 keys; `current_id` (the first configured) encrypts new writes."""

    keys: dict[str, bytes] = field(default_factory=dict)
    current_id: str | None = None

    @classmethod
    def parse(cls, spec: str | None) -> Keyring:
        """Read `keyid:base64url-key,...`; the first entry is the current key."""
        keys: dict[str, bytes] = {}
        for entry in (part.strip() for part in (spec or "").split(",")):
            if not entry:
                continue
            key_id, sep, encoded = entry.partition(":")
            key_id = key_id.strip()
            if not sep:
                raise KeyringError("Each FIELD_ENCRYPTION_KEYS entry must be keyid:key.")
            if not KEY_ID.match(key_id):
                raise KeyringError(
                    f"Key id {key_id!r}: use 1 to 32 lower-case letters, digits, - or _."
                )
            if key_id in keys:
                raise KeyringError(f"Key id {key_id!r} appears twice in FIELD_ENCRYPTION_KEYS.")
            keys[key_id] = _decode_key(key_id, encoded.strip())
        return cls(keys, next(iter(keys), None))

    @property
    def enabled(self) -> bool:
        return self.current_id is not None

    def encrypt(self, plaintext: str, label: str) -> str:
        """The stored form of `plaintext` in column `label`, under the current key."""
        if self.current_id is None:
            raise DecryptionError("No field encryption key is configured.")
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.keys[self.current_id]).encrypt(
            nonce, plaintext.encode("utf-8"), _associated_data(label)
        )
        token = base64.urlsafe_b64encode(nonce + sealed).decode("ascii")
        return f"{PREFIX}{self.current_id}:{token}"

    def decrypt(self, stored: str, label: str) -> str:
        """The plaintext of an `enc:v1:` value; raises DecryptionError rather than guess."""
        key_id, sep, token = stored[len(PREFIX) :].partition(":")
        if not sep or key_id not in self.keys:
            raise DecryptionError(
                f"{label}: value encrypted with key {key_id!r}, which is not in "
                "FIELD_ENCRYPTION_KEYS."
            )
        try:
            raw = base64.urlsafe_b64decode(token.encode("ascii"))
            plain = AESGCM(self.keys[key_id]).decrypt(
                raw[:NONCE_BYTES], raw[NONCE_BYTES:], _associated_data(label)
            )
        except (InvalidTag, ValueError, binascii.Error) as error:
            # Never return garbage: a changed value, or one moved from another column.
            raise DecryptionError(
                f"{label}: an encrypted value failed its integrity check (changed, or copied "
                "from another column)."
            ) from error
        return plain.decode("utf-8")

    def to_storage(self, value: str, label: str) -> str:
        if self.enabled:
            return self.encrypt(value, label)
        return ESCAPE + value if value.startswith((PREFIX, ESCAPE)) else value

    def from_storage(self, stored: str, label: str) -> str:
        if stored.startswith(PREFIX):
            return self.decrypt(stored, label)
        return stored.removeprefix(ESCAPE)


def _decode_key(key_id: str, encoded: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except (ValueError, binascii.Error) as error:
        raise KeyringError(f"Key {key_id!r} is not valid base64url.") from error
    if len(key) != KEY_BYTES:
        raise KeyringError(f"Key {key_id!r} must be {KEY_BYTES} bytes, not {len(key)}.")
    return key


def _associated_data(label: str) -> bytes:
    return f"casework:{label}".encode()


def new_key_entry(key_id: str) -> str:
    """A fresh `keyid:key` entry for FIELD_ENCRYPTION_KEYS."""
    if not KEY_ID.match(key_id):
        raise KeyringError(f"Key id {key_id!r}: use 1 to 32 lower-case letters, digits, - or _.")
    key = base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode("ascii").rstrip("=")
    return f"{key_id}:{key}"


# --- Which keyring applies ----------------------------------------------------------------------


def init_app(app: Flask) -> None:
    """Validate the app's keys (the app refuses to start on a bad one) and attach the keyring."""
    keyring = Keyring.parse(app.config.get("FIELD_ENCRYPTION_KEYS"))
    if app.config.get("FIELD_ENCRYPTION_REQUIRED") and not keyring.enabled:
        raise KeyringError("FIELD_ENCRYPTION_REQUIRED is set but FIELD_ENCRYPTION_KEYS is empty.")
    app.extensions[EXTENSION] = keyring


def current_keyring() -> Keyring:
    """The keyring of the active app (an app that never configured one has no keys)."""
    if not has_app_context():
        raise RuntimeError("Encrypted columns are read and written inside an app context.")
    return current_app.extensions.get(EXTENSION) or Keyring()


@contextmanager
def keyring_in_use(app: Flask, keyring: Keyring) -> Iterator[Keyring]:
    """Use `keyring` for `app` inside the block, then restore its own (tests, rotation drills)."""
    previous = app.extensions.get(EXTENSION)
    app.extensions[EXTENSION] = keyring
    try:
        yield keyring
    finally:
        if previous is None:
            app.extensions.pop(EXTENSION, None)
        else:
            app.extensions[EXTENSION] = previous


# --- The column type ----------------------------------------------------------------------------


class EncryptedText(TypeDecorator):
    """Text encrypted with the current keyring; `label` ("table.column") is its associated data.

    Migrations see plain Text (`impl`), so turning encryption on needs no schema change.
    Comparisons in SQL (`==`, LIKE) cannot work on encrypted values: filter on other columns.
    """

    impl = Text
    cache_ok = True

    def __init__(self, label: str) -> None:
        super().__init__()
        self.label = label

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return current_keyring().to_storage(str(value), self.label)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if not value.startswith(PREFIX):  # in clear: no keyring needed
            return value.removeprefix(ESCAPE)
        return current_keyring().decrypt(value, self.label)
