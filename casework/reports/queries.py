"""Statistics queries. The database aggregates; Python only names the rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    cast,
    extract,
    func,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.types import BigInteger, Integer

from casework.admin.models import Organisation
from casework.auth.models import User
from casework.cases.models import Case
from casework.extensions import db
from casework.models_base import current_language
from casework.reference.models import Country, EligibilityCategory, Region
from casework.reports.definitions import COUNTS, PENDING, with_rates
from casework.reports.summary import ProcessingCount

GROUPS = ("office", "region", "nationality", "sex", "age_band", "category", "month", "quarter",
          "year")  # fmt: skip


class OutOfScope(Exception):
    """The caller asked for a region or office outside their scope."""


@dataclass
class StatsFilter:
    kind: str | None = None
    operation: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    region: str | None = None
    office: str | None = None  # organisation code


def scope_condition(user: User, criteria: StatsFilter, source=Case) -> ColumnElement[bool]:
    """National supervisors see everything; regional ones their region, and asking for another
    region or one of its offices is refused (never answered with other figures).

    `source`: `Case`, or a summary table with the same `region_code` and `office_id`."""
    conditions = []
    if user.region_code is not None:
        if criteria.region and criteria.region != user.region_code:
            raise OutOfScope("region")
        conditions.append(source.region_code == user.region_code)
    if criteria.region:
        conditions.append(source.region_code == criteria.region)
    if criteria.office:
        office = db.session.scalar(select(Organisation).where(Organisation.code == criteria.office))
        if office is None:
            raise LookupError("office")
        if user.region_code is not None and office.region_code != user.region_code:
            raise OutOfScope("office")
        conditions.append(source.office_id == office.id)
    return and_(true(), *conditions)


def kind_condition(criteria: StatsFilter, source=Case) -> ColumnElement[bool]:
    """The kind and operation filters, on `Case` or a summary table with the same columns."""
    conditions = []
    if criteria.kind:
        conditions.append(source.kind == criteria.kind)
    if criteria.operation:
        conditions.append(source.operation_code == criteria.operation)
    return and_(true(), *conditions)


def filter_condition(criteria: StatsFilter) -> ColumnElement[bool]:
    conditions = [kind_condition(criteria)]
    if criteria.date_from:
        conditions.append(Case.filed_on >= criteria.date_from)
    if criteria.date_to:
        conditions.append(Case.filed_on <= criteria.date_to)
    return and_(true(), *conditions)


def _group_expression(group_by: str):
    year = cast(extract("year", Case.filed_on), Integer)
    month = cast(extract("month", Case.filed_on), Integer)
    return {
        "office": Case.office_id,
        "region": Case.region_code,
        "nationality": Case.applicant_nationality,
        "sex": Case.applicant_sex,
        "age_band": Case.applicant_age_band,
        "category": Case.category_code,
        "year": year,
        "month": year * 100 + month,
        "quarter": year * 10 + (month + 2) // 3,
    }[group_by]


def _empty_counts() -> dict:
    return dict.fromkeys(COUNTS, 0)


def acceptance(user: User, criteria: StatsFilter, group_by: str | None = None) -> dict:
    """`{"total": {...}, "rows": [{"key", "label", ...counts, ...rates}]}`.

    With a `group_by`, the database reads the files once: every file falls in exactly one
    group (files without a value form a group of their own), so the total is the sum of the
    groups' counts — a few hundred rows at most — instead of a second pass over the table."""
    where = and_(scope_condition(user, criteria), filter_condition(criteria))
    columns = [expression.label(name) for name, expression in COUNTS.items()]
    if not group_by:
        total_row = db.session.execute(select(*columns).where(where)).mappings().one()
        total = with_rates({name: int(total_row[name] or 0) for name in COUNTS})
        return {"total": total, "rows": []}
    rows = []
    total_counts = dict.fromkeys(COUNTS, 0)
    key = _group_expression(group_by)
    query = select(key.label("key"), *columns).where(where).group_by(key).order_by(key)
    for row in db.session.execute(query).mappings():
        counts = {name: int(row[name] or 0) for name in COUNTS}
        for name, value in counts.items():
            total_counts[name] += value
        rows.append({"key": _key_text(group_by, row["key"]), **with_rates(counts)})
    labels = labels_for(group_by, [r["key"] for r in rows])
    for row in rows:
        row["label"] = labels.get(row["key"], row["key"] or "—")
    return {"total": with_rates(total_counts), "rows": rows}


def _key_text(group_by: str, value) -> str | None:
    if value is None:
        return None
    if group_by == "month":
        value = int(value)
        return f"{value // 100}-{value % 100:02d}"
    if group_by == "quarter":
        value = int(value)
        return f"{value // 10}-Q{value % 10}"
    return str(value)


def labels_for(group_by: str, keys: list) -> dict:
    """Human labels for group keys, in the user's language."""
    language = current_language()
    keys = [k for k in keys if k is not None]
    if group_by == "office":
        ids = [int(k) for k in keys]
        rows = db.session.execute(
            select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids))
        )
        return {str(i): name for i, name in rows}
    if group_by == "region":
        column = getattr(Region, f"name_{language}")
        query = select(Region.code, column).where(Region.code.in_(keys))
        return dict(db.session.execute(query).all())
    if group_by == "nationality":
        column = getattr(Country, f"name_{language}")
        query = select(Country.alpha2, column).where(Country.alpha2.in_(keys))
        return dict(db.session.execute(query).all())
    if group_by == "category":
        column = getattr(EligibilityCategory, f"name_{language}")
        query = select(EligibilityCategory.code, column).where(EligibilityCategory.code.in_(keys))
        return dict(db.session.execute(query).all())
    if group_by == "sex":
        from casework.people.models import SEX_LABELS, Sex

        return {k: str(SEX_LABELS[Sex(k)]) for k in keys if k in {s.value for s in Sex}}
    return {k: k for k in keys}


# --- Processing times and backlog -------------------------------------------------------------


def processing(user: User, criteria: StatsFilter, today: date | None = None) -> dict:
    """Median and 90th percentile of days to first-instance decision by office, and the
    backlog.

    Nearest rank: the percentile p of an office's n decided files is the smallest number of
    days d such that at least n * p of them took d days or fewer. The counts per (office,
    days) come from the summary table `case_processing_counts` (a few hundred thousand rows
    at a million files, instead of sorting the files), except for the days of a period that
    do not make a whole month, which are counted from the files themselves: the figures are
    exactly those of the files filed in the period."""
    today = today or date.today()
    counts = processing_counts(user, criteria)
    ranked = select(
        counts.c.office_id,
        counts.c.days,
        cast(
            func.sum(counts.c.n).over(partition_by=counts.c.office_id, order_by=counts.c.days),
            BigInteger,
        ).label("running"),
        cast(func.sum(counts.c.n).over(partition_by=counts.c.office_id), BigInteger).label("n"),
    ).subquery()
    percentile = lambda p: func.min(  # noqa: E731 - a small local expression builder
        case((ranked.c.running >= ranked.c.n * p, ranked.c.days))
    )
    query = (
        select(
            ranked.c.office_id,
            func.max(ranked.c.n).label("decided"),
            percentile(0.5).label("median_days"),
            percentile(0.9).label("p90_days"),
        )
        .group_by(ranked.c.office_id)
        .order_by(ranked.c.office_id)
    )
    rows = [dict(r) for r in db.session.execute(query).mappings()]
    labels = labels_for("office", [str(r["office_id"]) for r in rows])
    by_office = [
        {"key": str(r["office_id"]), "label": labels.get(str(r["office_id"]), "—"),
         "decided": int(r["decided"]), "median_days": _num(r["median_days"]),
         "p90_days": _num(r["p90_days"])}
        for r in rows
    ]  # fmt: skip
    where = and_(scope_condition(user, criteria), filter_condition(criteria))
    return {"by_office": by_office, **backlog(where, today)}


def processing_counts(user: User, criteria: StatsFilter):
    """A subquery of (office_id, days, n): how many decided files of the filter and scope
    took `days` days, per office (only counts above 0)."""
    whole, edges = split_period(criteria.date_from, criteria.date_to)
    parts = []
    if whole is not None:
        first, end = whole
        conditions = [scope_condition(user, criteria, ProcessingCount),
                      kind_condition(criteria, ProcessingCount)]  # fmt: skip
        if first is not None:
            conditions.append(ProcessingCount.filed_month >= first)
        if end is not None:
            conditions.append(ProcessingCount.filed_month < end)
        parts.append(
            select(
                ProcessingCount.office_id.label("office_id"),
                ProcessingCount.processing_days.label("days"),
                ProcessingCount.case_count.label("n"),
            ).where(*conditions)
        )
    if edges:
        period = or_(*(Case.filed_on.between(low, high) for low, high in edges))
        parts.append(
            select(
                Case.office_id.label("office_id"),
                Case.processing_days.label("days"),
                func.count().label("n"),
            )
            .where(
                scope_condition(user, criteria),
                kind_condition(criteria),
                period,
                Case.processing_days.is_not(None),
            )
            .group_by(Case.office_id, Case.processing_days)
        )
    both = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery()
    total = func.sum(both.c.n)
    return (
        select(both.c.office_id.label("office_id"), both.c.days.label("days"), total.label("n"))
        .group_by(both.c.office_id, both.c.days)
        .having(total > 0)
        .subquery()
    )


def split_period(
    date_from: date | None, date_to: date | None
) -> tuple[tuple[date | None, date | None] | None, list[tuple[date, date]]]:
    """The whole months of a period, as [first month, end month) for the summary table (None:
    no whole month; a None bound: open), and the days around them, as inclusive ranges."""
    first = date_from
    if date_from is not None and date_from.day != 1:
        first = _next_month(date_from)
    end = None if date_to is None else _month_start(date_to + timedelta(days=1))
    if first is not None and end is not None and first >= end:
        return None, [(date_from or date.min, date_to or date.max)]
    edges = []
    if date_from is not None and first is not None and date_from < first:
        edges.append((date_from, first - timedelta(days=1)))
    if date_to is not None and end is not None and end <= date_to:
        edges.append((end, date_to))
    return (first, end), edges


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _num(value):
    return None if value is None else int(value)


BACKLOG_BUCKETS = (("under_30", 0, 30), ("30_60", 30, 60), ("60_90", 60, 90), ("over_90", 90, None))


def backlog(where, today: date) -> dict:
    """Pending files by age (days since filing) and by state.

    One pass over the files: the age buckets are counted per state, and the few state rows
    added up for the totals by age (a second scan for them cost ~150 ms at a million files)."""
    buckets = []
    for name, low, high in BACKLOG_BUCKETS:
        # Filed within (today - high, today - low]; compared as dates, no date arithmetic in SQL.
        condition = Case.filed_on <= today - timedelta(days=low)
        if high is not None:
            condition = and_(condition, Case.filed_on > today - timedelta(days=high))
        buckets.append(func.coalesce(func.sum(case((condition, 1), else_=0)), 0).label(name))
    rows = db.session.execute(
        select(Case.state, func.count().label("count"), *buckets)
        .where(where, PENDING)
        .group_by(Case.state)
    ).mappings()
    by_state = [dict(row) for row in rows]
    return {
        "backlog_by_age": [
            {"key": name, "count": sum(int(row[name]) for row in by_state)}
            for name, *_ in BACKLOG_BUCKETS
        ],
        "backlog_by_state": [
            {"key": row["state"], "count": int(row["count"])}
            for row in sorted(by_state, key=lambda r: -r["count"])
        ],
    }


def cards(user: User, criteria: StatsFilter, today: date | None = None) -> dict:
    today = today or date.today()
    where = and_(scope_condition(user, criteria), filter_condition(criteria))
    due = and_(Case.card_expires_on.is_not(None),
               Case.card_expires_on <= today + timedelta(days=60),
               Case.card_expires_on >= today)  # fmt: skip
    row = db.session.execute(
        select(
            func.coalesce(func.sum(case((Case.card_issued_on.is_not(None), 1), else_=0)), 0),
            func.coalesce(func.sum(case((due, 1), else_=0)), 0),
        ).where(where)
    ).one()
    return {"cards_issued": int(row[0]), "renewals_due": int(row[1])}
