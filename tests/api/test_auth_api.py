"""API sign-in (POST /api/v1/auth/token) and the caller's identity (GET /api/v1/me)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from casework.audit.models import AuditEntry
from casework.auth.models import ApiToken, User
from casework.extensions import db
from casework.models_base import utcnow
from tests.conftest import api_token
from tests.factories import PASSWORD, World

PROBLEM = "application/problem+json"


def ask_for_token(client: FlaskClient, email: str, password: str):
    return client.post("/api/v1/auth/token", json={"email": email, "password": password})


def assert_unauthorized_problem(response) -> dict:
    assert response.status_code == 401
    assert response.mimetype == PROBLEM
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    body = response.get_json()
    assert body["status"] == 401
    assert body["title"]
    return body


def change_user(app: Flask, email: str, **values) -> None:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        for key, value in values.items():
            setattr(user, key, value)
        db.session.commit()


def change_tokens(app: Flask, email: str, **values) -> None:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        for row in db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)):
            for key, value in values.items():
                setattr(row, key, value)
        db.session.commit()


# --- Getting a token -------------------------------------------------------------------------


def test_right_password_gets_a_token_and_its_expiry(app: Flask, client, world: World) -> None:
    before = utcnow()
    response = ask_for_token(client, world.users["caseworker"], PASSWORD)

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"token", "expires_at"}
    assert len(body["token"]) >= 32
    expires_at = datetime.fromisoformat(body["expires_at"])
    assert expires_at.tzinfo is not None
    lifetime = timedelta(hours=app.config["API_TOKEN_HOURS"])
    assert before + lifetime - timedelta(minutes=1) <= expires_at <= utcnow() + lifetime


def test_token_opens_the_api_for_its_owner(client, world: World) -> None:
    headers = api_token(client, world.users["caseworker"])
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 200
    assert response.get_json()["email"] == world.users["caseworker"]


def test_email_is_matched_whatever_its_case(client, world: World) -> None:
    response = ask_for_token(client, "  CaseWorker@Test.EXAMPLE ", PASSWORD)
    assert response.status_code == 200


def test_each_sign_in_issues_a_new_token(client, world: World) -> None:
    first = ask_for_token(client, world.users["caseworker"], PASSWORD).get_json()["token"]
    second = ask_for_token(client, world.users["caseworker"], PASSWORD).get_json()["token"]
    assert first != second


def test_only_a_digest_of_the_token_is_stored(app: Flask, client, world: World) -> None:
    token = ask_for_token(client, world.users["caseworker"], PASSWORD).get_json()["token"]
    with app.app_context():
        stored = db.session.scalars(select(ApiToken.token_hash)).all()
    assert token not in stored
    assert hashlib.sha256(token.encode()).hexdigest() in stored


# --- Refusing a sign-in ----------------------------------------------------------------------


def test_wrong_password_and_unknown_email_get_the_same_answer(client, world: World) -> None:
    wrong_password = ask_for_token(client, world.users["caseworker"], "not the password at all")
    unknown_email = ask_for_token(client, "nobody@test.example", "not the password at all")

    assert_unauthorized_problem(wrong_password)
    assert_unauthorized_problem(unknown_email)
    assert wrong_password.get_json() == unknown_email.get_json()
    assert wrong_password.headers["Content-Type"] == unknown_email.headers["Content-Type"]
    assert "token" not in wrong_password.get_json()


def test_deactivated_account_gets_the_same_answer_as_a_wrong_password(
    app: Flask, client, world: World
) -> None:
    change_user(app, world.users["ngo"], active=False)
    deactivated = ask_for_token(client, world.users["ngo"], PASSWORD)
    wrong_password = ask_for_token(client, world.users["caseworker"], "not the password at all")

    assert_unauthorized_problem(deactivated)
    assert deactivated.get_json() == wrong_password.get_json()


def test_failed_sign_in_is_audited_without_the_password(app: Flask, client, world: World) -> None:
    ask_for_token(client, world.users["caseworker"], "a guessed password 123")
    with app.app_context():
        entries = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "auth.signin_failed")
        ).all()
        assert [entry.user_id for entry in entries] == [world.user_ids["caseworker"]]
        assert "a guessed password 123" not in str(entries[0].data)


def test_account_is_locked_after_too_many_wrong_passwords(app: Flask, client, world: World) -> None:
    email = world.users["caseworker2"]
    for _ in range(app.config["LOCKOUT_THRESHOLD"]):
        assert ask_for_token(client, email, "not the password at all").status_code == 401

    locked = ask_for_token(client, email, PASSWORD)

    body = assert_unauthorized_problem(locked)
    assert "token" not in body
    assert body["title"] == "Account locked"
    assert "locked_until" in body


@pytest.mark.parametrize(
    ("payload", "missing"),
    [({"email": "caseworker@test.example"}, "password"), ({"password": PASSWORD}, "email")],
)
def test_token_request_without_a_credential_names_the_missing_field(
    client, world: World, payload: dict, missing: str
) -> None:
    response = client.post("/api/v1/auth/token", json=payload)
    assert response.status_code == 422
    assert response.mimetype == PROBLEM
    assert missing in response.get_json()["errors"]


def test_token_request_with_malformed_json_is_a_bad_request(client, world: World) -> None:
    response = client.post(
        "/api/v1/auth/token", data='{"email": "caseworker@', content_type="application/json"
    )
    assert response.status_code == 400
    assert response.mimetype == PROBLEM


# --- Who am I --------------------------------------------------------------------------------


def test_me_describes_the_caller_and_their_organisation(client, world: World) -> None:
    headers = api_token(client, world.users["caseworker"])
    body = client.get("/api/v1/me", headers=headers).get_json()

    assert body["id"] == world.user_ids["caseworker"]
    assert body["email"] == world.users["caseworker"]
    assert body["name"] == "Caseworker"
    assert body["role"] == "caseworker"
    assert body["organisation"] == {
        "id": world.orgs["RAB"],
        "name": "Organisation RAB",
        "kind": "foreigners_office",
    }


def test_me_never_shows_password_hash_or_token(client, world: World) -> None:
    headers = api_token(client, world.users["caseworker"])
    body = client.get("/api/v1/me", headers=headers).get_json()
    assert "password" not in str(body).lower()
    assert headers["Authorization"].split()[1] not in str(body)


def test_me_tells_a_regional_supervisor_their_region(client, world: World) -> None:
    headers = api_token(client, world.users["regional"])
    body = client.get("/api/v1/me", headers=headers).get_json()
    assert body["role"] == "supervisor"
    assert body["region_code"] == "04"


def test_me_tells_an_ngo_worker_they_belong_to_an_ngo(client, world: World) -> None:
    headers = api_token(client, world.users["ngo"])
    organisation = client.get("/api/v1/me", headers=headers).get_json()["organisation"]
    assert organisation == {"id": world.orgs["NGO1"], "name": "Organisation NGO1", "kind": "ngo"}


# --- Calls that carry no valid token ----------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer not-a-token-we-issued",
        "Bearer ",
        "Basic Y2FzZXdvcmtlckB0ZXN0LmV4YW1wbGU6cGFzc3dvcmQ=",
        "not-even-a-scheme",
    ],
    ids=["no header", "unknown token", "empty bearer", "basic auth", "garbage"],
)
def test_me_without_a_valid_bearer_token_is_unauthorized(
    client, world: World, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    assert_unauthorized_problem(client.get("/api/v1/me", headers=headers))


def test_expired_token_no_longer_opens_the_api(app: Flask, client, world: World) -> None:
    headers = api_token(client, world.users["caseworker"])
    change_tokens(app, world.users["caseworker"], expires_at=utcnow() - timedelta(seconds=1))
    assert_unauthorized_problem(client.get("/api/v1/me", headers=headers))


def test_revoked_token_no_longer_opens_the_api(app: Flask, client, world: World) -> None:
    headers = api_token(client, world.users["caseworker"])
    change_tokens(app, world.users["caseworker"], revoked_at=utcnow())
    assert_unauthorized_problem(client.get("/api/v1/me", headers=headers))


def test_token_of_a_deactivated_account_no_longer_opens_the_api(
    app: Flask, client, world: World
) -> None:
    headers = api_token(client, world.users["caseworker"])
    change_user(app, world.users["caseworker"], active=False)
    assert_unauthorized_problem(client.get("/api/v1/me", headers=headers))


def test_people_list_without_a_token_is_unauthorized_not_redirected(client, world: World) -> None:
    response = client.get("/api/v1/people")
    assert_unauthorized_problem(response)
    assert "Location" not in response.headers
