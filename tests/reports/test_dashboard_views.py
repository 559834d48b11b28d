"""The statistics pages: the dashboard (figures, charts, tables), the regional supervisor's
scope, the exports (CSV with formula escaping, XLSX, publication, audit) and the definitions."""

from __future__ import annotations

import csv
import html
import io
import re

import openpyxl
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from casework.admin.models import Organisation
from casework.audit.models import AuditEntry
from casework.auth.models import User
from casework.extensions import db
from casework.reports.definitions import COUNTS, DEFINITIONS
from casework.reports.exports import safe_text
from casework.reports.suppression import HIDDEN, SMALL
from tests.conftest import sign_in
from tests.factories import World
from tests.reports.hand_built import (
    TANGER_OFFICE_NAME,
    TANGER_REGION,
    TANGER_REGION_NAMES,
    build_cases,
)

SECTIONS = ("acceptance-office", "acceptance-region", "acceptance-nationality", "acceptance-sex",
            "acceptance-age_band", "acceptance-category", "acceptance-quarter", "processing",
            "backlog-age", "backlog-state", "appeals", "cards", "programmes", "sdg")  # fmt: skip


@pytest.fixture
def cases(app: Flask, world: World) -> dict[str, int]:
    return build_cases(app, world)


def signed_in(app: Flask, world: World, key: str, language: str = "en") -> FlaskClient:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == world.users[key]))
        user.preferred_language = language
        db.session.commit()
    client = app.test_client()
    assert sign_in(client, world.users[key]).status_code == 302
    return client


def export(client: FlaskClient, **params):
    return client.get("/reports/export", query_string=params)


def csv_rows(response) -> list[dict]:
    assert response.data.startswith("\ufeff".encode())  # Excel reads UTF-8 with a BOM
    return list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))


def exports_audited(app: Flask) -> list[AuditEntry]:
    with app.app_context():
        query = select(AuditEntry).where(AuditEntry.action == "stats.export")
        return list(db.session.scalars(query.order_by(AuditEntry.id)))


# --- the dashboard -----------------------------------------------------------------------------


def test_the_dashboard_shows_every_section_with_a_chart_and_its_table(
    app: Flask, world: World, cases
) -> None:
    page = signed_in(app, world, "supervisor").get("/reports").get_data(as_text=True)

    for section in SECTIONS:
        assert f'id="{section}"' in page, section
    assert page.count('class="cw-chart"') >= 12
    assert page.count("<table") == len(SECTIONS)
    assert page.count("<caption") == len(SECTIONS)
    # Each chart names itself for assistive technology; the rates are shown as percentages.
    for title in re.findall(r'aria-labelledby="(chart-[a-z_-]+)-title"', page):
        assert f'<title id="{title}-title">' in page
    assert "66.7%" in page  # 4 accepted of 6 decided
    assert "40%" in page  # 4 accepted of 10 filed
    # Every section links to the definitions.
    assert page.count('href="/reports/definitions#def-') >= len(SECTIONS)
    # No inline style or script (strict CSP).
    assert "style=" not in page
    assert "<script>" not in page


def test_the_headline_figures_are_those_of_the_files(app: Flask, world: World, cases) -> None:
    page = signed_in(app, world, "supervisor").get("/reports").get_data(as_text=True)
    headline = page[page.index('id="headline"') : page.index('id="acceptance-office"')]

    values = re.findall(r'<p class="cw-figure-value m-0">([^<]+)</p>', headline)
    # filed, decided, accepted, rejected, pending, three rates, cards issued, renewals due
    assert values == ["10", "6", "4", "2", "3", "66.7%", "40%", "42.9%", "0", "0"]


def test_filters_and_periods_are_read_from_the_query(app: Flask, world: World, cases) -> None:
    client = signed_in(app, world, "supervisor")

    page = client.get("/reports?office=TNG&period=month").get_data(as_text=True)

    assert 'id="acceptance-month"' in page
    assert "Apr 2026" in page
    assert "Organisation RAB</th>" not in page
    assert 'value="TNG" selected' in page


@pytest.mark.parametrize(
    "query",
    ["from=2026-02-30", "from=2026-05-01&to=2026-04-01", "office=NOPE", "region=99",
     "kind=visa", "period=week", "operation=REG-1999"],
)  # fmt: skip
def test_bad_filters_are_shown_in_the_form_without_figures(
    app: Flask, world: World, cases, query
) -> None:
    response = signed_in(app, world, "supervisor").get(f"/reports?{query}")

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "is-invalid" in page
    assert "cw-chart" not in page


def test_the_statistics_link_is_offered_to_supervisors_only(app: Flask, world: World) -> None:
    link = 'href="/reports"'
    assert link in signed_in(app, world, "supervisor").get("/home").get_data(as_text=True)
    assert link in signed_in(app, world, "regional").get("/home").get_data(as_text=True)
    for key in ("caseworker", "ngo", "admin", "auditor"):
        client = signed_in(app, world, key)
        assert link not in client.get("/home").get_data(as_text=True), key
        assert client.get("/reports").status_code == 403, key
        assert export(client).status_code == 403, key


def test_the_arabic_dashboard_is_right_to_left_charts_included(
    app: Flask, world: World, cases
) -> None:
    page = signed_in(app, world, "supervisor", "ar").get("/reports").get_data(as_text=True)

    assert 'dir="rtl"' in page
    assert 'direction="rtl"' in page
    assert 'direction="ltr"' not in page


# --- a regional supervisor sees their region only ----------------------------------------------


def test_the_regional_dashboard_shows_nothing_of_tanger(app: Flask, world: World, cases) -> None:
    client = signed_in(app, world, "regional")

    page = client.get("/reports").get_data(as_text=True)

    assert "Organisation RAB" in page
    assert TANGER_OFFICE_NAME not in page
    assert not any(name in page for name in TANGER_REGION_NAMES)
    assert 'value="TNG"' not in page  # not even offered as a filter
    headline = page[page.index('id="headline"') : page.index('id="acceptance-office"')]
    assert re.findall(r'<p class="cw-figure-value m-0">([^<]+)</p>', headline)[:5] == [
        "7", "4", "3", "1", "2",
    ]  # fmt: skip


@pytest.mark.parametrize("query", [f"region={TANGER_REGION}", "office=TNG"])
def test_another_region_is_refused_with_a_clear_message(
    app: Flask, world: World, cases, query
) -> None:
    client = signed_in(app, world, "regional")

    for url in (f"/reports?{query}", f"/reports/export?table=acceptance&group_by=office&{query}"):
        response = client.get(url)
        assert response.status_code == 403, url
        page = response.get_data(as_text=True)
        assert "Outside your region" in page
        assert "Rabat-Sale-Kenitra" in page  # tells them what they may see (English names)
        assert "cw-chart" not in page and "<table" not in page
    assert exports_audited(app) == []


def test_regional_exports_hold_their_region_only(app: Flask, world: World, cases) -> None:
    client = signed_in(app, world, "regional")

    for group_by in ("office", "region", "nationality"):
        for fmt in ("csv", "xlsx"):
            response = export(client, table="acceptance", group_by=group_by, format=fmt)
            assert response.status_code == 200
            text = response.data.decode("utf-8-sig") if fmt == "csv" else _xlsx_text(response)
            assert TANGER_OFFICE_NAME not in text
            assert not any(name in text for name in TANGER_REGION_NAMES)
    rows = csv_rows(export(client, table="acceptance", group_by="office"))
    assert [row["code"] for row in rows] == ["RAB", ""]
    assert rows[-1]["filed"] == "7"


def _xlsx_text(response) -> str:
    workbook = openpyxl.load_workbook(io.BytesIO(response.data))
    return " ".join(
        str(cell.value) for sheet in workbook for row in sheet.iter_rows() for cell in row
    )


# --- exports -----------------------------------------------------------------------------------


def test_with_no_parameters_the_export_is_the_headline_as_csv(
    app: Flask, world: World, cases
) -> None:
    response = export(signed_in(app, world, "supervisor"))

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = csv_rows(response)
    assert len(rows) == 1 and rows[0]["key"] == "total" and rows[0]["filed"] == "10"


@pytest.mark.parametrize(
    ("table", "group_by"),
    [("acceptance", ""), ("acceptance", "office"), ("acceptance", "nationality"),
     ("acceptance", "quarter"), ("appeals", "office"), ("processing", "office"),
     ("backlog", "age"), ("backlog", "state"), ("cards", ""), ("programmes", "programme"),
     ("programmes", "sdg_target")],
)  # fmt: skip
def test_every_table_exports_as_csv_and_xlsx(
    app: Flask, world: World, cases, table, group_by
) -> None:
    client = signed_in(app, world, "supervisor")
    csv_response = export(client, table=table, group_by=group_by, format="csv")
    xlsx_response = export(client, table=table, group_by=group_by, format="xlsx")

    assert csv_response.status_code == xlsx_response.status_code == 200
    lines = csv_rows(csv_response)
    assert lines
    workbook = openpyxl.load_workbook(io.BytesIO(xlsx_response.data))
    sheet = workbook.worksheets[0]
    assert [c.value for c in sheet[1]] == list(lines[0].keys())
    assert sheet.max_row == len(lines) + 1
    assert "notes" in workbook.sheetnames


def test_csv_escapes_what_a_spreadsheet_would_run(app: Flask, world: World, cases) -> None:
    with app.app_context():
        office = db.session.get(Organisation, world.orgs["RAB"])
        office.name = '=HYPERLINK("http://evil.example","Rabat")'
        db.session.commit()
    client = signed_in(app, world, "supervisor")

    rows = csv_rows(export(client, table="acceptance", group_by="office", format="csv"))
    rabat = next(row for row in rows if row["code"] == "RAB")
    assert rabat["label"] == "'" + '=HYPERLINK("http://evil.example","Rabat")'

    workbook = openpyxl.load_workbook(
        io.BytesIO(export(client, table="acceptance", group_by="office", format="xlsx").data)
    )
    labels = [row[2] for row in workbook.worksheets[0].iter_rows(min_row=2)]
    rabat_cell = next(cell for cell in labels if "HYPERLINK" in str(cell.value))
    assert rabat_cell.data_type == "s"
    assert rabat_cell.value.startswith("'=")


@pytest.mark.parametrize("text", ["=1+1", "+33 6", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_formula_starts_get_an_apostrophe(text: str) -> None:
    assert safe_text(text) == "'" + text


@pytest.mark.parametrize("text", ["Rabat", "<5", "x", "2026-Q1", "", "'already"])
def test_other_text_is_left_alone(text: str) -> None:
    assert safe_text(text) == text


def test_publication_exports_suppress_small_counts(app: Flask, world: World, cases) -> None:
    client = signed_in(app, world, "supervisor")

    rows = csv_rows(
        export(client, table="acceptance", group_by="office", format="csv", publication=1)
    )

    tanger = next(row for row in rows if row["code"] == "TNG")
    assert tanger["filed"] == SMALL
    assert next(row for row in rows if row["code"] == "RAB")["filed"] == HIDDEN
    assert rows[-1]["filed"] == "10"
    for row in rows:
        for name in COUNTS:
            assert row[name] not in {"1", "2", "3", "4"}, (row["key"], name)


def test_exports_are_audited_without_personal_data(app: Flask, world: World, cases) -> None:
    client = signed_in(app, world, "supervisor")
    export(client, table="acceptance", group_by="nationality", format="xlsx", publication=1,
           region="04")  # fmt: skip
    export(client, table="backlog", group_by="state", format="csv")

    first, second = exports_audited(app)
    assert first.user_id == world.user_ids["supervisor"]
    assert first.data == {"table": "acceptance", "group_by": "nationality", "format": "xlsx",
                          "publication": True, "channel": "page",
                          "filters": {"region": "04"}}  # fmt: skip
    assert (second.data["table"], second.data["group_by"], second.data["publication"]) == (
        "backlog", "state", False,
    )  # fmt: skip
    assert "Diallo" not in str(first.data) and "Okafor" not in str(first.data)


@pytest.mark.parametrize(
    "query",
    ["table=people", "table=acceptance&group_by=colour", "format=pdf", "publication=maybe",
     "from=2026-02-30", "office=NOPE"],
)  # fmt: skip
def test_bad_export_requests_are_refused(app: Flask, world: World, query) -> None:
    response = signed_in(app, world, "supervisor").get(f"/reports/export?{query}")

    assert response.status_code == 400
    assert exports_audited(app) == []


# --- definitions -------------------------------------------------------------------------------


def test_the_definitions_page_writes_every_definition(app: Flask, world: World) -> None:
    page = signed_in(app, world, "supervisor").get("/reports/definitions").get_data(as_text=True)

    for key, text in DEFINITIONS.items():
        assert f'id="def-{key}"' in page
        with app.test_request_context(headers={"Accept-Language": "en"}):
            assert str(text) in html.unescape(page)
    assert SMALL.replace("<", "&lt;") in page
