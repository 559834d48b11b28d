"""The purge of import files: uploaded registers and their reports are not kept past
IMPORT_FILES_MAX_HOURS, and a check whose file is gone cannot be confirmed."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import Flask
from sqlalchemy import select, update

from casework.extensions import db
from casework.imports import operations
from casework.imports.models import ImportJob
from casework.imports.purge import purge_files
from tests.conftest import api_token, sign_in
from tests.factories import World
from tests.imports.helpers import FRENCH_HEADER, GOOD_ROWS, audit_entries, csv_bytes, people_count

BAD_ROW = ["P-9", "Okafor", "Chinedu", "", "", "M", "2090-01-01", "XX", "", ""]


def check_file(client, world: World, content: bytes | None = None) -> int:
    """Upload a file on the page (a check, run at once); the new job's id."""
    content = content or csv_bytes(FRENCH_HEADER, [*GOOD_ROWS, BAD_ROW])
    response = client.post(
        "/imports",
        data={"file": (io.BytesIO(content), "registre.csv"), "kind": "people",
              "organisation": str(world.orgs["RAB"])},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return int(response.headers["Location"].rstrip("/").split("/")[-1])


def age(app: Flask, job_id: int, hours: float) -> None:
    with app.app_context():
        db.session.execute(
            update(ImportJob)
            .where(ImportJob.id == job_id)
            .values(created_at=datetime.now(UTC) - timedelta(hours=hours))
        )
        db.session.commit()


def job_of(app: Flask, job_id: int) -> ImportJob:
    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        db.session.expunge(job)
        return job


def folder(app: Flask, job_id: int) -> Path:
    return Path(app.config["UPLOAD_DIR"]) / "imports" / str(job_id)


def purge(app: Flask, **options):
    with app.app_context():
        counts = purge_files(**options)
        db.session.commit()
        return counts


def test_the_purge_removes_the_files_of_old_checks_and_keeps_recent_ones(
    app: Flask, world: World
) -> None:
    client = app.test_client()
    sign_in(client, world.users["regional"])
    old, recent = check_file(client, world), check_file(client, world)
    assert (folder(app, old) / "source.upload").is_file()
    assert (folder(app, old) / "report.csv").is_file()
    age(app, old, 25)
    age(app, recent, 23)

    counts = purge(app)

    assert (counts.expired, counts.copies, counts.files) == (1, 0, 2)
    assert not folder(app, old).exists()
    gone = job_of(app, old)
    assert gone.files_removed and gone.report_path is None
    kept = job_of(app, recent)
    assert not kept.files_removed
    assert Path(kept.source_path).is_file() and Path(kept.report_path).is_file()
    [entry] = audit_entries(app, "import.files_removed")
    assert (entry.record_type, entry.record_id) == ("import_jobs", old)
    assert entry.data == {"reason": "expired", "files": 2}  # counts, no names or values
    page = client.get(f"/imports/{old}").get_data(as_text=True)
    assert 'id="files-removed"' in page and "Okafor" not in page and 'id="problems"' not in page
    assert client.get(f"/imports/{old}/report.csv").status_code == 404
    assert purge(app).jobs == 0  # done once


def test_the_hours_come_from_the_setting_and_running_jobs_are_left_alone(
    app: Flask, world: World, monkeypatch
) -> None:
    client = app.test_client()
    sign_in(client, world.users["regional"])
    checked = check_file(client, world)
    age(app, checked, 3)
    running = check_file(client, world)
    with app.app_context():
        db.session.execute(update(ImportJob).where(ImportJob.id == running).values(state="running"))
        db.session.commit()
    age(app, running, 3)  # created long ago, but still moving (updated just now)
    monkeypatch.setitem(app.config, "IMPORT_FILES_MAX_HOURS", 2)

    counts = purge(app)

    assert counts.expired == 1
    assert job_of(app, checked).files_removed
    assert not job_of(app, running).files_removed
    assert (folder(app, running) / "source.upload").is_file()


def test_a_new_import_purges_old_files_on_its_way(app: Flask, world: World) -> None:
    client = app.test_client()
    sign_in(client, world.users["regional"])
    old = check_file(client, world)
    age(app, old, 48)

    check_file(client, world)

    assert job_of(app, old).files_removed
    assert not folder(app, old).exists()


def test_a_check_whose_file_was_purged_cannot_be_confirmed(app: Flask, world: World) -> None:
    client = app.test_client()
    sign_in(client, world.users["regional"])
    purged, expired = check_file(client, world), check_file(client, world)
    age(app, purged, 30)
    purge(app)
    age(app, expired, 30)  # past its time, not purged yet

    for job_id in (purged, expired):
        response = client.post(f"/imports/{job_id}/confirm", data={"valid_only": "y"})

        assert response.status_code == 302
        assert response.headers["Location"].endswith("/imports")
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        assert "upload it again" in page
    assert people_count(app) == 0
    with app.app_context():
        assert db.session.scalar(select(ImportJob).where(ImportJob.dry_run.is_(False))) is None
    page = client.get(f"/imports/{purged}").get_data(as_text=True)
    assert 'id="files-removed"' in page and "/confirm" not in page


def test_the_confirm_operation_refuses_an_expired_check(app: Flask, world: World) -> None:
    client = app.test_client()
    sign_in(client, world.users["regional"])
    job_id = check_file(client, world)
    age(app, job_id, 30)
    with app.app_context():
        from casework.auth.models import User

        checked = db.session.get(ImportJob, job_id)
        user = db.session.get(User, world.user_ids["regional"])
        assert not operations.may_confirm(checked)
        try:
            operations.confirm(checked, by=user, valid_only=True)
        except operations.FilesRemoved:
            pass
        else:
            raise AssertionError("an expired check was confirmed")
        db.session.rollback()


def test_the_api_no_longer_offers_the_report_of_a_purged_job(app: Flask, world: World) -> None:
    client = app.test_client()
    headers = api_token(client, world.users["regional"])
    response = client.post(
        "/api/v1/imports",
        data={"file": (io.BytesIO(csv_bytes(FRENCH_HEADER, [*GOOD_ROWS, BAD_ROW])), "r.csv"),
              "kind": "people", "organisation": "RAB"},
        headers=headers, content_type="multipart/form-data",
    )  # fmt: skip
    assert response.status_code == 202
    job_id = response.get_json()["id"]
    from tests.imports.test_api_and_pages import poll

    assert poll(client, f"/api/v1/imports/{job_id}", headers)["report_url"]
    age(app, job_id, 30)
    purge(app)

    body = client.get(f"/api/v1/imports/{job_id}", headers=headers).get_json()
    assert body["state"] == "done" and body["report_url"] is None
    assert body["files_removed"] is True
    report = client.get(f"/api/v1/imports/{job_id}/report.csv", headers=headers)
    assert report.status_code == 404
    assert report.mimetype == "application/problem+json"


def test_finished_jobs_lose_their_leftover_upload_at_once(app: Flask, world: World) -> None:
    client = app.test_client()
    sign_in(client, world.users["regional"])
    checked = check_file(client, world)
    confirmed = client.post(f"/imports/{checked}/confirm", data={"valid_only": "y"})
    imported = int(confirmed.headers["Location"].split("/")[-1])
    recent = check_file(client, world)  # a check that may still be confirmed
    failed = check_file(client, world, content=b"a,b\r\n1,2\r\n")  # columns missing
    assert job_of(app, failed).state == "failed"
    failed_upload = Path(job_of(app, failed).source_path)
    assert failed_upload.is_file()
    upload = folder(app, checked) / "source.upload"
    assert not upload.exists()  # the import removed it
    upload.write_bytes(b"left behind by a crash")

    counts = purge(app)

    assert (counts.expired, counts.copies, counts.files) == (0, 2, 2)
    assert not upload.exists() and not failed_upload.exists()
    assert (folder(app, checked) / "report.csv").is_file()  # reports stay until the job expires
    assert Path(job_of(app, recent).source_path).is_file()
    assert not job_of(app, imported).files_removed
    reasons = [entry.data["reason"] for entry in audit_entries(app, "import.files_removed")]
    assert reasons == ["finished", "finished"]


def test_the_purge_command_prints_counts_and_its_dry_run_deletes_nothing(
    app: Flask, world: World
) -> None:
    client = app.test_client()
    sign_in(client, world.users["regional"])
    old = check_file(client, world)
    age(app, old, 30)
    runner = app.test_cli_runner()

    dry = runner.invoke(args=["imports", "purge", "--dry-run"])

    assert dry.exit_code == 0, dry.output
    assert "would delete the files of 1 imports older than 24 hours" in dry.output
    assert "(2 files). Nothing was deleted." in dry.output
    assert "registre" not in dry.output and "Okafor" not in dry.output
    assert (folder(app, old) / "source.upload").is_file()
    assert not job_of(app, old).files_removed
    assert audit_entries(app, "import.files_removed") == []

    real = runner.invoke(args=["imports", "purge"])

    assert real.exit_code == 0, real.output
    assert "Deleted the files of 1 imports older than 24 hours" in real.output
    assert job_of(app, old).files_removed and not folder(app, old).exists()
