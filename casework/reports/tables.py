"""The statistics tables, as the dashboard shows them and the exports and the API give them.

Each table is built from `casework.reports.queries` / `programmes` (the database counts) and
names its columns and its suppression rules once, for the page, the CSV/XLSX exports and the
API alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask_babel import format_date, pgettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from casework.admin.models import Organisation
from casework.auth.models import User
from casework.cases.workflows import state_label
from casework.extensions import db
from casework.reports import programmes, queries
from casework.reports.definitions import COUNTS, RATES
from casework.reports.queries import GROUPS, StatsFilter
from casework.reports.suppression import Rules


def column_labels() -> dict[str, str]:
    """The columns' names in the user's language. Counts of files take the "statistics"
    context: "Accepted" here counts files (Acceptés), it is not a file's state (Acceptée)."""
    return {
        "filed": pgettext("statistics", "Filed"),
        "decided": pgettext("statistics", "Decided"),
        "accepted": pgettext("statistics", "Accepted"),
        "rejected": pgettext("statistics", "Rejected (final)"),
        "pending": pgettext("statistics", "Pending"),
        "withdrawn": pgettext("statistics", "Withdrawn"),
        "first_instance_decided": _("Decided at first instance"),
        "first_instance_favourable": _("Favourable at first instance"),
        "appeals_lodged": _("Appeals lodged"),
        "appeals_granted": _("Appeals granted"),
        "appeals_dismissed": _("Appeals dismissed"),
        "cards_issued": _("Cards issued"),
        "acceptance_rate": _("Acceptance rate"),
        "acceptance_rate_filed": _("Acceptance rate of filed"),
        "first_instance_rate": _("First-instance rate"),
        "median_days": _("Median (days)"),
        "p90_days": _("90th percentile (days)"),
        "count": pgettext("statistics", "Files"),
        "renewals_due": _("Renewals due (60 days)"),
        "people_referred": _("People referred"),
        "people_accepted": _("People accepted"),
        "people_served": _("People served"),
        "assistance_records": _("Assistance records"),
        # Terms of the definitions page that are not columns.
        "processing_time": _("Processing time"),
        "backlog": _("Backlog"),
    }


GROUP_LABELS = {
    "office": _l("Office"),
    "region": _l("Region"),
    "nationality": _l("Nationality"),
    "sex": _l("Sex"),
    "age_band": _l("Age band"),
    "category": _l("Eligibility category"),
    "month": _l("Month"),
    "quarter": _l("Quarter"),
    "year": _l("Year"),
    "age": _l("Days since filing"),
    "state": _l("State"),
    "programme": _l("Programme"),
    "sdg_target": _l("SDG target"),
}

BACKLOG_LABELS = {
    "under_30": _l("Under 30 days"),
    "30_60": _l("30 to 60 days"),
    "60_90": _l("60 to 90 days"),
    "over_90": _l("Over 90 days"),
}

RATE_NAMES = tuple(name for name, _, _ in RATES)
ACCEPTANCE_COLUMNS = (*COUNTS, *RATE_NAMES)
ACCEPTANCE_RULES = Rules(
    counts=tuple(COUNTS),
    relations=(
        ("decided", "accepted", "rejected"),
        ("filed", "decided", "pending", "withdrawn"),
        ("first_instance_decided", "first_instance_favourable"),
        ("appeals_lodged", "appeals_granted", "appeals_dismissed"),
    ),
    rates=RATES,
)
APPEALS_COLUMNS = ("appeals_lodged", "appeals_granted", "appeals_dismissed")
PROGRAMME_COLUMNS = ("people_referred", "people_accepted", "people_served", "assistance_records")
PROGRAMME_RULES = Rules(
    counts=PROGRAMME_COLUMNS, relations=(("people_referred", "people_accepted"),)
)


@dataclass(frozen=True)
class TableKind:
    groups: tuple[str, ...]  # "" = the total alone
    columns: tuple[str, ...]
    rules: Rules
    title: object  # a lazy string


TABLES: dict[str, TableKind] = {
    "acceptance": TableKind(("", *GROUPS), ACCEPTANCE_COLUMNS, ACCEPTANCE_RULES, _l("Acceptance")),
    "appeals": TableKind(
        ("", *GROUPS), APPEALS_COLUMNS,
        Rules(counts=APPEALS_COLUMNS, relations=(APPEALS_COLUMNS,)), _l("Appeals"),
    ),
    "processing": TableKind(
        ("office",), ("decided", "median_days", "p90_days"),
        Rules(counts=("decided",), derived=(("median_days", ("decided",)),
                                            ("p90_days", ("decided",)))),
        _l("Processing time"),
    ),
    "backlog": TableKind(("age", "state"), ("count",), Rules(counts=("count",)), _l("Backlog")),
    "cards": TableKind(
        ("",), ("cards_issued", "renewals_due"),
        Rules(counts=("cards_issued", "renewals_due")), _l("Residence cards"),
    ),
    "programmes": TableKind(
        ("programme", "sdg_target"), PROGRAMME_COLUMNS, PROGRAMME_RULES, _l("Programmes"),
    ),
}  # fmt: skip


@dataclass
class StatTable:
    name: str
    group_by: str
    columns: tuple[str, ...]
    rows: list[dict] = field(default_factory=list)  # each: key, label, *columns
    total: dict | None = None  # the columns over every row (when they add up)

    @property
    def rules(self) -> Rules:
        return TABLES[self.name].rules


def _period_label(group_by: str, key: str | None) -> str | None:
    """2026-04 → "avr. 2026", 2026-Q2 → "T2 2026" in the user's language."""
    if key is None:
        return None
    if group_by == "month":
        year, month = key.split("-")
        return format_date(date(int(year), int(month), 1), "MMM y")
    if group_by == "quarter":
        year, quarter = key.split("-Q")
        return format_date(date(int(year), 3 * int(quarter) - 2, 1), "QQQ y")
    return key


def _ordered(group_by: str, rows: list[dict]) -> list[dict]:
    """Named groups by name, nationalities by number of files, periods and bands by key."""
    known = [r for r in rows if r["key"] is not None]
    unknown = [r for r in rows if r["key"] is None]  # "not recorded" comes last
    if group_by in ("office", "region", "category"):
        known.sort(key=lambda r: str(r["label"]).casefold())
    elif group_by == "nationality":
        known.sort(key=lambda r: (-r["filed"], str(r["label"]).casefold()))
    return known + unknown


def _office_codes(keys: list[str | None]) -> dict[str, str]:
    ids = [int(key) for key in keys if key is not None]
    query = select(Organisation.id, Organisation.code).where(Organisation.id.in_(ids))
    return {str(id_): code for id_, code in db.session.execute(query)}


def acceptance_table(
    user: User, criteria: StatsFilter, group_by: str = "", name: str = "acceptance"
) -> StatTable:
    result = queries.acceptance(user, criteria, group_by or None)
    rows = result["rows"]
    codes = _office_codes([row["key"] for row in rows]) if group_by == "office" else {}
    for row in rows:
        if group_by == "office":
            row["code"] = codes.get(row["key"])  # what the `office` filter takes
        if row["key"] is None:
            row["label"] = str(_l("Not recorded"))
        elif group_by in ("month", "quarter"):
            row["label"] = _period_label(group_by, row["key"])
    return StatTable(name, group_by, TABLES[name].columns, _ordered(group_by, rows),
                     result["total"])  # fmt: skip


def processing_tables(
    user: User, criteria: StatsFilter, today: date | None = None
) -> dict[str, StatTable]:
    """Processing time by office, and the backlog by age and by state (one query call)."""
    result = queries.processing(user, criteria, today)
    by_office = sorted(result["by_office"], key=lambda r: str(r["label"]).casefold())
    by_age = [
        {"key": row["key"], "label": str(BACKLOG_LABELS[row["key"]]), "count": row["count"]}
        for row in result["backlog_by_age"]
    ]
    by_state = [
        {"key": row["key"], "label": state_label(row["key"]), "count": row["count"]}
        for row in result["backlog_by_state"]
    ]
    return {
        "office": StatTable("processing", "office", TABLES["processing"].columns, by_office),
        "age": StatTable("backlog", "age", ("count",), by_age),
        "state": StatTable("backlog", "state", ("count",), by_state),
    }


def cards_table(user: User, criteria: StatsFilter, today: date | None = None) -> StatTable:
    total = queries.cards(user, criteria, today)
    return StatTable("cards", "", TABLES["cards"].columns, [], total)


def programme_tables(user: User, criteria: StatsFilter) -> dict[str, StatTable]:
    result = programmes.indicators(user, criteria.date_from, criteria.date_to)
    # People accepted are not counted per SDG target: the column is left out, not shown as 0.
    return {
        "programme": StatTable("programmes", "programme", PROGRAMME_COLUMNS, result["programmes"]),
        "sdg_target": StatTable(
            "programmes", "sdg_target",
            ("people_referred", "people_served", "assistance_records"), result["sdg_targets"],
        ),
    }  # fmt: skip


def build(
    name: str, group_by: str, user: User, criteria: StatsFilter, today: date | None = None
) -> StatTable:
    """Any table by name and grouping (both checked against `TABLES` by the caller)."""
    if name in ("acceptance", "appeals"):
        return acceptance_table(user, criteria, group_by, name)
    if name in ("processing", "backlog"):
        return processing_tables(user, criteria, today)[group_by]
    if name == "cards":
        return cards_table(user, criteria, today)
    if name == "programmes":
        return programme_tables(user, criteria)[group_by]
    raise KeyError(name)


def group_choices(name: str) -> tuple[str, ...]:
    return TABLES[name].groups
