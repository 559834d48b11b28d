"""Answers rendered before the commit, so that a committed write is never answered 500.

A handler that commits and then returns its record has flask-smorest render the answer after
the commit, reading the record again (the commit expired it) and its relationships. Were the
database connection lost in between (a restart, a failover, an administrator ending it), that
read fails: the write is committed but the client is answered 500, and a client that retries
writes twice. Rendered first, the answer needs nothing from the database after the commit; if
the commit itself fails, nothing was written (PostgreSQL rolls back an unfinished
transaction) and the 500 says so truthfully.
"""

from __future__ import annotations

from flask import Response, jsonify
from marshmallow import Schema

from casework.extensions import db


def commit_and_answer(schema: Schema | type[Schema], record: object, status: int = 200) -> Response:
    """Flush (versions, timestamps), render `record` with `schema`, commit, answer.

    Rendered from the rows as the database holds them (expired after the flush, so read back
    in this transaction): the answer is the one a read after the commit would give (a
    quantity of "1" answered "1.00", as stored), not the values as the handler set them."""
    db.session.flush()
    db.session.expire_all()
    body = (schema() if isinstance(schema, type) else schema).dump(record)
    return committed(jsonify(body), status)


def committed(answer: Response, status: int = 200) -> Response:
    """Commit, then give the answer already rendered."""
    db.session.commit()
    answer.status_code = status
    return answer
