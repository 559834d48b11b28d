"""Full exports of the people and case files in the caller's scope, as CSV or XLSX.

* Scoped exactly like the pages: the filters of `visible_people(user)` and
  `visible_cases(user)`, that is `people_scope` and `cases_scope` (a caseworker gets their
  office's people and files, a regional supervisor their region's).
* Streamed: rows are read with `yield_per` (a server-side cursor on PostgreSQL) and the CSV is
  a generator, so a million rows never sit in memory; the XLSX is written by openpyxl's
  write-only mode to a temporary file, then sent in chunks.
* Safe in a spreadsheet: text starting with = + - @ (or a tab or carriage return) gets a
  leading apostrophe (`casework.reports.exports.safe_text`); the import removes it again, so
  an export can be imported back (its extra columns are ignored).
* Audited: `people.export` / `cases.export` with the format and the row count, before the
  first byte is sent.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterator
from datetime import date, datetime

from flask import Response, stream_with_context
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from sqlalchemy import Select, func, select
from sqlalchemy.orm import aliased

from casework.admin.models import Organisation
from casework.audit.operations import record
from casework.auth.models import User
from casework.cases.models import Case
from casework.cases.queries import visible_cases
from casework.extensions import db
from casework.people.models import Person
from casework.people.queries import visible_people
from casework.reports.exports import CSV_TYPE, XLSX_TYPE, safe_text

DATASETS = ("people", "cases")
FORMATS = ("csv", "xlsx")
YIELD_PER = 2000
CHUNK = 64 * 1024

PEOPLE_COLUMNS = (
    "id", "external_ref", "family_name", "given_names", "family_name_ar", "given_names_ar",
    "sex", "date_of_birth", "date_of_birth_approximate", "nationality", "phone",
    "prefecture_code", "organisation", "created_at", "updated_at",
)  # fmt: skip
CASES_COLUMNS = (
    "id", "reference", "external_ref", "person_external_ref", "applicant_id", "kind",
    "operation", "category", "office_code", "filed_on", "state", "assigned_to",
    "deadline_on", "decided_on", "first_instance_outcome", "appeal_outcome", "card_number",
    "card_expires_on", "renews_card_number", "closed_on", "created_at", "updated_at",
)  # fmt: skip


def people_query(user: User) -> Select:
    return (
        select(
            Person.id,
            Person.external_ref,
            Person.family_name,
            Person.given_names,
            Person.family_name_ar,
            Person.given_names_ar,
            Person.sex,
            Person.date_of_birth,
            Person.date_of_birth_approximate,
            Person.nationality,
            Person.phone,
            Person.prefecture_code,
            Organisation.code,
            Person.created_at,
            Person.updated_at,
        )
        .join(Organisation, Organisation.id == Person.organisation_id)
        .where(visible_people(user).whereclause)
        .order_by(Person.id)
    )


def cases_query(user: User) -> Select:
    applicant = aliased(Person)
    assignee = aliased(User)
    # A renewal names the card it renews, like the import column (exports import back).
    renewed = aliased(Case)
    return (
        select(
            Case.id,
            Case.reference,
            Case.external_ref,
            applicant.external_ref,
            Case.applicant_id,
            Case.kind,
            Case.operation_code,
            Case.category_code,
            Organisation.code,
            Case.filed_on,
            Case.state,
            assignee.email,
            Case.deadline_on,
            Case.decided_on,
            Case.first_instance_outcome,
            Case.appeal_outcome,
            Case.card_number,
            Case.card_expires_on,
            renewed.card_number,
            Case.closed_on,
            Case.created_at,
            Case.updated_at,
        )
        .join(applicant, applicant.id == Case.applicant_id)
        .join(Organisation, Organisation.id == Case.office_id)
        .outerjoin(assignee, assignee.id == Case.assigned_to_id)
        .outerjoin(renewed, renewed.id == Case.renewal_of_id)
        .where(visible_cases(user).whereclause)
        .order_by(Case.id)
    )


def dataset(name: str, user: User) -> tuple[tuple[str, ...], Select]:
    if name == "people":
        return PEOPLE_COLUMNS, people_query(user)
    return CASES_COLUMNS, cases_query(user)


def count(query: Select) -> int:
    return db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))


def _cell(value):
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


def rows(query: Select) -> Iterator[list]:
    """The query's rows as exported cells, fetched `YIELD_PER` at a time."""
    result = db.session.execute(query.execution_options(yield_per=YIELD_PER))
    for row in result:
        yield [_cell(value) for value in row]


def csv_chunks(columns: tuple[str, ...], query: Select) -> Iterator[str]:
    """UTF-8 CSV with a BOM (Excel reads the accents), ~64 KiB per chunk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(columns)
    for line in rows(query):
        writer.writerow(["" if value is None else value for value in line])
        if buffer.tell() >= CHUNK:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def xlsx_file(name: str, columns: tuple[str, ...], query: Select):
    """A write-only workbook in a temporary file (memory stays flat), rewound for reading."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(name)
    sheet.append(list(columns))
    for line in rows(query):
        # XML cannot hold control characters (a name typed with one): drop them, not the file.
        sheet.append([_xlsx_text(value) for value in line])
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the response's generator
    workbook.save(spool)
    spool.seek(0)
    return spool


def _xlsx_text(value):
    # Neutralised again: without its control characters, the text may start a formula.
    return safe_text(ILLEGAL_CHARACTERS_RE.sub("", value)) if isinstance(value, str) else value


def _file_chunks(spool) -> Iterator[bytes]:
    try:
        while chunk := spool.read(CHUNK):
            yield chunk
    finally:
        spool.close()


def file_name(name: str, fmt: str) -> str:
    return f"casework-{name}-{date.today().isoformat()}.{fmt}"


def export_response(name: str, fmt: str, user: User, *, channel: str) -> Response:
    """The whole data set in the user's scope, audited, then streamed."""
    columns, query = dataset(name, user)
    total = count(query)
    record(f"{name}.export", user=user, format=fmt, rows=total, channel=channel)
    db.session.commit()
    if fmt == "xlsx":
        body = _file_chunks(xlsx_file(name, columns, query))
        response = Response(body, content_type=XLSX_TYPE)
    else:
        body = stream_with_context(csv_chunks(columns, query))
        response = Response(body, content_type=CSV_TYPE)
    response.headers["Content-Disposition"] = f'attachment; filename="{file_name(name, fmt)}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
