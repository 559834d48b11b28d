"""Statistics through the API (/api/v1/stats): figures against hand-built files, every grouping
adding up to the total, the regional supervisor's scope, bad input as problem+json, and the
CSV/XLSX answers (audited)."""

from __future__ import annotations

import csv
import io
from datetime import date

import openpyxl
import pytest
from flask import Flask
from sqlalchemy import select

from casework.audit.models import AuditEntry
from casework.cases.models import Case
from casework.extensions import db
from casework.reports.definitions import COUNTS
from casework.reports.queries import BACKLOG_BUCKETS, GROUPS
from casework.reports.suppression import HIDDEN, SMALL
from tests.conftest import api_token
from tests.factories import World
from tests.reports.hand_built import (
    NATIONAL,
    RABAT,
    TANGER_OFFICE_NAME,
    TANGER_REGION,
    TANGER_REGION_NAMES,
    build_cases,
)

ACCEPTANCE = "/api/v1/stats/acceptance"
ROW_FIELDS = {"key", "label", "filed", "decided", "accepted", "rejected", "pending",
              "acceptance_rate", "acceptance_rate_filed", "first_instance_favourable",
              "first_instance_rate", "appeals_lodged", "appeals_granted"}  # fmt: skip


@pytest.fixture
def cases(app: Flask, world: World) -> dict[str, int]:
    return build_cases(app, world)


@pytest.fixture
def national(app: Flask, world: World) -> dict[str, str]:
    return api_token(app.test_client(), world.users["supervisor"])


@pytest.fixture
def regional(app: Flask, world: World) -> dict[str, str]:
    return api_token(app.test_client(), world.users["regional"])


def get(app: Flask, headers: dict, url: str, **params):
    return app.test_client().get(url, query_string=params, headers=headers)


def acceptance(app: Flask, headers: dict, **params) -> dict:
    response = get(app, headers, ACCEPTANCE, **params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def is_small(value) -> bool:
    return isinstance(value, int) and 1 <= value <= 4


# --- figures -----------------------------------------------------------------------------------


def test_the_totals_are_those_of_the_hand_built_files(app: Flask, national, cases) -> None:
    total = acceptance(app, national)["total"]

    for name, value in NATIONAL.items():
        assert total[name] == value, name
    # Rates are fractions at full precision, never rounded.
    assert total["acceptance_rate"] == 4 / 6
    assert total["acceptance_rate_filed"] == 4 / 10
    assert total["first_instance_rate"] == 3 / 7


def test_rows_by_office_carry_every_documented_field(app: Flask, national, cases) -> None:
    body = acceptance(app, national, group_by="office")

    by_code = {row["code"]: row for row in body["rows"]}
    assert set(by_code) == {"RAB", "TNG"}
    for row in body["rows"]:
        assert set(row) >= ROW_FIELDS
    rabat, tanger = by_code["RAB"], by_code["TNG"]
    assert {name: rabat[name] for name in RABAT} == RABAT
    assert rabat["acceptance_rate"] == 3 / 4
    assert rabat["first_instance_rate"] == 2 / 5  # R1, R2 favourable of R1-R5
    assert rabat["appeals_lodged"] == 2 and rabat["appeals_granted"] == 1
    assert (tanger["filed"], tanger["accepted"], tanger["rejected"]) == (3, 1, 1)
    assert tanger["label"] == TANGER_OFFICE_NAME


@pytest.mark.parametrize("group_by", GROUPS)
def test_every_grouping_adds_up_to_the_total(app: Flask, national, cases, group_by) -> None:
    body = acceptance(app, national, group_by=group_by)

    assert body["rows"]
    for name in COUNTS:
        assert sum(row[name] for row in body["rows"]) == body["total"][name], name


def test_periods_are_grouped_by_month_quarter_and_year(app: Flask, national, cases) -> None:
    months = {
        row["key"]: row["filed"] for row in acceptance(app, national, group_by="month")["rows"]
    }
    quarters = {r["key"]: r["filed"] for r in acceptance(app, national, group_by="quarter")["rows"]}
    years = {r["key"]: r["filed"] for r in acceptance(app, national, group_by="year")["rows"]}

    assert months == {"2026-01": 2, "2026-02": 2, "2026-03": 3, "2026-04": 3}
    assert quarters == {"2026-Q1": 7, "2026-Q2": 3}
    assert years == {"2026": 10}


def test_filters_narrow_the_figures(app: Flask, national, cases) -> None:
    assert acceptance(app, national, office="TNG")["total"]["filed"] == 3
    assert acceptance(app, national, region="04")["total"]["filed"] == 7
    assert (
        acceptance(app, national, **{"from": "2026-02-01", "to": "2026-03-31"})["total"]["filed"]
        == 5
    )
    assert acceptance(app, national, kind="asylum")["total"]["filed"] == 0
    assert acceptance(app, national, operation="REG-2026")["total"]["filed"] == 10


def test_processing_times_and_backlog(app: Flask, national, cases) -> None:
    response = get(app, national, "/api/v1/stats/processing", group_by="office")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()

    rabat = next(row for row in body["by_office"] if row["label"] == "Organisation RAB")
    # Days to decision 10, 20, 30, 40, 5 → sorted 5 10 20 30 40: nearest-rank median 20, p90 40.
    assert (rabat["decided"], rabat["median_days"], rabat["p90_days"]) == (5, 20, 40)
    tanger = next(row for row in body["by_office"] if row["label"] == TANGER_OFFICE_NAME)
    assert (tanger["decided"], tanger["median_days"], tanger["p90_days"]) == (2, 15, 25)
    # The backlog holds the pending files (R5, R6, T3), each in the bucket of its age.
    assert sum(b["count"] for b in body["backlog_by_age"]) == NATIONAL["pending"]
    assert [b["key"] for b in body["backlog_by_age"]] == [name for name, *_ in BACKLOG_BUCKETS]
    with app.app_context():
        pending = [db.session.get(Case, cases[name]).filed_on for name in ("R5", "R6", "T3")]
    expected = dict.fromkeys((name for name, *_ in BACKLOG_BUCKETS), 0)
    for filed_on in pending:
        age = (date.today() - filed_on).days
        name = next(
            n for n, low, high in BACKLOG_BUCKETS if low <= age and (high is None or age < high)
        )
        expected[name] += 1
    assert {b["key"]: b["count"] for b in body["backlog_by_age"]} == expected
    assert {b["key"]: b["count"] for b in body["backlog_by_state"]} == {
        "appeal_lodged": 1, "filed": 2,
    }  # fmt: skip


def test_programme_indicators_list_every_programme(app: Flask, national, cases) -> None:
    response = get(app, national, "/api/v1/stats/programmes", publication="true")

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert len(body["programmes"]) == 11
    assert body["sdg_targets"]
    assert all(row["people_referred"] == 0 for row in body["programmes"])


# --- a regional supervisor sees their region only ----------------------------------------------


def test_a_regional_supervisor_gets_their_region_only(app: Flask, regional, cases) -> None:
    for group_by in (None, *GROUPS):
        params = {"group_by": group_by} if group_by else {}
        response = get(app, regional, ACCEPTANCE, **params)
        assert response.status_code == 200
        body = response.get_json()
        assert {k: body["total"][k] for k in RABAT} == RABAT
        text = response.get_data(as_text=True)
        assert TANGER_OFFICE_NAME not in text
        assert not any(name in text for name in TANGER_REGION_NAMES)
    regions = acceptance(app, regional, group_by="region")["rows"]
    assert [row["key"] for row in regions] == ["04"]
    processing = get(app, regional, "/api/v1/stats/processing").get_data(as_text=True)
    assert TANGER_OFFICE_NAME not in processing


@pytest.mark.parametrize(
    ("params", "parameter"),
    [({"region": TANGER_REGION}, "region"), ({"office": "TNG"}, "office"),
     ({"region": TANGER_REGION, "group_by": "office", "format": "csv"}, "region")],
)  # fmt: skip
def test_asking_for_another_region_is_refused_with_no_figures(
    app: Flask, regional, cases, params, parameter
) -> None:
    response = get(app, regional, ACCEPTANCE, **params)

    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert parameter in body["errors"]
    assert "total" not in body and "rows" not in body
    with app.app_context():
        assert (
            db.session.scalar(select(AuditEntry).where(AuditEntry.action == "stats.export")) is None
        )


def test_the_national_supervisor_may_ask_for_any_region(app: Flask, national, cases) -> None:
    assert acceptance(app, national, region=TANGER_REGION)["total"]["filed"] == 3


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "parameter", "statuses"),
    [
        ({"group_by": "colour"}, "group_by", {422}),
        ({"from": "2026-02-30"}, "from", {400, 422}),
        ({"to": "yesterday"}, "to", {400, 422}),
        ({"from": "2026-05-01", "to": "2026-04-01"}, "from", {400, 422}),
        ({"office": "NOPE"}, "office", {400, 422}),
        ({"region": "99"}, "region", {400, 422}),
        ({"kind": "visa"}, "kind", {400, 422}),
        ({"operation": "REG-1999"}, "operation", {400, 422}),
        ({"format": "pdf"}, "format", {400, 422}),
        ({"publication": "perhaps"}, "publication", {400, 422}),
    ],
)
def test_bad_input_is_a_problem_naming_the_parameter(
    app: Flask, national, params, parameter, statuses
) -> None:
    response = get(app, national, ACCEPTANCE, **params)

    assert response.status_code in statuses, response.get_json()
    assert response.mimetype == "application/problem+json"
    assert parameter in response.get_json()["errors"]


def test_processing_takes_only_offices_as_groups(app: Flask, national) -> None:
    response = get(app, national, "/api/v1/stats/processing", group_by="nationality")

    assert response.status_code == 422
    assert "group_by" in response.get_json()["errors"]


def test_other_roles_may_not_read_statistics(app: Flask, world: World) -> None:
    for key in ("caseworker", "ngo", "admin", "auditor"):
        headers = api_token(app.test_client(), world.users[key])
        for url in (ACCEPTANCE, "/api/v1/stats/processing", "/api/v1/stats/programmes"):
            assert get(app, headers, url).status_code == 403, (key, url)
    assert app.test_client().get(ACCEPTANCE).status_code == 401


# --- publication and files ---------------------------------------------------------------------


def test_publication_hides_small_counts_and_what_would_give_them_away(
    app: Flask, national, cases
) -> None:
    plain = acceptance(app, national, group_by="office")
    body = acceptance(app, national, group_by="office", publication="true")

    cells = [row[name] for row in [*body["rows"], body["total"]] for name in COUNTS]
    assert not any(is_small(value) for value in cells)
    tanger = next(row for row in body["rows"] if row["label"] == TANGER_OFFICE_NAME)
    rabat = next(row for row in body["rows"] if row["label"] == "Organisation RAB")
    assert tanger["filed"] == SMALL  # 3 files
    # The total (10) is shown: Rabat's 7 would give Tanger's 3 back, so it is hidden too.
    assert body["total"]["filed"] == 10
    assert rabat["filed"] == HIDDEN
    assert tanger["acceptance_rate"] == HIDDEN
    # Nothing else changes.
    for shown, row in zip(body["rows"], plain["rows"], strict=True):
        for name, value in shown.items():
            assert value in (SMALL, HIDDEN) or value == row[name]


def test_csv_answer_is_audited(app: Flask, national, cases, world: World) -> None:
    response = get(app, national, ACCEPTANCE, group_by="office", format="csv")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.data.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert [row["code"] for row in rows] == ["RAB", "TNG", ""]
    assert rows[-1]["key"] == "total" and rows[-1]["filed"] == "10"
    assert float(rows[-1]["acceptance_rate"]) == 4 / 6
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "stats.export"))
        assert entry.user_id == world.user_ids["supervisor"]
        assert entry.data["table"] == "acceptance"
        assert entry.data["group_by"] == "office"
        assert entry.data["format"] == "csv"
        assert entry.data["publication"] is False


def test_xlsx_answer_opens_and_suppresses_for_publication(app: Flask, national, cases) -> None:
    response = get(app, national, ACCEPTANCE, group_by="office", format="xlsx",
                   publication="true")  # fmt: skip

    assert response.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(response.data))
    sheet = workbook.worksheets[0]
    header = [cell.value for cell in sheet[1]]
    lines = [dict(zip(header, (c.value for c in row), strict=True)) for row in sheet.iter_rows(2)]
    tanger = next(line for line in lines if line["code"] == "TNG")
    assert tanger["filed"] == SMALL
    assert not any(is_small(line[name]) for line in lines for name in COUNTS)
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "stats.export"))
        assert (entry.data["format"], entry.data["publication"]) == ("xlsx", True)


def test_json_answers_are_not_audited_as_exports(app: Flask, national, cases) -> None:
    acceptance(app, national, group_by="office")

    with app.app_context():
        assert (
            db.session.scalar(select(AuditEntry).where(AuditEntry.action == "stats.export")) is None
        )


def test_the_openapi_document_describes_the_statistics(app: Flask) -> None:
    spec = app.test_client().get("/api/v1/openapi.json").get_json()

    for path in ("/api/v1/stats/acceptance", "/api/v1/stats/processing",
                 "/api/v1/stats/programmes"):  # fmt: skip
        operation = spec["paths"][path]["get"]
        assert operation["security"] == [{"bearerAuth": []}]
    names = {p["name"] for p in spec["paths"][ACCEPTANCE]["get"]["parameters"]}
    assert {"group_by", "from", "to", "region", "office", "publication", "format"} <= names
