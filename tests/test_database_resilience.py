"""Issue #7 item 9: the database going away under load (PostgreSQL only).

Worker threads call the API (registering people, reading one back: both write, the second
only its audit entry) while a separate admin connection terminates every backend of the app's
database, again and again. Asserted, precisely:

1. during the kills, every answer is the normal one (201, 200) or a 500 problem+json, never a
   traceback escaping the app, a hang or another status; and a 500 only for a request that was
   in flight while a kill was issued (or within KILL_LAG after: a kill only signals);
2. acknowledged means committed, and a 500 means rolled back: every registration answered 201
   is stored as answered, none answered 500 is stored (a client may safely send it again); the
   audit trail holds exactly one `person.create` per 201 and one `person.view` per 200 read,
   and its hash chain is intact;
3. once the kills stop, the app has recovered: after one more kill of every (now idle, pooled)
   connection, the same workers' requests all succeed at their first attempt, no retry and no
   500 — `pool_pre_ping` replaces the dead connections before use.
"""

from __future__ import annotations

import threading
import time
import traceback
import uuid
from dataclasses import dataclass

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from casework.audit import chain
from casework.audit.models import AuditEntry
from casework.extensions import db
from casework.people.models import Person
from tests.conftest import api_token

pytestmark = pytest.mark.postgres

WORKERS = 3
CHAOS_SECONDS = 2.5
KILL_EVERY = 0.15  # seconds between two kills
KILL_LAG = 0.05  # pg_terminate_backend only signals: the backend may end a little later
RECOVERY_ROUNDS = 5  # per worker, each a registration and a read
PROBLEM = "application/problem+json"
TERMINATE = (
    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
)


@dataclass
class Call:
    kind: str  # "register" or "read"
    marker: str  # the registered family name, or the person read
    started: float
    ended: float
    status: int
    mimetype: str
    body: dict | None


@pytest.fixture
def admin(database_url: str):
    """A psycopg connection of its own, outside the app's pool: it does the killing."""
    if not database_url.startswith("postgresql"):
        pytest.skip("needs PostgreSQL: set TEST_DATABASE_URL (SQLite has no server to lose)")
    import psycopg

    conninfo = make_url(database_url).set(drivername="postgresql")
    try:
        connection = psycopg.connect(
            conninfo.render_as_string(hide_password=False), autocommit=True, connect_timeout=3
        )
    except psycopg.OperationalError as error:
        pytest.skip(f"PostgreSQL is not reachable: {error}")
    yield connection
    connection.close()


def terminate_backends(admin) -> int:
    return admin.execute(TERMINATE).fetchone()[0]


def timed(kind: str, marker: str, send) -> Call:
    started = time.monotonic()
    response = send()
    return Call(kind, marker, started, time.monotonic(), response.status_code,
                response.mimetype, response.get_json(silent=True))  # fmt: skip


def register(client, headers: dict, prefix: str) -> Call:
    marker = f"{prefix}-{uuid.uuid4().hex[:12]}"
    values = {"sex": "F", "family_name": marker, "given_names": "Resilience"}
    return timed("register", marker, lambda: client.post("/api/v1/people", headers=headers,
                                                         json=values))  # fmt: skip


def read(client, headers: dict, person_id: int) -> Call:
    return timed("read", str(person_id),
                 lambda: client.get(f"/api/v1/people/{person_id}", headers=headers))  # fmt: skip


def run_workers(app: Flask, work, rounds: int | None, stop: threading.Event):
    """WORKERS threads, each with its own client, calling `work` until `stop` (or `rounds`).
    Returns the calls and the errors, filled as they come, and the threads to join."""
    calls: list[Call] = []
    errors: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        client = app.test_client()
        done = 0
        try:
            while not stop.is_set() and (rounds is None or done < rounds):
                made = work(client)
                done += 1
                with lock:
                    calls.extend(made)
        except BaseException:  # an exception out of the app: keep its traceback
            errors.append(traceback.format_exc())

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    return calls, errors, threads


def join(threads) -> None:
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a request hung"


def test_api_survives_its_database_connections_being_killed(admin, app: Flask, world) -> None:
    headers = api_token(app.test_client(), world.users["caseworker"])
    known = world.people["rabat"]
    with app.app_context():
        views_before = db.session.scalar(
            select(func.count()).where(AuditEntry.action == "person.view")
        )
        db.session.remove()

    def work(client) -> list[Call]:
        return [register(client, headers, "Kill"), read(client, headers, known)]

    # --- Chaos: kill every backend of the database every KILL_EVERY seconds. ----------------
    stop = threading.Event()
    calls, errors, threads = run_workers(app, work, None, stop)
    kills: list[tuple[float, float, int]] = []  # (issued, returned, backends terminated)
    deadline = time.monotonic() + CHAOS_SECONDS
    while time.monotonic() < deadline:
        time.sleep(KILL_EVERY)
        issued = time.monotonic()
        killed = terminate_backends(admin)
        kills.append((issued, time.monotonic(), killed))
    stop.set()
    join(threads)
    assert not errors, "\n".join(errors)
    assert calls, "the workers made no request"
    assert sum(killed for _, _, killed in kills) > 0, "no connection of the app was killed"

    # 1. The normal answer, or a 500 problem for a request in flight at a kill.
    failed = [call for call in calls if call.status == 500]
    for call in calls:
        assert call.status == (201 if call.kind == "register" else 200) or call in failed, call
    for call in failed:
        assert call.mimetype == PROBLEM and call.body["status"] == 500, call
        in_flight = any(issued <= call.ended and call.started <= returned + KILL_LAG
                        for issued, returned, _ in kills)  # fmt: skip
        assert in_flight, f"a 500 with no kill in flight: {call}"

    # 2. Acknowledged means committed; 500 means rolled back.
    acknowledged = {c.marker: c.body for c in calls if c.kind == "register" and c.status == 201}
    refused = {c.marker for c in failed if c.kind == "register"}
    reads = sum(1 for c in calls if c.kind == "read" and c.status == 200)
    with app.app_context():
        stored = dict(
            db.session.execute(
                select(Person.family_name, Person.id).where(Person.family_name.like("Kill-%"))
            ).all()
        )
        lost = sorted(marker for marker in acknowledged if marker not in stored)
        assert not lost, f"registrations answered 201 but not stored: {lost}"
        for marker, body in acknowledged.items():
            assert stored[marker] == body["id"], marker
        kept = sorted(refused & set(stored))
        assert not kept, f"registrations answered 500 but committed: {kept}"
        audited = db.session.scalar(
            select(func.count()).where(
                AuditEntry.action == "person.create", AuditEntry.record_id.in_(stored.values())
            )
        )
        assert audited == len(stored), "a stored registration without its audit entry"
        views = db.session.scalar(select(func.count()).where(AuditEntry.action == "person.view"))
        assert views - views_before == reads, "the reads answered 200 are not those audited"
        checked, problem = chain.verify()
        assert problem is None, f"audit chain broken after {checked} entries: {problem}"
        db.session.remove()

    # 3. Recovery: every pooled connection is dead now; no request may fail.
    terminate_backends(admin)
    after, errors, threads = run_workers(app, work, RECOVERY_ROUNDS, threading.Event())
    join(threads)
    assert not errors, "\n".join(errors)
    assert len(after) == 2 * WORKERS * RECOVERY_ROUNDS
    assert all(call.status == (201 if call.kind == "register" else 200) for call in after), [
        call for call in after if call.status >= 300
    ]
