"""Checking import rows: one row on its own (formats, codes, required values), with the
reference data loaded once per job. The checks that need the database's people and files
(references already used, applicants to find) are made per batch in `operations`.

A cleaner returns the row's values ready to store and its problems as (field, value, message);
a row with a problem is not imported. The rules follow the API's schemas (people.schemas) and
`cases.operations.file_case`, so an import accepts what a caseworker could have typed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Connection, select

from casework.admin.models import Organisation
from casework.cases.models import CaseKind
from casework.cases.workflows import workflow_for
from casework.imports.reader import cell_text
from casework.people.models import Sex
from casework.people.normalise import fold
from casework.reference.models import Country, EligibilityCategory, Operation, Prefecture

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MAX_LENGTHS = {
    "external_ref": 64,
    "person_external_ref": 64,
    "family_name": 120,
    "given_names": 120,
    "family_name_ar": 120,
    "given_names_ar": 120,
    "phone": 40,
    "renews_card_number": 40,
}
SEXES = {
    "f": Sex.FEMALE,
    "femme": Sex.FEMALE,
    "female": Sex.FEMALE,
    "feminin": Sex.FEMALE,
    "m": Sex.MALE,
    "h": Sex.MALE,
    "homme": Sex.MALE,
    "male": Sex.MALE,
    "masculin": Sex.MALE,
    "x": Sex.OTHER,
    "autre": Sex.OTHER,
    "other": Sex.OTHER,
    "انثى": Sex.FEMALE,
    "ذكر": Sex.MALE,
}
KINDS = {
    "regularisation": CaseKind.REGULARISATION,
    "regularization": CaseKind.REGULARISATION,
    "reg": CaseKind.REGULARISATION,
    "asylum": CaseKind.ASYLUM,
    "asile": CaseKind.ASYLUM,
    "asy": CaseKind.ASYLUM,
    "renewal": CaseKind.RENEWAL,
    "renouvellement": CaseKind.RENEWAL,
    "ren": CaseKind.RENEWAL,
}
DAY_FIRST = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$")
ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T][\d:.]+)?$")
YEAR = re.compile(r"^(\d{4})$")

REQUIRED = _l("This value is required.")

Problem = tuple[str, str, Any]  # (field, value as text, message)


@dataclass
class OperationInfo:
    code: str
    kind: str
    opens_on: date
    closes_on: date | None
    categories: set[str] = field(default_factory=set)

    def open_on(self, day: date) -> bool:
        return self.opens_on <= day and (self.closes_on is None or day <= self.closes_on)


@dataclass
class Office:
    id: int
    code: str
    region_code: str | None


@dataclass
class ReferenceData:
    """Codes a row may use, read once per job (a few hundred rows in all)."""

    countries: set[str]
    prefectures: set[str]
    operations: dict[str, OperationInfo]
    offices: dict[str, Office]  # by code: the organisations rows may name
    today: date

    @classmethod
    def load(cls, connection: Connection, office_ids: set[int] | None = None) -> ReferenceData:
        """`office_ids`: the organisations the importer may put files in (None: all)."""
        operations = {
            code: OperationInfo(code, kind, opens, closes)
            for code, kind, opens, closes in connection.execute(
                select(Operation.code, Operation.kind, Operation.opens_on, Operation.closes_on)
            )
        }
        for operation_code, code in connection.execute(
            select(EligibilityCategory.operation_code, EligibilityCategory.code)
        ):
            operations[operation_code].categories.add(code)
        offices_query = select(Organisation.id, Organisation.code, Organisation.region_code)
        if office_ids is not None:
            offices_query = offices_query.where(Organisation.id.in_(office_ids))
        return cls(
            countries=set(connection.scalars(select(Country.alpha2))),
            prefectures=set(connection.scalars(select(Prefecture.code))),
            operations=operations,
            offices={
                code: Office(id_, code, region)
                for id_, code, region in connection.execute(offices_query)
            },
            today=date.today(),
        )

    def open_operation(self, kind: str, day: date) -> OperationInfo | None:
        """As `cases.operations.open_operation`: renewals follow regularisation."""
        wanted = "asylum" if kind == CaseKind.ASYLUM else "regularisation"
        candidates = sorted(
            (op for op in self.operations.values() if op.kind == wanted),
            key=lambda op: op.opens_on,
            reverse=True,
        )
        return next((op for op in candidates if op.open_on(day)), None)


def text_value(value: object) -> str:
    """A cell as stripped text; a leading apostrophe that protected a formula-like value in an
    export (`'+212...`) is removed, so that an export can be imported back."""
    text = cell_text(value)
    if len(text) > 1 and text[0] == "'" and text[1] in FORMULA_STARTS:
        text = text[1:]
    return text


def parse_date(value: object) -> tuple[date | None, bool]:
    """(date, approximate) from an XLSX date, YYYY-MM-DD, DD/MM/YYYY or a year alone.
    Raises ValueError for anything else."""
    if isinstance(value, datetime):
        return value.date(), False
    if isinstance(value, date):
        return value, False
    if isinstance(value, int | float) and not isinstance(value, bool) and float(value).is_integer():
        value = str(int(value))
    text = text_value(value)
    if not text:
        return None, False
    if match := ISO.match(text):
        year, month, day = (int(g) for g in match.groups())
        return date(year, month, day), False
    if match := DAY_FIRST.match(text):
        day, month, year = (int(g) for g in match.groups())
        return date(year, month, day), False
    if (match := YEAR.match(text)) and int(match.group(1)) >= 1900:
        return date(int(match.group(1)), 1, 1), True
    raise ValueError(text)


def _text_fields(raw: dict[str, object], names, clean: dict, problems: list[Problem]) -> None:
    for name in names:
        if name not in raw:
            continue
        text = text_value(raw[name])
        if len(text) > MAX_LENGTHS.get(name, 200):
            problems.append((name, text[:80], _l("At most %(n)s characters.", n=MAX_LENGTHS[name])))
        clean[name] = text or None


def _require(raw: dict, clean: dict, names, problems: list[Problem]) -> None:
    for name in names:
        if not clean.get(name) and not any(p[0] == name for p in problems):
            problems.append((name, text_value(raw.get(name)), REQUIRED))


def clean_person(raw: dict[str, object], ref: ReferenceData) -> tuple[dict, list[Problem]]:
    """A people row: `raw` holds the file's cells by field (only the columns the file has)."""
    clean: dict[str, Any] = {}
    problems: list[Problem] = []
    _text_fields(
        raw,
        ("external_ref", "family_name", "given_names", "family_name_ar", "given_names_ar", "phone"),
        clean,
        problems,
    )
    if "sex" in raw:
        text = text_value(raw["sex"])
        sex = SEXES.get(fold(text))
        if sex is None and text:
            problems.append(("sex", text, _l("Write F, M or X.")))
        clean["sex"] = sex.value if sex else None
    if "date_of_birth" in raw:
        try:
            born, approximate = parse_date(raw["date_of_birth"])
        except ValueError:
            problems.append(
                (
                    "date_of_birth",
                    text_value(raw["date_of_birth"]),
                    _l("Not a date: write YYYY-MM-DD or DD/MM/YYYY."),
                )
            )
            born, approximate = None, False
        if born is not None and born > ref.today:
            problems.append(("date_of_birth", born.isoformat(), _l("This date is in the future.")))
        clean["date_of_birth"] = born
        clean["date_of_birth_approximate"] = approximate
    if "nationality" in raw:
        code = text_value(raw["nationality"]).upper()
        if code and code not in ref.countries:
            problems.append(
                (
                    "nationality",
                    code,
                    _l("Unknown country: use an ISO 3166 alpha-2 code such as SN."),
                )
            )
        clean["nationality"] = code or None
    if "prefecture_code" in raw:
        code = text_value(raw["prefecture_code"]).upper()
        if code and code not in ref.prefectures:
            problems.append(("prefecture_code", code, _l("Unknown prefecture or province code.")))
        clean["prefecture_code"] = code or None
    _require(raw, clean, ("external_ref", "family_name", "given_names", "sex"), problems)
    return clean, problems


def search_text(values: dict[str, Any]) -> str:
    """As `Person.refresh_search_text`: every name, both scripts, folded."""
    names = (
        values.get("family_name"),
        values.get("given_names"),
        values.get("family_name_ar"),
        values.get("given_names_ar"),
    )
    return fold(" ".join(n for n in names if n))[:600]


def clean_case(
    raw: dict[str, object], ref: ReferenceData, default_office: Office | None
) -> tuple[dict, list[Problem]]:
    """A case row. The office is the row's `office_code`, else the import's organisation."""
    clean: dict[str, Any] = {}
    problems: list[Problem] = []
    _text_fields(raw, ("external_ref", "person_external_ref"), clean, problems)
    kind_text = text_value(raw.get("kind"))
    kind = KINDS.get(fold(kind_text).replace(" ", ""))
    if kind_text and kind is None:
        problems.append(("kind", kind_text, _l("Write regularisation, asylum or renewal.")))
    clean["kind"] = kind.value if kind else None
    try:
        filed_on, _approximate = parse_date(raw.get("filed_on"))
    except ValueError:
        problems.append(
            (
                "filed_on",
                text_value(raw.get("filed_on")),
                _l("Not a date: write YYYY-MM-DD or DD/MM/YYYY."),
            )
        )
        filed_on = None
    if filed_on is not None and filed_on > ref.today:
        problems.append(("filed_on", filed_on.isoformat(), _l("This date is in the future.")))
    clean["filed_on"] = filed_on
    office_code = text_value(raw.get("office_code")).upper()
    office = ref.offices.get(office_code) if office_code else default_office
    if office_code and office is None:
        problems.append(
            (
                "office_code",
                office_code,
                _l("Unknown office, or one you may not import files into."),
            )
        )
    elif office is None:
        problems.append(("office_code", "", REQUIRED))
    clean["office"] = office
    operation_code = text_value(raw.get("operation")).upper()
    operation = None
    if operation_code:
        operation = ref.operations.get(operation_code)
        if operation is None:
            problems.append(("operation", operation_code, _l("Unknown operation code.")))
        elif kind in (CaseKind.REGULARISATION, CaseKind.ASYLUM) and (
            (operation.kind == "asylum") != (kind == CaseKind.ASYLUM)
        ):
            problems.append(
                ("operation", operation_code, _l("This operation is not for this kind of file."))
            )
            operation = None
    elif kind is not None and filed_on is not None:
        operation = ref.open_operation(kind, filed_on)
        if operation is None:
            problems.append(
                (
                    "operation",
                    "",
                    _l(
                        "No operation was open on the filing date for this kind of "
                        "file: give the operation code."
                    ),
                )
            )
    clean["operation_code"] = operation.code if operation else None
    category = text_value(raw.get("category"))
    if kind == CaseKind.REGULARISATION and operation is not None:
        if not category:
            problems.append(("category", "", REQUIRED))
        elif category not in operation.categories:
            problems.append(("category", category, _l("Not a category of this operation.")))
    if kind == CaseKind.ASYLUM and category:
        problems.append(("category", category, _l("Asylum files have no eligibility category.")))
    clean["category_code"] = category or None
    state_text = text_value(raw.get("state"))
    state = None
    if kind is not None:
        workflow = workflow_for(kind)
        states = {s.value for s in workflow.states}
        state = "_".join(fold(state_text).split()) if state_text else workflow.initial.value
        if state not in states:
            problems.append(
                (
                    "state",
                    state_text,
                    _l("Not a state of this kind of file (see the workflows page)."),
                )
            )
    clean["state"] = state
    if "renews_card_number" in raw:
        # Card numbers are stored in capitals (`cases.operations`, issue_card).
        card = text_value(raw["renews_card_number"]).upper()
        if len(card) > MAX_LENGTHS["renews_card_number"]:
            problems.append(
                ("renews_card_number", card[:80], _l("At most %(n)s characters.", n=40))
            )
        elif card and kind is not None and kind != CaseKind.RENEWAL:
            problems.append(("renews_card_number", card, _l("Only a renewal file renews a card.")))
        clean["renews_card_number"] = card or None
    _require(raw, clean, ("external_ref", "person_external_ref", "kind", "filed_on"), problems)
    return clean, problems
