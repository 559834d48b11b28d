"""Languages: French by default, English and Arabic (right to left) on request; the signed-in
user's choice wins; the French and Arabic catalogues are complete; dates follow the language."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale, format_date, format_datetime
from sqlalchemy import select

from casework.auth.models import User
from casework.extensions import db
from tests.conftest import sign_in
from tests.factories import World

TRANSLATIONS = Path(__file__).resolve().parent.parent / "casework" / "translations"
BIRTHDAY = date(1990, 5, 17)  # the date of birth of `rabat` in the test world


def html_tag(client: FlaskClient, path: str = "/sign-in", **kwargs) -> str:
    page = client.get(path, **kwargs).get_data(as_text=True)
    match = re.search(r"<html[^>]*>", page)
    assert match, page[:200]
    return match.group(0)


def choose(client: FlaskClient, language: str, next_page: str = "/sign-in"):
    return client.post("/language", data={"language": language, "next": next_page})


def set_preferred_language(app: Flask, email: str, language: str) -> None:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        user.preferred_language = language
        db.session.commit()


def preferred_language(app: Flask, email: str) -> str:
    with app.app_context():
        return db.session.scalar(select(User.preferred_language).where(User.email == email))


# --- choosing the language -------------------------------------------------------------------


def test_french_is_the_default_language(app: Flask) -> None:
    tag = html_tag(app.test_client())

    assert 'lang="fr"' in tag
    assert 'dir="ltr"' in tag


def test_french_is_the_default_for_a_browser_asking_for_a_language_we_lack(app: Flask) -> None:
    tag = html_tag(app.test_client(), headers={"Accept-Language": "de-DE,de;q=0.9"})

    assert 'lang="fr"' in tag


def test_the_browser_language_is_used_when_we_have_it(app: Flask) -> None:
    assert 'lang="en"' in html_tag(app.test_client(), headers={"Accept-Language": "en-GB,en"})
    assert 'lang="ar"' in html_tag(app.test_client(), headers={"Accept-Language": "ar-MA"})


def test_english_can_be_chosen(app: Flask) -> None:
    client = app.test_client()

    response = choose(client, "en")

    assert response.status_code == 302
    assert response.headers["Location"] == "/sign-in"
    tag = html_tag(client)
    assert 'lang="en"' in tag
    assert 'dir="ltr"' in tag


def test_arabic_can_be_chosen_and_is_written_right_to_left(app: Flask) -> None:
    client = app.test_client()
    choose(client, "ar")

    page = client.get("/sign-in").get_data(as_text=True)

    tag = re.search(r"<html[^>]*>", page).group(0)
    assert 'lang="ar"' in tag
    assert 'dir="rtl"' in tag
    assert re.search(r'<link rel="stylesheet" href="/static/css/rtl\.css[^"]*">', page)


def test_left_to_right_pages_do_not_load_the_rtl_stylesheet(app: Flask) -> None:
    client = app.test_client()
    for language in ("fr", "en"):
        choose(client, language)
        assert "rtl.css" not in client.get("/sign-in").get_data(as_text=True)


def test_the_rtl_stylesheet_is_served(app: Flask) -> None:
    response = app.test_client().get("/static/css/rtl.css")

    assert response.status_code == 200
    assert '[dir="rtl"]' in response.get_data(as_text=True)


def test_the_chosen_language_beats_the_browser_language(app: Flask) -> None:
    client = app.test_client()
    choose(client, "ar")

    assert 'lang="ar"' in html_tag(client, headers={"Accept-Language": "en"})


def test_a_language_we_do_not_offer_is_ignored(app: Flask) -> None:
    client = app.test_client()
    choose(client, "en")
    choose(client, "de")

    assert 'lang="en"' in html_tag(client)


def test_the_language_switch_only_returns_to_local_pages(app: Flask) -> None:
    response = choose(app.test_client(), "en", next_page="https://evil.example/phish")

    assert response.status_code == 302
    assert "evil.example" not in response.headers["Location"]


def test_every_page_offers_the_three_languages(app: Flask) -> None:
    page = app.test_client().get("/sign-in").get_data(as_text=True)

    for code, name in (("fr", "Français"), ("en", "English"), ("ar", "العربية")):
        assert re.search(rf'name="language" value="{code}" lang="{code}"', page)
        assert name in page


# --- the signed-in user's language -----------------------------------------------------------


def test_a_signed_in_user_sees_their_preferred_language(app: Flask, world: World) -> None:
    set_preferred_language(app, world.users["caseworker"], "ar")
    client = app.test_client()
    sign_in(client, world.users["caseworker"])

    tag = html_tag(client, "/home", headers={"Accept-Language": "en"})

    assert 'lang="ar"' in tag
    assert 'dir="rtl"' in tag


def test_the_preferred_language_beats_the_one_chosen_before_signing_in(
    app: Flask, world: World
) -> None:
    set_preferred_language(app, world.users["caseworker"], "en")
    client = app.test_client()
    choose(client, "ar")
    sign_in(client, world.users["caseworker"])

    assert 'lang="en"' in html_tag(client, "/home")


def test_choosing_a_language_while_signed_in_saves_it_for_next_time(
    app: Flask, world: World
) -> None:
    email = world.users["caseworker"]
    client = app.test_client()
    sign_in(client, email)

    choose(client, "ar", next_page="/home")

    assert preferred_language(app, email) == "ar"
    assert 'lang="ar"' in html_tag(client, "/home")
    other_device = app.test_client()
    sign_in(other_device, email)
    assert 'lang="ar"' in html_tag(other_device, "/home")


def test_the_account_page_saves_the_preferred_language(app: Flask, world: World) -> None:
    email = world.users["caseworker"]
    client = app.test_client()
    sign_in(client, email)

    response = client.post(
        "/account", data={"form": "preferences", "pref-preferred_language": "fr"}
    )

    assert response.status_code == 302
    assert preferred_language(app, email) == "fr"
    assert 'lang="fr"' in html_tag(client, "/home")


# --- catalogues ------------------------------------------------------------------------------


def catalogue(language: str):
    with (TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=language)


def untranslated(language: str) -> list[str]:
    missing = []
    for message in catalogue(language):
        if not message.id:
            continue  # the header
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(s and s.strip() for s in strings):
            missing.append(message.id if isinstance(message.id, str) else message.id[0])
    return missing


@pytest.mark.parametrize("language", ["fr", "ar"])
def test_the_catalogue_has_no_empty_translation(language: str) -> None:
    assert untranslated(language) == []


@pytest.mark.parametrize("language", ["fr", "ar"])
def test_the_catalogue_covers_every_extracted_message(language: str) -> None:
    with (TRANSLATIONS / "messages.pot").open("rb") as pot:
        template = read_po(pot)
    translated = {m.id for m in catalogue(language) if m.id}

    missing = [m.id for m in template if m.id and m.id not in translated]
    assert missing == []


@pytest.mark.parametrize("language", ["fr", "ar"])
def test_translations_keep_their_placeholders(language: str) -> None:
    problems = [
        (message.id, [str(e) for e in errors]) for message, errors in catalogue(language).check()
    ]

    assert problems == []


@pytest.mark.parametrize("language", ["fr", "ar"])
def test_the_catalogue_has_no_fuzzy_translation(language: str) -> None:
    fuzzy = [m.id for m in catalogue(language) if m.id and m.fuzzy]

    assert fuzzy == []


# Names that stay in Latin script whatever the language.
BRAND_NAMES = {"Casework", "API"}


def test_arabic_translations_are_in_arabic_script() -> None:
    arabic = re.compile(r"[\u0600-\u06FF]")
    latin_only = []
    for message in catalogue("ar"):
        if not message.id or not isinstance(message.string, str) or message.id in BRAND_NAMES:
            continue
        letters = re.sub(r"%\([a-z_]+\)[sd]|\{[^}]*\}|[^A-Za-z\u0600-\u06FF]", "", message.string)
        if letters and not arabic.search(letters):
            latin_only.append(message.id)

    assert latin_only == []


# --- dates and numbers per locale ------------------------------------------------------------


def test_dates_are_formatted_per_language(app: Flask) -> None:
    with app.test_request_context():
        with force_locale("fr"):
            french = format_date(BIRTHDAY, "long")
        with force_locale("en"):
            english = format_date(BIRTHDAY, "long")
        with force_locale("ar"):
            arabic = format_date(BIRTHDAY, "long")

    assert french == "17 mai 1990"
    assert english == "May 17, 1990"
    assert arabic != french
    assert arabic != english
    assert re.search(r"[\u0600-\u06FF]", arabic)


def test_moments_are_shown_in_moroccan_time(app: Flask) -> None:
    from datetime import UTC

    from flask_babel import get_timezone

    moment = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    with app.test_request_context(), force_locale("fr"):
        zone = get_timezone()
        shown = format_datetime(moment, "HH:mm")

    assert str(zone) == "Africa/Casablanca"
    assert shown == moment.astimezone(zone).strftime("%H:%M")


def test_the_person_page_writes_the_date_of_birth_in_the_users_language(
    app: Flask, world: World
) -> None:
    email = world.users["caseworker"]
    pages = {}
    for language in ("fr", "ar"):
        set_preferred_language(app, email, language)
        client = app.test_client()
        sign_in(client, email)
        pages[language] = client.get(f"/people/{world.people['rabat']}").get_data(as_text=True)

    with app.test_request_context():
        expected = {}
        for language in ("fr", "ar"):
            with force_locale(language):
                expected[language] = format_date(BIRTHDAY, "medium")

    assert expected["fr"] != expected["ar"]
    assert expected["fr"] in pages["fr"]
    assert expected["ar"] in pages["ar"]
    assert expected["fr"] not in pages["ar"]
