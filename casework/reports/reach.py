"""The programme reach table: per indicator group and person, how many referrals, accepted
referrals and (non-superseded) assistance records, nationally and per region.

The programme indicators (`reports.programmes.indicators`) count distinct people per
programme and per SDG target; over the whole history that is `count(DISTINCT person)` over
every referral and record joined to its groups, the slowest statistic at national scale
(issue #5, item 6). The table `programme_reach` holds one row per (group kind, group key,
scope, person): the group is a programme or an SDG target of the programme of the service;
the scope is "" (national) or a region code (the SENDER's region for referrals, the
PROVIDER's region for assistance, as regional supervisors count them). Without a date filter
each indicator is then a plain count or sum over the rows of one scope.

Kept up to date in the same transaction as the write: a session listener recounts the rows
of the people whose referrals or assistance records a flush inserted, changed or deleted
(a correction changes the count of the record it supersedes, usually the same person's). A
flush changing a service's programme, a programme's SDG targets or an organisation's region
rebuilds the whole table. Writers that bypass the ORM (Core bulk loaders, `casework reference
load` if it writes with Core) call `add_people` or `rebuild`; `casework stats check` compares
the table with a recount.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import (
    Connection,
    Index,
    Integer,
    String,
    bindparam,
    delete,
    event,
    func,
    select,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from casework.admin.models import Organisation
from casework.extensions import db
from casework.models_base import attributes_changed
from casework.reference.models import Programme, Service
from casework.services.models import AssistanceRecord, Referral

ACCEPTED_STATES = ("accepted", "in_progress", "completed", "closed_without_service")
BATCH = 5_000
COLUMNS = (
    "group_kind",
    "group_key",
    "scope",
    "person_id",
    "referrals",
    "accepted_referrals",
    "records",
)


class ProgrammeReach(db.Model):
    """A person's referrals, accepted referrals and counted assistance records under one
    programme or SDG target, nationally (scope "") or in one region."""

    __tablename__ = "programme_reach"
    __table_args__ = (Index("ix_programme_reach_person_id", "person_id"),)

    # Scope first: an indicator query reads the rows of one scope, grouped by group.
    scope: Mapped[str] = mapped_column(String(4), primary_key=True)
    group_kind: Mapped[str] = mapped_column(String(12), primary_key=True)
    group_key: Mapped[str] = mapped_column(String(40), primary_key=True)
    person_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    referrals: Mapped[int] = mapped_column(Integer, nullable=False)
    accepted_referrals: Mapped[int] = mapped_column(Integer, nullable=False)
    records: Mapped[int] = mapped_column(Integer, nullable=False)


REACH = ProgrammeReach.__table__

# Whether a record is superseded is asked per record when a flush recounts a person: without
# this index each recount scans every record (~45 ms at 316,200 records). Declared here, with
# the table it serves; it attaches to `assistance_records` (migration 0013 creates it). It also
# serves `correct_assistance`'s "already corrected" check.
Index("ix_assistance_records_corrects_id", AssistanceRecord.corrects_id)

# The rows of the people matching {people} (a condition on `person_id` of each table), from
# the groups CTE `g (group_kind, group_key, programme_code)`. Only constants go in the text.
RECOUNT = """
SELECT u.group_kind, u.group_key, u.scope, u.person_id, sum(u.referrals),
       sum(u.accepted), sum(u.records)
FROM (
  SELECT g.group_kind, g.group_key, '' AS scope, r.person_id, 1 AS referrals,
         CASE WHEN r.state IN {accepted} THEN 1 ELSE 0 END AS accepted, 0 AS records
  FROM referrals r JOIN services s ON s.code = r.service_code
  JOIN g ON g.programme_code = s.programme_code
  WHERE {people_r}
  UNION ALL
  SELECT g.group_kind, g.group_key, o.region_code, r.person_id, 1,
         CASE WHEN r.state IN {accepted} THEN 1 ELSE 0 END, 0
  FROM referrals r JOIN services s ON s.code = r.service_code
  JOIN g ON g.programme_code = s.programme_code
  JOIN organisations o ON o.id = r.sender_organisation_id
  WHERE o.region_code IS NOT NULL AND {people_r}
  UNION ALL
  SELECT g.group_kind, g.group_key, '', a.person_id, 0, 0, 1
  FROM assistance_records a JOIN services s ON s.code = a.service_code
  JOIN g ON g.programme_code = s.programme_code
  WHERE NOT EXISTS (SELECT 1 FROM assistance_records c WHERE c.corrects_id = a.id)
    AND {people_a}
  UNION ALL
  SELECT g.group_kind, g.group_key, o.region_code, a.person_id, 0, 0, 1
  FROM assistance_records a JOIN services s ON s.code = a.service_code
  JOIN g ON g.programme_code = s.programme_code
  JOIN organisations o ON o.id = a.provider_id
  WHERE o.region_code IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM assistance_records c WHERE c.corrects_id = a.id)
    AND {people_a}
) u
GROUP BY u.group_kind, u.group_key, u.scope, u.person_id
"""
ACCEPTED_SQL = "(" + ", ".join(f"'{state}'" for state in ACCEPTED_STATES) + ")"


def group_pairs(connection: Connection) -> list[tuple[str, str, str]]:
    """(group kind, group key, programme code): each programme is its own group, and a
    member of each SDG target it lists."""
    pairs = []
    for code, targets in connection.execute(select(Programme.code, Programme.sdg_targets)):
        pairs.append(("programme", code, code))
        pairs += [("sdg_target", target, code) for target in targets or []]
    return pairs


def _recount_sql(pairs, people: str | None):
    """The recount statement with its parameters: WITH g AS (VALUES ...) SELECT ..."""
    params: dict = {}
    values = []
    for number, (kind, key, code) in enumerate(pairs):
        values.append(f"(:k{number}, :g{number}, :p{number})")
        params.update({f"k{number}": kind, f"g{number}": key, f"p{number}": code})
    recount = RECOUNT.format(
        accepted=ACCEPTED_SQL,
        people_r="1 = 1" if people is None else f"r.person_id IN {people}",
        people_a="1 = 1" if people is None else f"a.person_id IN {people}",
    )
    groups = f"WITH g (group_kind, group_key, programme_code) AS (VALUES {', '.join(values)})"
    return groups, recount, params


def _insert(connection: Connection, pairs, people: str | None, extra: dict) -> None:
    groups, recount, params = _recount_sql(pairs, people)
    statement = text(f"{groups} INSERT INTO programme_reach ({', '.join(COLUMNS)}) {recount}")
    if people is not None:
        statement = statement.bindparams(bindparam("ids", expanding=True))
    connection.execute(statement, {**params, **extra})


def rebuild(connection: Connection) -> int:
    """Recount the whole table (one INSERT ... SELECT); returns the number of rows."""
    connection.execute(delete(REACH))
    pairs = group_pairs(connection)
    if pairs:
        _insert(connection, pairs, None, {})
    return connection.scalar(select(func.count()).select_from(REACH))


def add_people(connection: Connection, person_ids: Iterable[int]) -> None:
    """Recount the rows of these people from their referrals and records as they now stand.
    For writers that bypass the ORM (after their writes)."""
    ids = sorted({int(i) for i in person_ids if i is not None})
    if not ids:
        return
    pairs = group_pairs(connection)
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        connection.execute(delete(REACH).where(REACH.c.person_id.in_(chunk)))
        if pairs:
            _insert(connection, pairs, ":ids", {"ids": chunk})


def differences(connection: Connection, limit: int = 20) -> list[tuple[str, tuple]]:
    """Rows where the table and a recount disagree: ("table" | "recount", row). Empty when
    the table is right."""
    stored = {
        tuple(row[:4]): tuple(int(x) for x in row[4:])
        for row in connection.execute(select(*(REACH.c[name] for name in COLUMNS)))
    }
    counted: dict[tuple, tuple] = {}
    pairs = group_pairs(connection)
    if pairs:
        groups, recount, params = _recount_sql(pairs, None)
        for row in connection.execute(text(f"{groups} {recount}"), params):
            counted[tuple(row[:4])] = tuple(int(x) for x in row[4:])
    found = [("table", (*k, *v)) for k, v in stored.items() if counted.get(k) != v]
    found += [("recount", (*k, *v)) for k, v in counted.items() if stored.get(k) != v]
    return found[:limit]


# --- Kept up to date by every ORM write -------------------------------------------------------

# Attributes whose change moves a referral's or record's counts.
REFERRAL_WATCHED = ("person_id", "person", "service_code", "service", "state",
                    "sender_organisation_id", "sender_organisation")  # fmt: skip
RECORD_WATCHED = ("person_id", "person", "service_code", "service", "provider_id", "provider",
                  "corrects_id", "corrects")  # fmt: skip
# Reference changes that move every count: rebuild.
REBUILD_WATCHED = {
    Service: ("programme_code", "programme"),
    Programme: ("sdg_targets",),
    Organisation: ("region_code",),
}
_INFO_KEY = "casework.programme_reach"


@dataclass
class _Pending:
    people: set[int] = field(default_factory=set)  # read before the flush
    objects: list = field(default_factory=list)  # whose people are read after it
    rebuild: bool = False


def _people_of(connection: Connection, record_ids: Sequence[int], referral_ids: Sequence[int]):
    """The people of these records (and of the records they correct), and of these referrals,
    as the database holds them now."""
    people: set[int] = set()
    a = AssistanceRecord.__table__.c
    for start in range(0, len(record_ids), BATCH):
        chunk = record_ids[start : start + BATCH]
        people.update(connection.scalars(select(a.person_id).where(a.id.in_(chunk))))
        corrected = select(a.corrects_id).where(a.id.in_(chunk), a.corrects_id.is_not(None))
        people.update(connection.scalars(select(a.person_id).where(a.id.in_(corrected))))
    r = Referral.__table__.c
    for start in range(0, len(referral_ids), BATCH):
        chunk = referral_ids[start : start + BATCH]
        people.update(connection.scalars(select(r.person_id).where(r.id.in_(chunk))))
    return people


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _context, _instances) -> None:
    session.info.pop(_INFO_KEY, None)
    pending = _Pending()
    for obj in session.dirty:
        watched = REBUILD_WATCHED.get(type(obj))
        if watched and attributes_changed(obj, watched):
            pending.rebuild = True
    referrals = [
        o
        for o in session.dirty
        if isinstance(o, Referral) and attributes_changed(o, REFERRAL_WATCHED)
    ]
    records = [
        o
        for o in session.dirty
        if isinstance(o, AssistanceRecord) and attributes_changed(o, RECORD_WATCHED)
    ]
    referrals += [o for o in session.deleted if isinstance(o, Referral)]
    records += [o for o in session.deleted if isinstance(o, AssistanceRecord)]
    # The people before the change (a person or a corrected record may change).
    record_ids = [o.id for o in records if o.id is not None]
    referral_ids = [o.id for o in referrals if o.id is not None]
    if record_ids or referral_ids:
        pending.people = _people_of(session.connection(), record_ids, referral_ids)
    new = [o for o in session.new if isinstance(o, Referral | AssistanceRecord)]
    pending.objects = [o for o in (*referrals, *records, *new) if o not in session.deleted]
    if pending.people or pending.objects or pending.rebuild:
        session.info[_INFO_KEY] = pending


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context) -> None:
    pending: _Pending | None = session.info.pop(_INFO_KEY, None)
    if pending is None:
        return
    connection = session.connection()
    if pending.rebuild:
        rebuild(connection)
        return
    # Read back after the flush: the foreign keys set through relationships are in place.
    records = [o.id for o in pending.objects if isinstance(o, AssistanceRecord)]
    referrals = [o.id for o in pending.objects if isinstance(o, Referral)]
    people = pending.people | _people_of(connection, records, referrals)
    add_people(connection, people)
