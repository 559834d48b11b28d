"""Full exports: scoped like the pages, formula-escaped, streamed, audited, importable back."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from flask import Flask
from openpyxl import load_workbook

from casework.extensions import db
from tests.conftest import api_token, reauthenticate
from tests.conftest import sign_in as sign_in_only
from tests.factories import World, make_person, user_by_key
from tests.imports.helpers import audit_entries, run_cli

FORMULA = '=HYPERLINK("http://evil.example","click")'


def sign_in(client, email: str):
    """Signed in, with the password just confirmed (bulk exports ask for it again)."""
    response = sign_in_only(client, email)
    reauthenticate(client)
    return response


def rows_of(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def add_formula_person(app: Flask, world: World) -> None:
    with app.app_context():
        make_person(
            user_by_key(world, "caseworker2"),
            family_name=FORMULA,
            given_names="@SUM(A1)",
            phone="+212600000000",
            family_name_ar=None,
            given_names_ar=None,
        )
        db.session.commit()


def test_a_caseworker_exports_only_their_office_people(app: Flask, world: World) -> None:
    add_formula_person(app, world)
    client = app.test_client()
    sign_in(client, world.users["caseworker2"])

    response = client.get("/exports/people.csv")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = rows_of(response)
    assert {row["family_name"] for row in rows} == {"Okafor", "'" + FORMULA}
    assert {row["organisation"] for row in rows} == {"TNG"}
    assert "Diallo" not in response.get_data(as_text=True)  # Rabat's people never leave
    escaped = next(row for row in rows if row["family_name"].startswith("'"))
    assert escaped["given_names"] == "'@SUM(A1)"
    assert escaped["phone"] == "'+212600000000"
    [entry] = audit_entries(app, "people.export")
    assert entry.user_id == world.user_ids["caseworker2"]
    assert entry.data["rows"] == 2 and entry.data["format"] == "csv"


def test_the_xlsx_export_holds_text_not_formulas(app: Flask, world: World) -> None:
    add_formula_person(app, world)
    client = app.test_client()
    sign_in(client, world.users["caseworker2"])

    response = client.get("/exports/people.xlsx")

    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).worksheets[0]
    header = [cell.value for cell in sheet[1]]
    names = {
        row[header.index("family_name")] for row in sheet.iter_rows(min_row=2, values_only=True)
    }
    assert names == {"Okafor", "'" + FORMULA}
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_a_regional_supervisor_exports_their_region_and_a_national_one_everything(
    app: Flask, world: World
) -> None:
    regional, national = app.test_client(), app.test_client()
    sign_in(regional, world.users["regional"])
    sign_in(national, world.users["supervisor"])

    in_region = {row["family_name"] for row in rows_of(regional.get("/exports/people.csv"))}
    everyone = {row["family_name"] for row in rows_of(national.get("/exports/people.csv"))}

    assert in_region == {
        "Diallo"
    }  # the two Rabat people (the NGO's walk-in is not held by an office)
    assert {"Diallo", "Okafor"} <= everyone


def test_case_exports_follow_the_case_scope(app: Flask, world: World, tmp_path: Path) -> None:
    from casework.cases.operations import file_case

    with app.app_context():
        from casework.people.models import Person

        caseworker = user_by_key(world, "caseworker")
        rabat = db.session.get(Person, world.people["rabat"])
        file_case(kind="asylum", applicant=rabat, by=caseworker)
        db.session.commit()
    rabat_client, tanger_client = app.test_client(), app.test_client()
    sign_in(rabat_client, world.users["caseworker"])
    sign_in(tanger_client, world.users["caseworker2"])

    rabat_rows = rows_of(rabat_client.get("/exports/cases.csv"))
    tanger_rows = rows_of(tanger_client.get("/exports/cases.csv"))

    assert [row["kind"] for row in rabat_rows] == ["asylum"]
    assert rabat_rows[0]["office_code"] == "RAB"
    assert rabat_rows[0]["reference"].startswith("ASY-")
    assert tanger_rows == []
    sheet = load_workbook(io.BytesIO(rabat_client.get("/exports/cases.xlsx").data)).worksheets[0]
    assert sheet.max_row == 2


def test_the_api_exports_with_the_same_scope(app: Flask, world: World) -> None:
    client = app.test_client()
    headers = api_token(client, world.users["caseworker2"])

    response = client.get("/api/v1/exports/people.csv", headers=headers)

    assert response.status_code == 200
    assert {row["family_name"] for row in rows_of(response)} == {"Okafor"}
    assert client.get("/api/v1/exports/cases.xlsx", headers=headers).status_code == 200
    ngo = api_token(client, world.users["ngo"])
    assert client.get("/api/v1/exports/people.csv", headers=ngo).status_code == 403
    assert audit_entries(app, "people.export")[0].data["channel"] == "api"


def test_an_export_can_be_imported_back(app: Flask, world: World, tmp_path: Path) -> None:
    add_formula_person(app, world)
    client = app.test_client()
    sign_in(client, world.users["caseworker2"])
    rows = rows_of(client.get("/exports/people.csv"))
    for number, row in enumerate(rows):
        row["external_ref"] = f"T-{number}"
    path = tmp_path / "export.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    result = run_cli(app, str(path), "--kind", "people", "--organisation", "RAB")

    assert result.exit_code == 0, result.output
    assert "created 2" in result.output
    from tests.imports.helpers import person_by_ref

    imported = [person_by_ref(app, "T-0"), person_by_ref(app, "T-1")]
    assert FORMULA in {p.family_name for p in imported}  # the apostrophe was taken off
    assert "+212600000000" in {p.phone for p in imported}


def test_a_bulk_export_asks_for_the_password_again(app: Flask, world: World) -> None:
    client = app.test_client()
    sign_in_only(client, world.users["caseworker"])
    asked = client.get("/exports/people.csv")
    assert asked.status_code == 302
    assert "/account/confirm" in asked.headers["Location"]
    wrong = client.post("/account/confirm?next=/exports/people.csv", data={"password": "nope"})
    assert wrong.status_code == 200
    from tests.factories import PASSWORD

    confirmed = client.post(
        "/account/confirm?next=/exports/people.csv", data={"password": PASSWORD}
    )
    assert confirmed.headers["Location"].endswith("/exports/people.csv")
    assert client.get("/exports/people.csv").status_code == 200


def test_an_api_bulk_export_needs_a_fresh_token(app: Flask, world: World) -> None:
    from datetime import timedelta

    from casework.auth.models import ApiToken

    client = app.test_client()
    headers = api_token(client, world.users["caseworker"])
    assert client.get("/api/v1/exports/people.csv", headers=headers).status_code == 200
    with app.app_context():
        for token in db.session.scalars(db.select(ApiToken)):
            token.created_at = token.created_at - timedelta(minutes=30)
        db.session.commit()
    stale = client.get("/api/v1/exports/people.csv", headers=headers)
    assert stale.status_code == 401
    assert stale.mimetype == "application/problem+json"
