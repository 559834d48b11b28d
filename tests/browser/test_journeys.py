"""User journeys in a real Chromium: sign in, register and find a person, switch to Arabic.

Expected texts are translated through the app's own catalogues in the page's language, so the
tests hold whether or not the catalogues are compiled. Fields are found by their ids, buttons
and links by role and name.
"""

from __future__ import annotations

import re

import pytest
from flask import Flask

from tests.browser.conftest import ARTIFACTS, missing_browser_reason
from tests.factories import PASSWORD, World

if missing_browser_reason():
    pytest.skip(missing_browser_reason(), allow_module_level=True)

from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


# --- helpers -------------------------------------------------------------------------------


def translate(app: Flask, language: str, message: str, **variables) -> str:
    """`message` as the app shows it in `language`."""
    from flask_babel import force_locale, gettext

    with app.test_request_context(), force_locale(language):
        return gettext(message, **variables)


def language_of(page: Page) -> str:
    return page.evaluate("document.documentElement.lang")


def shown(app: Flask, page: Page, message: str, **variables) -> str:
    """`message` in the language of the page currently displayed."""
    return translate(app, language_of(page), message, **variables)


def sign_in(app: Flask, page: Page, base: str, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/sign-in")
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    page.get_by_role("main").get_by_role(
        "button", name=shown(app, page, "Sign in"), exact=True
    ).click()


def switch_language(page: Page, code: str) -> None:
    with page.expect_navigation():
        page.locator(f".language-switch button[value='{code}']").click()


def direction_of(page: Page) -> dict[str, str]:
    return page.evaluate(
        """() => ({
            dir: document.documentElement.dir,
            lang: document.documentElement.lang,
            body: getComputedStyle(document.body).direction,
        })"""
    )


# --- journeys ------------------------------------------------------------------------------


def test_caseworker_registers_a_person_and_finds_them_again(
    app: Flask, page: Page, live_server: str, world: World
) -> None:
    page.goto(live_server)
    expect(page).to_have_url(f"{live_server}/sign-in")
    assert language_of(page) == "fr"  # the browser asks for French, nobody chose yet
    expect(page.locator("h1")).to_have_text(translate(app, "fr", "Sign in to Casework"))

    sign_in(app, page, live_server, world.users["caseworker"])
    expect(page).to_have_url(f"{live_server}/home")

    nav = page.get_by_role("navigation")
    nav.get_by_role("link", name=shown(app, page, "New person"), exact=True).click()
    expect(page).to_have_url(f"{live_server}/people/new")
    page.locator("#family_name").fill("Ndiaye")
    page.locator("#given_names").fill("Aïssatou")
    page.locator("#family_name_ar").fill("انجاي")
    page.locator("#given_names_ar").fill("عائشة")
    page.locator("#sex").select_option("F")
    page.locator("#date_of_birth").fill("1994-02-11")
    page.locator("#nationality").select_option("SN")
    page.get_by_role("button", name=shown(app, page, "Register"), exact=True).click()

    expect(page).to_have_url(re.compile(rf"^{re.escape(live_server)}/people/\d+$"))
    person_url = page.url
    expect(page.locator("h1")).to_have_text("NDIAYE Aïssatou")
    expect(page.locator("main h1 + p span[lang='ar']")).to_have_text("عائشة انجاي")
    expect(page.get_by_role("status")).to_contain_text(
        shown(app, page, "%(name)s is registered.", name="NDIAYE Aïssatou")
    )

    nav.get_by_role("link", name=shown(app, page, "People"), exact=True).click()
    expect(page).to_have_url(f"{live_server}/people")
    page.locator("#q").fill("aissatou ndiaye")
    page.get_by_role("search").get_by_role(
        "button", name=shown(app, page, "Search"), exact=True
    ).click()
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.locator("td[lang='ar']")).to_have_text("عائشة انجاي")
    rows.get_by_role("link", name="NDIAYE Aïssatou").click()
    expect(page).to_have_url(person_url)


def test_registration_without_family_name_shows_the_error_next_to_the_field(
    app: Flask, page: Page, live_server: str, world: World
) -> None:
    sign_in(app, page, live_server, world.users["caseworker"])
    expect(page).to_have_url(f"{live_server}/home")
    page.goto(f"{live_server}/people/new")
    page.locator("#given_names").fill("Moussa")
    page.locator("#sex").select_option("M")
    page.get_by_role("button", name=shown(app, page, "Register"), exact=True).click()

    expect(page).to_have_url(f"{live_server}/people/new")  # re-rendered, nothing registered
    expect(page.get_by_role("alert")).to_have_text(
        shown(app, page, "Please correct the fields marked below.")
    )
    family = page.locator("#family_name")
    expect(family).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(family).to_have_attribute("aria-describedby", "family_name-error")
    error = page.locator("#family_name-error")
    expect(error).to_be_visible()
    expect(error).not_to_be_empty()
    # Next to the field: in the same field block, right below the input.
    expect(family.locator("xpath=following-sibling::div[@id='family_name-error']")).to_have_count(1)
    expect(page.locator("#given_names")).to_have_value("Moussa")
    expect(page.locator("#given_names")).not_to_have_class(re.compile(r"\bis-invalid\b"))
    expect(page.locator("#sex")).to_have_value("M")


def test_arabic_pages_read_right_to_left_and_french_left_to_right(
    app: Flask, page: Page, live_server: str, world: World
) -> None:
    sign_in(app, page, live_server, world.users["caseworker"])
    expect(page).to_have_url(f"{live_server}/home")
    person_url = f"{live_server}/people/{world.people['rabat']}"
    page.goto(person_url)

    switch_language(page, "ar")
    assert page.url.startswith(person_url)  # the switch comes back to the same page
    assert direction_of(page) == {"dir": "rtl", "lang": "ar", "body": "rtl"}
    expect(page.locator(".language-switch button[value='ar']")).to_have_attribute(
        "aria-current", "true"
    )
    # Mirrored navbar: the brand sits on the right, the sign-out button on the left.
    middle = page.viewport_size["width"] / 2
    assert page.locator(".navbar-brand").bounding_box()["x"] > middle
    assert page.locator("form[action='/sign-out'] button").bounding_box()["x"] < middle
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "person-ar.png"), full_page=True)

    switch_language(page, "fr")
    assert page.url.startswith(person_url)
    assert direction_of(page) == {"dir": "ltr", "lang": "fr", "body": "ltr"}
    assert page.locator(".navbar-brand").bounding_box()["x"] < middle
    assert page.locator("form[action='/sign-out'] button").bounding_box()["x"] > middle
    page.screenshot(path=str(ARTIFACTS / "person-fr.png"), full_page=True)

    # The choice is the account's: it holds on the next page too.
    page.get_by_role("navigation").get_by_role(
        "link", name=translate(app, "fr", "People"), exact=True
    ).click()
    assert direction_of(page) == {"dir": "ltr", "lang": "fr", "body": "ltr"}


def test_pages_load_only_same_origin_resources_without_csp_errors(
    app: Flask, page: Page, live_server: str, world: World
) -> None:
    requested: list[str] = []
    console_errors: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on(
        "console",
        lambda message: console_errors.append(message.text) if message.type == "error" else None,
    )
    page.on("pageerror", lambda error: console_errors.append(str(error)))

    sign_in(app, page, live_server, world.users["caseworker"])
    expect(page).to_have_url(f"{live_server}/home")
    page.goto(f"{live_server}/people/{world.people['rabat']}")
    expect(page.locator("h1")).to_have_text("DIALLO Mamadou")
    page.wait_for_load_state("networkidle")

    # Bootstrap's CSS and JS are served by the app itself, not a CDN.
    assert any("/bootstrap/static/" in url and url.endswith(".css") for url in requested)
    assert any("/bootstrap/static/" in url and url.endswith(".js") for url in requested)
    # data: URLs (Bootstrap's inline SVG icons) are allowed by the CSP's img-src.
    foreign = [
        url
        for url in requested
        if not url.startswith(f"{live_server}/") and not url.startswith("data:")
    ]
    assert foreign == []
    csp = [text for text in console_errors if "Content Security Policy" in text]
    assert csp == []


def test_wrong_password_shows_the_generic_error_and_stays_on_sign_in(
    app: Flask, page: Page, live_server: str, world: World
) -> None:
    sign_in(app, page, live_server, world.users["caseworker"], "not the password at all")

    expect(page).to_have_url(f"{live_server}/sign-in")
    expect(page.get_by_role("alert")).to_have_text(translate(app, "fr", "Wrong email or password."))
    expect(page.locator("#email")).to_have_value(world.users["caseworker"])
    expect(page.locator("#password")).to_have_value("")
    # The same words for an unknown account: nothing tells which accounts exist.
    sign_in(app, page, live_server, "nobody@test.example", "not the password at all")
    expect(page.get_by_role("alert")).to_have_text(translate(app, "fr", "Wrong email or password."))
