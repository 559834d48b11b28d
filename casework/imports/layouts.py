"""The documented column layouts of imports, their templates, and mapping files.

A file's first row names its columns. Each name is matched, after folding (case, accents,
spaces and punctuation ignored: "Date de naissance" = "date_de_naissance"), against:

1. the mapping file, when one is given (`source column -> field`, JSON or CSV);
2. the field names themselves (the API's names: `family_name`, `date_of_birth`, ...);
3. the French (and a few Arabic and English) aliases below (`nom`, `prénoms`, ...).

Columns that match nothing are ignored (and listed on the job's page). The templates are the
header row in French or English, as CSV (UTF-8 with a BOM, so that Excel reads the accents) or
XLSX with a second sheet describing every column.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.styles import Font

from casework.imports.models import ImportKind
from casework.people.normalise import fold


@dataclass(frozen=True)
class Column:
    name: str  # the field: the API's name
    french: str  # the header of the French template
    description: object  # lazy string
    required: bool = False
    aliases: tuple[str, ...] = field(default_factory=tuple)


PEOPLE_COLUMNS: tuple[Column, ...] = (
    Column("external_ref", "référence externe",
           _l("The person's reference in your register, unique in your organisation. "
              "Importing the same reference again updates the person."), required=True,
           aliases=("reference externe", "ref externe", "ref", "identifiant", "reference personne",
                    "numero", "n°", "external reference", "id externe")),
    Column("family_name", "nom", _l("Family name, in Latin letters."), required=True,
           aliases=("nom de famille", "surname", "last name", "family name", "النسب")),
    Column("given_names", "prénoms", _l("Given names, in Latin letters."), required=True,
           aliases=("prenom", "prenoms", "first name", "first names", "given name", "الاسم")),
    Column("family_name_ar", "nom (arabe)", _l("Family name in Arabic script."),
           aliases=("nom arabe", "nom en arabe", "family name arabic", "النسب بالعربية")),
    Column("given_names_ar", "prénoms (arabe)", _l("Given names in Arabic script."),
           aliases=("prenoms arabe", "prenom arabe", "prenoms en arabe", "prenom en arabe",
                    "given names arabic", "الاسم بالعربية")),
    Column("sex", "sexe", _l("F, M or X (H for homme is read as M)."), required=True,
           aliases=("sexe", "genre", "gender", "الجنس")),
    Column("date_of_birth", "date de naissance",
           _l("YYYY-MM-DD or DD/MM/YYYY; a year alone is read as an approximate date."),
           aliases=("date naissance", "ne le", "nee le", "ne e le", "naissance", "birth date",
                    "dob", "تاريخ الازدياد")),
    Column("nationality", "nationalité", _l("ISO 3166 alpha-2 country code, such as SN or CD."),
           aliases=("nationalite", "code nationalite", "pays", "country", "الجنسية")),
    Column("phone", "téléphone", _l("Phone number."),
           aliases=("telephone", "tel", "gsm", "portable", "mobile", "phone number", "الهاتف")),
    Column("prefecture_code", "préfecture",
           _l("Code of the prefecture or province of residence, such as RAB (see Reference)."),
           aliases=("prefecture", "code prefecture", "province", "prefecture province",
                    "العمالة")),
)  # fmt: skip

CASES_COLUMNS: tuple[Column, ...] = (
    Column("external_ref", "référence externe",
           _l("The file's reference in your register, unique in its office. Importing the same "
              "reference again updates the file."), required=True,
           aliases=("reference externe", "ref externe", "numero dossier", "n dossier",
                    "external reference")),
    Column("person_external_ref", "référence de la personne",
           _l("The applicant's reference, as imported with the people (same organisation)."),
           required=True,
           aliases=("reference personne", "ref personne", "reference demandeur",
                    "ref demandeur", "person ref", "person reference")),
    Column("kind", "type de dossier",
           _l("regularisation, asylum or renewal (régularisation, asile, renouvellement)."),
           required=True, aliases=("type", "type dossier", "nature", "procedure", "kind of file")),
    Column("operation", "opération",
           _l("Operation code (see Reference); by default the one open on the filing date."),
           aliases=("operation", "code operation", "operation code")),
    Column("category", "catégorie",
           _l("Eligibility category code of the operation (regularisation files)."),
           aliases=("categorie", "code categorie", "category code")),
    Column("office_code", "bureau",
           _l("Code of the office holding the file, such as RAB; by default the import's "
              "organisation."), aliases=("bureau", "code bureau", "office", "office code")),
    Column("filed_on", "date de dépôt", _l("Filing date: YYYY-MM-DD or DD/MM/YYYY."),
           required=True, aliases=("date de depot", "date depot", "depose le", "date filed",
                                    "filing date")),
    Column("state", "état",
           _l("The file's state in its workflow (see Workflows); by default the first one."),
           aliases=("etat", "statut", "status", "situation")),
    Column("renews_card_number", "numéro de la carte renouvelée",
           _l("Renewal files: the number of the card renewed, issued by a file of the same "
              "office. The renewal is linked to that file."),
           aliases=("numero de la carte renouvelee", "numero carte renouvelee",
                    "carte renouvelee", "n carte renouvelee", "renewed card number",
                    "renewed card", "card renewed")),
)  # fmt: skip

LAYOUTS: dict[str, tuple[Column, ...]] = {
    ImportKind.PEOPLE.value: PEOPLE_COLUMNS,
    ImportKind.CASES.value: CASES_COLUMNS,
}
TEMPLATE_LANGUAGES = ("fr", "en")
TEMPLATE_FORMATS = ("csv", "xlsx")


def normalise_header(text: object) -> str:
    """ "Date de naissance", "date_de_naissance" and "DATE-DE-NAISSANCE" are one name."""
    return "_".join(fold(str(text or "")).split())


def fields_of(kind: str) -> list[str]:
    return [column.name for column in LAYOUTS[kind]]


def required_fields(kind: str) -> list[str]:
    return [column.name for column in LAYOUTS[kind] if column.required]


def _alias_table(kind: str) -> dict[str, str]:
    table: dict[str, str] = {}
    for column in LAYOUTS[kind]:
        for name in (column.name, column.french, *column.aliases):
            table.setdefault(normalise_header(name), column.name)
    return table


class MappingError(ValueError):
    """A mapping file that cannot be used; the message says why (no personal data)."""


@dataclass
class HeaderMatch:
    """Which field each column of the file feeds (by position), and what did not match."""

    positions: dict[str, int]  # field -> column index
    ignored: list[str]  # headers that match no field
    duplicates: list[str]  # fields fed by two columns
    missing: list[str]  # required fields no column feeds


def match_headers(kind: str, headers: list[object], mapping: dict[str, str] | None) -> HeaderMatch:
    aliases = _alias_table(kind)
    explicit = {normalise_header(source): target for source, target in (mapping or {}).items()}
    positions: dict[str, int] = {}
    ignored: list[str] = []
    duplicates: list[str] = []
    for index, header in enumerate(headers):
        key = normalise_header(header)
        if not key:
            continue
        target = explicit.get(key) or aliases.get(key)
        if target is None:
            ignored.append(str(header))
        elif target in positions:
            duplicates.append(target)
        else:
            positions[target] = index
    missing = [name for name in required_fields(kind) if name not in positions]
    return HeaderMatch(positions, ignored, duplicates, missing)


def read_mapping(kind: str, content: bytes, filename: str = "") -> dict[str, str]:
    """A mapping file: a JSON object `{"source column": "field"}`, or a CSV of two columns
    (source, field), with or without a header row."""
    text = content.decode("utf-8-sig", errors="replace").strip()
    if not text:
        raise MappingError(str(_l("The mapping file is empty.")))
    pairs: list[tuple[str, str]]
    if text.startswith("{") or filename.lower().endswith(".json"):
        try:
            data = json.loads(text)
        except ValueError as error:
            raise MappingError(str(_l("The mapping file is not valid JSON."))) from error
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in data.items()
        ):
            raise MappingError(str(_l('Give a JSON object of the form {"column": "field"}.')))
        pairs = list(data.items())
    else:
        try:
            rows = [row for row in csv.reader(io.StringIO(text), delimiter=_delimiter(text)) if row]
        except csv.Error as error:  # a binary file, or a line break inside a field
            raise MappingError(str(_l("The mapping file is not a readable CSV file."))) from error
        if rows and [normalise_header(c) for c in rows[0][:2]] in (
            ["source", "field"],
            ["source", "champ"],
            ["colonne", "champ"],
            ["column", "field"],
        ):
            rows = rows[1:]
        if any(len(row) < 2 for row in rows):
            raise MappingError(str(_l("Each line of the mapping file needs two columns.")))
        pairs = [(row[0].strip(), row[1].strip()) for row in rows]
    known = set(fields_of(kind))
    unknown = sorted({target for _, target in pairs if target not in known})
    if unknown:
        raise MappingError(
            str(_l("Unknown fields in the mapping file: %(fields)s", fields=", ".join(unknown)))
        )
    return dict(pairs)


def _delimiter(text: str) -> str:
    first = text.splitlines()[0]
    return max((";", ",", "\t"), key=first.count) if any(c in first for c in ";,\t") else ","


# --- Templates ---------------------------------------------------------------------------------


def template_headers(kind: str, language: str) -> list[str]:
    if language == "fr":
        return [column.french for column in LAYOUTS[kind]]
    return fields_of(kind)


def template_csv(kind: str, language: str) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(template_headers(kind, language))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def template_xlsx(kind: str, language: str) -> bytes:
    from flask_babel import force_locale

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "people" if kind == ImportKind.PEOPLE else "cases"
    sheet.append(template_headers(kind, language))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for index, _name in enumerate(template_headers(kind, language)):
        sheet.column_dimensions[chr(ord("A") + index)].width = 22
    sheet.freeze_panes = "A2"
    with force_locale(language):
        help_sheet = workbook.create_sheet("aide" if language == "fr" else "help")
        help_sheet.append([str(_l("Column")), str(_l("Field")), str(_l("Required")),
                           str(_l("What to write"))])  # fmt: skip
        for cell in help_sheet[1]:
            cell.font = Font(bold=True)
        for column in LAYOUTS[kind]:
            header = column.french if language == "fr" else column.name
            required = str(_l("Yes")) if column.required else str(_l("No"))
            help_sheet.append([header, column.name, required, str(column.description)])
    help_sheet.column_dimensions["A"].width = 26
    help_sheet.column_dimensions["B"].width = 22
    help_sheet.column_dimensions["D"].width = 90
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def template_name(kind: str, language: str, fmt: str) -> str:
    return f"casework-{kind}-{language}.{fmt}"
