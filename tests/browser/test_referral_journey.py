"""A referral in a real Chromium (issue #4): a caseworker refers a person with consent; the NGO
accepts it from its inbox, records the assistance and completes it; the caseworker sees the
assistance on the person's page."""

from __future__ import annotations

import re
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
from flask import Flask

from tests.browser.conftest import missing_browser_reason
from tests.browser.test_journeys import sign_in
from tests.services.test_views import Data, data  # noqa: F401 - the services test data

if missing_browser_reason():
    pytest.skip(missing_browser_reason(), allow_module_level=True)

from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def _open(page: Page, action: str) -> None:
    """Actions sit in folded panels: unfold the one holding `action`'s form."""
    panel = page.locator(f"details:has(form[action='{action}'])")
    if panel.count() and not panel.first.get_attribute("open"):
        panel.first.locator("> summary").click()


def _sign_out(page: Page) -> None:
    page.locator("form[action='/sign-out'] button").click()


def test_referral_from_consent_to_assistance(
    app: Flask,
    data: Data,  # noqa: F811 - the fixture imported above
    live_server: str,
    page: Page,
) -> None:
    person = data.people["vulnerable"]
    sign_in(app, page, live_server, data.users["caseworker"])
    page.goto(f"{live_server}/people/{person}/referrals/new?service=school_enrolment")
    form = page.locator("main form[method=post]").last
    form.locator("select[name=provider_id]").select_option(str(data.orgs["NGO1"]))
    form.locator("[name=purpose]").fill("Inscrire les enfants à l'école du quartier.")
    form.locator("select[name=urgency]").select_option("high")
    form.locator("[name=due_date]").fill((date.today() + timedelta(days=10)).isoformat())
    # Without the consent box, nothing is sent and what was typed stays.
    form.locator("button[type=submit]").last.click()
    expect(page.locator("[name=purpose]")).to_have_value(
        "Inscrire les enfants à l'école du quartier."
    )
    expect(page.locator(".invalid-feedback").first).to_be_visible()
    form = page.locator("main form[method=post]").last
    form.locator("[name=consent_given]").check()
    form.locator("[name=consent_date]").fill(date.today().isoformat())
    form.locator("[name=consent_scope]").fill("Orientation vers l'inscription scolaire")
    form.locator("button[type=submit]").last.click()
    # Ids come from the database's sequence (PostgreSQL does not reuse them across tests).
    expect(page).to_have_url(re.compile(rf"{re.escape(live_server)}/referrals/\d+$"))
    referral = urlsplit(page.url).path  # /referrals/<id>
    _sign_out(page)

    sign_in(app, page, live_server, data.users["ngo"])
    page.goto(f"{live_server}/ngo/inbox")
    page.locator(f"a[href='{referral}']").first.click()
    _open(page, f"{referral}/actions/accept")
    page.locator(f"form[action='{referral}/actions/accept'] button[type=submit]").click()
    page.locator(f"details:has(form[action='{referral}/assistance']) > summary").click()
    assistance = page.locator(f"form[action='{referral}/assistance']")
    assistance.locator("[name=quantity]").fill("2")
    assistance.locator("[name=unit]").fill("kit scolaire")
    assistance.locator("[name=place]").fill("Centre de Rabat")
    assistance.locator("button[type=submit]").click()
    expect(page.locator("main")).to_contain_text("kit scolaire")
    _open(page, f"{referral}/actions/start")
    page.locator(f"form[action='{referral}/actions/start'] button[type=submit]").click()
    _open(page, f"{referral}/actions/complete")
    complete = page.locator(f"form[action='{referral}/actions/complete']")
    complete.locator("[name='complete-outcome']").fill("Deux enfants inscrits.")
    complete.locator("button[type=submit]").click()
    expect(page.locator("main")).to_contain_text("Deux enfants inscrits.")
    _sign_out(page)

    sign_in(app, page, live_server, data.users["caseworker"])
    page.goto(f"{live_server}/people/{person}")
    expect(page.locator("main")).to_contain_text("kit scolaire")
    expect(page.locator("main")).to_contain_text("Centre de Rabat")
