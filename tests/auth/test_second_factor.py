"""TOTP second factor: enrolment with a QR code, sign-in with a code, one-time codes, recovery
codes, the API's otp, and roles that must use it (MFA_REQUIRED_ROLES)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from flask import Flask

from casework.auth.models import User
from casework.extensions import db
from tests.conftest import sign_in
from tests.factories import PASSWORD, World


def _enrol(app: Flask, client, email: str) -> tuple[str, list[str]]:
    assert sign_in(client, email).status_code == 302
    page = client.post("/account/second-factor", data={"step": "start", "password": PASSWORD})
    assert page.status_code == 200
    assert b"<svg" in page.data  # the QR code, drawn inline
    secret = re.search(rb"<code>([A-Z2-7]{32})</code>", page.data).group(1).decode()
    code = pyotp.TOTP(secret).now()
    done = client.post("/account/second-factor", data={"step": "confirm", "code": code})
    codes = re.findall(rb"<li><code>([0-9a-f]{6}-[0-9a-f]{6})</code></li>", done.data)
    assert len(codes) == 10
    client.post("/sign-out", data={})
    return secret, [c.decode() for c in codes]


def _next_code(secret: str, steps: int = 1) -> str:
    return pyotp.TOTP(secret).at(datetime.now(UTC) + timedelta(seconds=30 * steps))


def test_enrolment_asks_for_the_password_first(app: Flask, world: World) -> None:
    client = app.test_client()
    sign_in(client, world.users["caseworker"])
    page = client.post("/account/second-factor", data={"step": "start", "password": "wrong"})
    assert b"<svg" not in page.data


def test_signing_in_then_asks_for_a_code(app: Flask, world: World) -> None:
    client = app.test_client()
    secret, _ = _enrol(app, client, world.users["caseworker"])
    response = sign_in(client, world.users["caseworker"])
    assert "/sign-in/second-factor" in response.headers["Location"]
    assert client.get("/home").status_code == 302  # not signed in yet
    wrong = client.post("/sign-in/second-factor", data={"code": "000000"})
    assert wrong.status_code == 200
    ok = client.post("/sign-in/second-factor", data={"code": _next_code(secret)})
    assert ok.status_code == 302
    assert client.get("/home").status_code == 200


def test_a_code_works_once(app: Flask, world: World) -> None:
    client = app.test_client()
    secret, _ = _enrol(app, client, world.users["caseworker"])
    code = _next_code(secret)
    sign_in(client, world.users["caseworker"])
    assert client.post("/sign-in/second-factor", data={"code": code}).status_code == 302
    client.post("/sign-out", data={})
    other = app.test_client()
    sign_in(other, world.users["caseworker"])
    replay = other.post("/sign-in/second-factor", data={"code": code})
    assert replay.status_code == 200  # refused: shown the form again
    assert other.get("/home").status_code == 302


def test_a_recovery_code_works_once(app: Flask, world: World) -> None:
    client = app.test_client()
    _, codes = _enrol(app, client, world.users["caseworker"])
    sign_in(client, world.users["caseworker"])
    assert client.post("/sign-in/second-factor", data={"code": codes[0]}).status_code == 302
    client.post("/sign-out", data={})
    sign_in(client, world.users["caseworker"])
    assert client.post("/sign-in/second-factor", data={"code": codes[0]}).status_code == 200


def test_the_token_endpoint_takes_the_otp(app: Flask, world: World) -> None:
    client = app.test_client()
    secret, _ = _enrol(app, client, world.users["caseworker"])
    body = {"email": world.users["caseworker"], "password": PASSWORD}
    missing = client.post("/api/v1/auth/token", json=body)
    assert missing.status_code == 401
    assert missing.mimetype == "application/problem+json"
    wrong = client.post("/api/v1/auth/token", json={**body, "otp": "123456"})
    assert wrong.status_code == 401
    code = _next_code(secret)
    assert client.post("/api/v1/auth/token", json={**body, "otp": code}).status_code == 200
    assert client.post("/api/v1/auth/token", json={**body, "otp": code}).status_code == 401


@pytest.fixture
def mfa_for_supervisors(app: Flask):
    app.config["MFA_REQUIRED_ROLES"] = {"supervisor", "admin"}
    yield
    app.config["MFA_REQUIRED_ROLES"] = set()


def test_a_role_that_requires_it_must_enrol_first(
    app: Flask, world: World, mfa_for_supervisors
) -> None:
    client = app.test_client()
    sign_in(client, world.users["supervisor"])
    response = client.get("/cases")
    assert response.status_code == 302
    assert "/account/second-factor" in response.headers["Location"]
    body = {"email": world.users["supervisor"], "password": PASSWORD}
    assert client.post("/api/v1/auth/token", json=body).status_code == 401
    # Roles that do not require it carry on without.
    other = app.test_client()
    sign_in(other, world.users["caseworker"])
    assert other.get("/cases").status_code == 200


def test_wrong_codes_count_towards_the_lockout(app: Flask, world: World) -> None:
    client = app.test_client()
    _enrol(app, client, world.users["caseworker"])
    sign_in(client, world.users["caseworker"])
    for _ in range(10):
        client.post("/sign-in/second-factor", data={"code": "000000"})
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == world.users["caseworker"]))
        assert user.is_locked
