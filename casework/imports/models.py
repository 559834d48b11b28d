"""Import jobs: one row per file checked (a dry run) or imported, with its progress and counts.

The uploaded file and the problems report are files under `UPLOAD_DIR/imports/<job id>/`; the
row keeps their paths, never their content, and forgets them when the purge deletes the files
(`casework.imports.purge`). A job's counts and error message carry no personal data (the
report does: it is only served to the job's author).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.admin.models import Organisation
from casework.auth.models import User
from casework.extensions import db
from casework.models_base import TimestampMixin


class ImportKind(StrEnum):
    PEOPLE = "people"
    CASES = "cases"


class ImportState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


STATE_LABELS = {
    ImportState.QUEUED: _l("Waiting to start"),
    ImportState.RUNNING: _l("Running"),
    ImportState.DONE: _l("Finished"),
    ImportState.FAILED: _l("Failed"),
}
KIND_LABELS = {ImportKind.PEOPLE: _l("People"), ImportKind.CASES: _l("Case files")}


class ImportJob(TimestampMixin, db.Model):
    __tablename__ = "import_jobs"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    # The name the file was uploaded under (sanitised), for display only.
    filename: Mapped[str] = mapped_column(String(200))
    # Where the file is read from: a copy under UPLOAD_DIR (web and API uploads, removed once
    # imported) or the path given to the command line (left alone). None once the purge
    # removed the job's files (`purge`: personal data is not kept past IMPORT_FILES_MAX_HOURS).
    source_path: Mapped[str | None] = mapped_column(String(500))
    # source column -> field, when the file's layout is not one of the documented ones.
    mapping: Mapped[dict | None] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(10), default=ImportState.QUEUED.value, index=True)
    dry_run: Mapped[bool] = mapped_column(Boolean, default=True)
    valid_only: Mapped[bool] = mapped_column(Boolean, default=False)
    rows_total: Mapped[int | None] = mapped_column(Integer)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    rows_valid: Mapped[int] = mapped_column(Integer, default=0)
    rows_invalid: Mapped[int] = mapped_column(Integer, default=0)
    rows_created: Mapped[int] = mapped_column(Integer, default=0)
    rows_updated: Mapped[int] = mapped_column(Integer, default=0)
    rows_unchanged: Mapped[int] = mapped_column(Integer, default=0)
    # Whether the rows went into the database (false for a dry run and a refused file).
    written: Mapped[bool] = mapped_column(Boolean, default=False)
    report_path: Mapped[str | None] = mapped_column(String(500))
    # Why a job failed (file unreadable, columns missing), in the job's language; no data.
    error: Mapped[str | None] = mapped_column(Text)
    # The messages of the report are written in the language of whoever started the job.
    language: Mapped[str] = mapped_column(String(5), default="fr")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    # The holding organisation of imported people (and default office of imported cases).
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    # The dry run this import confirms (the page's "confirm" button).
    checked_by_job_id: Mapped[int | None] = mapped_column(ForeignKey("import_jobs.id"))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    created_by: Mapped[User | None] = relationship()
    organisation: Mapped[Organisation | None] = relationship()

    @property
    def finished(self) -> bool:
        return self.state in (ImportState.DONE, ImportState.FAILED)

    @property
    def files_removed(self) -> bool:
        """The uploaded file and the problems report were deleted by the purge."""
        return self.source_path is None

    @property
    def state_label(self) -> str:
        return str(STATE_LABELS[ImportState(self.state)])

    @property
    def kind_label(self) -> str:
        return str(KIND_LABELS[ImportKind(self.kind)])

    def __repr__(self) -> str:
        return f"<ImportJob {self.id} {self.kind} {self.state}>"
