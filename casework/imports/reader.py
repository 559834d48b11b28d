"""Reading an import file row by row, whatever its format, with bounded memory.

The format is read from the content, never the name: an XLSX file is a ZIP holding
`xl/workbook.xml`; a CSV is text. An old binary Excel file (.xls), a PDF, an image or any
other binary content is refused with a message that says what to do.

CSV: the encoding is UTF-8 (with or without a BOM) when the whole file decodes as UTF-8, else
Windows-1252 (what Excel saves as "CSV" on a French Windows); the delimiter is the one of `,`,
`;` or tab that the header line uses most. XLSX: the first sheet, read with openpyxl's
read-only mode (rows are streamed from the ZIP, never all in memory). Row numbers are those a
spreadsheet shows: the header is row 1.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from flask_babel import lazy_gettext as _l

CHUNK = 1024 * 1024
SNIFF = 8192
# CSV fields are unlimited in size by nature; keep a generous but finite cap (the default
# 128 KiB is enough for any register line, a runaway quote must not eat memory).
csv.field_size_limit(1024 * 1024)

# First bytes of binary formats people send instead of CSV or XLSX, with a hint.
BINARY_SIGNATURES: tuple[tuple[bytes, object], ...] = (
    (b"\xd0\xcf\x11\xe0", _l("This is an old Excel (.xls) file: save it as .xlsx or CSV.")),
    (b"%PDF-", _l("This is a PDF file: send a CSV or XLSX file.")),
    (b"\x89PNG", _l("This is an image: send a CSV or XLSX file.")),
    (b"\xff\xd8\xff", _l("This is an image: send a CSV or XLSX file.")),
)


class UnreadableFile(ValueError):
    """The file is not a CSV or XLSX file we can read; the message says why."""


@dataclass
class Source:
    """An opened import file: its format, encoding, header and row count."""

    path: Path
    format: str  # csv | xlsx
    encoding: str | None  # csv only: utf-8, utf-8-sig or cp1252
    delimiter: str | None
    header: list[object]
    rows_total: int  # data rows (without the header), blank rows not counted

    def rows(self) -> Iterator[tuple[int, list[object]]]:
        """(row number, values) of every non-blank data row; the header is row 1."""
        if self.format == "xlsx":
            yield from _xlsx_rows(self.path)
        else:
            yield from _csv_rows(self.path, self.encoding or "utf-8", self.delimiter or ",")


def open_source(path: str | Path) -> Source:
    path = Path(path)
    with path.open("rb") as stream:
        start = stream.read(SNIFF)
    if not start.strip():
        raise UnreadableFile(str(_l("The file is empty.")))
    if start.startswith(b"PK\x03\x04"):
        return _open_xlsx(path)
    for magic, hint in BINARY_SIGNATURES:
        if start.startswith(magic):
            raise UnreadableFile(str(hint))
    if b"\x00" in start:
        raise UnreadableFile(str(_l("This is not a CSV or XLSX file.")))
    return _open_csv(path)


# --- CSV ------------------------------------------------------------------------------------------


def detect_encoding(path: Path) -> str:
    """utf-8-sig (a BOM), utf-8 when every byte decodes, else cp1252. Reads the file once in
    chunks (an incremental decoder: a character cut between two chunks is fine)."""
    with path.open("rb") as stream:
        head = stream.read(3)
        if head == codecs.BOM_UTF8:
            return "utf-8-sig"
        stream.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while chunk := stream.read(CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return "utf-8"


def _text(path: Path, encoding: str) -> io.TextIOWrapper:
    # newline="" lets the csv module handle line ends inside quoted fields.
    return open(path, encoding=encoding, newline="", errors="strict")


def _open_csv(path: Path) -> Source:
    encoding = detect_encoding(path)
    try:
        with _text(path, encoding) as stream:
            first_line = stream.readline()
            delimiter = max((",", ";", "\t"), key=first_line.count)
            stream.seek(0)
            reader = csv.reader(stream, delimiter=delimiter)
            header = next(reader, [])
            total = sum(1 for row in reader if any(cell.strip() for cell in row))
    except UnicodeDecodeError as error:  # bytes that Windows-1252 does not define either
        raise UnreadableFile(
            str(_l("The file's encoding was not recognised: save it as CSV UTF-8."))
        ) from error
    except csv.Error as error:
        message = _l("This CSV file cannot be read: %(e)s", e=str(error))
        raise UnreadableFile(str(message)) from error
    if not any(str(h).strip() for h in header):
        raise UnreadableFile(str(_l("The first row must name the columns.")))
    return Source(path, "csv", encoding, delimiter, list(header), total)


def _csv_rows(path: Path, encoding: str, delimiter: str) -> Iterator[tuple[int, list[object]]]:
    with _text(path, encoding) as stream:
        reader = csv.reader(stream, delimiter=delimiter)
        next(reader, None)
        for row in reader:
            if any(cell.strip() for cell in row):
                # line_num counts physical lines; a quoted field may span several.
                yield reader.line_num, list(row)


# --- XLSX -----------------------------------------------------------------------------------------


def _load_workbook(path: Path):
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(path) as archive:
            if "xl/workbook.xml" not in archive.namelist():
                raise UnreadableFile(str(_l("This ZIP file is not an XLSX workbook.")))
        return load_workbook(path, read_only=True, data_only=True)
    except UnreadableFile:
        raise
    except Exception as error:  # openpyxl raises many kinds on a damaged workbook
        raise UnreadableFile(str(_l("This XLSX file cannot be read."))) from error


def _open_xlsx(path: Path) -> Source:
    workbook = _load_workbook(path)
    try:
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = list(next(rows, ()) or ())
        # Excel records the sheet's size; files written by other tools may not: count then
        # (reading an XLSX is slow, so only then). The total is corrected at the end.
        try:
            sheet.calculate_dimension()
            total = max((sheet.max_row or 1) - 1, 0)
        except ValueError:
            total = sum(1 for row in rows if _non_blank(row))
    finally:
        workbook.close()
    while header and header[-1] in (None, ""):
        header.pop()
    if not any(str(h or "").strip() for h in header):
        raise UnreadableFile(str(_l("The first row must name the columns.")))
    return Source(path, "xlsx", None, None, header, total)


def _non_blank(row) -> bool:
    return any(value is not None and str(value).strip() for value in row)


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[object]]]:
    workbook = _load_workbook(path)
    try:
        sheet = workbook.worksheets[0]
        for number, row in enumerate(sheet.iter_rows(min_row=2, values_only=True), start=2):
            if _non_blank(row):
                yield number, list(row)
    finally:
        workbook.close()


def cell_text(value: object) -> str:
    """A cell as text: XLSX numbers without a spurious `.0`, dates as ISO dates."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
