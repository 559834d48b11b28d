"""Test set-up: one app per session on a database built by the migrations, cleaned per test.

SQLite by default; set TEST_DATABASE_URL to a PostgreSQL database to run the same suite there
(the database is emptied first).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import text

from casework import create_app
from casework.extensions import db
from casework.reference.loader import load_all
from tests.factories import World, build_world

# Rows loaded once per session by the reference loader; every other table is emptied per test.
REFERENCE_TABLES = {
    "regions",
    "legacy_regions",
    "prefectures",
    "countries",
    "operations",
    "eligibility_categories",
    "sdg_targets",
    "programmes",
    "services",
    "alembic_version",
}


def pytest_sessionstart(session: pytest.Session) -> None:
    """Compile the translations when a test run starts without `make translations`."""
    from pathlib import Path

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po_path in Path(__file__).parent.parent.glob("casework/translations/*/LC_MESSAGES/*.po"):
        mo_path = po_path.with_suffix(".mo")
        if not mo_path.exists() or mo_path.stat().st_mtime < po_path.stat().st_mtime:
            with po_path.open("rb") as po_file:
                catalog = read_po(po_file)
            with mo_path.open("wb") as mo_file:
                write_mo(mo_file, catalog)


def _database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


def _reset_postgres(app: Flask) -> None:
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _database_url(tmp_path_factory)


@pytest.fixture(scope="session")
def app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    app = create_app(
        "testing",
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "UPLOAD_DIR": str(tmp_path_factory.mktemp("uploads")),
        },
    )
    if database_url.startswith("postgresql"):
        _reset_postgres(app)
    with app.app_context():
        upgrade()
        load_all()
        db.session.commit()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _clean_database(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "app" not in request.fixturenames:
        return
    app: Flask = request.getfixturevalue("app")
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as connection:
            for table in reversed(db.metadata.sorted_tables):
                if table.name not in REFERENCE_TABLES:
                    connection.execute(table.delete())


@pytest.fixture
def ctx(app: Flask) -> Iterator[Flask]:
    """An application context for tests that call operations directly."""
    with app.app_context():
        yield app
        db.session.rollback()


@pytest.fixture
def world(app: Flask) -> World:
    """Organisations, one account per role, and a few people in two offices."""
    with app.app_context():
        world = build_world()
        db.session.commit()
        return world


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def sign_in(client: FlaskClient, email: str, password: str | None = None):
    from tests.factories import PASSWORD

    return client.post(
        "/sign-in", data={"email": email, "password": password or PASSWORD}, follow_redirects=False
    )


def reauthenticate(client: FlaskClient) -> None:
    """As if the user had just typed the password again (bulk exports ask for it)."""
    import time

    with client.session_transaction() as session:
        session["reauthenticated_at"] = time.time()


def api_token(client: FlaskClient, email: str) -> dict[str, str]:
    from tests.factories import PASSWORD

    response = client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}
