"""Files and calls shared by the import tests."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from click.testing import Result
from flask import Flask
from openpyxl import Workbook
from sqlalchemy import func, select

from casework.audit.models import AuditEntry
from casework.extensions import db
from casework.people.models import Person

PEOPLE_HEADER = [
    "external_ref", "family_name", "given_names", "family_name_ar", "given_names_ar", "sex",
    "date_of_birth", "nationality", "phone", "prefecture_code",
]  # fmt: skip
FRENCH_HEADER = [
    "référence externe", "nom", "prénoms", "nom (arabe)", "prénoms (arabe)", "sexe",
    "date de naissance", "nationalité", "téléphone", "préfecture",
]  # fmt: skip
GOOD_ROWS = [
    ["P-1", "Traoré", "Aminata", "تراوري", "أميناتا", "F", "1990-03-12", "ML", "", "RAB"],
    ["P-2", "Diallo", "Ousmane", "", "", "M", "14/07/1985", "SN", "0600000002", "RAB"],
    ["P-3", "Mbeki", "Grace", "", "", "F", "1979", "CD", "", ""],
]


def csv_bytes(
    header: list[str], rows: list[list[str]], *, delimiter: str = ",", encoding: str = "utf-8"
) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def write_csv(path: Path, header: list[str], rows: list[list[str]], **options) -> Path:
    path.write_bytes(csv_bytes(header, rows, **options))
    return path


def write_xlsx(path: Path, header: list, rows: list[list]) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def run_cli(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=["import", *args, "--language", "en"])


def people_count(app: Flask, **where) -> int:
    with app.app_context():
        query = select(func.count()).select_from(Person).where(Person.external_ref.is_not(None))
        for name, value in where.items():
            query = query.where(getattr(Person, name) == value)
        return db.session.scalar(query)


def person_by_ref(app: Flask, ref: str) -> Person | None:
    with app.app_context():
        person = db.session.scalar(select(Person).where(Person.external_ref == ref))
        if person is not None:
            db.session.expunge(person)
        return person


def audit_entries(app: Flask, action: str) -> list[AuditEntry]:
    """The entries of `action` written by imports (not the test world's registrations)."""
    with app.app_context():
        entries = list(
            db.session.scalars(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
            )
        )
        for entry in entries:
            db.session.expunge(entry)
        if action.startswith(("person.", "case.")):
            return [entry for entry in entries if "import_job" in (entry.data or {})]
        return entries


def report_lines(path: str | Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as stream:
        return list(csv.DictReader(stream))
