"""Refusing conflicting edits: the second of two concurrent writers is told, never overwrites."""

from __future__ import annotations


class EditConflict(Exception):
    """The record changed since the caller read it (its version moved on)."""

    def __init__(self, record_type: str, record_id: int, expected: int | None, current: int):
        super().__init__(f"{record_type} {record_id} is at version {current}, not {expected}")
        self.record_type = record_type
        self.record_id = record_id
        self.expected = expected
        self.current = current


def check_version(record, expected: int | None) -> None:
    """Refuse the change when the caller read an older version than the one stored.

    The ORM's `version_id_col` catches the race between this check and the flush."""
    if expected is not None and expected != record.version:
        raise EditConflict(record.__tablename__, record.id, expected, record.version)


def parse_version(value: object) -> int | None:
    """The version a form sent back (a hidden field), or None when it carries none."""
    text = str(value).strip() if value is not None else ""
    return int(text) if text.isdigit() else None
