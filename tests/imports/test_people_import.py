"""Importing people with `casework import`: dry runs, all or nothing, valid rows only,
re-imports, encodings, XLSX, layouts and bad files."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

from flask import Flask
from sqlalchemy import select

from casework.extensions import db
from casework.imports.models import ImportJob
from tests.factories import World
from tests.imports.helpers import (
    FRENCH_HEADER,
    GOOD_ROWS,
    PEOPLE_HEADER,
    audit_entries,
    people_count,
    person_by_ref,
    report_lines,
    run_cli,
    write_csv,
    write_xlsx,
)

BAD_ROWS = [
    ["P-4", "Okafor", "Chinedu", "", "", "M", "2090-01-01", "XX", "", "ZZZ"],  # row 5
    ["P-5", "Bad", "Sex", "", "", "Q", "31/02/1990", "SN", "", ""],  # row 6
    ["P-1", "Again", "Same ref", "", "", "F", "", "SN", "", ""],  # row 7
    ["", "", "", "", "", "F", "", "", "", ""],  # row 8
]


def report_of(output: str) -> list[dict[str, str]]:
    match = re.search(r"Report: (\S+)", output)
    assert match, output
    return report_lines(match.group(1))


def problems(lines: list[dict[str, str]]) -> set[tuple[str, str]]:
    return {(line["row"], line["column"]) for line in lines}


def test_a_dry_run_reports_every_bad_row_and_column_and_writes_nothing(
    app: Flask, world: World, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "people.csv", PEOPLE_HEADER, GOOD_ROWS + BAD_ROWS)

    result = run_cli(app, str(path), "--kind", "people", "--organisation", "RAB", "--dry-run")

    assert result.exit_code == 1, result.output
    assert "3 valid, 4 with problems" in result.output
    assert "would create 3" in result.output
    assert problems(report_of(result.output)) == {
        ("5", "date_of_birth"),
        ("5", "nationality"),
        ("5", "prefecture_code"),
        ("6", "sex"),
        ("6", "date_of_birth"),
        ("7", "external_ref"),
        ("8", "external_ref"),
        ("8", "family_name"),
        ("8", "given_names"),
    }
    lines = {(line["row"], line["column"]): line for line in report_of(result.output)}
    assert lines[("5", "nationality")]["value"] == "XX"
    assert "ISO 3166" in lines[("5", "nationality")]["message"]
    assert "earlier row" in lines[("7", "external_ref")]["message"]
    assert people_count(app) == 0
    assert audit_entries(app, "person.create") == []
    [summary] = audit_entries(app, "import.dry_run")
    assert summary.data["invalid"] == 4 and summary.data["written"] is False


def test_without_valid_only_one_bad_row_means_nothing_is_written(
    app: Flask, world: World, tmp_path: Path
) -> None:
    # The bad row comes after the good ones, in a later batch than none: still nothing.
    path = write_csv(tmp_path / "people.csv", PEOPLE_HEADER, GOOD_ROWS + BAD_ROWS[:1])

    result = run_cli(app, str(path), "--kind", "people", "--organisation", "RAB")

    assert result.exit_code == 1, result.output
    assert "nothing was written" in result.output
    assert people_count(app) == 0
    assert audit_entries(app, "person.create") == []
    assert problems(report_of(result.output)) == {
        ("5", "date_of_birth"),
        ("5", "nationality"),
        ("5", "prefecture_code"),
    }


def test_all_or_nothing_rolls_back_batches_already_written(
    app: Flask, world: World, tmp_path: Path, monkeypatch
) -> None:
    from casework.imports import operations

    monkeypatch.setattr(operations, "BATCH", 2)  # the good rows are written, then rolled back
    path = write_csv(tmp_path / "people.csv", PEOPLE_HEADER, GOOD_ROWS + BAD_ROWS[:1])

    result = run_cli(app, str(path), "--kind", "people", "--organisation", "RAB")

    assert result.exit_code == 1, result.output
    assert people_count(app) == 0


def test_with_valid_only_the_valid_rows_go_in_and_the_others_are_reported(
    app: Flask, world: World, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "people.csv", PEOPLE_HEADER, GOOD_ROWS + BAD_ROWS)

    result = run_cli(app, str(path), "--kind", "people", "--organisation", "RAB", "--valid-only")

    assert result.exit_code == 0, result.output
    assert "created 3" in result.output
    assert people_count(app) == 3
    assert len(report_of(result.output)) == 9
    traore = person_by_ref(app, "P-1")
    assert traore.given_names == "Aminata"  # the first P-1 row, not the duplicate
    assert traore.search_text == "traore aminata تراوري اميناتا"
    assert traore.version == 1
    assert traore.organisation_id == world.orgs["RAB"]
    assert person_by_ref(app, "P-2").date_of_birth == date(1985, 7, 14)
    approximate = person_by_ref(app, "P-3")
    assert approximate.date_of_birth == date(1979, 1, 1)
    assert approximate.date_of_birth_approximate is True
    created = audit_entries(app, "person.create")
    assert len(created) == 3 and all(e.data == {"import_job": created[0].data["import_job"]}
                                     for e in created)  # fmt: skip


def test_importing_the_same_file_again_creates_nothing_and_updates_changed_rows(
    app: Flask, world: World, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "people.csv", PEOPLE_HEADER, GOOD_ROWS)
    first = run_cli(app, str(path), "--kind", "people", "--organisation", "RAB")
    assert first.exit_code == 0, first.output

    again = run_cli(app, str(path), "--kind", "people", "--organisation", "RAB")

    assert again.exit_code == 0, again.output
    assert "created 0, updated 0, unchanged 3" in again.output
    assert people_count(app) == 3
    assert audit_entries(app, "person.update") == []

    changed = [list(row) for row in GOOD_ROWS]
    changed[1][8] = "0611111111"  # Diallo's phone
    changed[2][2] = "Grâce Marie"  # Mbeki's given names
    write_csv(path, PEOPLE_HEADER, changed)
    third = run_cli(app, str(path), "--kind", "people", "--organisation", "RAB")

    assert "created 0, updated 2, unchanged 1" in third.output, third.output
    assert people_count(app) == 3
    diallo, mbeki = person_by_ref(app, "P-2"), person_by_ref(app, "P-3")
    assert diallo.phone == "0611111111" and diallo.version == 2
    assert mbeki.given_names == "Grâce Marie" and "grace marie" in mbeki.search_text
    assert person_by_ref(app, "P-1").version == 1
    updates = {e.record_id: e.data for e in audit_entries(app, "person.update")}
    assert updates[diallo.id]["fields"] == ["phone"]
    assert updates[mbeki.id]["fields"] == ["given_names"]
    assert "0611111111" not in json.dumps(list(updates.values()))  # names, never values


def test_a_reference_held_by_another_organisation_is_refused(
    app: Flask, world: World, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "people.csv", PEOPLE_HEADER, GOOD_ROWS[:1])
    assert run_cli(app, str(path), "--kind", "people", "--organisation", "TNG").exit_code == 0

    result = run_cli(app, str(path), "--kind", "people", "--organisation", "RAB")

    assert result.exit_code == 1
    [line] = report_of(result.output)
    assert (line["row"], line["column"], line["value"]) == ("2", "external_ref", "P-1")
    assert "another organisation" in line["message"]
    assert people_count(app, organisation_id=world.orgs["RAB"]) == 0


def test_utf8_with_a_bom_and_semicolons_is_read(app: Flask, world: World, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "bom.csv", FRENCH_HEADER, GOOD_ROWS, delimiter=";", encoding="utf-8-sig"
    )

    result = run_cli(app, str(path), "--kind", "people", "--organisation", "RAB")

    assert result.exit_code == 0, result.output
    assert person_by_ref(app, "P-1").family_name == "Traoré"
    assert person_by_ref(app, "P-1").family_name_ar == "تراوري"


def test_windows_1252_is_detected(app: Flask, world: World, tmp_path: Path) -> None:
    rows = [["P-1", "Traoré", "Aminata", "", "", "F", "12/03/1990", "ML", "", "RAB"]]
    path = write_csv(tmp_path / "cp1252.csv", FRENCH_HEADER, rows, delimiter=";",
                     encoding="cp1252")  # fmt: skip
    assert "é".encode("cp1252") in path.read_bytes()

    result = run_cli(app, str(path), "--kind", "people", "--organisation", "RAB")

    assert result.exit_code == 0, result.output
    assert person_by_ref(app, "P-1").family_name == "Traoré"
    assert person_by_ref(app, "P-1").search_text == "traore aminata"


def test_an_xlsx_workbook_is_imported_with_its_date_and_number_cells(
    app: Flask, world: World, tmp_path: Path
) -> None:
    rows = [
        [1001, "Traoré", "Aminata", None, None, "F", date(1990, 3, 12), "ml", 612345678, "RAB"],
        ["P-2", "Diallo", "Ousmane", None, None, "h", "14/07/1985", "SN", None, None],
        ["P-3", "Bad", "Date", None, None, "F", "someday", "SN", None, None],
    ]
    path = write_xlsx(tmp_path / "people.xlsx", FRENCH_HEADER, rows)

    result = run_cli(app, str(path), "--kind", "people", "--organisation", "RAB", "--valid-only")

    assert result.exit_code == 0, result.output
    assert problems(report_of(result.output)) == {("4", "date de naissance")}
    aminata = person_by_ref(app, "1001")
    assert aminata.date_of_birth == date(1990, 3, 12)
    assert aminata.nationality == "ML"
    assert aminata.phone == "612345678"
    assert person_by_ref(app, "P-2").sex == "M"


def test_missing_required_columns_fail_the_job_and_are_reported(
    app: Flask, world: World, tmp_path: Path
) -> None:
    header = ["external_ref", "family_name", "nationality", "unknown column"]
    path = write_csv(tmp_path / "people.csv", header, [["P-1", "Traoré", "ML", "x"]])

    result = run_cli(app, str(path), "--kind", "people", "--organisation", "RAB")

    assert result.exit_code == 2
    assert "given_names" in result.output and "sex" in result.output
    lines = report_of(result.output)
    assert ("1", "given_names") in problems(lines)
    assert ("1", "sex") in problems(lines)
    assert ("1", "unknown column") in problems(lines)  # noted as ignored
    assert people_count(app) == 0


def test_a_file_that_is_not_csv_or_xlsx_is_refused(
    app: Flask, world: World, tmp_path: Path
) -> None:
    pdf = tmp_path / "register.csv"
    pdf.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 10)
    binary = tmp_path / "register.bin"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    xls = tmp_path / "old.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)

    for path, words in ((pdf, "PDF"), (binary, "not a CSV"), (xls, ".xls")):
        result = run_cli(app, str(path), "--kind", "people", "--organisation", "RAB")
        assert result.exit_code == 2, result.output
        assert words in result.output
    assert people_count(app) == 0


def test_a_mapping_file_maps_other_layouts(app: Flask, world: World, tmp_path: Path) -> None:
    header = ["Réf.", "Nom de famille", "Prénom usuel", "Genre", "Né(e) le"]
    path = write_csv(tmp_path / "other.csv", header, [["X9", "Traoré", "Aminata", "F", "1990"]])
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"Réf.": "external_ref", "Prénom usuel": "given_names"}))
    csv_mapping = tmp_path / "mapping.csv"
    csv_mapping.write_text("source,field\nRéf.,external_ref\nPrénom usuel,given_names\n")

    for file in (mapping, csv_mapping):
        result = run_cli(
            app, str(path), "--kind", "people", "--organisation", "RAB", "--mapping", str(file)
        )
        assert result.exit_code == 0, result.output
    assert person_by_ref(app, "X9").given_names == "Aminata"

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"Réf.": "not_a_field"}))
    result = run_cli(
        app, str(path), "--kind", "people", "--organisation", "RAB", "--mapping", str(bad)
    )
    assert result.exit_code == 2
    assert "not_a_field" in result.output


def test_people_need_an_organisation(app: Flask, world: World, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "people.csv", PEOPLE_HEADER, GOOD_ROWS)

    assert run_cli(app, str(path), "--kind", "people").exit_code == 2
    assert run_cli(app, str(path), "--kind", "people", "--organisation", "NOPE").exit_code == 2
    with app.app_context():
        assert db.session.scalar(select(ImportJob.id)) is None
