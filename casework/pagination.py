"""Keyset pagination: pages stay fast however deep, unlike OFFSET.

Cursors are opaque to callers (URL-safe base64 of the last row's key) so that the ordering can
change without breaking clients.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select

from casework.extensions import db

DEFAULT_LIMIT = 25
MAX_LIMIT = 200


class BadCursor(ValueError):
    """The cursor was not made by us."""


def encode_cursor(key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> Any:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as error:
        raise BadCursor(cursor) from error


@dataclass
class Page:
    items: list
    next_cursor: str | None


def page_by_id_desc(query: Select, id_column, cursor: str | None, limit: int) -> Page:
    """Newest first, keyed on the primary key."""
    limit = max(1, min(limit or DEFAULT_LIMIT, MAX_LIMIT))
    if cursor:
        last_id = decode_cursor(cursor)
        if not isinstance(last_id, int):
            raise BadCursor(cursor)
        query = query.where(id_column < last_id)
    rows = list(db.session.scalars(query.order_by(id_column.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(items=rows, next_cursor=encode_cursor(rows[-1].id) if more and rows else None)


def page_by_keys(
    query: Select, order: list, key_of, cursor: str | None, limit: int, descending: bool = True
) -> Page:
    """Keyset pagination on several columns (e.g. filed_on, id), all in one direction.

    `key_of(row)` returns the row's values for `order`, as JSON-able values (dates as ISO text).
    Row-value comparison `(a, b) < (x, y)` is served by a composite index on both databases.
    """
    from sqlalchemy import tuple_

    limit = max(1, min(limit or DEFAULT_LIMIT, MAX_LIMIT))
    if cursor:
        last = decode_cursor(cursor)
        if not isinstance(last, list) or len(last) != len(order):
            raise BadCursor(cursor)
        last = [_from_json(column, value) for column, value in zip(order, last, strict=True)]
        keys = tuple_(*order)
        query = query.where(keys < tuple_(*last) if descending else keys > tuple_(*last))
    direction = [c.desc() if descending else c.asc() for c in order]
    rows = list(db.session.scalars(query.order_by(*direction).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(key_of(rows[-1])) if more and rows else None
    return Page(items=rows, next_cursor=next_cursor)


def _from_json(column, value):
    from datetime import date

    from sqlalchemy import Date

    if isinstance(column.type, Date) and isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError as error:
            raise BadCursor(value) from error
    return value
