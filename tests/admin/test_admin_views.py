"""Administration pages: accounts (create, edit, unlock) and organisations."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from casework.admin.models import Organisation
from casework.audit.models import AuditEntry
from casework.auth.models import User
from casework.extensions import db
from casework.models_base import utcnow
from casework.reference.models import Prefecture
from tests.conftest import sign_in
from tests.factories import PASSWORD, World

NEW_PASSWORD = "a passphrase chosen by the admin"


# --- helpers ---------------------------------------------------------------------------------


@pytest.fixture
def admin(app: Flask, world: World) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, world.users["admin"]).status_code == 302
    return client


def account_form(world: World, **changes) -> dict:
    values = {
        "email": "nouvelle.agente@test.example",
        "name": "Nouvelle Agente",
        "role": "caseworker",
        "organisation_id": str(world.orgs["RAB"]),
        "region_code": "",
        "preferred_language": "ar",
        "active": "y",
        "password": NEW_PASSWORD,
    }
    values.update(changes)
    return {key: value for key, value in values.items() if value is not None}


def organisation_form(**changes) -> dict:
    values = {
        "name": "Bureau des étrangers — Marrakech",
        "code": "mrk",
        "kind": "foreigners_office",
        "prefecture_code": "MAR",
        "active": "y",
    }
    values.update(changes)
    return {key: value for key, value in values.items() if value is not None}


def get_user(app: Flask, email: str) -> User | None:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        if user is not None:
            db.session.expunge(user)
        return user


def get_organisation(app: Flask, code: str) -> Organisation | None:
    with app.app_context():
        org = db.session.scalar(select(Organisation).where(Organisation.code == code))
        if org is not None:
            db.session.expunge(org)
        return org


def region_of(app: Flask, prefecture: str) -> str:
    with app.app_context():
        return db.session.get(Prefecture, prefecture).region_code


def audit_actions(app: Flask, record_type: str, record_id: int) -> list[AuditEntry]:
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.record_type == record_type, AuditEntry.record_id == record_id)
            .order_by(AuditEntry.id)
        ).all()
        db.session.expunge_all()
        return rows


def can_sign_in(app: Flask, email: str, password: str = PASSWORD) -> bool:
    client = app.test_client()
    return sign_in(client, email, password).status_code == 302


def is_signed_in(client: FlaskClient) -> bool:
    return client.get("/home").status_code == 200


# --- access ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["supervisor", "caseworker", "ngo", "auditor"])
@pytest.mark.parametrize(
    "path", ["/admin/users", "/admin/users/new", "/admin/organisations", "/admin/organisations/new"]
)
def test_only_administrators_reach_the_admin_pages(
    app: Flask, world: World, role: str, path: str
) -> None:
    client = app.test_client()
    sign_in(client, world.users[role])

    assert client.get(path).status_code == 403
    if path.endswith("/new"):
        assert client.post(path, data={}).status_code == 403


def test_others_cannot_create_accounts_by_posting(app: Flask, world: World) -> None:
    client = app.test_client()
    sign_in(client, world.users["supervisor"])

    client.post("/admin/users/new", data=account_form(world))

    assert get_user(app, "nouvelle.agente@test.example") is None


def test_the_accounts_page_lists_every_account(admin: FlaskClient, world: World) -> None:
    page = admin.get("/admin/users").get_data(as_text=True)

    for email in world.users.values():
        assert email in page


# --- creating accounts -----------------------------------------------------------------------


def test_an_administrator_creates_an_account(app: Flask, world: World, admin: FlaskClient) -> None:
    response = admin.post("/admin/users/new", data=account_form(world))

    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/users"
    user = get_user(app, "nouvelle.agente@test.example")
    assert user.name == "Nouvelle Agente"
    assert user.role == "caseworker"
    assert user.organisation_id == world.orgs["RAB"]
    assert user.region_code is None
    assert user.preferred_language == "ar"
    assert user.active
    assert user.password_hash.startswith("$argon2id$")
    assert can_sign_in(app, user.email, NEW_PASSWORD)


def test_creating_an_account_is_audited_against_the_administrator(
    app: Flask, world: World, admin: FlaskClient
) -> None:
    admin.post("/admin/users/new", data=account_form(world))
    user = get_user(app, "nouvelle.agente@test.example")

    [entry] = audit_actions(app, "users", user.id)
    assert entry.action == "user.create"
    assert entry.user_id == world.user_ids["admin"]
    assert entry.data == {"role": "caseworker"}


def test_a_regional_supervisor_keeps_the_region(
    app: Flask, world: World, admin: FlaskClient
) -> None:
    admin.post(
        "/admin/users/new",
        data=account_form(
            world, email="sup.tanger@test.example", role="supervisor", region_code="01"
        ),
    )

    user = get_user(app, "sup.tanger@test.example")
    assert (user.role, user.region_code) == ("supervisor", "01")


def test_a_short_password_is_refused_and_the_typed_values_are_kept(
    app: Flask, world: World, admin: FlaskClient
) -> None:
    response = admin.post("/admin/users/new", data=account_form(world, password="too short"))

    assert response.status_code == 200
    page = html.unescape(response.get_data(as_text=True))
    assert "Use at least 12 characters." in page
    assert 'value="nouvelle.agente@test.example"' in page
    assert 'value="Nouvelle Agente"' in page
    assert f'<option selected value="{world.orgs["RAB"]}">' in page
    assert '<option selected value="ar">' in page
    assert "too short" not in page  # a password is never sent back
    assert get_user(app, "nouvelle.agente@test.example") is None


def test_a_common_password_is_refused(app: Flask, world: World, admin: FlaskClient) -> None:
    response = admin.post("/admin/users/new", data=account_form(world, password="password1234"))

    assert response.status_code == 200
    assert get_user(app, "nouvelle.agente@test.example") is None


def test_a_new_account_needs_a_password(app: Flask, world: World, admin: FlaskClient) -> None:
    response = admin.post("/admin/users/new", data=account_form(world, password=""))

    assert response.status_code == 200
    assert "A new account needs a password." in html.unescape(response.get_data(as_text=True))
    assert get_user(app, "nouvelle.agente@test.example") is None
    token = app.test_client().post(
        "/api/v1/auth/token", json={"email": "nouvelle.agente@test.example", "password": ""}
    )
    assert token.status_code == 401


def test_an_invalid_email_is_refused_and_kept_for_correction(
    app: Flask, world: World, admin: FlaskClient
) -> None:
    response = admin.post("/admin/users/new", data=account_form(world, email="not-an-email"))

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'value="not-an-email"' in page
    assert "is-invalid" in page


def test_an_email_already_in_use_is_refused(app: Flask, world: World, admin: FlaskClient) -> None:
    existing = world.users["caseworker2"]
    before = get_user(app, existing)

    response = admin.post(
        "/admin/users/new", data=account_form(world, email=existing.upper(), role="admin")
    )

    assert response.status_code == 200
    assert "An account with this email already exists." in response.get_data(as_text=True)
    after = get_user(app, existing)
    assert (after.role, after.password_hash) == (before.role, before.password_hash)


# --- editing accounts ------------------------------------------------------------------------


def test_an_administrator_edits_an_account(app: Flask, world: World, admin: FlaskClient) -> None:
    user_id = world.user_ids["caseworker2"]
    before = get_user(app, world.users["caseworker2"])

    response = admin.post(
        f"/admin/users/{user_id}",
        data=account_form(
            world,
            email=world.users["caseworker2"],
            name="Youssef Renamed",
            role="supervisor",
            region_code="01",
            organisation_id=str(world.orgs["TNG"]),
            preferred_language="fr",
            password="",
        ),
    )

    assert response.status_code == 302
    after = get_user(app, world.users["caseworker2"])
    assert (after.name, after.role, after.region_code) == ("Youssef Renamed", "supervisor", "01")
    assert after.preferred_language == "fr"
    assert after.password_hash == before.password_hash  # empty password: unchanged
    assert after.session_version == before.session_version
    [entry] = [e for e in audit_actions(app, "users", user_id) if e.action == "user.update"]
    assert entry.user_id == world.user_ids["admin"]
    assert entry.data["fields"] == ["name", "preferred_language", "region_code", "role"]


def test_the_edit_form_shows_the_current_values(
    app: Flask, world: World, admin: FlaskClient
) -> None:
    page = admin.get(f"/admin/users/{world.user_ids['regional']}").get_data(as_text=True)

    assert f'value="{world.users["regional"]}"' in page
    assert '<option selected value="supervisor">' in page
    assert '<option selected value="04">' in page


def test_setting_a_password_signs_the_user_out_everywhere(
    app: Flask, world: World, admin: FlaskClient
) -> None:
    email = world.users["caseworker2"]
    their_session = app.test_client()
    sign_in(their_session, email)

    admin.post(
        f"/admin/users/{world.user_ids['caseworker2']}",
        data=account_form(world, email=email, name="Caseworker2", password=NEW_PASSWORD),
    )

    assert not is_signed_in(their_session)
    assert not can_sign_in(app, email, PASSWORD)
    assert can_sign_in(app, email, NEW_PASSWORD)


def test_a_short_password_is_refused_when_editing(
    app: Flask, world: World, admin: FlaskClient
) -> None:
    email = world.users["caseworker2"]
    before = get_user(app, email)

    response = admin.post(
        f"/admin/users/{world.user_ids['caseworker2']}",
        data=account_form(world, email=email, name="Changed Name", password="short"),
    )

    assert response.status_code == 200
    assert 'value="Changed Name"' in response.get_data(as_text=True)
    after = get_user(app, email)
    assert (after.name, after.password_hash) == (before.name, before.password_hash)


def test_deactivating_an_account_ends_its_sessions_and_sign_ins(
    app: Flask, world: World, admin: FlaskClient
) -> None:
    email = world.users["caseworker2"]
    their_session = app.test_client()
    sign_in(their_session, email)

    data = account_form(world, email=email, name="Caseworker2", password="", active=None)
    data["organisation_id"] = str(world.orgs["TNG"])
    response = admin.post(f"/admin/users/{world.user_ids['caseworker2']}", data=data)

    assert response.status_code == 302
    assert get_user(app, email).active is False
    assert not is_signed_in(their_session)
    assert not can_sign_in(app, email)


def test_an_administrator_cannot_deactivate_or_demote_themselves(
    app: Flask, world: World, admin: FlaskClient
) -> None:
    email = world.users["admin"]
    own = {"email": email, "name": "Admin", "organisation_id": str(world.orgs["ADM"])}

    deactivate = admin.post(
        f"/admin/users/{world.user_ids['admin']}",
        data=account_form(world, **own, role="admin", password="", active=None),
    )
    demote = admin.post(
        f"/admin/users/{world.user_ids['admin']}",
        data=account_form(world, **own, role="caseworker", password=""),
    )

    assert deactivate.status_code == demote.status_code == 200
    user = get_user(app, email)
    assert (user.active, user.role) == (True, "admin")
    assert is_signed_in(admin)


def test_editing_to_an_email_in_use_is_refused(
    app: Flask, world: World, admin: FlaskClient
) -> None:
    response = admin.post(
        f"/admin/users/{world.user_ids['caseworker2']}",
        data=account_form(world, email=world.users["caseworker"], password=""),
    )

    assert response.status_code == 200
    assert get_user(app, world.users["caseworker2"]) is not None


def test_editing_an_unknown_account_is_not_found(admin: FlaskClient) -> None:
    assert admin.get("/admin/users/999999").status_code == 404


# --- unlocking -------------------------------------------------------------------------------


def lock(app: Flask, email: str) -> None:
    for _ in range(app.config["LOCKOUT_THRESHOLD"]):
        sign_in(app.test_client(), email, "a wrong password, again")
    assert get_user(app, email).is_locked


def test_a_locked_account_is_shown_as_locked(app: Flask, world: World, admin: FlaskClient) -> None:
    lock(app, world.users["caseworker"])

    page = admin.get("/admin/users").get_data(as_text=True)

    assert f'action="/admin/users/{world.user_ids["caseworker"]}/unlock"' in page
    assert f'action="/admin/users/{world.user_ids["caseworker2"]}/unlock"' not in page


def test_an_administrator_unlocks_a_locked_account(
    app: Flask, world: World, admin: FlaskClient
) -> None:
    email = world.users["caseworker"]
    lock(app, email)
    assert not can_sign_in(app, email)

    response = admin.post(f"/admin/users/{world.user_ids['caseworker']}/unlock")

    assert response.status_code == 302
    user = get_user(app, email)
    assert user.locked_until is None
    assert user.failed_signins == 0
    assert can_sign_in(app, email)
    unlocks = [
        e
        for e in audit_actions(app, "users", world.user_ids["caseworker"])
        if e.action == "user.unlock"
    ]
    assert [e.user_id for e in unlocks] == [world.user_ids["admin"]]


def test_unlocking_also_forgets_earlier_failures(
    app: Flask, world: World, admin: FlaskClient
) -> None:
    email = world.users["caseworker"]
    for _ in range(5):
        sign_in(app.test_client(), email, "a wrong password, again")
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        user.locked_until = utcnow() + timedelta(minutes=10)
        db.session.commit()

    admin.post(f"/admin/users/{world.user_ids['caseworker']}/unlock")

    assert get_user(app, email).failed_signins == 0


def test_others_cannot_unlock(app: Flask, world: World) -> None:
    email = world.users["caseworker"]
    lock(app, email)
    client = app.test_client()
    sign_in(client, world.users["supervisor"])

    assert client.post(f"/admin/users/{world.user_ids['caseworker']}/unlock").status_code == 403
    assert get_user(app, email).is_locked


# --- organisations ---------------------------------------------------------------------------


def test_creating_an_organisation_takes_its_region_from_the_prefecture(
    app: Flask, world: World, admin: FlaskClient
) -> None:
    response = admin.post("/admin/organisations/new", data=organisation_form())

    assert response.status_code == 302
    org = get_organisation(app, "MRK")  # codes are upper-cased
    assert org.name == "Bureau des étrangers — Marrakech"
    assert org.kind == "foreigners_office"
    assert org.prefecture_code == "MAR"
    assert org.region_code == region_of(app, "MAR") == "07"
    assert org.active
    [entry] = audit_actions(app, "organisations", org.id)
    assert (entry.action, entry.user_id) == ("organisation.create", world.user_ids["admin"])


def test_moving_an_organisation_moves_its_region(
    app: Flask, world: World, admin: FlaskClient
) -> None:
    admin.post("/admin/organisations/new", data=organisation_form())
    org = get_organisation(app, "MRK")

    response = admin.post(
        f"/admin/organisations/{org.id}", data=organisation_form(code="MRK", prefecture_code="OUJ")
    )

    assert response.status_code == 302
    moved = get_organisation(app, "MRK")
    assert moved.prefecture_code == "OUJ"
    assert moved.region_code == region_of(app, "OUJ") == "02"


def test_an_organisation_without_prefecture_has_no_region(
    app: Flask, world: World, admin: FlaskClient
) -> None:
    admin.post(
        "/admin/organisations/new",
        data=organisation_form(
            name="Service national", code="NAT", kind="public_service", prefecture_code=""
        ),
    )

    org = get_organisation(app, "NAT")
    assert (org.prefecture_code, org.region_code) == (None, None)


def test_an_organisation_code_or_name_already_in_use_is_refused(
    app: Flask, world: World, admin: FlaskClient
) -> None:
    same_code = admin.post("/admin/organisations/new", data=organisation_form(code="rab"))
    same_name = admin.post(
        "/admin/organisations/new", data=organisation_form(name="Organisation TNG", code="NEW")
    )

    assert same_code.status_code == same_name.status_code == 200
    assert "Another organisation has this code or name." in same_code.get_data(as_text=True)
    assert get_organisation(app, "NEW") is None
    assert get_organisation(app, "RAB").name == "Organisation RAB"


def test_an_organisation_code_is_letters_digits_and_dashes(
    app: Flask, world: World, admin: FlaskClient
) -> None:
    response = admin.post("/admin/organisations/new", data=organisation_form(code="M R K"))

    assert response.status_code == 200
    assert "Letters, digits and dashes only." in response.get_data(as_text=True)
    assert get_organisation(app, "M R K") is None


def test_an_unknown_prefecture_is_refused(app: Flask, world: World, admin: FlaskClient) -> None:
    response = admin.post("/admin/organisations/new", data=organisation_form(prefecture_code="ZZZ"))

    assert response.status_code == 200
    assert get_organisation(app, "MRK") is None


def test_the_new_organisation_can_be_given_accounts(
    app: Flask, world: World, admin: FlaskClient
) -> None:
    admin.post("/admin/organisations/new", data=organisation_form())
    org = get_organisation(app, "MRK")

    admin.post(
        "/admin/users/new",
        data=account_form(world, email="agent.mrk@test.example", organisation_id=str(org.id)),
    )

    assert get_user(app, "agent.mrk@test.example").organisation_id == org.id


def test_an_organisation_is_given_a_name_in_arabic(
    app: Flask, world: World, admin: FlaskClient
) -> None:
    admin.post("/admin/organisations/new", data=organisation_form())
    org = get_organisation(app, "MRK")
    assert org.name_ar is None

    response = admin.post(
        f"/admin/organisations/{org.id}",
        data=organisation_form(code="MRK", name_ar="  مكتب الأجانب — عمالة مراكش "),
    )

    assert response.status_code == 302
    assert get_organisation(app, "MRK").name_ar == "مكتب الأجانب — عمالة مراكش"
    _created, updated = audit_actions(app, "organisations", org.id)
    assert (updated.action, updated.data["fields"]) == ("organisation.update", ["name_ar"])
    listing = admin.get("/admin/organisations").get_data(as_text=True)
    assert '<bdi dir="rtl" lang="ar">مكتب الأجانب — عمالة مراكش</bdi>' in listing


def test_the_arabic_name_input_is_right_to_left(admin: FlaskClient) -> None:
    page = admin.get("/admin/organisations/new").get_data(as_text=True)

    [tag] = [t for t in page.split("<input")[1:] if 'name="name_ar"' in t.split(">")[0]]
    tag = tag.split(">")[0]
    assert 'dir="rtl"' in tag and 'lang="ar"' in tag and 'dir="auto"' not in tag


def test_the_arabic_name_is_optional_and_can_be_cleared(
    app: Flask, world: World, admin: FlaskClient
) -> None:
    admin.post("/admin/organisations/new", data=organisation_form(name_ar="مكتب مراكش"))
    org = get_organisation(app, "MRK")
    assert org.name_ar == "مكتب مراكش"

    admin.post(f"/admin/organisations/{org.id}", data=organisation_form(code="MRK", name_ar=""))

    assert get_organisation(app, "MRK").name_ar is None


def test_an_arabic_name_over_200_characters_is_refused(
    app: Flask, world: World, admin: FlaskClient
) -> None:
    response = admin.post("/admin/organisations/new", data=organisation_form(name_ar="م" * 201))

    assert response.status_code == 200
    assert get_organisation(app, "MRK") is None
