"""Imports through the API (202, polling, report) and the /imports pages (check, confirm),
the background job paths (a thread; RQ when REDIS_URL is set), and the templates."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from flask import Flask
from openpyxl import load_workbook
from sqlalchemy import select

from casework.extensions import db
from casework.imports import jobs, operations
from casework.imports.models import ImportJob
from tests.conftest import api_token, sign_in
from tests.factories import World
from tests.imports.helpers import (
    FRENCH_HEADER,
    GOOD_ROWS,
    PEOPLE_HEADER,
    csv_bytes,
    people_count,
    person_by_ref,
)

BAD_ROW = ["P-9", "Okafor", "Chinedu", "", "", "M", "2090-01-01", "XX", "", ""]


def poll(client, url: str, headers: dict, seconds: float = 30) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        if body["state"] in ("done", "failed") or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def upload(client, headers: dict, content: bytes, **fields) -> object:
    data = {"file": (io.BytesIO(content), "people.csv"), "kind": "people", **fields}
    return client.post(
        "/api/v1/imports", data=data, headers=headers, content_type="multipart/form-data"
    )


# --- API ------------------------------------------------------------------------------------------


def test_the_api_answers_202_then_the_job_can_be_polled_to_its_report(
    app: Flask, world: World
) -> None:
    client = app.test_client()
    headers = api_token(client, world.users["regional"])  # Rabat's region; RAB is in it

    response = upload(
        client, headers, csv_bytes(PEOPLE_HEADER, [*GOOD_ROWS, BAD_ROW]), organisation="RAB"
    )

    assert response.status_code == 202, response.get_json()
    job = response.get_json()
    assert job["state"] in ("queued", "running", "done") and job["dry_run"] is True
    body = poll(client, f"/api/v1/imports/{job['id']}", headers)
    assert body["state"] == "done", body
    assert (body["rows_total"], body["rows_done"]) == (4, 4)
    assert (body["rows_valid"], body["rows_invalid"]) == (3, 1)
    assert (body["created"], body["updated"], body["written"]) == (3, 0, False)
    assert people_count(app) == 0  # a dry run
    report = client.get(body["report_url"], headers=headers)
    assert report.status_code == 200
    assert report.mimetype == "text/csv"
    text = report.get_data(as_text=True)
    assert text.splitlines()[0].lstrip("\ufeff") == "row,column,value,message"
    assert "5,nationality,XX," in text

    valid = upload(
        client, headers, csv_bytes(PEOPLE_HEADER, [*GOOD_ROWS, BAD_ROW]),
        organisation="RAB", dry_run="false", valid_only="true",
    )  # fmt: skip
    body = poll(client, f"/api/v1/imports/{valid.get_json()['id']}", headers)
    assert (body["state"], body["written"], body["created"]) == ("done", True, 3)
    assert people_count(app, organisation_id=world.orgs["RAB"]) == 3


def test_api_jobs_are_their_authors_only_and_uploads_are_checked(app: Flask, world: World) -> None:
    client = app.test_client()
    admin = api_token(client, world.users["admin"])
    supervisor = api_token(client, world.users["supervisor"])
    job = upload(client, admin, csv_bytes(PEOPLE_HEADER, GOOD_ROWS), organisation="RAB")
    assert job.status_code == 202
    job_id = job.get_json()["id"]
    poll(client, f"/api/v1/imports/{job_id}", admin)

    assert client.get(f"/api/v1/imports/{job_id}", headers=supervisor).status_code == 404
    assert client.get(f"/api/v1/imports/{job_id}/report.csv", headers=supervisor).status_code == 404
    no_file = client.post(
        "/api/v1/imports", data={"kind": "people"}, headers=admin,
        content_type="multipart/form-data",
    )  # fmt: skip
    assert no_file.status_code == 422
    assert no_file.mimetype == "application/problem+json"
    assert "file" in no_file.get_json()["errors"]
    # A regional supervisor may not import into another region's office.
    regional = api_token(client, world.users["regional"])
    refused = upload(client, regional, csv_bytes(PEOPLE_HEADER, GOOD_ROWS), organisation="TNG")
    assert refused.status_code == 422
    assert "organisation" in refused.get_json()["errors"]
    caseworker = api_token(client, world.users["caseworker"])
    assert upload(client, caseworker, b"x").status_code == 403


def test_the_api_documents_the_multipart_body(app: Flask) -> None:
    spec = app.test_client().get("/api/v1/openapi.json").get_json()

    body = spec["paths"]["/api/v1/imports"]["post"]["requestBody"]["content"]
    properties = body["multipart/form-data"]["schema"]["properties"]
    assert {"file", "kind", "dry_run", "valid_only"} <= set(properties)
    assert "/api/v1/exports/people.csv" in spec["paths"]


# --- Background jobs ------------------------------------------------------------------------------


def test_without_redis_a_job_runs_in_a_thread_with_its_own_app_context(
    app: Flask, world: World, tmp_path: Path
) -> None:
    path = tmp_path / "people.csv"
    path.write_bytes(csv_bytes(FRENCH_HEADER, GOOD_ROWS))
    with app.app_context():
        job = operations.create_job(
            kind="people", filename="people.csv", source_path=str(path), by=None,
            organisation=None, dry_run=False, valid_only=False,
        )  # fmt: skip
        from casework.admin.models import Organisation

        job.organisation_id = db.session.scalar(
            select(Organisation.id).where(Organisation.code == "TNG")
        )
        db.session.commit()
        thread = jobs.start(job)
        job_id = job.id
    assert thread is not None
    thread.join(30)
    assert not thread.is_alive()
    with app.app_context():
        done = db.session.get(ImportJob, job_id)
        assert (done.state, done.written, done.rows_created) == ("done", True, 3)
        assert done.started_at is not None and done.finished_at is not None
    assert people_count(app, organisation_id=world.orgs["TNG"]) == 3
    assert path.exists()  # a file given by path (the command line) is never deleted


def test_with_redis_a_job_is_queued_for_the_rq_worker(
    app: Flask, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued = []

    class FakeQueue:
        def __init__(self, name, connection):
            self.name = name

        def enqueue(self, function, *args, **kwargs):
            queued.append((self.name, function, args))

    import rq

    monkeypatch.setattr(rq, "Queue", FakeQueue)
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:6399/0")
    with app.app_context():
        job = operations.create_job(
            kind="people", filename="x.csv", source_path="/nonexistent", by=None,
            organisation=None, dry_run=True, valid_only=False,
        )  # fmt: skip
        db.session.commit()

        assert jobs.start(job) is None
        assert queued == [("casework-imports", "casework.imports.jobs.run_job", (job.id,))]


def test_the_rq_entry_point_creates_its_own_app(
    app: Flask, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import casework

    path = tmp_path / "people.csv"
    path.write_bytes(csv_bytes(PEOPLE_HEADER, GOOD_ROWS))
    with app.app_context():
        from casework.admin.models import Organisation

        job = operations.create_job(
            kind="people", filename="people.csv", source_path=str(path), by=None,
            organisation=db.session.scalar(select(Organisation).where(Organisation.code == "RAB")),
            dry_run=True, valid_only=False,
        )  # fmt: skip
        db.session.commit()
        job_id = job.id
    monkeypatch.setattr(casework, "create_app", lambda *args, **kwargs: app)

    assert jobs.run_job(job_id) == "done"


# --- Pages ----------------------------------------------------------------------------------------


def test_a_supervisor_checks_a_file_sees_its_problems_then_imports_the_valid_rows(
    app: Flask, world: World
) -> None:
    client = app.test_client()
    sign_in(client, world.users["regional"])
    page = client.get("/imports")
    assert page.status_code == 200
    assert "référence externe" in page.get_data(as_text=True)

    content = csv_bytes(FRENCH_HEADER, [*GOOD_ROWS, BAD_ROW], delimiter=";")
    response = client.post(
        "/imports",
        data={"file": (io.BytesIO(content), "registre.csv"), "kind": "people",
              "organisation": str(world.orgs["RAB"])},
        content_type="multipart/form-data",
    )  # fmt: skip

    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    job_page = client.get(response.headers["Location"])
    html = job_page.get_data(as_text=True)
    assert job_page.status_code == 200
    assert 'http-equiv="refresh"' not in html  # a small file is checked at once
    assert 'id="problems"' in html and "XX" in html and "nationalité" in html
    assert people_count(app) == 0
    with app.app_context():
        checked = db.session.scalar(select(ImportJob).order_by(ImportJob.id.desc()))
        checked_id = checked.id

    refused = client.post(f"/imports/{checked_id}/confirm", data={})
    assert refused.status_code == 302 and people_count(app) == 0  # must tick "valid only"

    confirmed = client.post(f"/imports/{checked_id}/confirm", data={"valid_only": "y"})
    assert confirmed.status_code == 302
    imported = client.get(confirmed.headers["Location"]).get_data(as_text=True)
    assert 'id="rows-created">3<' in imported
    assert people_count(app, organisation_id=world.orgs["RAB"]) == 3
    assert person_by_ref(app, "P-1").created_by_id == world.user_ids["regional"]
    # Confirmed once: the stored upload is gone, the check cannot be confirmed again.
    again = client.post(f"/imports/{checked_id}/confirm", data={"valid_only": "y"})
    assert again.status_code == 302 and people_count(app) == 3
    report = client.get(f"/imports/{checked_id}/report.csv")
    assert report.status_code == 200 and b"nationalit" in report.data


def test_a_running_job_page_refreshes_itself(app: Flask, world: World) -> None:
    client = app.test_client()
    sign_in(client, world.users["admin"])
    with app.app_context():
        job = operations.create_job(
            kind="people", filename="big.csv", source_path="", by=None, organisation=None,
            dry_run=True, valid_only=False,
        )  # fmt: skip
        job.created_by_id = world.user_ids["admin"]
        job.state, job.rows_total, job.rows_done = "running", 1000, 250
        db.session.commit()
        job_id = job.id

    html = client.get(f"/imports/{job_id}").get_data(as_text=True)

    assert '<meta http-equiv="refresh" content="2">' in html
    assert '<progress id="job-progress" class="w-100" value="250" max="1000">' in html
    other = app.test_client()
    sign_in(other, world.users["supervisor"])
    assert other.get(f"/imports/{job_id}").status_code == 404


def test_uploads_above_the_import_limit_are_refused(
    app: Flask, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = app.test_client()
    sign_in(client, world.users["admin"])
    monkeypatch.setitem(app.config, "IMPORT_MAX_MB", 0.01)  # about 10 KB

    response = client.post(
        "/imports",
        data={"file": (io.BytesIO(b"a,b\n" * 10_000), "big.csv"), "kind": "people",
              "organisation": str(world.orgs["ADM"])},
        content_type="multipart/form-data",
    )  # fmt: skip

    assert response.status_code == 413
    with app.app_context():
        assert db.session.scalar(select(ImportJob.id)) is None


def test_templates_download_in_french_and_english(app: Flask, world: World) -> None:
    client = app.test_client()
    sign_in(client, world.users["admin"])

    french = client.get("/imports/templates/people-fr.csv")
    english = client.get("/imports/templates/cases-en.csv")
    workbook = client.get("/imports/templates/people-en.xlsx")

    assert french.status_code == english.status_code == workbook.status_code == 200
    assert french.get_data(as_text=True).lstrip("\ufeff").startswith("référence externe,nom,")
    assert (
        english.get_data(as_text=True)
        .lstrip("\ufeff")
        .startswith("external_ref,person_external_ref,kind,")
    )
    sheets = load_workbook(io.BytesIO(workbook.data), read_only=True)
    assert [c.value for c in next(sheets.worksheets[0].iter_rows(max_row=1))] == PEOPLE_HEADER
    assert sheets.sheetnames[1] == "help"
