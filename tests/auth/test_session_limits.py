"""Sessions end after 30 idle minutes and 12 hours in all (ASVS 7.3), and sign-in starts a new
session."""

from __future__ import annotations

import time

from flask import Flask

from tests.conftest import sign_in
from tests.factories import World


def _age_session(client, **seconds_ago: float) -> None:
    with client.session_transaction() as session:
        now = time.time()
        for key, ago in seconds_ago.items():
            session[key] = now - ago


def test_an_idle_session_ends_after_thirty_minutes(app: Flask, world: World) -> None:
    client = app.test_client()
    sign_in(client, world.users["caseworker"])
    assert client.get("/home").status_code == 200
    _age_session(client, seen_at=31 * 60)
    response = client.get("/home")
    assert response.status_code == 302
    assert "/sign-in" in response.headers["Location"]


def test_an_active_session_ends_after_twelve_hours(app: Flask, world: World) -> None:
    client = app.test_client()
    sign_in(client, world.users["caseworker"])
    _age_session(client, signed_in_at=12 * 3600 + 60, seen_at=60)
    assert client.get("/home").status_code == 302


def test_activity_keeps_a_session_alive(app: Flask, world: World) -> None:
    client = app.test_client()
    sign_in(client, world.users["caseworker"])
    _age_session(client, seen_at=29 * 60)
    assert client.get("/home").status_code == 200
    assert client.get("/home").status_code == 200


def test_signing_in_starts_a_new_session(app: Flask, world: World) -> None:
    client = app.test_client()
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    sign_in(client, world.users["caseworker"])
    with client.session_transaction() as session:
        assert "planted" not in session
