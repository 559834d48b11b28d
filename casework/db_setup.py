"""Database engine details that differ between SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import logging

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from casework.extensions import db

log = logging.getLogger(__name__)


def configure_database(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    # Registered after flask-sqlalchemy's own teardown, so run before it (Flask runs them last
    # registered first): that one finds the session already closed.
    app.teardown_appcontext(_close_session)


def _close_session(_error: BaseException | None) -> None:
    """Close the request's session without letting a lost connection escape.

    Closing rolls back what the request left open (often the reads that rendered its answer,
    after its commit). When the server ended that connection meanwhile (a restart, a failover,
    pg_terminate_backend), the rollback fails; raised from a teardown, that error would replace
    the answer already made (a 201 for a committed write) with a bare 500. There is nothing to
    roll back on a dead connection: drop it, and the pool opens a new one (pool_pre_ping).
    """
    try:
        db.session.remove()
    except SQLAlchemyError:
        log.warning("The database connection was lost while closing a session", exc_info=True)
        with contextlib.suppress(SQLAlchemyError):  # invalidating does not talk to the server
            db.session().invalidate()
        db.session.registry.clear()


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # SQLite ignores foreign keys unless asked, per connection.
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL lets readers carry on while a request writes; wait rather than fail when busy.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def is_sqlite(engine: Engine | None = None) -> bool:
    return (engine or db.engine).dialect.name == "sqlite"
