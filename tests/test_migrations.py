"""The migrations build the schema the models describe, on SQLite and on PostgreSQL, and undo it.

Each test starts from an empty database of its own (a temporary SQLite file, or a throwaway
PostgreSQL database), never the session's test database.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from casework import create_app
from casework.extensions import db

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
# The PostgreSQL server to create throwaway databases on (its `postgres` database is used to
# create and drop them).
POSTGRES_SERVER = os.environ.get(
    "TEST_POSTGRES_SERVER_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _app_on(url: str, tmp_path: Path) -> Flask:
    return create_app(
        "testing", {"SQLALCHEMY_DATABASE_URI": url, "UPLOAD_DIR": str(tmp_path / "uploads")}
    )


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'migrations.db'}"


@pytest.fixture
def postgresql_url() -> Iterator[str]:
    server = create_engine(
        POSTGRES_SERVER, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
    )
    name = f"casework_migrations_{uuid.uuid4().hex[:10]}"
    try:
        with server.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as error:
        server.dispose()
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        pytest.skip(f"PostgreSQL is unreachable at {POSTGRES_SERVER}: {reason}")
    try:
        yield make_url(POSTGRES_SERVER).set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    """An app on an empty database: SQLite, then PostgreSQL (skipped when unreachable)."""
    url = request.getfixturevalue(f"{request.param}_url")
    app = _app_on(url, tmp_path)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def table_names() -> set[str]:
    return set(inspect(db.engine).get_table_names())


def schema_differences() -> list:
    """What `flask db migrate` would write: differences between the models and the database."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_as_batch": True}
        )
        return compare_metadata(context, db.metadata)


def current_revision() -> str | None:
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    heads = ScriptDirectory(str(MIGRATIONS)).get_heads()
    assert len(heads) == 1, f"the migrations have several heads: {heads}"
    return heads[0]


def test_the_migrations_form_a_single_line() -> None:
    script = ScriptDirectory(str(MIGRATIONS))

    assert len(script.get_heads()) == 1
    assert len(script.get_bases()) == 1
    revisions = list(script.walk_revisions())
    assert all(r.down_revision is not None for r in revisions if not r.is_base)


def test_upgrading_an_empty_database_reaches_head(empty_database: Flask) -> None:
    assert table_names() == set()

    upgrade()

    assert current_revision() == head_revision()
    assert {table.name for table in db.metadata.sorted_tables} <= table_names()


def test_the_models_match_the_migrations(empty_database: Flask) -> None:
    upgrade()

    assert schema_differences() == []


def test_downgrading_to_base_removes_every_table(empty_database: Flask) -> None:
    upgrade()

    downgrade(revision="base")

    assert table_names() <= {"alembic_version"}
    assert current_revision() is None


def test_the_migrations_can_be_applied_again_after_a_downgrade(empty_database: Flask) -> None:
    upgrade()
    downgrade(revision="base")

    upgrade()

    assert current_revision() == head_revision()
    assert schema_differences() == []


def test_the_reference_data_loads_into_a_freshly_migrated_database(
    empty_database: Flask,
) -> None:
    from casework.reference.loader import load_all

    upgrade()
    counts = load_all()
    db.session.commit()

    assert counts["prefectures"] == 75
    assert counts["programmes"] == 11
