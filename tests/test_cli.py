"""The `casework` command line: create-user, demo, reference load (and setup)."""

from __future__ import annotations

import re

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import func, select

from casework.admin.models import Organisation
from casework.audit.models import AuditEntry
from casework.auth.models import User
from casework.extensions import db
from casework.people.models import Person
from casework.reference.models import Country, Prefecture
from config import load_settings
from tests.factories import World

NEW_PASSWORD = "a long passphrase for the new account"
DEMO_PASSWORD = "demo passphrase for the tests"
DEMO_ROLES = {
    "admin@demo.test": "admin",
    "supervisor@demo.test": "supervisor",
    "caseworker@demo.test": "caseworker",
    "caseworker2@demo.test": "caseworker",
    "ngo@demo.test": "ngo",
    "auditor@demo.test": "auditor",
}
DEMO_EMAILS = set(DEMO_ROLES)
ARABIC = re.compile(r"[\u0600-\u06FF]")
FOREIGNERS_OFFICES = {"RAB", "CAS", "TNG", "OUJ", "FES"}


def invoke(app: Flask, *args: str, input: str | None = None) -> Result:
    return app.test_cli_runner().invoke(args=list(args), input=input)


def create_user(app: Flask, *options: str, password: str = NEW_PASSWORD) -> Result:
    return invoke(app, "create-user", *options, input=f"{password}\n{password}\n")


def user(app: Flask, email: str) -> User | None:
    with app.app_context():
        row = db.session.scalar(select(User).where(User.email == email))
        if row is not None:
            db.session.expunge(row)
        return row


def count(app: Flask, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


# --- create-user -----------------------------------------------------------------------------


def test_create_user_prompts_for_the_password_and_creates_the_account(
    app: Flask, world: World
) -> None:
    result = create_user(
        app,
        "--email",
        "Nouvelle.Agente@Test.Example",
        "--name",
        "Nouvelle Agente",
        "--role",
        "caseworker",
        "--organisation",
        "RAB",
    )

    assert result.exit_code == 0, result.output
    assert "Created nouvelle.agente@test.example (caseworker, RAB)." in result.output
    assert NEW_PASSWORD not in result.output  # prompted, never echoed
    created = user(app, "nouvelle.agente@test.example")
    assert created.name == "Nouvelle Agente"
    assert created.role == "caseworker"
    assert created.organisation_id == world.orgs["RAB"]
    assert created.active
    assert created.password_hash.startswith("$argon2id$")


def test_the_created_account_can_sign_in(app: Flask, world: World) -> None:
    create_user(
        app, "--email", "agent@test.example", "--role", "caseworker", "--organisation", "TNG"
    )

    response = app.test_client().post(
        "/sign-in", data={"email": "agent@test.example", "password": NEW_PASSWORD}
    )
    assert response.status_code == 302


def test_create_user_finds_the_organisation_by_name_too(app: Flask, world: World) -> None:
    result = create_user(
        app,
        "--email",
        "superviseur@test.example",
        "--role",
        "supervisor",
        "--organisation",
        "Organisation RAB",
        "--region",
        "04",
    )

    assert result.exit_code == 0, result.output
    created = user(app, "superviseur@test.example")
    assert created.organisation_id == world.orgs["RAB"]
    assert created.region_code == "04"
    assert created.name == "superviseur@test.example"  # the email when no name is given


def test_create_user_is_audited(app: Flask, world: World) -> None:
    create_user(app, "--email", "agent@test.example", "--role", "ngo", "--organisation", "NGO1")

    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.create"))
        assert entry is not None
        assert entry.user_id is None  # created from the command line, by nobody signed in
        assert entry.data == {"role": "ngo"}


def test_create_user_refuses_an_unknown_organisation(app: Flask, world: World) -> None:
    before = count(app, User)
    result = create_user(
        app, "--email", "agent@test.example", "--role", "caseworker", "--organisation", "XYZ"
    )

    assert result.exit_code != 0
    assert "no organisation 'XYZ'" in result.output
    assert count(app, User) == before


def test_create_user_refuses_a_short_password(app: Flask, world: World) -> None:
    result = create_user(
        app,
        "--email",
        "agent@test.example",
        "--role",
        "caseworker",
        "--organisation",
        "RAB",
        password="short",
    )

    assert result.exit_code != 0
    assert "password" in result.output.lower()
    assert "12" in result.output  # "Use at least 12 characters", in the default language
    assert user(app, "agent@test.example") is None


def test_create_user_refuses_a_common_password(app: Flask, world: World) -> None:
    result = create_user(
        app,
        "--email",
        "agent@test.example",
        "--role",
        "caseworker",
        "--organisation",
        "RAB",
        password="azertyuiop123",
    )

    assert result.exit_code != 0
    assert user(app, "agent@test.example") is None


def test_create_user_refuses_mismatched_passwords(app: Flask, world: World) -> None:
    result = invoke(
        app,
        "create-user",
        "--email",
        "agent@test.example",
        "--role",
        "caseworker",
        "--organisation",
        "RAB",
        input=f"{NEW_PASSWORD}\nsomething else entirely\n",
    )

    assert result.exit_code != 0
    assert user(app, "agent@test.example") is None


def test_create_user_refuses_an_email_already_in_use(app: Flask, world: World) -> None:
    before = user(app, world.users["caseworker"])
    result = create_user(
        app,
        "--email",
        world.users["caseworker"].upper(),
        "--role",
        "admin",
        "--organisation",
        "ADM",
    )

    assert result.exit_code != 0
    assert "already has an account" in result.output
    after = user(app, world.users["caseworker"])
    assert (after.role, after.password_hash) == (before.role, before.password_hash)


def test_create_user_refuses_an_unknown_role(app: Flask, world: World) -> None:
    result = create_user(
        app, "--email", "agent@test.example", "--role", "superuser", "--organisation", "RAB"
    )

    assert result.exit_code != 0
    assert user(app, "agent@test.example") is None


# --- demo ------------------------------------------------------------------------------------


def test_production_does_not_allow_the_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_KEY", "a-production-secret-key-for-this-test-only-0123456789")

    assert load_settings("production")["DEMO_ALLOWED"] is False


def test_the_demo_is_refused_where_it_is_not_allowed(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "DEMO_ALLOWED", False)

    result = invoke(app, "demo", "--password", DEMO_PASSWORD, "--people", "20")

    assert result.exit_code != 0
    assert "refused in production" in result.output
    assert count(app, User) == 0
    assert count(app, Person) == 0


@pytest.fixture
def demo(app: Flask) -> Result:
    result = invoke(app, "demo", "--password", DEMO_PASSWORD, "--people", "20")
    assert result.exit_code == 0, result.output
    return result


def test_the_demo_loads_one_account_per_role_and_applicants_with_arabic_names(
    app: Flask, demo: Result
) -> None:
    """One demo run (it hashes a dozen passwords), several checks."""
    with app.app_context():
        accounts = {u.email: u.role for u in db.session.scalars(select(User))}
        people = db.session.scalars(select(Person)).all()
        offices = {org.id: org for org in db.session.scalars(select(Organisation))}
        prefectures = {p.code: p.region_code for p in db.session.scalars(select(Prefecture))}

    # The six accounts of the demo guide, with their roles; any others are demo accounts too.
    assert {email: accounts.get(email) for email in DEMO_EMAILS} == DEMO_ROLES
    assert all(email.endswith("@demo.test") for email in accounts)
    for email in DEMO_EMAILS:
        assert email in demo.output
    assert DEMO_PASSWORD not in demo.output  # given on the command line: not shown again

    # The requested number of synthetic applicants, held by the foreigners' offices (a
    # household can round the count up a little); partners' own walk-ins come on top.
    applicants = [p for p in people if offices[p.organisation_id].code in FOREIGNERS_OFFICES]
    assert 20 <= len(applicants) <= 24
    assert len({offices[p.organisation_id].code for p in applicants}) > 1
    for person in applicants:
        assert person.family_name and person.given_names
        assert ARABIC.search(person.family_name_ar or ""), person.id
        assert ARABIC.search(person.given_names_ar or ""), person.id

    # Offices sit in the region of their prefecture.
    for org in offices.values():
        if org.prefecture_code:
            assert org.region_code == prefectures[org.prefecture_code], org.code

    # The accounts sign in with the password given on the command line.
    response = app.test_client().post(
        "/sign-in", data={"email": "caseworker@demo.test", "password": DEMO_PASSWORD}
    )
    assert response.status_code == 302


def test_running_the_demo_twice_adds_nothing(app: Flask, demo: Result) -> None:
    counted = (User, Person, Organisation)
    before = {model.__tablename__: count(app, model) for model in counted}

    again = invoke(app, "demo", "--password", "another passphrase entirely", "--people", "20")

    assert again.exit_code == 0, again.output
    assert "already loaded; nothing to do" in again.output
    assert {model.__tablename__: count(app, model) for model in counted} == before
    # The accounts keep their first password.
    response = app.test_client().post(
        "/sign-in", data={"email": "admin@demo.test", "password": DEMO_PASSWORD}
    )
    assert response.status_code == 302


def test_the_demo_generates_and_shows_a_password_when_none_is_given(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CASEWORK_DEMO_PASSWORD", raising=False)

    result = invoke(app, "demo", "--people", "1")

    assert result.exit_code == 0, result.output
    match = re.search(r"password \(shown once\): (\S+)", result.output)
    assert match, result.output
    response = app.test_client().post(
        "/sign-in", data={"email": "auditor@demo.test", "password": match.group(1)}
    )
    assert response.status_code == 302


# --- reference data --------------------------------------------------------------------------


def test_reference_load_reports_what_it_loaded(app: Flask) -> None:
    countries = count(app, Country)

    result = invoke(app, "reference", "load")

    assert result.exit_code == 0, result.output
    assert "75 prefectures" in result.output
    assert f"{countries} countries" in result.output
    assert "11 programmes" in result.output
    assert count(app, Prefecture) == 75
    assert count(app, Country) == countries


def test_reference_load_can_run_again(app: Flask) -> None:
    first = invoke(app, "reference", "load")
    second = invoke(app, "reference", "load")

    assert first.exit_code == second.exit_code == 0
    assert first.output == second.output
    assert count(app, Prefecture) == 75


def test_setup_on_an_up_to_date_database_only_refreshes_reference_data(app: Flask) -> None:
    result = invoke(app, "setup")

    assert result.exit_code == 0, result.output
    assert "Reference data: 75 prefectures" in result.output
    assert count(app, User) == 0  # no demo unless asked
