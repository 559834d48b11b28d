"""Where the benchmark databases live, and how an app is created on them.

SQLite: one file per case count (default under /tmp/casework-bench, see BENCH_SQLITE_DIR).
PostgreSQL: BENCH_DATABASE_URL or --database-url; the database is created when missing.
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/casework_bench"
DEFAULT_SQLITE_DIR = Path(os.environ.get("BENCH_SQLITE_DIR", "/tmp/casework-bench"))
DATABASES = ("sqlite", "postgresql")


class Unreachable(RuntimeError):
    """The PostgreSQL server does not answer: the caller skips it with a message."""


def postgres_url(url: str | None = None) -> str:
    url = url or os.environ.get("BENCH_DATABASE_URL") or DEFAULT_POSTGRES_URL
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def sqlite_url(cases: int, path: str | None = None) -> str:
    file = Path(path) if path else DEFAULT_SQLITE_DIR / f"casework-bench-{cases}.db"
    file.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{file}"


def sqlite_file(url: str) -> Path:
    return Path(make_url(url).database or "")


def database_url(kind: str, cases: int, *, sqlite_path: str | None, postgres: str | None) -> str:
    return sqlite_url(cases, sqlite_path) if kind == "sqlite" else postgres_url(postgres)


def ensure_postgres_database(url: str) -> None:
    """Create the database named in `url` when it does not exist; raise Unreachable when the
    server does not answer."""
    target = make_url(url)
    maintenance = target.set(database="postgres")
    engine = create_engine(
        maintenance, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5}
    )
    try:
        with engine.connect() as connection:
            exists = connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"),
                {"name": target.database},
            )
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{target.database}"'))
    except (OperationalError, ProgrammingError) as error:
        raise Unreachable(f"PostgreSQL unreachable at {safe_url(url)}: {error.orig}") from error
    finally:
        engine.dispose()


def safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def create_bench_app(url: str) -> Flask:
    """The app as it runs in development, on the benchmark database."""
    from casework import create_app

    return create_app("development", {"SQLALCHEMY_DATABASE_URI": url, "LOG_LEVEL": "WARNING"})
