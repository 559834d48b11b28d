"""Organisations may carry their name in Arabic script: the Arabic interface and the API use it,
the French name stands in when there is none."""

from __future__ import annotations

from flask import Flask

from casework.admin.models import Organisation
from casework.auth.models import User
from casework.extensions import db
from tests.cases.test_letters import new_case, page_client
from tests.conftest import api_token
from tests.factories import World

NAME_AR = "مكتب الأجانب — عمالة الرباط"


def name_office_in_arabic(app: Flask, world: World, name_ar: str | None) -> None:
    with app.app_context():
        db.session.get(Organisation, world.orgs["RAB"]).name_ar = name_ar
        db.session.commit()


def set_language(app: Flask, world: World, role: str, language: str) -> None:
    with app.app_context():
        db.session.get(User, world.user_ids[role]).preferred_language = language
        db.session.commit()


def test_name_in_gives_the_arabic_name_for_arabic_only() -> None:
    office = Organisation(name="Bureau des étrangers — Rabat", name_ar=NAME_AR)

    assert office.name_in("ar") == NAME_AR
    assert office.name_in("fr") == office.name_in("en") == "Bureau des étrangers — Rabat"


def test_name_in_falls_back_to_the_french_name() -> None:
    assert Organisation(name="Bureau", name_ar=None).name_in("ar") == "Bureau"
    assert Organisation(name="Bureau", name_ar="").name_in("ar") == "Bureau"


def test_local_name_follows_the_request_language(app: Flask) -> None:
    office = Organisation(name="Bureau", name_ar=NAME_AR)

    with app.test_request_context(headers={"Accept-Language": "ar"}):
        assert office.local_name == NAME_AR
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert office.local_name == "Bureau"
    with app.app_context():  # outside a request: French
        assert office.local_name == "Bureau"


def test_the_case_page_names_the_office_in_the_readers_language(app: Flask, world: World) -> None:
    name_office_in_arabic(app, world, NAME_AR)
    case_id = new_case(app, world)
    client = page_client(app, world, "caseworker")

    french = client.get(f"/cases/{case_id}").get_data(as_text=True)
    set_language(app, world, "caseworker", "ar")
    arabic = client.get(f"/cases/{case_id}").get_data(as_text=True)

    assert "<bdi>Organisation RAB</bdi>" in french and NAME_AR not in french
    assert f"<bdi>{NAME_AR}</bdi>" in arabic


def test_the_api_gives_the_offices_arabic_name(app: Flask, world: World) -> None:
    case_id = new_case(app, world)
    headers = api_token(app.test_client(), world.users["caseworker"])

    before = app.test_client().get(f"/api/v1/cases/{case_id}", headers=headers).get_json()
    name_office_in_arabic(app, world, NAME_AR)
    after = app.test_client().get(f"/api/v1/cases/{case_id}", headers=headers).get_json()

    assert before["office"]["name_ar"] is None
    assert after["office"] == {
        "id": world.orgs["RAB"], "code": "RAB", "name": "Organisation RAB", "name_ar": NAME_AR,
    }  # fmt: skip
