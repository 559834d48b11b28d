"""Password rules (issue #2, ASVS 5.0): 12 characters or more, not a common password, and no
composition rules (no "one digit, one capital, one symbol")."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from casework.auth.models import User
from casework.auth.passwords import common_passwords, password_problems
from casework.extensions import db
from tests.factories import PASSWORD, World

ENGLISH = {"Accept-Language": "en"}


def problems(app: Flask, password: str, **kwargs) -> list[str]:
    with app.test_request_context(headers=ENGLISH):
        return password_problems(password, **kwargs)


@pytest.mark.parametrize(
    "password",
    ["", "a", "short", "elevenchars", "Tr0ub4dor&3", "ab cd ef gh"],
)
def test_passwords_under_twelve_characters_are_refused(app: Flask, password: str) -> None:
    assert len(password) < 12
    assert problems(app, password) == ["Use at least 12 characters."]


def test_twelve_characters_are_enough(app: Flask) -> None:
    assert problems(app, "tablechairpe") == []
    assert problems(app, "tablechairp") == ["Use at least 12 characters."]


def test_the_length_counts_characters_not_bytes(app: Flask) -> None:
    # Twelve Arabic letters are twelve characters (and 24 bytes in UTF-8).
    assert problems(app, "كلمةسرطويلةج") == []
    assert problems(app, "كلمةسرطويلة") == ["Use at least 12 characters."]


@pytest.mark.parametrize(
    "password",
    ["password1234", "azertyuiop123", "123456789012", "aaaaaaaaaaaa", "1q2w3e4r5t6y"],
)
def test_common_passwords_are_refused_whatever_their_length(app: Flask, password: str) -> None:
    assert len(password) >= 12
    assert problems(app, password) == [
        "This password is too common or too easy to guess; choose another."
    ]


@pytest.mark.parametrize("password", ["PASSWORD1234", "Password1234", "AzertyUiop123"])
def test_common_passwords_are_refused_whatever_their_case(app: Flask, password: str) -> None:
    assert problems(app, password) == [
        "This password is too common or too easy to guess; choose another."
    ]


def test_the_deny_list_is_loaded_without_its_comments(app: Flask) -> None:
    deny_list = common_passwords()

    assert len(deny_list) > 500
    assert "password1234" in deny_list
    assert "azertyuiop123" in deny_list
    assert not any(entry.startswith("#") for entry in deny_list)
    assert all(entry == entry.casefold() for entry in deny_list)


def test_the_email_or_its_local_part_is_refused_as_a_password(app: Flask) -> None:
    email = "fatima.zahra.bennani@test.example"

    assert problems(app, email, email=email) != []
    assert problems(app, "Fatima.Zahra.Bennani", email=email) != []
    assert problems(app, "a longer sentence about the sea", email=email) == []


def test_the_name_is_refused_as_a_password(app: Flask) -> None:
    assert problems(app, "Fatima Zahra Bennani", name="Fatima Zahra Bennani") != []


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery staple",  # lowercase words and spaces only
        "theseaisbluetoday",  # lowercase letters only, no digit, no symbol
        "le soleil se lève sur rabat",  # accented letters
        "الشمس تشرق على الرباط",  # Arabic script
        "746382910564",  # digits only, but not a common sequence
    ],
)
def test_no_composition_rules_a_long_passphrase_is_accepted(app: Flask, password: str) -> None:
    assert problems(app, password) == []


def test_very_long_passwords_are_accepted_up_to_the_maximum(app: Flask) -> None:
    maximum = app.config["PASSWORD_MAX_LENGTH"]

    assert problems(app, "word " * (maximum // 5)) == []
    assert problems(app, "x" * (maximum + 1)) == [f"Use at most {maximum} characters."]


def test_a_short_common_password_gets_both_reasons(app: Flask) -> None:
    # "abc12312" is on the deny list and is 8 characters long.
    assert problems(app, "abc12312") == [
        "Use at least 12 characters.",
        "This password is too common or too easy to guess; choose another.",
    ]


# --- the rules apply where users choose passwords ---------------------------------------------


def change_password(client, new_password: str):
    return client.post(
        "/account",
        data={
            "form": "password",
            "pw-current_password": PASSWORD,
            "pw-new_password": new_password,
            "pw-confirm": new_password,
        },
    )


def stored_hash(app: Flask, email: str) -> str:
    with app.app_context():
        return db.session.scalar(select(User.password_hash).where(User.email == email))


@pytest.mark.parametrize(
    ("new_password", "message"),
    [
        ("too short", "Use at least 12 characters."),
        ("password1234", "This password is too common or too easy to guess; choose another."),
    ],
)
def test_changing_to_a_refused_password_keeps_the_old_one(
    app: Flask, world: World, new_password: str, message: str
) -> None:
    email = world.users["caseworker"]
    client = app.test_client()
    client.post("/sign-in", data={"email": email, "password": PASSWORD})
    before = stored_hash(app, email)

    response = change_password(client, new_password)

    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert stored_hash(app, email) == before


def test_changing_to_a_lowercase_passphrase_is_accepted(app: Flask, world: World) -> None:
    email = world.users["caseworker"]
    client = app.test_client()
    client.post("/sign-in", data={"email": email, "password": PASSWORD})
    before = stored_hash(app, email)

    response = change_password(client, "the orange tree by the window")

    assert response.status_code == 302
    assert stored_hash(app, email) != before


def test_the_new_password_must_be_typed_twice_the_same(app: Flask, world: World) -> None:
    email = world.users["caseworker"]
    client = app.test_client()
    client.post("/sign-in", data={"email": email, "password": PASSWORD})
    before = stored_hash(app, email)

    response = client.post(
        "/account",
        data={
            "form": "password",
            "pw-current_password": PASSWORD,
            "pw-new_password": "the orange tree by the window",
            "pw-confirm": "the orange tree by the door",
        },
    )

    assert response.status_code == 200
    assert stored_hash(app, email) == before
