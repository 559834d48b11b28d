"""Importing case files: references, statistics dimensions, timeline, applicants, re-imports."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from flask import Flask
from sqlalchemy import select

from casework.cases.models import Case, CaseEvent
from casework.extensions import db
from tests.factories import World
from tests.imports.helpers import (
    GOOD_ROWS,
    PEOPLE_HEADER,
    audit_entries,
    report_lines,
    run_cli,
    write_csv,
)

CASES_HEADER = [
    "external_ref", "person_external_ref", "kind", "operation", "category", "office_code",
    "filed_on", "state",
]  # fmt: skip
FRENCH_CASES_HEADER = [
    "référence externe", "référence de la personne", "type de dossier", "opération",
    "catégorie", "bureau", "date de dépôt", "état",
]  # fmt: skip
CASE_ROWS = [
    ["C-1", "P-1", "regularisation", "", "work_contract", "", "2026-02-01", ""],
    ["C-2", "P-2", "asile", "", "", "RAB", "01/03/2025", "pre_screening"],
]


def import_people(app: Flask, tmp_path: Path, organisation: str = "RAB") -> None:
    path = write_csv(tmp_path / "people.csv", PEOPLE_HEADER, GOOD_ROWS)
    result = run_cli(app, str(path), "--kind", "people", "--organisation", organisation)
    assert result.exit_code == 0, result.output


def cases(app: Flask) -> dict[str, Case]:
    with app.app_context():
        rows = list(db.session.scalars(select(Case).where(Case.external_ref.is_not(None))))
        for row in rows:
            db.session.expunge(row)
        return {row.external_ref: row for row in rows}


def test_case_files_are_filed_with_references_dimensions_and_a_timeline(
    app: Flask, world: World, tmp_path: Path
) -> None:
    import_people(app, tmp_path)
    path = write_csv(tmp_path / "cases.csv", FRENCH_CASES_HEADER, CASE_ROWS)

    result = run_cli(app, str(path), "--kind", "cases", "--organisation", "RAB")

    assert result.exit_code == 0, result.output
    assert "created 2" in result.output
    files = cases(app)
    regularisation, asylum = files["C-1"], files["C-2"]
    assert regularisation.reference == "REG-2026-RAB-000001"
    assert regularisation.operation_code == "REG-2026"  # the one open on the filing date
    assert regularisation.state == "filed"
    assert regularisation.office_id == world.orgs["RAB"]
    assert regularisation.applicant_sex == "F"
    assert regularisation.applicant_nationality == "ML"
    assert regularisation.applicant_age_band == "26-35"
    assert regularisation.region_code == "04"
    assert regularisation.version == 1
    assert asylum.reference == "ASY-2025-RAB-000001"
    assert (asylum.kind, asylum.state, asylum.filed_on) == ("asylum", "pre_screening",
                                                             date(2025, 3, 1))  # fmt: skip
    with app.app_context():
        events = db.session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == regularisation.id)
        ).all()
        assert [(e.kind, e.to_state) for e in events] == [("created", "filed")]
    assert {e.record_id for e in audit_entries(app, "case.create")} == {
        regularisation.id,
        asylum.id,
    }


def test_bad_case_rows_are_reported_by_row_and_column(
    app: Flask, world: World, tmp_path: Path
) -> None:
    import_people(app, tmp_path)
    rows = [
        *CASE_ROWS,
        ["C-3", "P-404", "asylum", "", "", "", "2025-03-01", ""],  # row 4: unknown person
        ["C-4", "P-1", "regularisation", "", "bogus", "XXX", "2026-02-01", "flying"],  # row 5
        ["C-5", "P-1", "renewal", "", "", "", "2015-06-01", ""],  # row 6: no operation open
        ["C-6", "P-1", "divorce", "", "", "", "tomorrow", ""],  # row 7
    ]
    path = write_csv(tmp_path / "cases.csv", CASES_HEADER, rows)

    result = run_cli(app, str(path), "--kind", "cases", "--organisation", "RAB", "--dry-run")

    assert result.exit_code == 1
    report = result.output.split("Report: ")[1].strip()
    assert {(line["row"], line["column"]) for line in report_lines(report)} == {
        ("4", "person_external_ref"),
        ("5", "office_code"),
        ("5", "category"),
        ("5", "state"),
        ("6", "operation"),
        ("7", "kind"),
        ("7", "filed_on"),
    }
    assert cases(app) == {}


def test_a_case_file_imported_again_is_updated_not_duplicated(
    app: Flask, world: World, tmp_path: Path
) -> None:
    import_people(app, tmp_path)
    path = write_csv(tmp_path / "cases.csv", CASES_HEADER, CASE_ROWS)
    assert run_cli(app, str(path), "--kind", "cases", "--organisation", "RAB").exit_code == 0

    again = run_cli(app, str(path), "--kind", "cases", "--organisation", "RAB")
    assert "created 0, updated 0, unchanged 2" in again.output, again.output

    changed = [list(row) for row in CASE_ROWS]
    changed[0][7] = "under_review"
    write_csv(path, CASES_HEADER, changed)
    third = run_cli(app, str(path), "--kind", "cases", "--organisation", "RAB")

    assert "created 0, updated 1, unchanged 1" in third.output, third.output
    files = cases(app)
    assert len(files) == 2
    assert files["C-1"].state == "under_review" and files["C-1"].version == 2
    assert files["C-1"].reference == "REG-2026-RAB-000001"
    [update] = audit_entries(app, "case.update")
    assert update.record_id == files["C-1"].id and update.data["fields"] == ["state"]
