"""Importing renewal files: linked to the file of the same office that issued the card."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy import select, update

from casework.cases.models import Case
from casework.extensions import db
from tests.factories import World
from tests.imports.helpers import report_lines, run_cli, write_csv
from tests.imports.test_cases_import import CASES_HEADER, cases, import_people

RENEWAL_HEADER = [*CASES_HEADER, "renews_card_number"]
FRENCH_RENEWAL_HEADER = [
    "référence externe", "référence de la personne", "type de dossier", "opération",
    "catégorie", "bureau", "date de dépôt", "état", "numéro de la carte renouvelée",
]  # fmt: skip
CARD_FILE = ["C-1", "P-1", "regularisation", "", "work_contract", "", "2026-02-01", "", ""]


def issue_card(app: Flask, external_ref: str, number: str) -> int:
    with app.app_context():
        case_id = db.session.scalar(select(Case.id).where(Case.external_ref == external_ref))
        db.session.execute(update(Case).where(Case.id == case_id).values(card_number=number))
        db.session.commit()
        return case_id


def file_with_card(app: Flask, tmp_path: Path, number: str = "CS-2026-0001") -> int:
    import_people(app, tmp_path)
    path = write_csv(tmp_path / "cards.csv", RENEWAL_HEADER, [CARD_FILE])
    result = run_cli(app, str(path), "--kind", "cases", "--organisation", "RAB")
    assert result.exit_code == 0, result.output
    return issue_card(app, "C-1", number)


def report_of(output: str) -> list[dict[str, str]]:
    return report_lines(output.split("Report: ")[1].strip())


def test_an_imported_renewal_is_linked_to_the_file_that_issued_the_card(
    app: Flask, world: World, tmp_path: Path
) -> None:
    card_file = file_with_card(app, tmp_path)
    rows = [["R-1", "P-1", "renouvellement", "", "", "", "2026-03-01", "", "cs-2026-0001"]]
    path = write_csv(tmp_path / "renewals.csv", FRENCH_RENEWAL_HEADER, rows)

    result = run_cli(app, str(path), "--kind", "cases", "--organisation", "RAB")

    assert result.exit_code == 0, result.output
    assert "created 1" in result.output
    renewal = cases(app)["R-1"]
    assert (renewal.kind, renewal.renewal_of_id) == ("renewal", card_file)
    assert not [line for line in report_of(result.output) if line["row"] != "1"]
    # Imported again, unchanged; without the column, the link stays.
    again = run_cli(app, str(path), "--kind", "cases", "--organisation", "RAB")
    assert "created 0, updated 0, unchanged 1" in again.output, again.output
    write_csv(path, CASES_HEADER, [rows[0][:8]])
    third = run_cli(app, str(path), "--kind", "cases", "--organisation", "RAB")
    assert "unchanged 1" in third.output, third.output
    assert cases(app)["R-1"].renewal_of_id == card_file


def test_an_unknown_card_or_one_of_another_office_is_a_row_problem(
    app: Flask, world: World, tmp_path: Path
) -> None:
    file_with_card(app, tmp_path)  # Rabat's card: a Tanger renewal (row 3) cannot name it
    rows = [
        ["R-1", "P-1", "renewal", "", "", "", "2026-03-01", "", "NO-SUCH-CARD"],  # row 2
        ["R-2", "P-2", "renewal", "", "", "TNG", "2026-03-01", "", "CS-2026-0001"],  # row 3
        ["R-3", "P-3", "asylum", "", "", "", "2026-03-01", "", "CS-2026-0001"],  # row 4
        ["R-4", "P-1", "renewal", "", "", "", "2026-03-01", "", "CS-2026-0001"],  # row 5: ok
        ["R-5", "P-2", "renewal", "", "", "", "2026-03-01", "", "CS-2026-0001"],  # row 6
    ]
    path = write_csv(tmp_path / "renewals.csv", RENEWAL_HEADER, rows)

    result = run_cli(app, str(path), "--kind", "cases", "--organisation", "RAB", "--dry-run")

    assert result.exit_code == 1, result.output
    assert {(line["row"], line["column"]) for line in report_of(result.output)} == {
        ("2", "renews_card_number"),
        ("3", "renews_card_number"),
        ("4", "renews_card_number"),
        ("6", "renews_card_number"),
    }
    assert set(cases(app)) == {"C-1"}


def test_a_card_already_renewed_by_another_file_is_a_row_problem(
    app: Flask, world: World, tmp_path: Path
) -> None:
    file_with_card(app, tmp_path)
    first = write_csv(
        tmp_path / "first.csv",
        RENEWAL_HEADER,
        [["R-1", "P-1", "renewal", "", "", "", "2026-03-01", "", "CS-2026-0001"]],
    )
    assert run_cli(app, str(first), "--kind", "cases", "--organisation", "RAB").exit_code == 0
    second = write_csv(
        tmp_path / "second.csv",
        RENEWAL_HEADER,
        [["R-9", "P-2", "renewal", "", "", "", "2026-03-02", "", "CS-2026-0001"]],
    )

    result = run_cli(app, str(second), "--kind", "cases", "--organisation", "RAB")

    assert result.exit_code == 1
    assert [(line["row"], line["column"]) for line in report_of(result.output)] == [
        ("2", "renews_card_number")
    ]


def test_without_the_column_renewals_import_unlinked_and_the_report_counts_them(
    app: Flask, world: World, tmp_path: Path
) -> None:
    import_people(app, tmp_path)
    rows = [
        ["R-1", "P-1", "renewal", "", "", "", "2026-03-01", ""],
        ["R-2", "P-2", "renewal", "", "", "", "2026-03-01", ""],
        ["C-1", "P-3", "asylum", "", "", "", "2026-03-01", ""],
    ]
    path = write_csv(tmp_path / "renewals.csv", CASES_HEADER, rows)

    result = run_cli(app, str(path), "--kind", "cases", "--organisation", "RAB")

    assert result.exit_code == 0, result.output
    assert "created 3" in result.output
    files = cases(app)
    assert files["R-1"].renewal_of_id is None and files["R-2"].renewal_of_id is None
    [warning] = [line for line in report_of(result.output) if line["row"] != "1"]
    assert (warning["row"], warning["column"], warning["value"]) == ("", "renews_card_number", "2")
    assert "not linked" in warning["message"]


def test_the_templates_offer_the_renewed_card_column(app: Flask, world: World) -> None:
    from tests.conftest import sign_in

    client = app.test_client()
    sign_in(client, world.users["admin"])

    french = client.get("/imports/templates/cases-fr.csv").get_data(as_text=True)
    english = client.get("/imports/templates/cases-en.csv").get_data(as_text=True)

    assert french.strip().endswith("état,numéro de la carte renouvelée")
    assert english.strip().endswith("state,renews_card_number")
