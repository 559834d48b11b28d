"""Deleting the files of import jobs: uploaded registers are personal data, kept no longer
than needed.

A web or API upload is copied under `UPLOAD_DIR/imports/<job id>/` (`source.upload`), next to
the job's problems report (`report.csv`, which quotes the rows' values). `purge_files`:

* expires every uploaded job older than `IMPORT_FILES_MAX_HOURS` (24 by default) that is not
  running: its uploaded copy, its report and its folder are deleted, and the row forgets their
  paths (`source_path` and `report_path` become None: `ImportJob.files_removed`). A check
  expired this way can no longer be confirmed: the file must be uploaded again;
* deletes at once the uploaded copy of a finished job that no one can use any more (an
  import, a failed check, a check already confirmed), if one was left behind; its report
  stays until the job expires.

A file still read by a job (queued or running, unless its process died long ago) is never
touched, nor the copy of a check whose confirmation is running. Files given to the command
line (`casework import FILE`) are the operator's: they and their jobs are left alone.

It runs whenever an import is created (no cron needed) and from `casework imports purge`.
Each job purged gets an audit entry (`import.files_removed`: the job's id, why, how many files;
no names, no values). Like every operation it flushes and never commits: the caller does.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import or_, select

from casework.audit.operations import record
from casework.extensions import db
from casework.imports import jobs
from casework.imports.models import ImportJob, ImportState

DEFAULT_MAX_HOURS = 24
ACTIVE_STATES = (ImportState.QUEUED.value, ImportState.RUNNING.value)


@dataclass
class PurgeCounts:
    """What a purge did (or, as a dry run, would do): counts only."""

    expired: int = 0  # jobs whose upload and report were deleted
    copies: int = 0  # finished jobs whose leftover upload alone was deleted
    files: int = 0  # files deleted

    @property
    def jobs(self) -> int:
        return self.expired + self.copies


def max_age() -> timedelta:
    return timedelta(
        hours=float(current_app.config.get("IMPORT_FILES_MAX_HOURS", DEFAULT_MAX_HOURS))
    )


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)  # SQLite returns naive datetimes (stored as UTC)
    return moment


def is_expired(job: ImportJob, now: datetime | None = None) -> bool:
    """Whether an uploaded job's files are past their keeping time (or already deleted)."""
    if job.files_removed:
        return True
    from casework.imports.operations import is_stored_upload

    created = _aware(job.created_at)
    now = now or datetime.now(UTC)
    return is_stored_upload(job.source_path) and created is not None and now - created > max_age()


def _active(job: ImportJob) -> bool:
    return not job.finished and not jobs.is_stale(job)


def _confirmation_running(job: ImportJob) -> bool:
    """Whether an import confirming this check is still reading the check's copy."""
    confirmations = db.session.scalars(
        select(ImportJob).where(
            ImportJob.checked_by_job_id == job.id, ImportJob.state.in_(ACTIVE_STATES)
        )
    )
    return any(_active(confirmation) for confirmation in confirmations)


def _delete(path: str | None, dry_run: bool) -> int:
    if not path or not Path(path).is_file():
        return 0
    if not dry_run:
        Path(path).unlink(missing_ok=True)
    return 1


def purge_files(*, dry_run: bool = False, now: datetime | None = None) -> PurgeCounts:
    """Delete the files of expired uploaded jobs and the leftover uploads of finished ones.
    With `dry_run`, count only (nothing deleted, no row changed)."""
    from casework.imports.operations import imports_dir, is_stored_upload, may_confirm

    now = now or datetime.now(UTC)
    folder = imports_dir()
    prefix = str(folder)
    cutoff = now - max_age()
    counts = PurgeCounts()
    # Only jobs still holding uploaded files: those older than the cut-off, and the finished
    # ones of the last hours (a few rows: older ones are expired and drop out of this query).
    candidates = db.session.scalars(
        select(ImportJob)
        .where(
            ImportJob.source_path.is_not(None),
            ImportJob.source_path.startswith(prefix, autoescape=True),
            or_(
                ImportJob.created_at < cutoff,
                ImportJob.state.not_in(ACTIVE_STATES),
            ),
        )
        .order_by(ImportJob.id)
    ).all()
    for job in candidates:
        if not is_stored_upload(job.source_path) or _active(job):
            continue
        if _confirmation_running(job):
            continue
        if is_expired(job, now):
            files = _delete(job.source_path, dry_run)
            if job.report_path and Path(job.report_path).resolve().is_relative_to(folder.resolve()):
                files += _delete(job.report_path, dry_run)
            counts.expired += 1
            counts.files += files
            if dry_run:
                continue
            shutil.rmtree(folder / str(job.id), ignore_errors=True)
            if not job.finished:
                jobs.fail_stale(job)
            job.source_path = None
            job.report_path = None
            record(
                "import.files_removed",
                record_type="import_jobs",
                record_id=job.id,
                reason="expired",
                files=files,
            )
            continue
        # Recent and finished: a check that may still be confirmed keeps its copy.
        if job.dry_run and job.state == ImportState.DONE and may_confirm(job):
            continue
        files = _delete(job.source_path, dry_run)
        if not files:
            continue
        counts.copies += 1
        counts.files += files
        if not dry_run:
            record(
                "import.files_removed",
                record_type="import_jobs",
                record_id=job.id,
                reason="finished",
                files=files,
            )
    if not dry_run:
        db.session.flush()
    return counts
