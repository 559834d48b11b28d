"""Signing in (issue #2): one sign-in for pages and API, lockout, sessions, password hashes.

Pages and API share `casework.auth.operations.authenticate`, so a lockout earned on one
channel holds on the other. Messages are checked in English (`Accept-Language: en`): that is the
catalogue's source language, so the checks hold whether or not the catalogues are compiled.
"""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import format_datetime
from sqlalchemy import select

from casework import create_app
from casework.auth.models import User
from casework.auth.passwords import hash_password, needs_rehash
from casework.extensions import db
from casework.models_base import as_utc, utcnow
from config import load_settings
from tests.factories import PASSWORD, World

ENGLISH = {"Accept-Language": "en"}
WRONG_PASSWORD = "not the right password at all"
LOCKOUT_THRESHOLD = 10


# --- helpers ---------------------------------------------------------------------------------


def web_sign_in(client: FlaskClient, email: str, password: str = PASSWORD, **kwargs):
    return client.post(
        "/sign-in", data={"email": email, "password": password}, headers=ENGLISH, **kwargs
    )


def api_sign_in(client: FlaskClient, email: str, password: str = PASSWORD):
    return client.post(
        "/api/v1/auth/token", json={"email": email, "password": password}, headers=ENGLISH
    )


def alerts(response) -> list[str]:
    """The flashed messages shown on a page, as plain text."""
    page = response.get_data(as_text=True)
    found = re.findall(r'<div class="alert alert-\w+" role="\w+">(.*?)</div>', page, re.S)
    return [html.unescape(text).strip() for text in found]


def user_row(app: Flask, email: str) -> User:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        db.session.expunge(user)
        return user


def update_user_row(app: Flask, email: str, **values) -> None:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        for key, value in values.items():
            setattr(user, key, value)
        db.session.commit()


def fail_web_sign_ins(client: FlaskClient, email: str, times: int) -> None:
    for _ in range(times):
        response = web_sign_in(client, email, WRONG_PASSWORD)
        assert response.status_code == 200


def is_signed_in(client: FlaskClient) -> bool:
    response = client.get("/home")
    if response.status_code == 200:
        return True
    assert response.status_code == 302
    assert "/sign-in" in response.headers["Location"]
    return False


def expected_retry_time(app: Flask, locked_until) -> str:
    """How the sign-in page writes the end of the lock for an English reader."""
    with app.test_request_context(headers=ENGLISH):
        return format_datetime(as_utc(locked_until), "short")


# --- same answer for a wrong password and an unknown email ------------------------------------


def test_wrong_password_and_unknown_email_get_the_same_page_and_message(
    app: Flask, world: World
) -> None:
    wrong_password = web_sign_in(app.test_client(), world.users["caseworker"], WRONG_PASSWORD)
    unknown_email = web_sign_in(app.test_client(), "nobody@test.example", WRONG_PASSWORD)

    assert wrong_password.status_code == unknown_email.status_code == 200
    assert alerts(wrong_password) == alerts(unknown_email) == ["Wrong email or password."]


def test_wrong_password_and_unknown_email_get_the_same_api_problem(
    app: Flask, world: World
) -> None:
    wrong_password = api_sign_in(app.test_client(), world.users["caseworker"], WRONG_PASSWORD)
    unknown_email = api_sign_in(app.test_client(), "nobody@test.example", WRONG_PASSWORD)

    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.mimetype == unknown_email.mimetype == "application/problem+json"
    assert wrong_password.get_json() == unknown_email.get_json()
    assert wrong_password.get_json()["detail"] == "Wrong email or password."
    assert "token" not in wrong_password.get_json()


def test_a_failed_sign_in_does_not_sign_in_and_keeps_no_password_in_the_page(
    app: Flask, world: World
) -> None:
    client = app.test_client()
    response = web_sign_in(client, world.users["caseworker"], WRONG_PASSWORD)

    assert WRONG_PASSWORD not in response.get_data(as_text=True)
    assert not is_signed_in(client)


def test_email_is_matched_whatever_its_case_and_surrounding_spaces(
    app: Flask, world: World
) -> None:
    client = app.test_client()
    response = web_sign_in(client, f"  {world.users['caseworker'].upper()} ")

    assert response.status_code == 302
    assert is_signed_in(client)


def test_a_successful_sign_in_leads_home_or_to_a_local_next_page_only(
    app: Flask, world: World
) -> None:
    home = web_sign_in(app.test_client(), world.users["caseworker"])
    local = web_sign_in(
        app.test_client(), world.users["caseworker"], query_string={"next": "/people"}
    )
    foreign = web_sign_in(
        app.test_client(), world.users["caseworker"], query_string={"next": "//evil.example/x"}
    )

    assert home.status_code == local.status_code == foreign.status_code == 302
    assert home.headers["Location"] == "/"
    assert local.headers["Location"] == "/people"
    assert "evil.example" not in foreign.headers["Location"]


# --- lockout ---------------------------------------------------------------------------------


def test_ten_failed_sign_ins_refuse_even_the_right_password_on_web_and_api(
    app: Flask, world: World
) -> None:
    email = world.users["caseworker"]
    client = app.test_client()
    fail_web_sign_ins(client, email, LOCKOUT_THRESHOLD)

    web = web_sign_in(client, email, PASSWORD)
    api = api_sign_in(app.test_client(), email, PASSWORD)

    assert web.status_code == 200
    assert "Too many failed attempts" in " ".join(alerts(web))
    assert not is_signed_in(client)
    assert api.status_code == 401
    assert api.get_json()["title"] == "Account locked"
    assert "token" not in api.get_json()


def test_the_lock_lasts_fifteen_minutes(app: Flask, world: World) -> None:
    email = world.users["caseworker"]
    before = utcnow()
    fail_web_sign_ins(app.test_client(), email, LOCKOUT_THRESHOLD)
    after = utcnow()

    locked_until = as_utc(user_row(app, email).locked_until)
    assert before + timedelta(minutes=15) <= locked_until + timedelta(seconds=1)
    assert locked_until <= after + timedelta(minutes=15, seconds=1)


def test_nine_failures_do_not_lock_and_a_success_starts_the_count_again(
    app: Flask, world: World
) -> None:
    email = world.users["caseworker"]
    fail_web_sign_ins(app.test_client(), email, LOCKOUT_THRESHOLD - 1)

    assert user_row(app, email).locked_until is None
    assert web_sign_in(app.test_client(), email).status_code == 302
    assert user_row(app, email).failed_signins == 0

    # Nine more failures after the success still do not lock the account.
    fail_web_sign_ins(app.test_client(), email, LOCKOUT_THRESHOLD - 1)
    assert user_row(app, email).locked_until is None
    assert web_sign_in(app.test_client(), email).status_code == 302


def test_failures_through_the_api_lock_the_web_sign_in_too(app: Flask, world: World) -> None:
    email = world.users["caseworker"]
    api_client = app.test_client()
    for _ in range(LOCKOUT_THRESHOLD):
        assert api_sign_in(api_client, email, WRONG_PASSWORD).status_code == 401

    client = app.test_client()
    web = web_sign_in(client, email, PASSWORD)
    assert "Too many failed attempts" in " ".join(alerts(web))
    assert not is_signed_in(client)


def test_failures_on_both_channels_add_up(app: Flask, world: World) -> None:
    email = world.users["caseworker"]
    fail_web_sign_ins(app.test_client(), email, LOCKOUT_THRESHOLD // 2)
    for _ in range(LOCKOUT_THRESHOLD - LOCKOUT_THRESHOLD // 2):
        api_sign_in(app.test_client(), email, WRONG_PASSWORD)

    assert api_sign_in(app.test_client(), email, PASSWORD).get_json()["title"] == "Account locked"


def test_a_locked_account_is_told_when_to_try_again(app: Flask, world: World) -> None:
    email = world.users["caseworker"]
    fail_web_sign_ins(app.test_client(), email, LOCKOUT_THRESHOLD)
    locked_until = as_utc(user_row(app, email).locked_until)
    when = expected_retry_time(app, locked_until)

    web = web_sign_in(app.test_client(), email, PASSWORD)
    api = api_sign_in(app.test_client(), email, PASSWORD).get_json()

    assert alerts(web) == [f"Too many failed attempts. Try again after {when}."]
    assert api["detail"] == f"Too many failed attempts. Try again after {when}."
    assert api["locked_until"] == locked_until.isoformat()


def test_attempts_while_locked_do_not_extend_the_lock(app: Flask, world: World) -> None:
    email = world.users["caseworker"]
    fail_web_sign_ins(app.test_client(), email, LOCKOUT_THRESHOLD)
    locked_until = as_utc(user_row(app, email).locked_until)

    fail_web_sign_ins(app.test_client(), email, 3)
    web_sign_in(app.test_client(), email, PASSWORD)

    assert as_utc(user_row(app, email).locked_until) == locked_until


def test_the_right_password_is_accepted_once_the_lock_has_expired(app: Flask, world: World) -> None:
    email = world.users["caseworker"]
    fail_web_sign_ins(app.test_client(), email, LOCKOUT_THRESHOLD)
    assert web_sign_in(app.test_client(), email).status_code == 200

    update_user_row(app, email, locked_until=utcnow() - timedelta(seconds=1))

    client = app.test_client()
    assert web_sign_in(client, email).status_code == 302
    assert is_signed_in(client)
    assert api_sign_in(app.test_client(), email).status_code == 200
    assert user_row(app, email).locked_until is None


def test_a_lock_does_not_spill_over_to_other_accounts(app: Flask, world: World) -> None:
    fail_web_sign_ins(app.test_client(), world.users["caseworker"], LOCKOUT_THRESHOLD)

    assert web_sign_in(app.test_client(), world.users["caseworker2"]).status_code == 302


def test_failed_sign_ins_with_an_unknown_email_lock_nothing(app: Flask, world: World) -> None:
    fail_web_sign_ins(app.test_client(), "nobody@test.example", LOCKOUT_THRESHOLD + 1)

    response = web_sign_in(app.test_client(), "nobody@test.example", WRONG_PASSWORD)
    assert alerts(response) == ["Wrong email or password."]


def test_an_empty_password_never_signs_in_even_against_a_hash_of_nothing(
    app: Flask, world: World
) -> None:
    """Defence in depth: an account whose stored hash is of the empty string (as the admin form
    once created when its password field was left empty) still cannot be signed into."""
    email = world.users["caseworker"]
    update_user_row(app, email, password_hash=hash_password(""))

    api = api_sign_in(app.test_client(), email, "")
    web = web_sign_in(app.test_client(), email, "")

    assert api.status_code == 401
    assert "token" not in api.get_json()
    assert web.status_code == 200


# --- the session cookie ----------------------------------------------------------------------


def session_cookie_header(response, name: str = "casework_session") -> str:
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")]
    assert headers, response.headers.getlist("Set-Cookie")
    return headers[-1]


def test_the_session_cookie_is_http_only_and_same_site_lax(app: Flask, world: World) -> None:
    response = web_sign_in(app.test_client(), world.users["caseworker"])

    attributes = [part.strip().lower() for part in session_cookie_header(response).split(";")]
    assert "httponly" in attributes
    assert "samesite=lax" in attributes


def test_production_settings_make_the_session_cookie_secure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SECRET_KEY", "a-production-secret-key-for-this-test-only-0123456789")
    settings = load_settings("production")

    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["SESSION_COOKIE_HTTPONLY"] is True
    assert settings["SESSION_COOKIE_SAMESITE"] == "Lax"
    # The __Host- prefix makes browsers insist on Secure, no Domain and Path=/.
    assert settings["SESSION_COOKIE_NAME"].startswith("__Host-")
    assert settings["FORCE_HTTPS"] is True


def test_production_refuses_to_start_without_a_secret_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)

    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        load_settings("production")


# --- CSRF ------------------------------------------------------------------------------------


@pytest.fixture
def csrf_app(app: Flask, database_url: str, tmp_path) -> Flask:
    """A second app on the session's database, with CSRF protection on as in production."""
    csrf_app = create_app(
        "testing",
        {
            "WTF_CSRF_ENABLED": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "UPLOAD_DIR": str(tmp_path),
        },
    )
    yield csrf_app
    with csrf_app.app_context():
        db.session.remove()
        db.engine.dispose()


def csrf_token(page: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page
    )
    assert match, "no CSRF token in the page"
    return match.group(1)


def test_forms_refuse_a_post_without_csrf_token(csrf_app: Flask, world: World) -> None:
    client = csrf_app.test_client()
    response = client.post(
        "/sign-in", data={"email": world.users["caseworker"], "password": PASSWORD}
    )

    assert response.status_code == 400
    assert not is_signed_in(client)


def test_forms_refuse_a_forged_csrf_token(csrf_app: Flask, world: World) -> None:
    client = csrf_app.test_client()
    client.get("/sign-in")
    response = client.post(
        "/sign-in",
        data={"email": world.users["caseworker"], "password": PASSWORD, "csrf_token": "forged"},
    )

    assert response.status_code == 400


def test_forms_accept_a_post_with_the_page_csrf_token(csrf_app: Flask, world: World) -> None:
    client = csrf_app.test_client()
    token = csrf_token(client.get("/sign-in").get_data(as_text=True))
    response = client.post(
        "/sign-in",
        data={"email": world.users["caseworker"], "password": PASSWORD, "csrf_token": token},
    )

    assert response.status_code == 302
    assert is_signed_in(client)
    # Signing out is a form too: without its token it changes nothing.
    assert client.post("/sign-out").status_code == 400
    assert is_signed_in(client)


def test_the_api_uses_bearer_tokens_and_needs_no_csrf_token(csrf_app: Flask, world: World) -> None:
    response = api_sign_in(csrf_app.test_client(), world.users["caseworker"])

    assert response.status_code == 200
    assert response.get_json()["token"]


# --- ending sessions -------------------------------------------------------------------------


def replay(app: Flask, cookie_value: str) -> FlaskClient:
    client = app.test_client()
    client.set_cookie("casework_session", cookie_value, domain="localhost")
    return client


def test_sign_out_ends_the_session_even_for_a_replayed_cookie(app: Flask, world: World) -> None:
    email = world.users["caseworker"]
    client = app.test_client()
    web_sign_in(client, email)
    stolen = client.get_cookie("casework_session").value
    assert is_signed_in(replay(app, stolen))
    version = user_row(app, email).session_version

    response = client.post("/sign-out")

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/sign-in")
    assert "cookies" in response.headers["Clear-Site-Data"]
    assert user_row(app, email).session_version == version + 1
    assert not is_signed_in(client)
    assert not is_signed_in(replay(app, stolen))


def test_sign_out_ends_every_session_of_the_account(app: Flask, world: World) -> None:
    email = world.users["caseworker"]
    laptop, phone = app.test_client(), app.test_client()
    web_sign_in(laptop, email)
    web_sign_in(phone, email)

    laptop.post("/sign-out")

    assert not is_signed_in(phone)
    # ... and a new sign-in works as usual.
    assert web_sign_in(phone, email).status_code == 302
    assert is_signed_in(phone)


def test_changing_the_password_signs_out_other_sessions_but_not_this_one(
    app: Flask, world: World
) -> None:
    email = world.users["caseworker"]
    new_password = "a brand new passphrase for the office"
    this, other = app.test_client(), app.test_client()
    web_sign_in(this, email)
    web_sign_in(other, email)

    response = this.post(
        "/account",
        data={
            "form": "password",
            "pw-current_password": PASSWORD,
            "pw-new_password": new_password,
            "pw-confirm": new_password,
        },
    )

    assert response.status_code == 302
    assert is_signed_in(this)
    assert not is_signed_in(other)
    assert web_sign_in(app.test_client(), email, PASSWORD).status_code == 200
    assert web_sign_in(app.test_client(), email, new_password).status_code == 302


def test_changing_the_password_needs_the_current_one(app: Flask, world: World) -> None:
    email = world.users["caseworker"]
    new_password = "a brand new passphrase for the office"
    this, other = app.test_client(), app.test_client()
    web_sign_in(this, email)
    web_sign_in(other, email)
    before = user_row(app, email)

    response = this.post(
        "/account",
        data={
            "form": "password",
            "pw-current_password": WRONG_PASSWORD,
            "pw-new_password": new_password,
            "pw-confirm": new_password,
        },
    )

    assert response.status_code == 200
    assert "This is not your current password." in response.get_data(as_text=True)
    after = user_row(app, email)
    assert after.password_hash == before.password_hash
    assert after.session_version == before.session_version
    assert is_signed_in(other)


def test_a_deactivated_account_cannot_sign_in_on_web_or_api(app: Flask, world: World) -> None:
    email = world.users["caseworker"]
    update_user_row(app, email, active=False)

    client = app.test_client()
    web = web_sign_in(client, email)
    api = api_sign_in(app.test_client(), email)

    assert web.status_code == 200
    assert alerts(web) == ["Wrong email or password."]
    assert not is_signed_in(client)
    assert api.status_code == 401
    assert api.get_json()["detail"] == "Wrong email or password."


def test_a_deactivated_account_loses_its_open_session_and_api_token(
    app: Flask, world: World
) -> None:
    email = world.users["caseworker"]
    client = app.test_client()
    web_sign_in(client, email)
    token = api_sign_in(app.test_client(), email).get_json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert app.test_client().get("/api/v1/me", headers=bearer).status_code == 200

    update_user_row(app, email, active=False)

    assert not is_signed_in(client)
    assert app.test_client().get("/api/v1/me", headers=bearer).status_code == 401


# --- password hashes -------------------------------------------------------------------------


def test_passwords_are_stored_as_argon2id_hashes(app: Flask, world: World) -> None:
    with app.app_context():
        stored = hash_password("a passphrase that nobody guesses")

    assert stored.startswith("$argon2id$")
    assert "a passphrase that nobody guesses" not in stored
    assert user_row(app, world.users["caseworker"]).password_hash.startswith("$argon2id$")


def test_the_same_password_hashes_differently_each_time(app: Flask) -> None:
    with app.app_context():
        assert hash_password(PASSWORD) != hash_password(PASSWORD)


def weak_hash(password: str) -> str:
    """A hash made with parameters below the current ones, as an older release stored it."""
    return PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(password)


def test_sign_in_rehashes_a_password_stored_with_weaker_parameters(
    app: Flask, world: World
) -> None:
    email = world.users["caseworker"]
    old_hash = weak_hash(PASSWORD)
    assert needs_rehash(old_hash)
    update_user_row(app, email, password_hash=old_hash)

    assert web_sign_in(app.test_client(), email).status_code == 302

    new_hash = user_row(app, email).password_hash
    assert new_hash != old_hash
    assert new_hash.startswith("$argon2id$")
    assert not needs_rehash(new_hash)
    assert PasswordHasher().verify(new_hash, PASSWORD)
    # The upgraded hash still lets the user in.
    assert web_sign_in(app.test_client(), email).status_code == 302


def test_an_api_sign_in_rehashes_too(app: Flask, world: World) -> None:
    email = world.users["caseworker"]
    update_user_row(app, email, password_hash=weak_hash(PASSWORD))

    assert api_sign_in(app.test_client(), email).status_code == 200
    assert not needs_rehash(user_row(app, email).password_hash)


def test_a_failed_sign_in_does_not_rehash(app: Flask, world: World) -> None:
    email = world.users["caseworker"]
    old_hash = weak_hash(PASSWORD)
    update_user_row(app, email, password_hash=old_hash)

    web_sign_in(app.test_client(), email, WRONG_PASSWORD)

    assert user_row(app, email).password_hash == old_hash


def test_a_current_hash_is_kept_on_sign_in(app: Flask, world: World) -> None:
    email = world.users["caseworker"]
    old_hash = user_row(app, email).password_hash

    web_sign_in(app.test_client(), email)

    assert user_row(app, email).password_hash == old_hash


def test_sign_in_rehashes_when_the_hasher_parameters_are_raised(
    app: Flask, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from casework.auth import passwords

    email = world.users["caseworker"]
    old_hash = user_row(app, email).password_hash
    stronger = PasswordHasher(time_cost=4, memory_cost=64 * 1024, parallelism=4)
    monkeypatch.setattr(passwords, "_hasher", stronger)

    assert web_sign_in(app.test_client(), email).status_code == 302

    new_hash = user_row(app, email).password_hash
    assert new_hash != old_hash
    assert "t=4" in new_hash
    assert not stronger.check_needs_rehash(new_hash)
