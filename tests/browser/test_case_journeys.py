"""Case files in a real Chromium: a caseworker files a case and proposes a decision; a
supervisor approves it (issue #3's browser journeys)."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.browser.conftest import missing_browser_reason
from tests.browser.test_journeys import shown, sign_in
from tests.factories import World

if missing_browser_reason():
    pytest.skip(missing_browser_reason(), allow_module_level=True)

from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def _sign_out(page: Page) -> None:
    page.locator("form[action='/sign-out'] button").click()


def _open_action(app: Flask, page: Page, label: str) -> None:
    page.locator("summary", has_text=shown(app, page, label)).click()


def test_caseworker_files_and_proposes_then_a_supervisor_approves(
    app: Flask, world: World, live_server: str, page: Page
) -> None:
    sign_in(app, page, live_server, world.users["caseworker"])
    page.goto(f"{live_server}/people/{world.people['rabat']}")
    page.get_by_role("link", name=shown(app, page, "Open a file"), exact=True).click()
    page.locator("#kind").select_option("regularisation")
    page.locator("#operation").select_option("REG-2026")
    page.locator("#category").select_option("residence_5_years")
    page.get_by_role("button", name=shown(app, page, "Open the file")).click()
    heading = page.locator("h1")
    expect(heading).to_contain_text("REG-")
    reference = heading.inner_text().split()[0]

    _open_action(app, page, "Start the review")
    page.locator("form[action$='/actions/start_review'] button[type=submit]").click()
    expect(page.locator(".alert-success")).to_be_visible()

    _open_action(app, page, "Propose a decision")
    form = page.locator("form[action$='/actions/propose_decision']")
    form.locator("select").select_option("favourable")
    form.locator("input[value='meets_category_conditions']").check()
    form.locator("button[type=submit]").click()
    expect(page.locator(".state-badge").first).to_have_text(shown(app, page, "Decision proposed"))
    # The caseworker cannot approve: the action is not offered.
    expect(
        page.locator("summary", has_text=shown(app, page, "Approve the decision"))
    ).to_have_count(0)
    _sign_out(page)

    sign_in(app, page, live_server, world.users["supervisor"])
    page.goto(f"{live_server}/cases?queue=awaiting_approval")
    page.get_by_role("link", name=reference).click()
    _open_action(app, page, "Approve the decision")
    page.locator("form[action$='/actions/approve_decision'] button[type=submit]").click()
    expect(page.locator(".state-badge").first).to_have_text(shown(app, page, "Accepted"))
    timeline = page.locator("#timeline")
    for label in ("Start the review", "Propose a decision", "Approve the decision"):
        expect(timeline).to_contain_text(shown(app, page, label))


def test_a_missing_reason_is_shown_next_to_the_field(
    app: Flask, world: World, live_server: str, page: Page
) -> None:
    sign_in(app, page, live_server, world.users["caseworker"])
    page.goto(f"{live_server}/people/{world.people['rabat']}/cases/new")
    page.locator("#kind").select_option("regularisation")
    page.locator("#operation").select_option("REG-2026")
    page.locator("#category").select_option("work_contract")
    page.get_by_role("button", name=shown(app, page, "Open the file")).click()
    _open_action(app, page, "Start the review")
    page.locator("form[action$='/actions/start_review'] button[type=submit]").click()
    _open_action(app, page, "Propose a decision")
    form = page.locator("form[action$='/actions/propose_decision']")
    form.locator("select").select_option("unfavourable")
    form.locator("button[type=submit]").click()
    form = page.locator("form[action$='/actions/propose_decision']")
    expect(form.locator(".invalid-feedback").first).to_be_visible()
    expect(page.locator(".state-badge").first).to_have_text(shown(app, page, "Under review"))
