"""Statistics tables as CSV (UTF-8 with a BOM, for Excel) and XLSX (openpyxl).

Both write the table's rows, then its total, under a header of stable column names (their
meaning is on the definitions page and in the workbook's "notes" sheet). Text that a
spreadsheet would run as a formula (starting with = + - @, a tab or a carriage return) gets a
leading apostrophe: an organisation named "=HYPERLINK(...)" must stay a name.
Publication exports apply `casework.reports.suppression` first.
"""

from __future__ import annotations

import csv
import io
from datetime import date

from flask import Response
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from casework.models_base import current_language
from casework.reports.definitions import DEFINITIONS
from casework.reports.suppression import HIDDEN, SMALL, suppress
from casework.reports.tables import RATE_NAMES, StatTable, column_labels

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("csv", "xlsx")


def safe_text(value: str) -> str:
    """Neutralise text a spreadsheet would take for a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _cell(value):
    if isinstance(value, str):
        return safe_text(value)
    return value


def records(table: StatTable, publication: bool) -> tuple[list[str], list[list]]:
    """The header and the rows (the total last), suppressed for publication."""
    rows, total = table.rows, table.total
    if publication:
        rows, total = suppress(rows, table.rules, total)
    # Offices are keyed by id; their code (what the `office` filter takes) comes along.
    ids = ["key", *(["code"] if any("code" in row for row in table.rows) else []), "label"]
    header = [*ids, *table.columns]
    lines = [[row.get(name) for name in header] for row in rows]
    if total is not None:
        names = {"key": "total", "label": _("Total")}
        lines.append([names.get(name, total.get(name)) for name in header])
    return header, [[_cell(value) for value in line] for line in lines]


def to_csv(table: StatTable, publication: bool) -> bytes:
    header, lines = records(table, publication)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for line in lines:
        writer.writerow(["" if value is None else value for value in line])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(table: StatTable, publication: bool, filters: dict[str, str] | None = None) -> bytes:
    header, lines = records(table, publication)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = f"{table.name} {table.group_by}".strip()[:31]
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    rate_columns = {index for index, name in enumerate(header) if name in RATE_NAMES}
    for line in lines:
        sheet.append(line)
        for index in rate_columns:
            cell = sheet.cell(row=sheet.max_row, column=index + 1)
            if isinstance(cell.value, float):
                cell.number_format = "0.0%"
    sheet.freeze_panes = "C2"
    sheet.column_dimensions["B"].width = 36
    notes = workbook.create_sheet("notes")
    notes.append([_("Column"), _("Meaning"), _("Definition")])
    labels = column_labels()
    for name in header[len(header) - len(table.columns) :]:
        notes.append([name, labels.get(name, name), str(DEFINITIONS.get(name, ""))])
    notes.append([])
    if publication:
        notes.append([SMALL, _("A count from 1 to 4.")])
        notes.append([HIDDEN, _("Hidden so that a small count cannot be worked out.")])
    for name, value in (filters or {}).items():
        notes.append([_("Filter"), name, safe_text(str(value))])
    notes.append([_("Exported on"), date.today().isoformat()])
    if current_language() == "ar":
        sheet.sheet_view.rightToLeft = True
        notes.sheet_view.rightToLeft = True
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def file_name(table: StatTable, fmt: str, publication: bool) -> str:
    parts = ["casework", table.name, table.group_by or "total"]
    if publication:
        parts.append("publication")
    return "-".join([*parts, date.today().isoformat()]) + f".{fmt}"


def export_response(
    table: StatTable, fmt: str, publication: bool, filters: dict[str, str] | None = None
) -> Response:
    if fmt == "xlsx":
        body, mimetype = to_xlsx(table, publication, filters), XLSX_TYPE
    else:
        body, mimetype = to_csv(table, publication), CSV_TYPE
    response = Response(body, content_type=mimetype)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{file_name(table, fmt, publication)}"'
    )
    return response
