"""Every CSV the application writes neutralises spreadsheet formulas: a cell starting with
= + - @, a tab or a carriage return gets a leading apostrophe, wherever its text came from.

The CSV writers (`grep csv.writer casework/`): the full exports of people and files (pages and
API, `casework.imports.exports.csv_chunks`), the statistics tables (pages and API,
`casework.reports.exports.to_csv`), the import templates (`casework.imports.layouts.
template_csv`, fixed headers) and the import problems report (`casework.imports.operations.
Report`, values from the uploaded file).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import update

from casework.admin.models import Organisation
from casework.cases.models import Case
from casework.extensions import db
from casework.imports.operations import Report
from casework.people.models import Person
from tests.cases.helpers import new_case, request_context
from tests.conftest import api_token, reauthenticate
from tests.data_protection.conftest import signed_in
from tests.factories import World

DANGEROUS = {
    "=": '=HYPERLINK("http://evil.example","x")',
    "+": "+212 600 000 000",
    "-": "-2+3",
    "@": "@SUM(A1:A2)",
    "\t": "\t=1+1",
    "\r": "\r=1+1",
}
FORMULA_STARTS = tuple(DANGEROUS)


def cells(body: bytes | str) -> list[list[str]]:
    text = body.decode("utf-8-sig") if isinstance(body, bytes) else body.lstrip("\ufeff")
    return list(csv.reader(io.StringIO(text, newline="")))


def unsafe_cells(rows: list[list[str]]) -> list[str]:
    return [cell for row in rows for cell in row if cell.startswith(FORMULA_STARTS)]


def escaped(rows: list[list[str]]) -> set[str]:
    return {cell for row in rows for cell in row if cell.startswith("'")}


@pytest.fixture
def poisoned(app: Flask, world: World) -> World:
    """Text that a spreadsheet would run, in every kind of field the exports carry, written
    straight to the database (forms would strip the tab and carriage return)."""
    with app.app_context(), request_context(app):
        case = new_case(world, applicant="rabat")
        db.session.flush()
        people, cases = Person.__table__, Case.__table__
        db.session.execute(
            update(people).where(people.c.id == world.people["rabat"]).values(
                family_name=DANGEROUS["="], given_names=DANGEROUS["\t"],
                family_name_ar=DANGEROUS["@"], given_names_ar=DANGEROUS["\r"],
                phone=DANGEROUS["+"], external_ref=DANGEROUS["-"],
            )
        )  # fmt: skip
        db.session.execute(
            update(cases).where(cases.c.id == case.id).values(external_ref=DANGEROUS["@"])
        )
        db.session.execute(
            update(Organisation.__table__)
            .where(Organisation.__table__.c.id == world.orgs["RAB"])
            .values(name=DANGEROUS["="])
        )
        db.session.commit()
    return world


@pytest.mark.parametrize("dataset", ["people", "cases"])
def test_the_full_exports_escape_formulas(app: Flask, poisoned: World, dataset: str) -> None:
    token = api_token(app.test_client(), poisoned.users["caseworker"])
    client = signed_in(app, poisoned, "caseworker")
    reauthenticate(client)  # bulk exports ask for the password again
    bodies = []
    for target, headers in ((client, None), (app.test_client(), token)):
        # Streamed bodies: read each before the next request starts.
        prefix = "/api/v1" if headers else ""
        response = target.get(f"{prefix}/exports/{dataset}.csv", headers=headers)
        assert response.status_code == 200
        bodies.append(response.get_data())

    for body in bodies:
        rows = cells(body)
        assert unsafe_cells(rows) == []
        if dataset == "people":
            assert {"'" + DANGEROUS[c] for c in "=\t@\r+-"} <= escaped(rows)
        else:
            assert {"'" + DANGEROUS["@"], "'" + DANGEROUS["-"]} <= escaped(rows)


def test_the_statistics_exports_escape_formulas(app: Flask, poisoned: World) -> None:
    client = signed_in(app, poisoned, "supervisor")

    page = client.get("/reports/export?table=acceptance&group_by=office&format=csv")

    assert page.status_code == 200
    rows = cells(page.get_data())
    assert unsafe_cells(rows) == []
    assert "'" + DANGEROUS["="] in escaped(rows)  # the office's name, as the row label


@pytest.mark.parametrize("dataset", ["people", "cases"])
@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_import_templates_hold_no_formula(
    app: Flask, world: World, dataset: str, language: str
) -> None:
    client = signed_in(app, world, "supervisor")

    response = client.get(f"/imports/templates/{dataset}-{language}.csv")

    assert response.status_code == 200
    rows = cells(response.get_data())
    assert rows and rows[0]
    assert unsafe_cells(rows) == []


def test_the_import_report_escapes_the_values_it_quotes(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "report.csv"
    report = Report(path)
    for start, value in DANGEROUS.items():
        report.add(2, f"{start}column", value, f"{start}message")
    report.close()

    rows = cells(path.read_bytes())[1:]

    assert len(rows) == len(DANGEROUS)
    assert unsafe_cells(rows) == []
    # Values are trimmed first (a leading tab or return goes), then escaped.
    assert [row[2] for row in rows] == ["'" + value.strip() for value in DANGEROUS.values()]
    assert all(row[1].startswith("'") and row[3].startswith("'") for row in rows)


def test_an_imported_file_cannot_smuggle_formulas_into_its_report(
    app: Flask, world: World, tmp_path: Path
) -> None:
    from tests.imports.helpers import run_cli, write_csv

    source = write_csv(
        tmp_path / "register.csv",
        ["external_ref", "family_name", "given_names", "sex", "date_of_birth", "nationality",
         "=HYPERLINK(\"x\")"],
        [["P-1", "Traoré", "Aminata", "=1+1", "@today", "+XX", "-1"]],
    )  # fmt: skip
    report = tmp_path / "problems.csv"

    result = run_cli(
        app, str(source), "--kind", "people", "--organisation", "RAB", "--dry-run",
        "--report", str(report),
    )  # fmt: skip

    assert result.exit_code == 1, result.output
    rows = cells(report.read_bytes())
    assert len(rows) > 2
    assert unsafe_cells(rows) == []
    assert {"'=1+1", "'@today", "'+XX"} <= escaped(rows)
