"""Running an import job: stream the file, check every row, write in batches, report.

How a job runs (`run_import`):

1. The file is opened (`reader`): its format, encoding and header are read, its rows counted.
   Columns are matched to fields (`layouts.match_headers`); a missing required column, or two
   columns feeding one field, fail the job before any row is read.
2. Rows are read in batches of `BATCH` (5,000). Each row is checked on its own
   (`validation`), then the batch against the database in a few queries: references already
   used in the file (a set of hashes, so memory stays bounded), references of another
   organisation, the applicants of case files, the existing records to update.
3. Every problem goes to the report, a CSV of (row, column, value, message), written as the
   rows are read.
4. Unless it is a dry run, the valid rows of the batch are written with SQLAlchemy Core: one
   executemany INSERT for the new rows (with `RETURNING id`, for their audit entries and, for
   files, their "created" timeline events), one executemany UPDATE for the changed ones. No
   ORM object is built per row. Updates bump `version` (the optimistic lock) and are refused if
   a record changed while the import ran.
5. Everything is written in ONE transaction: without `valid_only`, the first bad row stops the
   writing (the rest of the file is still checked, for the report) and the transaction is
   rolled back, so a file imports whole or not at all; with `valid_only`, the valid rows are
   committed and the others reported. A crash half-way leaves nothing either.

Re-importing is idempotent: a row is matched to the record of the same `external_ref` held by
the same organisation (people) or office (files); an unchanged row is left alone, a changed one
is updated and audited (`person.update` / `case.update` with the field names, never values).

Progress (`rows_done`) is committed on a separate connection after each batch. On SQLite a
second connection cannot write while the import's transaction holds the write lock, so there
the progress of the writing part is only published at the end (dry runs progress normally).
"""

from __future__ import annotations

import csv
import json
import logging
import shutil
import sqlite3
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from casework.admin.models import Organisation
from casework.audit.models import AuditEntry
from casework.audit.operations import record
from casework.auth.models import User
from casework.cases.models import (
    REFERENCE_PREFIX,
    Case,
    CaseEvent,
    CaseKind,
    EventKind,
    ReferenceCounter,
    age_band,
)
from casework.extensions import db
from casework.imports.layouts import MappingError, match_headers
from casework.imports.models import ImportJob, ImportKind, ImportState
from casework.imports.reader import Source, UnreadableFile, open_source
from casework.imports.validation import (
    Office,
    Problem,
    ReferenceData,
    clean_case,
    clean_person,
    search_text,
    text_value,
)
from casework.people.models import Person
from casework.policy import Role
from casework.reports.exports import safe_text
from casework.reports.summary import add_cases

log = logging.getLogger(__name__)

BATCH = 5000
REPORT_HEADER = ("row", "column", "value", "message")
REPORT_VALUE_MAX = 200

PEOPLE = Person.__table__
CASES = Case.__table__
AUDIT = AuditEntry.__table__
EVENTS = CaseEvent.__table__
COUNTERS = ReferenceCounter.__table__

# The person columns an import may set, and their value when the file has no such column.
PERSON_DEFAULTS: dict[str, Any] = {
    "family_name_ar": None,
    "given_names_ar": None,
    "date_of_birth": None,
    "date_of_birth_approximate": False,
    "nationality": None,
    "phone": None,
    "prefecture_code": None,
}
CASE_FIELDS = (
    "operation_code",
    "category_code",
    "filed_on",
    "state",
    "applicant_id",
    "renewal_of_id",
)


class ImportRefused(Exception):
    """The job cannot run (unreadable file, missing columns); the message says why."""


class ConcurrentChange(Exception):
    """A record changed between the check and the update: nothing is written."""


class FilesRemoved(Exception):
    """A check cannot be confirmed: its uploaded file was deleted (or is past its keeping
    time, IMPORT_FILES_MAX_HOURS). The file must be uploaded again."""


# --- Where a job's files live -----------------------------------------------------------------


def imports_dir() -> Path:
    return Path(current_app.config["UPLOAD_DIR"]) / "imports"


def job_dir(job_id: int) -> Path:
    path = imports_dir() / str(job_id)
    path.mkdir(parents=True, exist_ok=True)
    return path


def is_stored_upload(path: str | None) -> bool:
    """Whether `path` is a copy we made of an upload (and may delete), not a user's file."""
    if not path:
        return False
    try:
        return Path(path).resolve().is_relative_to(imports_dir().resolve())
    except OSError:
        return False


# --- Who may import where ---------------------------------------------------------------------


def allowed_organisations(user: User | None):
    """The organisations `user` may import into: a regional supervisor the organisations of
    their region; an admin or a national supervisor (or the command line: None) all."""
    query = select(Organisation).where(Organisation.active.is_(True)).order_by(Organisation.name)
    if user is not None and Role(user.role) == Role.SUPERVISOR and user.region_code:
        query = query.where(Organisation.region_code == user.region_code)
    return query


def allowed_organisation_ids(user: User | None) -> set[int] | None:
    if user is None or Role(user.role) != Role.SUPERVISOR or not user.region_code:
        return None
    return set(db.session.scalars(allowed_organisations(user).with_only_columns(Organisation.id)))


# --- Creating jobs ----------------------------------------------------------------------------


def create_job(
    *,
    kind: str,
    filename: str,
    source_path: str,
    by: User | None,
    organisation: Organisation | None,
    dry_run: bool,
    valid_only: bool,
    mapping: dict[str, str] | None = None,
    language: str = "fr",
    checked_by: ImportJob | None = None,
) -> ImportJob:
    """A queued job; the caller commits, then starts it (`jobs.start`) or runs it.
    The files of older jobs past their keeping time are purged on the way (`purge`)."""
    job = ImportJob(
        kind=ImportKind(kind).value,
        filename=filename[:200],
        source_path=source_path,
        mapping=mapping or None,
        state=ImportState.QUEUED.value,
        dry_run=dry_run,
        valid_only=valid_only,
        language=language if language in current_app.config["LANGUAGES"] else "fr",
        created_by_id=by.id if by is not None else None,
        organisation_id=organisation.id if organisation is not None else None,
        checked_by_job_id=checked_by.id if checked_by is not None else None,
    )
    db.session.add(job)
    db.session.flush()
    _purge_quietly()
    return job


def _purge_quietly() -> None:
    """Purge old import files as a new import comes in: no cron to set up. A file that
    cannot be deleted now (a permission, a full disk) does not stop the new import."""
    from casework.imports.purge import purge_files

    try:
        purge_files()
    except OSError:
        log.exception("Purging old import files failed; they are tried again next time")


def store_upload(job: ImportJob, stream, suffix: str) -> None:
    """Copy an uploaded file under the job's folder (streamed, never whole in memory)."""
    target = job_dir(job.id) / f"source{suffix}"
    with target.open("wb") as out:
        shutil.copyfileobj(stream, out, 1024 * 1024)
    job.source_path = str(target)


def confirm(dry_run: ImportJob, *, by: User, valid_only: bool) -> ImportJob:
    """The import of a checked file, from the dry run's copy of it. Raises `FilesRemoved`
    when that copy was deleted, or is past its keeping time."""
    from casework.imports.purge import is_expired

    if is_expired(dry_run):
        raise FilesRemoved(dry_run.id)
    return create_job(
        kind=dry_run.kind,
        filename=dry_run.filename,
        source_path=dry_run.source_path or "",
        by=by,
        organisation=dry_run.organisation,
        dry_run=False,
        valid_only=valid_only,
        mapping=dry_run.mapping,
        language=dry_run.language,
        checked_by=dry_run,
    )


def may_confirm(job: ImportJob) -> bool:
    """A finished dry run whose file is still there and that was not confirmed yet."""
    if not job.dry_run or job.state != ImportState.DONE or job.rows_valid == 0:
        return False
    from casework.imports.purge import is_expired

    if is_expired(job):
        return False
    if not job.source_path or not Path(job.source_path).is_file():
        return False
    confirmed = db.session.scalar(
        select(ImportJob.id).where(ImportJob.checked_by_job_id == job.id).limit(1)
    )
    return confirmed is None


# --- The report -------------------------------------------------------------------------------


class Report:
    """The problems CSV (UTF-8 with a BOM for Excel), written as rows are checked. Values are
    cut to 200 characters and, like every export, protected against formula injection."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = path.open("w", encoding="utf-8-sig", newline="")
        self._writer = csv.writer(self._file)
        self._writer.writerow(REPORT_HEADER)
        self.lines = 0

    def add(self, row: int | str, column: str, value: object, message: object) -> None:
        text = text_value(value)[:REPORT_VALUE_MAX]
        self._writer.writerow([row, safe_text(column), safe_text(text), safe_text(str(message))])
        self.lines += 1

    def close(self) -> None:
        self._file.close()


def read_report(path: str | None, limit: int = 500) -> list[dict[str, str]]:
    """The first `limit` lines of a report, for the job page."""
    if not path or not Path(path).is_file():
        return []
    with open(path, encoding="utf-8-sig", newline="") as stream:
        return list(islice(csv.DictReader(stream), limit))


# --- Running a job ----------------------------------------------------------------------------


@dataclass
class Spec:
    """What a running job needs, copied out of the ORM row (which is not touched meanwhile)."""

    id: int
    kind: str
    source_path: str
    mapping: dict | None
    dry_run: bool
    valid_only: bool
    user_id: int | None
    user: User | None
    organisation: Office | None


@dataclass
class Counts:
    total: int = 0
    done: int = 0
    valid: int = 0
    invalid: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class Checked:
    """A row after its checks: its values, and what writing it means."""

    number: int
    clean: dict[str, Any]
    problems: list[Problem] = field(default_factory=list)
    action: str = "create"  # create | update | unchanged
    existing: Any = None  # the existing row (update / unchanged)
    changed: list[str] = field(default_factory=list)


def run_import(job_id: int, progress: Callable[[int], None] | None = None) -> ImportJob | None:
    """Run a queued job to its end (done or failed). `progress(n)` is called after each batch
    with the number of rows it held (the command line's progress bar)."""
    job = db.session.get(ImportJob, job_id)
    if job is None or job.state != ImportState.QUEUED:
        return job
    job.state = ImportState.RUNNING.value
    job.started_at = datetime.now(UTC)
    db.session.commit()
    with force_locale(job.language):
        try:
            counts, written, report_path = _run(_spec(job), progress)
        except (ImportRefused, UnreadableFile, MappingError) as error:
            _finish(job_id, ImportState.FAILED, Counts(), False, _report_of(job_id), str(error))
        except (ConcurrentChange, IntegrityError):  # another import or edit came first
            message = str(
                _l(
                    "Records changed while the import ran: nothing was written. "
                    "Run the import again."
                )
            )
            _finish(job_id, ImportState.FAILED, Counts(), False, _report_of(job_id), message)
        except Exception:
            log.exception("Import job %s failed", job_id)
            db.session.rollback()
            message = str(_l("The import stopped on an unexpected error: nothing was written."))
            _finish(job_id, ImportState.FAILED, Counts(), False, _report_of(job_id), message)
        else:
            _finish(job_id, ImportState.DONE, counts, written, report_path, None)
    return db.session.get(ImportJob, job_id)


def _spec(job: ImportJob) -> Spec:
    user = db.session.get(User, job.created_by_id) if job.created_by_id else None
    organisation = None
    if job.organisation_id is not None:
        org = db.session.get(Organisation, job.organisation_id)
        organisation = Office(org.id, org.code, org.region_code)
    return Spec(
        id=job.id,
        kind=job.kind,
        source_path=job.source_path or "",
        mapping=job.mapping,
        dry_run=job.dry_run,
        valid_only=job.valid_only,
        user_id=job.created_by_id,
        user=user,
        organisation=organisation,
    )


def _report_of(job_id: int) -> str | None:
    path = imports_dir() / str(job_id) / "report.csv"
    return str(path) if path.is_file() else None


def _finish(
    job_id: int,
    state: ImportState,
    counts: Counts,
    written: bool,
    report: str | None,
    error: str | None,
) -> None:
    db.session.rollback()
    job = db.session.get(ImportJob, job_id)
    job.state = state.value
    job.error = error
    job.written = written
    job.report_path = report
    job.rows_total = counts.total if state == ImportState.DONE else job.rows_total
    job.rows_done = counts.done if state == ImportState.DONE else job.rows_done
    job.rows_valid, job.rows_invalid = counts.valid, counts.invalid
    refused = not job.dry_run and not written
    job.rows_created = 0 if refused else counts.created
    job.rows_updated = 0 if refused else counts.updated
    job.rows_unchanged = 0 if refused else counts.unchanged
    job.finished_at = datetime.now(UTC)
    user = db.session.get(User, job.created_by_id) if job.created_by_id else None
    record(
        "import.dry_run" if job.dry_run else "import.run",
        user=user,
        record_type="import_jobs",
        record_id=job.id,
        kind=job.kind,
        state=job.state,
        written=written,
        rows=counts.done,
        valid=counts.valid,
        invalid=counts.invalid,
        created=job.rows_created,
        updated=job.rows_updated,
    )
    db.session.commit()
    if not job.dry_run and is_stored_upload(job.source_path):
        # The upload holds personal data: keep it no longer than needed.
        Path(job.source_path).unlink(missing_ok=True)


def _publish(job_id: int, counts: Counts) -> None:
    """Progress, committed on a connection of its own so that pages and the API see it."""
    with db.engine.begin() as connection:
        connection.execute(
            update(ImportJob.__table__)
            .where(ImportJob.__table__.c.id == job_id)
            .values(
                rows_total=counts.total,
                rows_done=counts.done,
                rows_valid=counts.valid,
                rows_invalid=counts.invalid,
                updated_at=datetime.now(UTC),
            )
        )


def _batches(rows: Iterator, size: int) -> Iterator[list]:
    while batch := list(islice(rows, size)):
        yield batch


def _run(spec: Spec, progress) -> tuple[Counts, bool, str]:
    if not spec.source_path or not Path(spec.source_path).is_file():
        raise ImportRefused(str(_l("The file of this import is no longer there.")))
    report = Report(job_dir(spec.id) / "report.csv")
    try:
        source = open_source(spec.source_path)
        positions = _positions(spec, source, report)
        counts = Counts(total=source.rows_total)
        _publish(spec.id, counts)
        written = _import_rows(spec, source, positions, report, counts, progress)
    except (UnreadableFile, ImportRefused) as error:
        report.add("", "", "", error)
        raise
    finally:
        report.close()
    return counts, written, str(report.path)


def _positions(spec: Spec, source: Source, report: Report) -> dict[str, int]:
    match = match_headers(spec.kind, source.header, spec.mapping)
    for name in match.missing:
        report.add(1, name, "", _l("This required column is missing."))
    for name in match.duplicates:
        report.add(1, name, "", _l("Two columns of the file feed this field."))
    for header in match.ignored:
        report.add(1, header, "", _l("Column ignored: it matches no field."))
    if match.missing or match.duplicates:
        problems = ", ".join(match.missing + match.duplicates)
        raise ImportRefused(str(_l("The columns do not fit the layout: %(names)s", names=problems)))
    return match.positions


def _import_rows(
    spec: Spec,
    source: Source,
    positions: dict[str, int],
    report: Report,
    counts: Counts,
    progress,
) -> bool:
    """Check (and write) every row; True when the rows were committed."""
    sqlite = db.engine.dialect.name == "sqlite"
    # Problems name the column as the file does ("date de naissance"), not the field.
    headers = {name: str(source.header[i]).strip() or name for name, i in positions.items()}
    with db.engine.connect() as connection:
        transaction = connection.begin()
        reference = ReferenceData.load(connection, allowed_organisation_ids(spec.user))
        importer_class = PeopleImporter if spec.kind == ImportKind.PEOPLE else CasesImporter
        importer = importer_class(spec, connection, reference)
        writing = not spec.dry_run
        has_written = False
        try:
            for batch in _batches(source.rows(), BATCH):
                raw_rows = [
                    (
                        number,
                        {
                            name: values[i] if i < len(values) else None
                            for name, i in positions.items()
                        },
                    )
                    for number, values in batch
                ]
                checked = importer.check(raw_rows)
                valid = []
                for row in checked:
                    if row.problems:
                        counts.invalid += 1
                        for name, value, message in row.problems:
                            report.add(row.number, headers.get(name, name), value, message)
                    else:
                        counts.valid += 1
                        valid.append(row)
                        name = _counter(row.action)
                        setattr(counts, name, getattr(counts, name) + 1)
                if counts.invalid and not spec.valid_only:
                    writing = False  # all or nothing: this file will not be written
                if writing and valid:
                    importer.write(valid)
                    has_written = True
                counts.done += len(batch)
                counts.total = max(counts.total, counts.done)
                if progress is not None:
                    progress(len(batch))
                if not (sqlite and has_written):
                    _publish(spec.id, counts)
            counts.total = counts.done
            for column, value, message in importer.notes():
                report.add("", headers.get(column, column), value, message)
            if writing and has_written:
                importer.audit.append_to_trail(connection)
                transaction.commit()
                return True
            transaction.rollback()
            return False
        except BaseException:
            transaction.rollback()
            raise
        finally:
            importer.close()


def _counter(action: str) -> str:
    return {"create": "created", "update": "updated", "unchanged": "unchanged"}[action]


def _now() -> datetime:
    return datetime.now(UTC)


class AuditSpool:
    """The import's audit entries, kept in a temporary file until the rows are committed.

    The audit trail is a hash chain (`casework.audit.chain`) whose head row is locked by each
    append until the appending transaction ends: appending as the batches go would hold that
    lock, and stop every other request that audits, for the whole import. The entries are
    spooled (one JSON line each: bounded memory) and appended just before the commit, in
    batches, each linked to the one before as `record` links one entry."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.file = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
        self.count = 0

    def add(self, action: str, record_type: str, items: Iterable[tuple[int, dict]]) -> None:
        for record_id, data in items:
            self.file.write(json.dumps([action, record_type, record_id, data]) + "\n")
            self.count += 1

    def append_to_trail(self, connection: Connection) -> None:
        self.file.seek(0)
        lines = (json.loads(line) for line in self.file)
        while batch := list(islice(lines, BATCH)):
            at = _now()
            rows = [
                {"at": at, "user_id": self.spec.user_id, "action": action,
                 "record_type": record_type, "record_id": record_id, "client_address": None,
                 "data": {**data, "import_job": self.spec.id}}
                for action, record_type, record_id, data in batch
            ]  # fmt: skip
            _link(connection, rows)
            connection.execute(insert(AUDIT), rows)

    def close(self) -> None:
        self.file.close()


def _link(connection: Connection, rows: list[dict]) -> None:
    """Give `rows` the next places of the audit chain, as `casework.audit.chain.link` does
    for one entry: the head moves on by len(rows) under its row lock."""
    if "sequence" not in AUDIT.c:  # an audit trail without a chain
        return
    from casework.audit.chain import GENESIS, HEAD_ID, canonical, digest
    from casework.audit.models import AuditChainHead

    head = AuditChainHead.__table__
    moved = connection.execute(
        update(head)
        .where(head.c.id == HEAD_ID)
        .values(last_sequence=head.c.last_sequence + len(rows))
        .returning(head.c.last_sequence, head.c.last_hash)
    ).first()
    if moved is None:  # a new database: the chain starts here
        connection.execute(
            insert(head).values(id=HEAD_ID, last_sequence=len(rows), last_hash=GENESIS)
        )
        last_sequence, prev_hash = len(rows), GENESIS
    else:
        last_sequence, prev_hash = moved
    sequence = last_sequence - len(rows)
    for row in rows:
        sequence += 1
        row["data"] = canonical(row["data"])
        row["sequence"], row["prev_hash"] = sequence, prev_hash
        prev_hash = row["entry_hash"] = digest(prev_hash, SimpleNamespace(**row))
    connection.execute(update(head).where(head.c.id == HEAD_ID).values(last_hash=prev_hash))


REPEATED = _l("This reference is already used on an earlier row of the file.")


class SeenKeys:
    """The keys (references) met so far in the file, to find a reference used twice.

    They live in a temporary SQLite database on disk, not in a Python set: a million
    references would take ~100 MB of memory as a set; here memory stays at SQLite's small page
    cache whatever the file's size, and the check is exact."""

    def __init__(self) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="casework-import-")
        self.db = sqlite3.connect(Path(self._folder.name) / "seen.db")
        self.db.execute("PRAGMA journal_mode=OFF")
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute("CREATE TABLE seen (key TEXT PRIMARY KEY) WITHOUT ROWID")

    def first_times(self, keys: list[str | None]) -> list[bool]:
        """For each key in order, whether it is met for the first time (None: no key)."""
        present = {key for key in keys if key is not None}
        known: set[str] = set()
        wanted = list(present)
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = "(" + ",".join("?" * len(chunk)) + ")"
            # Only "?" placeholders are formatted in; the keys are bound parameters.
            query = f"SELECT key FROM seen WHERE key IN {marks}"  # noqa: S608  # nosec B608
            known.update(key for (key,) in self.db.execute(query, chunk))
        answers, new = [], []
        for key in keys:
            first = key is None or key not in known
            if key is not None and first:
                known.add(key)
                new.append((key,))
            answers.append(first)
        self.db.executemany("INSERT INTO seen (key) VALUES (?)", new)
        return answers

    def close(self) -> None:
        self.db.close()
        self._folder.cleanup()


class _Importer:
    table = PEOPLE

    def __init__(self, spec: Spec, connection: Connection, reference: ReferenceData) -> None:
        self.spec = spec
        self.connection = connection
        self.reference = reference
        self.seen = SeenKeys()
        self.audit = AuditSpool(spec)

    def close(self) -> None:
        self.seen.close()
        self.audit.close()

    def notes(self) -> list[Problem]:
        """Warnings about the whole file, for the end of the report (rows are not refused)."""
        return []

    def _mark_repeats(self, rows: list[Checked], keys: list[str | None]) -> None:
        """A key (reference) met on an earlier row of the file makes this row a problem."""
        for row, first in zip(rows, self.seen.first_times(keys), strict=True):
            if not first:
                row.problems.append(("external_ref", row.clean["external_ref"], REPEATED))

    def _update(self, rows: list[dict], columns: list[str]) -> None:
        """One executemany UPDATE ... WHERE id = ? AND version = ?; bumps the version."""
        table = self.table
        statement = (
            update(table)
            .where(table.c.id == bindparam("b_id"), table.c.version == bindparam("b_version"))
            .values(
                version=table.c.version + 1,
                updated_at=bindparam("b_updated_at"),
                **{name: bindparam(f"b_{name}") for name in columns},
            )
        )
        result = self.connection.execute(statement, rows)
        if self.connection.dialect.supports_sane_multi_rowcount and result.rowcount != len(rows):
            raise ConcurrentChange()


class PeopleImporter(_Importer):
    table = PEOPLE

    def check(self, raw_rows: list[tuple[int, dict]]) -> list[Checked]:
        organisation = self.spec.organisation
        rows = []
        for number, raw in raw_rows:
            clean, problems = clean_person(raw, self.reference)
            rows.append(Checked(number, clean, problems))
        self._mark_repeats(rows, [row.clean.get("external_ref") for row in rows])
        if organisation is None:
            for row in rows:
                row.problems.append(
                    ("external_ref", "", _l("Choose the organisation that holds the people."))
                )
            return rows
        refs = {row.clean["external_ref"] for row in rows if not row.problems}
        fields = [name for name in self._fields(raw_rows) if name != "external_ref"]
        existing: dict[str, Any] = {}
        others: set[str] = set()
        if refs:
            columns = [
                PEOPLE.c[name]
                for name in (
                    "id",
                    "external_ref",
                    "organisation_id",
                    "version",
                    *PERSON_SEARCH,
                    *fields,
                )
            ]
            query = select(*set(columns)).where(PEOPLE.c.external_ref.in_(refs))
            for found in self.connection.execute(query).mappings():
                if found["organisation_id"] == organisation.id:
                    existing[found["external_ref"]] = found
                else:
                    others.add(found["external_ref"])
        for row in rows:
            if row.problems:
                continue
            ref = row.clean["external_ref"]
            if ref in existing:
                found = existing[ref]
                row.existing = found
                row.changed = [name for name in fields if found[name] != row.clean.get(name)]
                row.action = "update" if row.changed else "unchanged"
            elif ref in others:
                row.problems.append(
                    (
                        "external_ref",
                        ref,
                        _l("This reference is already used by another organisation."),
                    )
                )
        return rows

    def _fields(self, raw_rows) -> list[str]:
        """The person fields the file sets (its columns, and what they imply)."""
        names = list(raw_rows[0][1]) if raw_rows else []
        if "date_of_birth" in names:
            names.append("date_of_birth_approximate")
        return names

    def write(self, rows: list[Checked]) -> None:
        spec, now = self.spec, _now()
        new = [row for row in rows if row.action == "create"]
        if new:
            values = []
            for row in new:
                person = {**PERSON_DEFAULTS, **row.clean}
                values.append(
                    {
                        **person,
                        "languages": [],
                        "unaccompanied_minor": False,
                        "pregnant": False,
                        "serious_illness": False,
                        "disability": False,
                        "trafficking_victim": False,
                        "organisation_id": spec.organisation.id,
                        "created_by_id": spec.user_id,
                        "search_text": search_text(person),
                        **match_keys(person),
                        "version": 1,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            # RETURNING in batches of many rows; rows come back in no set order, so they are
            # matched by their reference (unique in the organisation), not by position.
            statement = insert(PEOPLE).returning(PEOPLE.c.id, PEOPLE.c.external_ref)
            ids = dict(self.connection.execute(statement, values).all())
            self.audit.add("person.create", "people", ((id_, {}) for id_ in sorted(ids)))
        changed = [row for row in rows if row.action == "update"]
        if changed:
            columns = self._columns(changed[0])
            values = []
            for row in changed:
                merged = {**dict(row.existing), **row.clean}
                values.append(
                    {
                        "b_id": row.existing["id"],
                        "b_version": row.existing["version"],
                        "b_updated_at": now,
                        "b_search_text": search_text(merged),
                        **{f"b_{name}": key for name, key in match_keys(merged).items()},
                        **{
                            f"b_{name}": row.clean.get(name)
                            for name in columns
                            if name not in DERIVED
                        },
                    }
                )
            self._update(values, columns)
            self.audit.add(
                "person.update",
                "people",
                ((row.existing["id"], {"fields": sorted(row.changed)}) for row in changed),
            )

    @staticmethod
    def _columns(row: Checked) -> list[str]:
        """The columns an update sets: the file's, and those derived from the names."""
        names = [name for name in row.clean if name != "external_ref"]
        return [*names, *DERIVED]


PERSON_SEARCH = ("family_name", "given_names", "family_name_ar", "given_names_ar")
# Columns kept from the names by Person's ORM hooks, which Core statements must set themselves.
MATCH_KEYS = tuple(name for name in ("match_family", "match_given") if name in PEOPLE.c)
DERIVED = ("search_text", *MATCH_KEYS)


def match_keys(values: dict[str, Any]) -> dict[str, str | None]:
    """Duplicate detection's blocking keys, as `Person.refresh_match_keys` computes them."""
    if not MATCH_KEYS:
        return {}
    from casework.people.transliteration import name_key

    return {
        "match_family": name_key(values.get("family_name") or values.get("family_name_ar")),
        "match_given": name_key(
            values.get("given_names") or values.get("given_names_ar"), first_word=True
        ),
    }


class CasesImporter(_Importer):
    table = CASES

    def __init__(self, spec: Spec, connection: Connection, reference: ReferenceData) -> None:
        super().__init__(spec, connection, reference)
        self.cards = SeenKeys()  # card numbers renewed so far in the file
        self.unlinked = 0  # valid renewal rows linked to no card

    def close(self) -> None:
        super().close()
        self.cards.close()

    def check(self, raw_rows: list[tuple[int, dict]]) -> list[Checked]:
        spec = self.spec
        rows = []
        keys = []
        for number, raw in raw_rows:
            clean, problems = clean_case(raw, self.reference, spec.organisation)
            office, ref = clean.get("office"), clean.get("external_ref")
            keys.append(f"{office.id}\x1f{ref}" if ref and office else None)
            rows.append(Checked(number, clean, problems))
        self._mark_repeats(rows, keys)
        candidates = [row for row in rows if not row.problems]
        self._find_applicants(candidates)
        self._find_renewed([row for row in candidates if not row.problems])
        self._find_existing([row for row in candidates if not row.problems])
        self.unlinked += sum(
            1
            for row in rows
            if not row.problems
            and row.clean["kind"] == CaseKind.RENEWAL
            and row.clean.get("renewal_of_id") is None
        )
        return rows

    def notes(self) -> list[Problem]:
        if not self.unlinked:
            return []
        message = _l(
            "Renewal files not linked to the file that issued the card they renew: %(n)s. "
            "Give the card numbers in the column renews_card_number to link them.",
            n=self.unlinked,
        )
        return [("renews_card_number", str(self.unlinked), message)]

    def _find_renewed(self, rows: list[Checked]) -> None:
        """A renewal row naming a card is linked to the file of its office that issued the
        card, as `cases.operations.open_renewal` links a renewal opened in the application.
        A card of another office is answered as unknown (its number says nothing more)."""
        rows = [row for row in rows if row.clean.get("renews_card_number")]
        numbers = {row.clean["renews_card_number"] for row in rows}
        if not numbers:
            return
        cards = {
            found["card_number"]: found
            for found in self.connection.execute(
                select(CASES.c.id, CASES.c.card_number, CASES.c.office_id).where(
                    CASES.c.card_number.in_(numbers)
                )
            ).mappings()
        }
        renewals: dict[int, list[Any]] = defaultdict(list)
        if cards:
            query = select(CASES.c.renewal_of_id, CASES.c.office_id, CASES.c.external_ref).where(
                CASES.c.renewal_of_id.in_([found["id"] for found in cards.values()]),
                CASES.c.state != "withdrawn",
            )
            for found in self.connection.execute(query).mappings():
                renewals[found["renewal_of_id"]].append(found)
        for row in rows:
            number, office = row.clean["renews_card_number"], row.clean["office"]
            card = cards.get(number)
            if card is None or card["office_id"] != office.id:
                row.problems.append(
                    (
                        "renews_card_number",
                        number,
                        _l("No file of this office issued a card with this number."),
                    )
                )
                continue
            others = [
                found
                for found in renewals.get(card["id"], [])
                if (found["office_id"], found["external_ref"])
                != (office.id, row.clean["external_ref"])
            ]
            if others:
                row.problems.append(
                    (
                        "renews_card_number",
                        number,
                        _l("Another renewal file is already open for this card."),
                    )
                )
                continue
            row.clean["renewal_of_id"] = card["id"]
        # Two rows of the file renewing one card: the first is linked, the others refused.
        linked = [row for row in rows if row.clean.get("renewal_of_id") is not None]
        firsts = self.cards.first_times([row.clean["renews_card_number"] for row in linked])
        for row, first in zip(linked, firsts, strict=True):
            if not first:
                del row.clean["renewal_of_id"]
                row.problems.append(
                    (
                        "renews_card_number",
                        row.clean["renews_card_number"],
                        _l("This card is renewed on an earlier row of the file."),
                    )
                )

    def _holder(self, row: Checked) -> int:
        """People are looked up among those of the import's organisation, else the office's."""
        organisation = self.spec.organisation
        return organisation.id if organisation is not None else row.clean["office"].id

    def _find_applicants(self, rows: list[Checked]) -> None:
        refs = {row.clean["person_external_ref"] for row in rows}
        people: dict[tuple[int, str], Any] = {}
        if refs:
            query = select(
                PEOPLE.c.id,
                PEOPLE.c.external_ref,
                PEOPLE.c.organisation_id,
                PEOPLE.c.sex,
                PEOPLE.c.nationality,
                PEOPLE.c.date_of_birth,
            ).where(PEOPLE.c.external_ref.in_(refs))
            for found in self.connection.execute(query).mappings():
                people[(found["organisation_id"], found["external_ref"])] = found
        for row in rows:
            ref = row.clean["person_external_ref"]
            applicant = people.get((self._holder(row), ref))
            if applicant is None:
                row.problems.append(
                    (
                        "person_external_ref",
                        ref,
                        _l(
                            "No person with this reference in the organisation: "
                            "import the people first."
                        ),
                    )
                )
                continue
            row.clean["applicant"] = applicant
            row.clean["applicant_id"] = applicant["id"]

    def _find_existing(self, rows: list[Checked]) -> None:
        refs = {row.clean["external_ref"] for row in rows}
        existing: dict[tuple[int, str], Any] = {}
        used: set[str] = set()
        if refs:
            query = select(
                CASES.c.id,
                CASES.c.external_ref,
                CASES.c.office_id,
                CASES.c.kind,
                CASES.c.version,
                *(CASES.c[name] for name in CASE_FIELDS),
            ).where(CASES.c.external_ref.in_(refs))
            for found in self.connection.execute(query).mappings():
                existing[(found["office_id"], found["external_ref"])] = found
                used.add(found["external_ref"])
        for row in rows:
            ref, office = row.clean["external_ref"], row.clean["office"]
            found = existing.get((office.id, ref))
            if found is None:
                if ref in used:
                    row.problems.append(
                        (
                            "external_ref",
                            ref,
                            _l("This reference is already used by another organisation."),
                        )
                    )
                continue
            if found["kind"] != row.clean["kind"]:
                row.problems.append(
                    ("kind", row.clean["kind"], _l("An imported file's kind cannot change."))
                )
                continue
            row.existing = found
            # Without a card number to link, an imported file keeps the link it has.
            row.clean.setdefault("renewal_of_id", found["renewal_of_id"])
            row.changed = [name for name in CASE_FIELDS if found[name] != row.clean.get(name)]
            row.action = "update" if row.changed else "unchanged"

    @staticmethod
    def _dimensions(row: Checked) -> dict[str, Any]:
        """The statistics dimensions fixed at filing, as `file_case` sets them."""
        applicant, filed_on = row.clean["applicant"], row.clean["filed_on"]
        born = applicant["date_of_birth"]
        age = None
        if born is not None:
            age = (
                filed_on.year
                - born.year
                - ((filed_on.month, filed_on.day) < (born.month, born.day))
            )
        return {
            "applicant_sex": applicant["sex"],
            "applicant_nationality": applicant["nationality"],
            "applicant_age_band": age_band(age),
        }

    def write(self, rows: list[Checked]) -> None:
        spec, now = self.spec, _now()
        new = [row for row in rows if row.action == "create"]
        if new:
            references = self._references(new)
            values = []
            for row, reference in zip(new, references, strict=True):
                clean, office = row.clean, row.clean["office"]
                values.append(
                    {
                        "reference": reference,
                        "external_ref": clean["external_ref"],
                        "kind": clean["kind"],
                        "operation_code": clean["operation_code"],
                        "category_code": clean["category_code"],
                        "applicant_id": clean["applicant_id"],
                        "office_id": office.id,
                        "assigned_to_id": None,
                        "state": clean["state"],
                        "filed_on": clean["filed_on"],
                        "proposed_reasons": [],
                        "renewal_of_id": clean.get("renewal_of_id"),
                        "region_code": office.region_code,
                        **self._dimensions(row),
                        "version": 1,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            # Matched back by (office, reference), unique, as the rows return in no set order.
            statement = insert(CASES).returning(CASES.c.id, CASES.c.office_id, CASES.c.external_ref)
            by_key = {
                (office_id, ref): id_
                for id_, office_id, ref in self.connection.execute(statement, values)
            }
            ids = [by_key[(value["office_id"], value["external_ref"])] for value in values]
            self.connection.execute(
                insert(EVENTS),
                [
                    {
                        "case_id": id_,
                        "at": now,
                        "user_id": spec.user_id,
                        "kind": EventKind.CREATED.value,
                        "action": None,
                        "from_state": None,
                        "to_state": value["state"],
                        "comment": None,
                        "data": {"import_job": spec.id},
                    }
                    for id_, value in zip(ids, values, strict=True)
                ],
            )
            self.audit.add(
                "case.create",
                "cases",
                (
                    (id_, {"kind": row.clean["kind"], "office": row.clean["office"].code})
                    for id_, row in zip(ids, new, strict=True)
                ),
            )
        changed = [row for row in rows if row.action == "update"]
        if changed:
            columns = [*CASE_FIELDS, "applicant_sex", "applicant_nationality", "applicant_age_band"]
            values = [
                {
                    "b_id": row.existing["id"],
                    "b_version": row.existing["version"],
                    "b_updated_at": now,
                    **{f"b_{name}": row.clean[name] for name in CASE_FIELDS},
                    **{f"b_{name}": value for name, value in self._dimensions(row).items()},
                }
                for row in changed
            ]
            # A decided file whose operation or filing date changes moves to another bucket of
            # the processing summary; new files are undecided (no processing time) and count
            # nowhere yet.
            moved = [row.existing["id"] for row in changed]
            add_cases(self.connection, moved, sign=-1)
            self._update(values, columns)
            add_cases(self.connection, moved)
            self.audit.add(
                "case.update",
                "cases",
                ((row.existing["id"], {"fields": sorted(row.changed)}) for row in changed),
            )

    def _references(self, rows: list[Checked]) -> list[str]:
        """File references (REG-2026-RAB-000123) for new files: each prefix's counter is
        moved on once per batch, under a row lock on PostgreSQL (as `next_reference`)."""
        wanted: dict[str, int] = defaultdict(int)
        prefixes = []
        for row in rows:
            kind = CaseKind(row.clean["kind"])
            prefix = f"{REFERENCE_PREFIX[kind]}-{row.clean['filed_on'].year}-"
            prefix += row.clean["office"].code
            prefixes.append(prefix)
            wanted[prefix] += 1
        starts = {prefix: self._reserve(prefix, count) for prefix, count in wanted.items()}
        references = []
        for prefix in prefixes:
            starts[prefix] += 1
            references.append(f"{prefix}-{starts[prefix]:06d}")
        return references

    def _reserve(self, prefix: str, count: int) -> int:
        """Take `count` numbers of `prefix`'s counter; returns the last number used before."""
        connection = self.connection
        query = select(COUNTERS.c.last_number).where(COUNTERS.c.prefix == prefix)
        if connection.dialect.name != "sqlite":
            query = query.with_for_update()
        last = connection.scalar(query)
        if last is None:
            try:
                with connection.begin_nested():
                    connection.execute(insert(COUNTERS).values(prefix=prefix, last_number=0))
                last = 0
            except IntegrityError:  # another import or filing created it first: lock theirs
                last = connection.scalar(query)
        connection.execute(
            update(COUNTERS).where(COUNTERS.c.prefix == prefix).values(last_number=last + count)
        )
        return last
