"""The caseworker queue at scale: `queue_page()` against the same query in raw SQL.

    python -m bench.queue --cases 1000000 --database sqlite|postgresql|both [--reuse]

For each scenario (a user and a queue) and each page (the first, and a deep one ~50,000 rows
in), the app's `queue_page(user, queue, CaseFilter(), cursor=..., limit=25)` and the same
SELECT written by hand (`text()`: same WHERE, ORDER BY, LIMIT and keyset predicate) run
alternately on the same session and connection, after a warm-up; p50 and p95 of each, and
their ratio, are printed. The deep cursor is the key of the row at that depth, found with a
raw OFFSET query and encoded as the app encodes its cursors. Both sides are checked to return
the same rows. The plan of each query (EXPLAIN QUERY PLAN / EXPLAIN ANALYZE) is printed once.

The aim (issue): on PostgreSQL at a million cases, the caseworker's queue page under 50 ms p95
and within 2x of the raw query.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date

from sqlalchemy import Date, bindparam, event, text

from bench.databases import Unreachable, safe_url
from bench.generate import (
    BENCH_CASEWORKER,
    NATIONAL_SUPERVISOR,
    REGIONAL_SUPERVISOR,
    TODAY,
    add_database_arguments,
    prepare,
    selected,
)

LIMIT = 25
AIM_P95_MS = 50.0
AIM_RATIO = 2.0


@dataclass(frozen=True)
class Scenario:
    name: str
    email: str
    queue: str
    where: str  # the raw SQL filter, with :office / :user / :region taken from the user
    aim: bool  # the caseworker queues the aim is about
    # Also read what the queue page and the API list show of each row: the applicant's name,
    # the office and the assignee (raw side: one query with the joins).
    related: bool = False


SCENARIOS = (
    Scenario("caseworker-all", BENCH_CASEWORKER, "all", "cases.office_id = :office", aim=True),
    Scenario(
        "caseworker-mine",
        BENCH_CASEWORKER,
        "mine",
        # Finished files leave "my files" (casework.cases.queries.queue_query).
        "cases.office_id = :office AND cases.assigned_to_id = :user "
        "AND cases.state NOT IN ('closed', 'withdrawn')",
        aim=True,
    ),
    # Beyond the aim: the page as shown (names of applicant and assignee)...
    Scenario(
        "caseworker-shown",
        BENCH_CASEWORKER,
        "all",
        "cases.office_id = :office",
        aim=False,
        related=True,
    ),
    # ... and the supervisors' "All files" queue, across offices.
    Scenario("national-all", NATIONAL_SUPERVISOR, "all", "1 = 1", aim=False),
    Scenario(
        "regional-all",
        REGIONAL_SUPERVISOR,
        "all",
        "cases.office_id IN (SELECT id FROM organisations WHERE region_code = :region)",
        aim=False,
    ),
)
SCENARIO_NAMES = tuple(s.name for s in SCENARIOS)


class AppVersusRaw:
    """Timings of the application and of its raw SQL, side by side: percentiles and ratios."""

    app_ms: list[float]
    raw_ms: list[float]

    def p(self, side: str, q: float) -> float:
        return percentile(self.app_ms if side == "app" else self.raw_ms, q)

    def ratio(self, q: float) -> float:
        return self.p("app", q) / self.p("raw", q)


@dataclass
class Measure(AppVersusRaw):
    database: str
    scenario: str
    page: str
    depth: int
    runs: int
    app_ms: list[float] = field(repr=False)
    raw_ms: list[float] = field(repr=False)
    aim: bool = False

    def summary(self) -> dict:
        data = {k: v for k, v in asdict(self).items() if k not in ("app_ms", "raw_ms")}
        for side in ("app", "raw"):
            data[f"{side}_p50_ms"] = round(self.p(side, 50), 3)
            data[f"{side}_p95_ms"] = round(self.p(side, 95), 3)
        data["app_min_ms"] = round(min(self.app_ms), 3)
        data["raw_min_ms"] = round(min(self.raw_ms), 3)
        data["ratio_p50"] = round(self.ratio(50), 2)
        data["ratio_p95"] = round(self.ratio(95), 2)
        return data


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# --- Raw SQL --------------------------------------------------------------------------------


def _columns() -> str:
    from casework.cases.models import Case

    return ", ".join(f"cases.{column.name}" for column in Case.__table__.columns)


RELATED_COLUMNS = ", people.family_name, people.given_names, organisations.code, users.name"
RELATED_JOINS = (
    " JOIN people ON people.id = cases.applicant_id"
    " JOIN organisations ON organisations.id = cases.office_id"
    " LEFT JOIN users ON users.id = cases.assigned_to_id"
)


def raw_page_sql(where: str, keyset: bool, related: bool = False) -> str:
    """The queue page by hand: what `page_by_keys` asks for, newest first, one row extra."""
    predicate = " AND (cases.filed_on, cases.id) < (:last_filed, :last_id)" if keyset else ""
    columns = _columns() + (RELATED_COLUMNS if related else "")
    joins = RELATED_JOINS if related else ""
    return (
        f"SELECT {columns} FROM cases{joins} WHERE {where}{predicate} "
        "ORDER BY cases.filed_on DESC, cases.id DESC LIMIT :limit"
    )


def raw_statement(sql: str):
    statement = text(sql)
    if ":last_filed" in sql:  # a date: ISO text on SQLite, as the app stores it
        statement = statement.bindparams(bindparam("last_filed", type_=Date()))
    return statement


def deep_key(session, where: str, params: dict, depth: int) -> tuple[list, int]:
    """The (filed_on, id) of the row `depth` rows down the queue (half-way when shorter)."""
    count = f"SELECT count(*) FROM cases WHERE {where}"
    total = session.execute(text(count), params).scalar()
    if total <= depth + LIMIT:
        depth = max(total // 2, 1)
    row = session.execute(
        text(
            f"SELECT cases.filed_on, cases.id FROM cases WHERE {where} "
            "ORDER BY cases.filed_on DESC, cases.id DESC LIMIT 1 OFFSET :skip"
        ),
        {**params, "skip": depth - 1},
    ).one()
    filed = row[0] if isinstance(row[0], date) else date.fromisoformat(str(row[0])[:10])
    return [filed.isoformat(), row[1]], depth


# --- Plans ----------------------------------------------------------------------------------


class StatementCatcher:
    """Records the SQL and parameters the app sends, to EXPLAIN exactly that."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.caught: list[tuple[str, object]] = []

    def __enter__(self) -> StatementCatcher:
        event.listen(self.engine, "before_cursor_execute", self._catch)
        return self

    def __exit__(self, *_exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._catch)

    def _catch(self, _conn, _cursor, statement, parameters, _context, _executemany) -> None:
        self.caught.append((statement, parameters))


def explain(session, statement: str, parameters) -> list[str]:
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
        depth = {0: 0}
        lines = []
        for node, parent, _unused, detail in rows:
            depth[node] = depth.get(parent, 0) + 1
            lines.append("  " * depth[node] + detail)
        return lines
    rows = connection.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters)
    return ["  " + row[0] for row in rows]


def _plan_shape(lines: list[str]) -> list[str]:
    """The plan without timings and costs, to tell whether two plans are the same."""
    import re

    shape = []
    for line in lines:
        line = re.sub(
            r"\(cost=[^)]*\)|\(actual[^)]*\)|\d+(\.\d+)? ms|Buffers:.*|Memory: \w+", "", line
        )
        line = re.sub(r"\$\d+|%\(\w+\)s|\?|'[^']*'::\w+|\b\d+\b", "_", line)
        if line.strip() and not line.strip().startswith(("Planning", "Execution")):
            shape.append(line.rstrip())
    return shape


# --- Measuring ------------------------------------------------------------------------------


def measure(
    run_app: Callable[[], float],
    run_raw: Callable[[], float],
    *,
    runs: int,
    warmup: int,
    budget: float,
    min_runs: int,
) -> tuple[list[float], list[float]]:
    """Alternate app and raw (swapping which goes first) so that both see the same machine."""
    started = time.perf_counter()
    for _ in range(warmup):
        run_app()
        run_raw()
        if time.perf_counter() - started > budget / 4:  # slow queries: a shorter warm-up
            break
    gc.collect()
    app_ms: list[float] = []
    raw_ms: list[float] = []
    started = time.perf_counter()
    for i in range(runs):
        if i % 2 == 0:
            app_ms.append(run_app() * 1000)
            raw_ms.append(run_raw() * 1000)
        else:
            raw_ms.append(run_raw() * 1000)
            app_ms.append(run_app() * 1000)
        if i + 1 >= min_runs and time.perf_counter() - started > budget:
            break
    return app_ms, raw_ms


def bench_database(app, kind: str, args: argparse.Namespace) -> list[Measure]:
    from sqlalchemy import select

    from casework.auth.models import User
    from casework.cases.queries import CaseFilter, Queue, queue_page
    from casework.extensions import db
    from casework.pagination import encode_cursor

    results: list[Measure] = []
    with app.app_context():
        session = db.session
        engine = db.engine
        print(f"\n=== {kind}: {safe_url(str(engine.url))} ===")
        wait_for_quiet(args.quiet_load, args.quiet_wait)
        try_indexes(engine, args.try_index, create=True)
        try:
            for scenario in SCENARIOS:
                if scenario.name not in args.scenarios:
                    continue
                user = session.scalar(select(User).where(User.email == scenario.email))
                params = {
                    "office": user.organisation_id,
                    "user": user.id,
                    "region": user.region_code,
                }
                # Only the parameters the filter names: text() refuses unknown ones.
                params = {k: v for k, v in params.items() if f":{k}" in scenario.where}
                key, depth = deep_key(session, scenario.where, params, args.depth)
                pages = {
                    "first": (None, {}, 0),
                    "deep": (
                        encode_cursor(key),
                        {"last_filed": date.fromisoformat(key[0]), "last_id": key[1]},
                        depth,
                    ),
                }
                for page_name, (cursor, keyset, rows_in) in pages.items():
                    raw = raw_statement(
                        raw_page_sql(scenario.where, bool(keyset), scenario.related)
                    )
                    raw_params = {**params, **keyset, "limit": LIMIT + 1}
                    queue = Queue(scenario.queue)

                    def run_app(user=user, queue=queue, cursor=cursor, related=scenario.related):
                        session.expunge_all()  # a fresh identity map, as in a request
                        started = time.perf_counter()
                        page = queue_page(user, queue, CaseFilter(), cursor=cursor, limit=LIMIT,
                                          today=TODAY)  # fmt: skip
                        if related:
                            show(page.items)
                        return time.perf_counter() - started

                    def run_raw(raw=raw, raw_params=raw_params) -> float:
                        started = time.perf_counter()
                        session.execute(raw, raw_params).all()
                        return time.perf_counter() - started

                    label = f"{scenario.name} / {page_name} page ({rows_in:,} rows in)"
                    check_same_rows(session, user, queue, cursor, raw, raw_params, label)
                    if not args.no_explain:
                        print_plans(session, engine, user, queue, cursor, raw, raw_params, label)
                    app_ms, raw_ms = measure(
                        run_app, run_raw, runs=args.runs, warmup=args.warmup,
                        budget=args.max_seconds, min_runs=args.min_runs,
                    )  # fmt: skip
                    result = Measure(kind, scenario.name, page_name, rows_in, len(app_ms),
                                     app_ms, raw_ms, scenario.aim)  # fmt: skip
                    results.append(result)
                    print(format_row(result))
        finally:
            session.rollback()
            session.remove()
            try_indexes(engine, args.try_index, create=False)
    return results


def show(cases: list) -> None:
    """What cases/queues.html and the API's CaseSummarySchema read of each row."""
    for case in cases:
        _ = case.applicant.full_name, case.office.code
        if case.assigned_to is not None:
            _ = case.assigned_to.name


def wait_for_quiet(threshold: float | None, patience: float) -> None:
    """On a shared machine, wait (up to `patience` s) for the 1-minute load to drop."""
    load = os.getloadavg()[0]
    if threshold is not None and load > threshold:
        print(f"load average {load:.2f}: waiting up to {patience:.0f} s for < {threshold}")
        deadline = time.monotonic() + patience
        while load > threshold and time.monotonic() < deadline:
            time.sleep(10)
            load = os.getloadavg()[0]
    print(f"load average {load:.2f} on {os.cpu_count()} cores")


def check_same_rows(session, user, queue, cursor, raw, raw_params, label) -> None:
    from casework.cases.queries import CaseFilter, queue_page

    session.expunge_all()
    page = queue_page(user, queue, CaseFilter(), cursor=cursor, limit=LIMIT, today=TODAY)
    app_ids = [case.id for case in page.items]
    raw_ids = [row.id for row in session.execute(raw, raw_params)][:LIMIT]
    if app_ids != raw_ids:
        raise SystemExit(f"{label}: the app and the raw query disagree: {app_ids} {raw_ids}")


def print_plans(session, engine, user, queue, cursor, raw, raw_params, label) -> None:
    from casework.cases.queries import CaseFilter, queue_page

    session.expunge_all()
    with StatementCatcher(engine) as catcher:
        page = queue_page(user, queue, CaseFilter(), cursor=cursor, limit=LIMIT, today=TODAY)
    statement, parameters = catcher.caught[-1]
    with StatementCatcher(engine) as lazy:
        show(page.items)
    shown = f"; reading the rows as the page shows them: {len(lazy.caught)} more"
    with StatementCatcher(engine) as catcher:
        session.execute(raw, raw_params).all()
    raw_statement_, raw_parameters = catcher.caught[-1]
    app_plan = explain(session, statement, parameters)
    raw_plan = explain(session, raw_statement_, raw_parameters)
    print(f"\n--- {label}")
    print(f"app statements: {len(catcher.caught)} for queue_page(){shown}")
    print("app SQL: " + " ".join(_shorten_columns(statement).split()))
    print(f"  params: {parameters}")
    print("app plan:")
    print("\n".join(app_plan))
    if _plan_shape(app_plan) == _plan_shape(raw_plan):
        print("raw SQL plan: the same")
    else:
        print("raw SQL: " + " ".join(_shorten_columns(raw_statement_).split()))
        print("raw plan (DIFFERENT):")
        print("\n".join(raw_plan))


def _shorten_columns(statement: str) -> str:
    """SELECT cases.id, ... 40 columns ... FROM: keep the SQL readable."""
    head, _, tail = statement.partition(" FROM ")
    if head.upper().startswith("SELECT") and tail:
        return f"SELECT <{head.count(',') + 1} columns> FROM {tail}"
    return statement


def try_eager_loading(mode: str) -> None:
    """--try-eager-load: what queue_page would cost if it loaded the applicant, the office and
    the assignee with the page (joinedload) instead of one lazy SELECT per row; `lean` loads
    only what the page and the API show of them. A what-if for this process only:
    casework.cases.queries.page_by_keys is wrapped, casework/ is unchanged."""
    from sqlalchemy.orm import joinedload

    from casework.admin.models import Organisation
    from casework.auth.models import User
    from casework.cases import queries
    from casework.cases.models import Case
    from casework.people.models import Person

    applicant = joinedload(Case.applicant, innerjoin=True)
    office = joinedload(Case.office, innerjoin=True)
    assignee = joinedload(Case.assigned_to)
    if mode == "lean":
        applicant = applicant.load_only(Person.family_name, Person.given_names)
        office = office.load_only(Organisation.code, Organisation.name)
        assignee = assignee.load_only(User.name)
    original = queries.page_by_keys

    def page_by_keys(query, *args, **kwargs):
        return original(query.options(applicant, office, assignee), *args, **kwargs)

    queries.page_by_keys = page_by_keys
    print(f"trying: queue_page with joinedload(applicant, office, assigned_to) ({mode})")


def try_indexes(engine, specs: list[str], *, create: bool) -> None:
    """--try-index name=col,col: build an index for the run (then drop it), to test a fix."""
    for spec in specs or []:
        name, _, columns = spec.partition("=")
        with engine.begin() as connection:
            if create:
                started = time.perf_counter()
                connection.exec_driver_sql(f"CREATE INDEX {name} ON cases ({columns})")
                connection.exec_driver_sql("ANALYZE cases")
                elapsed = time.perf_counter() - started
                print(f"trying index {name} ON cases ({columns}) (built in {elapsed:.1f} s)")
            else:
                connection.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")


# --- Reporting ------------------------------------------------------------------------------

HEADER = (
    f"{'database':<10} {'scenario':<16} {'page':<5} {'rows in':>8} {'runs':>5} "
    f"{'app p50':>8} {'app p95':>8} {'raw p50':>8} {'raw p95':>8} {'x p50':>6} {'x p95':>6} "
    f"{'app min':>8} {'raw min':>8}"
)


def format_row(m: Measure) -> str:
    return (
        f"{m.database:<10} {m.scenario:<16} {m.page:<5} {m.depth:>8,} {m.runs:>5} "
        f"{m.p('app', 50):>8.2f} {m.p('app', 95):>8.2f} {m.p('raw', 50):>8.2f} "
        f"{m.p('raw', 95):>8.2f} {m.ratio(50):>6.2f} {m.ratio(95):>6.2f} "
        f"{min(m.app_ms):>8.2f} {min(m.raw_ms):>8.2f}"
    )


def print_summary(results: list[Measure], cases: int) -> None:
    print(f"\n=== queue page, {cases:,} cases, {LIMIT} rows a page; times in ms ===")
    print(HEADER)
    for m in results:
        print(format_row(m))
    aimed = [m for m in results if m.aim and m.database == "postgresql"]
    if not aimed:
        return
    print(f"\nAim on PostgreSQL: caseworker queues p95 < {AIM_P95_MS:.0f} ms, app/raw <= "
          f"{AIM_RATIO:.0f}x")  # fmt: skip
    for m in aimed:
        fast = m.p("app", 95) < AIM_P95_MS
        close = m.ratio(95) <= AIM_RATIO and m.ratio(50) <= AIM_RATIO
        print(
            f"  {m.scenario} {m.page}: p95 {m.p('app', 95):.2f} ms "
            f"{'MET' if fast else 'MISSED'}; ratio p50 {m.ratio(50):.2f}x / p95 "
            f"{m.ratio(95):.2f}x {'MET' if close else 'MISSED'}"
        )


def environment() -> dict:
    import sqlite3

    import sqlalchemy

    return {
        "python": platform.python_version(),
        "sqlalchemy": sqlalchemy.__version__,
        "sqlite": sqlite3.sqlite_version,
        "cores": os.cpu_count(),
        "load_average": os.getloadavg(),
        "machine": platform.platform(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.queue", description=__doc__.split("\n")[0]
    )
    add_database_arguments(parser)
    parser.add_argument("--reuse", action="store_true", help="keep a database of the right size")
    parser.add_argument("--runs", type=int, default=200, help="timed runs of each side")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--depth", type=int, default=50_000, help="rows before the deep page")
    parser.add_argument(
        "--max-seconds", type=float, default=60, help="stop a measure after this (slow queries)"
    )
    parser.add_argument("--min-runs", type=int, default=20)
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIO_NAMES),
        help=f"comma-separated, among {', '.join(SCENARIO_NAMES)}",
    )
    parser.add_argument(
        "--try-index",
        action="append",
        metavar="NAME=COLUMNS",
        help="create this index on cases for the run and drop it after (e.g. "
        "ix_try=assigned_to_id,filed_on,id); repeatable",
    )
    parser.add_argument(
        "--quiet-load",
        type=float,
        help="before measuring a database, wait for the 1-minute load average to drop below this",
    )
    parser.add_argument("--quiet-wait", type=float, default=900, help="seconds to wait at most")
    parser.add_argument(
        "--try-eager-load",
        choices=("full", "lean"),
        help="what-if: queue_page loading applicant, office and assignee with the page "
        "(whole rows, or only the columns shown)",
    )
    parser.add_argument("--no-explain", action="store_true")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    args.scenarios = [name.strip() for name in args.scenarios.split(",") if name.strip()]
    unknown = set(args.scenarios) - set(SCENARIO_NAMES)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")

    if args.try_eager_load:
        try_eager_loading(args.try_eager_load)
    results: list[Measure] = []
    generation = {}
    for kind in selected(args.database):
        try:
            app, report = prepare(
                kind, args.cases, reuse=args.reuse, sqlite_path=args.sqlite_path,
                postgres=args.database_url, seed=args.seed, batch=args.batch,
                use_copy=not args.no_copy, checked=args.checked,
            )  # fmt: skip
        except Unreachable as error:
            print(f"[{kind}] skipped: {error}")
            continue
        if report is not None:
            generation[kind] = {"seconds": report.seconds, "total": report.total}
        results.extend(bench_database(app, kind, args))
    if not results:
        return 1
    print_summary(results, args.cases)
    if args.json:
        with open(args.json, "w") as out:
            json.dump(
                {
                    "cases": args.cases,
                    "environment": environment(),
                    "generation": generation,
                    "runs": args.runs,
                    "results": [m.summary() for m in results],
                },
                out,
                indent=2,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
