"""The processing-time summary: decided files counted per statistics dimension and day count.

The median and 90th percentile of processing times need the decided files sorted by office and
days; at a million files that sort is the slowest statistic (issue #5, item 6). The table
`case_processing_counts` holds, for every (kind, operation, region, office, filing month,
processing days), the number of files with those values: a few hundred thousand rows at most,
from which `reports.queries.processing` takes the percentiles by nearest rank.

Kept up to date in the same transaction as the write that changes a file: a session listener
(`after_flush`) applies +1 / -1 to the buckets a flush moved files into or out of, whichever
operation made the change (approval, an asylum file re-opened and decided again, an import
update, retention). Writers that bypass the ORM (Core bulk loaders) call `add_cases` for the
files they wrote, or `rebuild`. `casework stats check` compares the table with a recount.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import (
    Connection,
    Date,
    Integer,
    String,
    cast,
    delete,
    event,
    except_,
    func,
    select,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from casework.cases.models import Case
from casework.extensions import db
from casework.models_base import attributes_changed

# The dimensions of a bucket, in key order. A file without a region counts under "" so that
# the key never holds NULL (NULLs never conflict in a unique key, and the upsert needs them to).
DIMENSIONS = (
    "kind",
    "operation_code",
    "region_code",
    "office_id",
    "filed_month",
    "processing_days",
)
# The attributes of a file that decide its bucket; a flush changing one of them moves it.
WATCHED = (
    "kind",
    "operation_code",
    "region_code",
    "office_id",
    "office",
    "operation",
    "filed_on",
    "processing_days",
)
BATCH = 5_000

Key = tuple[str, str, str, int, date, int]


class ProcessingCount(db.Model):
    """How many files of a kind, operation, region and office, filed in a month, were decided
    at first instance in exactly `processing_days` days."""

    __tablename__ = "case_processing_counts"

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    operation_code: Mapped[str] = mapped_column(String(20), primary_key=True)
    region_code: Mapped[str] = mapped_column(String(4), primary_key=True)
    office_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    filed_month: Mapped[date] = mapped_column(Date, primary_key=True)  # its first day
    processing_days: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    case_count: Mapped[int] = mapped_column(Integer, nullable=False)


SUMMARY = ProcessingCount.__table__


def month_of(column, dialect: str):
    """The first day of the month of a date column, in SQL."""
    if dialect == "sqlite":
        return func.date(column, "start of month")
    return cast(func.date_trunc("month", column), Date)


def _recount(dialect: str, where=None, sign: int = 1):
    """The buckets of the files matching `where`, counted from `cases` (sign -1: negated)."""
    cases = Case.__table__.c
    month = month_of(cases.filed_on, dialect)
    region = func.coalesce(cases.region_code, "")
    count = func.count() if sign > 0 else -func.count()
    # SQLite's upsert needs a WHERE in INSERT ... SELECT (a parsing ambiguity otherwise).
    return (
        select(
            cases.kind,
            cases.operation_code,
            region,
            cases.office_id,
            month,
            cases.processing_days,
            count,
        )
        .where(cases.processing_days.is_not(None), true() if where is None else where)
        .group_by(
            cases.kind, cases.operation_code, region, cases.office_id, month, cases.processing_days
        )
    )


def _insert(dialect: str):
    return (postgresql if dialect == "postgresql" else sqlite).insert(SUMMARY)


def _upsert(statement):
    return statement.on_conflict_do_update(
        index_elements=[SUMMARY.c[name] for name in DIMENSIONS],
        set_={"case_count": SUMMARY.c.case_count + statement.excluded.case_count},
    )


def rebuild(connection: Connection) -> int:
    """Recount the whole table from `cases` (one INSERT ... SELECT ... GROUP BY); returns the
    number of buckets."""
    dialect = connection.dialect.name
    connection.execute(delete(SUMMARY))
    columns = [*DIMENSIONS, "case_count"]
    connection.execute(SUMMARY.insert().from_select(columns, _recount(dialect)))
    return connection.scalar(select(func.count()).select_from(SUMMARY))


def add_cases(connection: Connection, case_ids: Iterable[int], sign: int = 1) -> None:
    """Count the given files into their buckets as they now stand in `cases` (sign -1: take
    them out, e.g. before a Core UPDATE that may move them). For writers that bypass the ORM."""
    dialect = connection.dialect.name
    columns = [*DIMENSIONS, "case_count"]
    ids = list(case_ids)
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        query = _recount(dialect, Case.__table__.c.id.in_(chunk), sign)
        connection.execute(_upsert(_insert(dialect).from_select(columns, query)))
    if sign < 0 and ids:
        connection.execute(delete(SUMMARY).where(SUMMARY.c.case_count <= 0))


def apply_deltas(connection: Connection, deltas: dict[Key, int]) -> None:
    """Add each delta to its bucket (created when missing, deleted when it reaches 0)."""
    changes = {key: delta for key, delta in deltas.items() if delta}
    if not changes:
        return
    rows = [
        {**dict(zip(DIMENSIONS, key, strict=True)), "case_count": delta}
        for key, delta in sorted(changes.items())
    ]
    connection.execute(_upsert(_insert(connection.dialect.name)), rows)
    for key, delta in changes.items():
        if delta < 0:
            match = [SUMMARY.c[name] == value for name, value in zip(DIMENSIONS, key, strict=True)]
            connection.execute(delete(SUMMARY).where(*match, SUMMARY.c.case_count <= 0))


def differences(connection: Connection, limit: int = 20) -> list[tuple[str, tuple]]:
    """Buckets where the table and a recount from `cases` disagree: ("table" | "cases", row),
    a row being the dimensions and the count on that side. Empty when the table is right."""
    columns = [SUMMARY.c[name] for name in (*DIMENSIONS, "case_count")]
    stored = select(*columns).where(SUMMARY.c.case_count != 0)
    counted = _recount(connection.dialect.name)
    found = [
        ("table", tuple(row)) for row in connection.execute(except_(stored, counted).limit(limit))
    ]
    found += [
        ("cases", tuple(row)) for row in connection.execute(except_(counted, stored).limit(limit))
    ]
    return found


# --- Kept up to date by every ORM write -------------------------------------------------------


@dataclass
class _Pending:
    """What a flush is about to change: the buckets the files leave, and the files to count."""

    leaving: Counter = field(default_factory=Counter)
    moved: list[Case] = field(default_factory=list)


_INFO_KEY = "casework.processing_summary"


def _key_columns():
    c = Case.__table__.c
    return (
        c.kind,
        c.operation_code,
        func.coalesce(c.region_code, ""),
        c.office_id,
        c.filed_on,
        c.processing_days,
    )


def _keys(connection: Connection, ids: Sequence[int]) -> list[Key]:
    """The buckets of these files as the database holds them now (decided files only)."""
    keys: list[Key] = []
    c = Case.__table__.c
    for start in range(0, len(ids), BATCH):
        query = select(*_key_columns()).where(
            c.id.in_(ids[start : start + BATCH]), c.processing_days.is_not(None)
        )
        for kind, operation, region, office, filed_on, days in connection.execute(query):
            keys.append((kind, operation, region, office, filed_on.replace(day=1), days))
    return keys


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _context, _instances) -> None:
    # The old buckets are read from the database before the flush writes: attribute history
    # cannot tell a previous NULL from a value that was never loaded.
    pending = _Pending()
    session.info.pop(_INFO_KEY, None)
    moved = [
        obj for obj in session.dirty if isinstance(obj, Case) and attributes_changed(obj, WATCHED)
    ]
    deleted = [obj for obj in session.deleted if isinstance(obj, Case)]
    ids = [obj.id for obj in (*moved, *deleted) if obj.id is not None]
    if ids:
        pending.leaving.update(_keys(session.connection(), ids))
    pending.moved = [obj for obj in moved if obj not in session.deleted]
    new = [obj for obj in session.new if isinstance(obj, Case)]
    # A file is usually filed undecided: nothing to count until its decision is approved.
    pending.moved += [obj for obj in new if obj.processing_days is not None]
    if pending.leaving or pending.moved:
        session.info[_INFO_KEY] = pending


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context) -> None:
    pending: _Pending | None = session.info.pop(_INFO_KEY, None)
    if pending is None:
        return
    connection = session.connection()
    deltas: Counter = Counter()
    for key in pending.leaving:
        deltas[key] -= pending.leaving[key]
    # Read back after the flush: the foreign keys set through relationships are in place.
    for key in _keys(connection, [obj.id for obj in pending.moved]):
        deltas[key] += 1
    apply_deltas(connection, deltas)
