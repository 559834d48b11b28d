"""The statistics endpoints at scale: /api/v1/stats/* against the same SQL written by hand.

    python -m bench.stats --cases 1000000 --database sqlite|postgresql|both [--reuse]

The database is bench.generate's (reused with --reuse when it holds the right count). The
generator fills the statistics dimensions fixed at filing (region, sex, nationality, age band,
processing days, first-instance outcome) but not the appeal columns: they are set here, once,
by one deterministic UPDATE from the generated state (appeal_lodged / appeal_granted /
appeal_dismissed: lodged 20 days after the decision; outcome granted / dismissed / none).

Each scenario calls the endpoint through the Flask test client with a national supervisor's
bearer token (the whole request: token look-up, argument parsing, the queries, labels,
serialisation) and runs the equivalent raw SQL (`text()`: the same aggregates, GROUP BY and
window functions, the same number of statements) alternately, after a warm-up; p50 / p95 of
each and their ratio. The plan of the main raw statement (EXPLAIN ANALYZE / EXPLAIN QUERY
PLAN) is printed once per scenario.

Processing times come from the summary table `case_processing_counts` (casework/reports/
summary.py): "processing by office" (no filter) and "processing period" (a period cutting a
month at each end: whole months from the table, the edge days from the files) against the same
SQL by hand; "processing old window SQL" runs the same endpoint against the former raw query
(window functions over the files), for comparison.

Programme indicators come from the reach table `programme_reach` (casework/reports/reach.py):
"programmes" (no filter) against the same sums over that table by hand; "programmes grouped
SQL" and "programmes per-target SQL" run the same endpoint against the former raw statements
(count(DISTINCT person) over the joined referrals and records), for comparison.

The aim (issue): on PostgreSQL at a million cases, each endpoint within 1.5x of its raw SQL
and under 500 ms.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select, text

from bench.databases import Unreachable, safe_url
from bench.generate import (
    NATIONAL_SUPERVISOR,
    _insert_copy,
    _insert_core,
    add_database_arguments,
    prepare,
    selected,
)
from bench.programmes_data import fill_programmes
from bench.queue import AppVersusRaw, explain, measure, wait_for_quiet

AIM_MS = 500.0
AIM_RATIO = 1.5

# --- Raw SQL: the definitions of casework/reports/definitions.py, written out --------------

_F = "coalesce(cases.first_instance_outcome, '')"
_A = "coalesce(cases.appeal_outcome, '')"
FAVOURABLE = f"{_F} = 'favourable'"
UNFAVOURABLE = f"{_F} = 'unfavourable'"
GRANTED = f"{_A} = 'granted'"
APPEAL_PENDING = f"(cases.appeal_lodged_on IS NOT NULL AND {_A} = '')"
ACCEPTED = f"({FAVOURABLE} OR ({UNFAVOURABLE} AND {GRANTED}))"
REJECTED = f"({UNFAVOURABLE} AND NOT ({GRANTED}) AND NOT {APPEAL_PENDING})"
DECIDED = f"({ACCEPTED} OR {REJECTED})"
WITHDRAWN = "cases.state = 'withdrawn'"
PENDING = f"(NOT {DECIDED} AND NOT ({WITHDRAWN}))"


def _count_if(condition: str, name: str) -> str:
    return f"coalesce(sum(CASE WHEN {condition} THEN 1 ELSE 0 END), 0) AS {name}"


COUNTS_SQL = ",\n  ".join(
    [
        "count(cases.id) AS filed",
        _count_if(DECIDED, "decided"),
        _count_if(ACCEPTED, "accepted"),
        _count_if(REJECTED, "rejected"),
        _count_if(PENDING, "pending"),
        _count_if(WITHDRAWN, "withdrawn"),
        _count_if(f"{_F} != ''", "first_instance_decided"),
        _count_if(FAVOURABLE, "first_instance_favourable"),
        _count_if("cases.appeal_lodged_on IS NOT NULL", "appeals_lodged"),
        _count_if(GRANTED, "appeals_granted"),
        _count_if(f"{_A} = 'dismissed'", "appeals_dismissed"),
        _count_if("cases.card_issued_on IS NOT NULL", "cards_issued"),
    ]
)


def group_key(group_by: str, dialect: str) -> str:
    if group_by == "month":
        if dialect == "sqlite":
            return (
                "CAST(strftime('%Y', cases.filed_on) AS INTEGER) * 100 "
                "+ CAST(strftime('%m', cases.filed_on) AS INTEGER)"
            )
        return (
            "CAST(EXTRACT(year FROM cases.filed_on) AS INTEGER) * 100 "
            "+ CAST(EXTRACT(month FROM cases.filed_on) AS INTEGER)"
        )
    return {"office": "cases.office_id", "nationality": "cases.applicant_nationality"}[group_by]


def acceptance_sql(group_by: str, dialect: str) -> list[str]:
    """The total, then the grouped table, as queries.acceptance() asks them."""
    key = group_key(group_by, dialect)
    return [
        f"SELECT {COUNTS_SQL}\nFROM cases",
        f"SELECT {key} AS key,\n  {COUNTS_SQL}\nFROM cases GROUP BY {key} ORDER BY {key}",
    ]


# The former processing query: window functions over the decided files (kept for comparison;
# its sort of 760,000 rows spilled to disk at a million files).
PROCESSING_SQL = """
WITH ranked AS (
  SELECT office_id, processing_days AS days,
         row_number() OVER (PARTITION BY office_id ORDER BY processing_days) AS rank,
         count(*) OVER (PARTITION BY office_id) AS n
  FROM cases WHERE processing_days IS NOT NULL
)
SELECT office_id, max(n) AS decided,
       min(CASE WHEN rank >= n * :p50 THEN days END) AS median_days,
       min(CASE WHEN rank >= n * :p90 THEN days END) AS p90_days
FROM ranked GROUP BY office_id ORDER BY office_id
"""

# The same nearest-rank percentiles from the summary table case_processing_counts, as
# reports.queries.processing asks them: the whole months of the period from the table, the
# days of the cut months (if any) from the files.
SUMMARY_PROCESSING_SQL = """
WITH counts AS (
  SELECT office_id, days, sum(n) AS n FROM (
    SELECT office_id, processing_days AS days, case_count AS n
    FROM case_processing_counts WHERE {months}{edges}
  ) AS parts GROUP BY office_id, days HAVING sum(n) > 0
), ranked AS (
  SELECT office_id, days,
         CAST(sum(n) OVER (PARTITION BY office_id ORDER BY days) AS BIGINT) AS running,
         CAST(sum(n) OVER (PARTITION BY office_id) AS BIGINT) AS n
  FROM counts
)
SELECT office_id, max(n) AS decided,
       min(CASE WHEN running >= n * :p50 THEN days END) AS median_days,
       min(CASE WHEN running >= n * :p90 THEN days END) AS p90_days
FROM ranked GROUP BY office_id ORDER BY office_id
"""

EDGES_SQL = """
    UNION ALL
    SELECT office_id, processing_days, count(*) FROM cases
    WHERE processing_days IS NOT NULL
      AND (filed_on BETWEEN :from_low AND :from_high OR filed_on BETWEEN :to_low AND :to_high)
    GROUP BY office_id, processing_days"""

# A period cutting months at both ends (from / to of the "processing period" scenario).
PERIOD = (date(2020, 3, 15), date(2024, 6, 10))
PERIOD_PARAMS = {"months_from": date(2020, 4, 1), "months_end": date(2024, 6, 1),
                 "from_low": date(2020, 3, 15), "from_high": date(2020, 3, 31),
                 "to_low": date(2024, 6, 1), "to_high": date(2024, 6, 10)}  # fmt: skip
PERCENTILES = {"p50": 0.5, "p90": 0.9}


def processing_sql(variant: str) -> list[tuple[str, dict]]:
    """By office, then the backlog by state with its age buckets (one pass, as the app).
    `variant`: "summary", "period" (summary + cut months) or "window" (the former query)."""
    today = backlog_params(date.today())
    buckets = (
        "coalesce(sum(CASE WHEN filed_on <= :d0 AND filed_on > :d30 THEN 1 ELSE 0 END), 0) "
        "AS under_30, "
        "coalesce(sum(CASE WHEN filed_on <= :d30 AND filed_on > :d60 THEN 1 ELSE 0 END), 0) "
        "AS b30_60, "
        "coalesce(sum(CASE WHEN filed_on <= :d60 AND filed_on > :d90 THEN 1 ELSE 0 END), 0) "
        "AS b60_90, "
        "coalesce(sum(CASE WHEN filed_on <= :d90 THEN 1 ELSE 0 END), 0) AS over_90"
    )
    pending = PENDING
    if variant == "window":
        first = (PROCESSING_SQL, dict(PERCENTILES))
    elif variant == "summary":
        first = (SUMMARY_PROCESSING_SQL.format(months="true", edges=""), dict(PERCENTILES))
    else:
        months = "filed_month >= :months_from AND filed_month < :months_end"
        sql = SUMMARY_PROCESSING_SQL.format(months=months, edges=EDGES_SQL)
        first = (sql, {**PERIOD_PARAMS, **PERCENTILES})  # in the order of the text (SQLite)
        pending = f"{PENDING} AND cases.filed_on BETWEEN :from_low AND :to_high"
        today = {**today, "from_low": PERIOD[0], "to_high": PERIOD[1]}
    return [
        first,
        (f"SELECT cases.state, count(*), {buckets} FROM cases WHERE {pending} "
         "GROUP BY cases.state", today),
    ]  # fmt: skip


def backlog_params(today: date) -> dict:
    from datetime import timedelta

    day = lambda n: today - timedelta(days=n)  # noqa: E731
    # The app's buckets: (today-30, today], (today-60, today-30], (today-90, today-60], <= today-90
    return {"d0": day(0), "d30": day(30), "d60": day(60), "d90": day(90)}


ACCEPTED_REFERRAL_STATES = "('accepted', 'in_progress', 'completed', 'closed_without_service')"
NOT_SUPERSEDED = (
    "assistance_records.id NOT IN (SELECT corrects_id FROM assistance_records "
    "WHERE corrects_id IS NOT NULL)"
)


def programmes_sql(programmes: list[str], targets: dict[str, list[str]],
                   variant: str = "grouped") -> list[tuple[str, dict]]:  # fmt: skip
    """The programme indicators as reports.programmes.indicators() asks them: the programmes
    and the SDG targets, then one pass per table grouped by indicator group (each programme
    is its own group; a target groups its programmes, so a person in two of them counts once).
    `variant="per_target"`: the former statements (by programme, then one pair per target)."""
    statements = [
        ("SELECT * FROM programmes ORDER BY number", {}),
        ("SELECT * FROM sdg_targets", {}),
    ]
    if variant == "per_target":
        return statements + _per_target_sql(targets)
    if variant == "reach":
        # The unfiltered indicators from the programme reach table: one row per (group,
        # person) of the national scope, counted without DISTINCT.
        reach = (
            "SELECT group_kind, group_key, sum(CASE WHEN referrals > 0 THEN 1 ELSE 0 END), "
            "sum(CASE WHEN accepted_referrals > 0 THEN 1 ELSE 0 END), "
            "sum(CASE WHEN records > 0 THEN 1 ELSE 0 END), sum(records) FROM programme_reach "
            "WHERE scope = :scope GROUP BY group_kind, group_key"
        )
        return [*statements, (reach, {"scope": ""})]
    # Numbered groups as the app numbers them: the programmes, then the targets in order.
    groups = [[code] for code in programmes] + list(targets.values())
    params: dict = {}
    values = []
    for number, codes in enumerate(groups):
        for code in codes:
            values.append(f"({number}, :p{len(params)})")
            params[f"p{len(params)}"] = code
    with_groups = f"WITH indicator_groups (number, programme_code) AS (VALUES {', '.join(values)})"
    by_group = (
        "JOIN services ON services.code = {table}.service_code JOIN indicator_groups AS g "
        "ON g.programme_code = services.programme_code {where}GROUP BY g.number"
    )
    referrals = (
        f"{with_groups} SELECT g.number, count(DISTINCT referrals.person_id), "
        f"count(DISTINCT CASE WHEN referrals.state IN {ACCEPTED_REFERRAL_STATES} "
        "THEN referrals.person_id END) FROM referrals "
        + by_group.format(table="referrals", where="")
    )
    assistance = (
        f"{with_groups} SELECT g.number, count(DISTINCT assistance_records.person_id), "
        "count(assistance_records.id) FROM assistance_records "
        + by_group.format(table="assistance_records", where=f"WHERE {NOT_SUPERSEDED} ")
    )
    return [*statements, (referrals, params), (assistance, params)]


def _per_target_sql(targets: dict[str, list[str]]) -> list[tuple[str, dict]]:
    statements = [
        (
            "SELECT services.programme_code, count(DISTINCT referrals.person_id), "
            f"count(DISTINCT CASE WHEN referrals.state IN {ACCEPTED_REFERRAL_STATES} "
            "THEN referrals.person_id END) FROM referrals JOIN services "
            "ON services.code = referrals.service_code GROUP BY services.programme_code",
            {},
        ),
        (
            "SELECT services.programme_code, count(DISTINCT assistance_records.person_id), "
            "count(assistance_records.id) FROM assistance_records JOIN services "
            "ON services.code = assistance_records.service_code "
            f"WHERE {NOT_SUPERSEDED} GROUP BY services.programme_code",
            {},
        ),
    ]
    for codes in targets.values():
        names = ", ".join(f":p{i}" for i in range(len(codes)))
        params = {f"p{i}": code for i, code in enumerate(codes)}
        statements.append(
            (
                "SELECT count(DISTINCT referrals.person_id) FROM referrals JOIN services "
                "ON services.code = referrals.service_code "
                f"WHERE services.programme_code IN ({names})",
                params,
            )
        )
        statements.append(
            (
                "SELECT count(DISTINCT assistance_records.person_id), "
                "count(assistance_records.id) FROM assistance_records JOIN services "
                "ON services.code = assistance_records.service_code "
                f"WHERE {NOT_SUPERSEDED} AND services.programme_code IN ({names})",
                params,
            )
        )
    return statements


def programme_figures(session, statements, codes: list[str],
                      targets: dict[str, list[str]]) -> tuple[dict, dict]:  # fmt: skip
    """The raw side's figures: {programme: (referred, accepted, served, records)} and
    {target: (referred, served, records)}, from either variant of programmes_sql."""
    programmes: dict[str, list[int]] = {}
    by_target: dict[str, list[int]] = {}
    if len(statements) == 3:  # reach: (kind, key, referred, accepted, served, records) rows
        for kind, key, *figures in session.execute(*statements[2]):
            if kind == "programme" and key in codes:
                programmes[key] = list(figures)
            elif kind == "sdg_target" and key in targets:
                by_target[key] = list(figures)
    elif len(statements) == 4:  # grouped: (group number, a, b) rows from each table
        keys = [("programme", code) for code in codes] + [("sdg_target", t) for t in targets]
        for offset, (sql, params) in enumerate(statements[2:]):
            for number, a, b in session.execute(sql, params):
                kind, key = keys[number]
                into = programmes if kind == "programme" else by_target
                into.setdefault(key, [0, 0, 0, 0])[2 * offset : 2 * offset + 2] = [a, b]
    else:
        for offset, (sql, params) in enumerate(statements[2:4]):
            for key, a, b in session.execute(sql, params):
                programmes.setdefault(key, [0, 0, 0, 0])[2 * offset : 2 * offset + 2] = [a, b]
        pairs = statements[4:]
        for target, referred, assisted in zip(targets, pairs[0::2], pairs[1::2], strict=True):
            served, records = session.execute(*assisted).one()
            by_target[target] = [session.execute(*referred).scalar(), 0, served, records]
    programme_rows = {k: tuple(int(x) for x in v) for k, v in programmes.items() if any(v)}
    target_rows = {k: (int(v[0]), int(v[2]), int(v[3])) for k, v in by_target.items() if any(v)}
    return programme_rows, target_rows


# --- Preparing the database ------------------------------------------------------------------

APPEAL_STATES = "('appeal_lodged', 'appeal_granted', 'appeal_dismissed')"


def fill_appeals(engine) -> int:
    """Set the appeal columns the generator leaves empty, from the generated states (one
    deterministic UPDATE; a no-op when already done)."""
    lodged = (
        "date(decided_on, '+20 days')" if engine.dialect.name == "sqlite" else "decided_on + 20"
    )
    with engine.begin() as connection:
        done = connection.execute(
            text(
                f"UPDATE cases SET appeal_lodged_on = {lodged}, appeal_outcome = CASE state "
                "WHEN 'appeal_granted' THEN 'granted' WHEN 'appeal_dismissed' THEN 'dismissed' "
                f"END WHERE state IN {APPEAL_STATES} AND appeal_lodged_on IS NULL"
            )
        ).rowcount
    if done:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("ANALYZE cases")
    return done


def bench_user_token(app) -> str:
    """A bearer token of the national supervisor (created when missing)."""
    from casework.auth.models import User
    from casework.auth.operations import create_user, issue_token
    from casework.extensions import db

    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == NATIONAL_SUPERVISOR))
        if user is None:
            user = create_user(email=NATIONAL_SUPERVISOR, name="National supervisor",
                               role="supervisor", organisation_id=1,
                               password="bench-not-for-sign-in-0")  # fmt: skip
        token, _ = issue_token(user)
        db.session.commit()
        db.session.remove()
    return token


def programme_map(app) -> tuple[list[str], dict[str, list[str]]]:
    """The programme codes in order, and the programmes of each SDG target."""
    from casework.extensions import db
    from casework.reference.models import Programme

    with app.app_context():
        programmes: list[str] = []
        targets: dict[str, list[str]] = {}
        for programme in db.session.scalars(select(Programme).order_by(Programme.number)):
            programmes.append(programme.code)
            for code in programme.sdg_targets:
                targets.setdefault(code, []).append(programme.code)
        db.session.remove()
    return programmes, targets


# --- Measuring ---------------------------------------------------------------------------------


@dataclass
class Result(AppVersusRaw):
    database: str
    scenario: str
    runs: int
    app_ms: list[float]
    raw_ms: list[float]
    rows: int


SCENARIOS = (
    ("acceptance total+office", "/api/v1/stats/acceptance?group_by=office"),
    ("acceptance nationality", "/api/v1/stats/acceptance?group_by=nationality"),
    ("acceptance month", "/api/v1/stats/acceptance?group_by=month"),
    ("processing by office", "/api/v1/stats/processing"),
    ("processing period", f"/api/v1/stats/processing?from={PERIOD[0]}&to={PERIOD[1]}"),
    ("processing old window SQL", "/api/v1/stats/processing"),
    ("programmes", "/api/v1/stats/programmes"),
    ("programmes grouped SQL", "/api/v1/stats/programmes"),
    ("programmes per-target SQL", "/api/v1/stats/programmes"),
)


def raw_statements(name: str, dialect: str, catalogue) -> list[tuple[str, dict]]:
    if name.startswith("acceptance"):
        group_by = {"total+office": "office"}.get(name.split()[1], name.split()[1])
        return [(sql, {}) for sql in acceptance_sql(group_by, dialect)]
    if name.startswith("processing"):
        variant = {"processing period": "period", "processing old window SQL": "window"}
        return processing_sql(variant.get(name, "summary"))
    variant = {"programmes per-target SQL": "per_target", "programmes grouped SQL": "grouped"}
    return programmes_sql(*catalogue, variant=variant.get(name, "reach"))


def bench_database(app, kind: str, args) -> list[Result]:
    from casework.extensions import db

    with app.app_context():
        engine = db.engine
        print(f"\n=== {kind}: {safe_url(str(engine.url))} ===")
        started = time.perf_counter()
        filled = fill_appeals(engine)
        print(f"appeal columns set on {filled:,} cases ({time.perf_counter() - started:.1f} s)")
        started = time.perf_counter()
        copy = engine.dialect.name == "postgresql" and not args.no_copy
        added = fill_programmes(
            engine, seed=args.seed, insert=_insert_copy if copy else _insert_core
        )
        if any(added.values()):
            print(f"programme data added: {added} ({time.perf_counter() - started:.1f} s)")
        with engine.connect() as connection:
            referrals = connection.scalar(text("SELECT count(*) FROM referrals"))
            records = connection.scalar(text("SELECT count(*) FROM assistance_records"))
        print(f"referrals: {referrals:,}; assistance records: {records:,}"
              + ("  (empty: the programmes figures are all 0)" if not referrals + records
                 else ""))  # fmt: skip
    token = bench_user_token(app)
    catalogue = programme_map(app)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "fr"}
    wait_for_quiet(args.quiet_load, args.quiet_wait)
    results = []
    with app.app_context():
        session = db.session
        dialect = db.engine.dialect.name
        for name, url in SCENARIOS:
            if args.scenarios and not any(s in name for s in args.scenarios):
                continue
            statements = [(text(sql), params) for sql, params in
                          raw_statements(name, dialect, catalogue)]  # fmt: skip
            answer = client.get(url, headers=headers)
            if answer.status_code != 200:
                raise SystemExit(f"{url}: {answer.status_code} {answer.get_data(as_text=True)}")
            body = answer.get_json()
            rows = len(body.get("rows") or body.get("by_office") or body.get("programmes") or [])
            check(name, body, session, statements, catalogue)

            def run_app(url=url) -> float:
                started = time.perf_counter()
                response = client.get(url, headers=headers)
                response.get_data()
                return time.perf_counter() - started

            def run_raw(statements=statements) -> float:
                started = time.perf_counter()
                for statement, params in statements:
                    session.execute(statement, params).all()
                session.rollback()  # end the transaction, as the request does
                return time.perf_counter() - started

            if not args.no_explain:
                main = {"acceptance": -1, "programmes": 2}.get(name.split()[0], 0)
                main_sql, main_params = statements[main]
                compiled = str(main_sql)
                print(f"\n--- {name}: plan of the raw statement")
                plan = explain(session, _positional(compiled, main_params, dialect),
                               _driver_params(main_params, dialect))  # fmt: skip
                print("\n".join(plan))
                session.rollback()
            app_ms, raw_ms = measure(run_app, run_raw, runs=args.runs, warmup=args.warmup,
                                     budget=args.max_seconds, min_runs=args.min_runs)  # fmt: skip
            result = Result(kind, name, len(app_ms), app_ms, raw_ms, rows)
            results.append(result)
            print(format_row(result))
        session.remove()
    return results


def _positional(sql: str, params: dict, dialect: str) -> str:
    """A text() statement with :names, for exec_driver_sql (qmark / pyformat)."""
    import re

    if dialect == "sqlite":
        return re.sub(r":(\w+)", lambda m: "?" if m.group(1) in params else m.group(0), sql)
    sql = sql.replace("%", "%%")
    return re.sub(r":(\w+)", lambda m: f"%({m.group(1)})s" if m.group(1) in params else
                  m.group(0), sql)  # fmt: skip


def _driver_params(params: dict, dialect: str):
    if dialect == "sqlite":
        return tuple(v.isoformat() if isinstance(v, date) else v for v in params.values())
    return params


def check(name: str, body: dict, session, statements, catalogue) -> None:
    """Both sides give the same figures (the filed column, or the processing table)."""
    if name.startswith("acceptance"):
        total = session.execute(*statements[0]).mappings().one()
        grouped = session.execute(*statements[1]).mappings().all()
        app = [body["total"]["filed"], body["total"]["accepted"], body["total"]["pending"]]
        raw = [total["filed"], total["accepted"], total["pending"]]
        app += sorted((r["filed"], r["accepted"]) for r in body["rows"])
        raw += sorted((r["filed"], r["accepted"]) for r in grouped)
    elif name.startswith("processing"):
        by_office = session.execute(*statements[0]).all()
        app = sorted((r["decided"], r["median_days"], r["p90_days"]) for r in body["by_office"])
        raw = sorted((int(r[1]), int(r[2]), int(r[3])) for r in by_office)
        by_state = session.execute(*statements[1]).all()
        app += sorted((r["key"], r["count"]) for r in body["backlog_by_state"])
        raw += sorted((r[0], int(r[1])) for r in by_state)
    else:
        figures = ("people_referred", "people_accepted", "people_served", "assistance_records")
        app_programmes = {r["key"]: tuple(r[f] for f in figures) for r in body["programmes"]}
        app_targets = {r["key"]: (r["people_referred"], r["people_served"],
                                  r["assistance_records"])
                       for r in body["sdg_targets"]}  # fmt: skip
        raw_programmes, raw_targets = programme_figures(session, statements, *catalogue)
        app = [{k: v for k, v in app_programmes.items() if any(v)},
               {k: v for k, v in app_targets.items() if any(v)}]  # fmt: skip
        raw = [raw_programmes, raw_targets]
        if not any(raw_programmes.values()):
            print(f"{name}: referrals and assistance records are empty: all figures are 0")
    session.rollback()
    if app != raw:
        raise SystemExit(f"{name}: the endpoint and the raw SQL disagree:\n{app}\n{raw}")


# --- Reporting -----------------------------------------------------------------------------

HEADER = (
    f"{'database':<10} {'scenario':<24} {'rows':>5} {'runs':>5} {'app p50':>9} {'app p95':>9} "
    f"{'raw p50':>9} {'raw p95':>9} {'x p50':>6} {'x p95':>6}"
)


def format_row(r: Result) -> str:
    return (
        f"{r.database:<10} {r.scenario:<24} {r.rows:>5} {r.runs:>5} {r.p('app', 50):>9.1f} "
        f"{r.p('app', 95):>9.1f} {r.p('raw', 50):>9.1f} {r.p('raw', 95):>9.1f} "
        f"{r.ratio(50):>6.2f} {r.ratio(95):>6.2f}"
    )


def print_summary(results: list[Result], cases: int) -> None:
    print(f"\n=== statistics endpoints, {cases:,} cases; times in ms ===")
    print(HEADER)
    for r in results:
        print(format_row(r))
    aimed = [r for r in results if r.database == "postgresql"]
    if aimed:
        print(f"\nAim on PostgreSQL: endpoint < {AIM_MS:.0f} ms and <= {AIM_RATIO}x its raw SQL")
        for r in aimed:
            fast = r.p("app", 95) < AIM_MS
            close = r.ratio(50) <= AIM_RATIO
            print(f"  {r.scenario}: p95 {r.p('app', 95):.0f} ms {'MET' if fast else 'MISSED'};"
                  f" ratio p50 {r.ratio(50):.2f}x {'MET' if close else 'MISSED'}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.stats", description=__doc__.split("\n")[0]
    )
    add_database_arguments(parser)
    parser.add_argument("--reuse", action="store_true", help="keep a database of the right size")
    parser.add_argument("--runs", type=int, default=30, help="timed runs of each side")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--max-seconds", type=float, default=120, help="per measure, at most")
    parser.add_argument("--min-runs", type=int, default=10)
    parser.add_argument("--scenarios", help="comma-separated substrings of scenario names")
    parser.add_argument("--quiet-load", type=float, help="wait for the load average below this")
    parser.add_argument("--quiet-wait", type=float, default=300)
    parser.add_argument("--no-explain", action="store_true")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    args.scenarios = [s.strip() for s in (args.scenarios or "").split(",") if s.strip()]
    results: list[Result] = []
    for kind in selected(args.database):
        try:
            app, _report = prepare(
                kind, args.cases, reuse=args.reuse, sqlite_path=args.sqlite_path,
                postgres=args.database_url, seed=args.seed, batch=args.batch,
                use_copy=not args.no_copy, checked=args.checked,
            )  # fmt: skip
        except Unreachable as error:
            print(f"[{kind}] skipped: {error}")
            continue
        results.extend(bench_database(app, kind, args))
    if not results:
        return 1
    print_summary(results, args.cases)
    if args.json:
        with open(args.json, "w") as out:
            json.dump(
                [
                    {"database": r.database, "scenario": r.scenario, "runs": r.runs,
                     "app_p50": r.p("app", 50), "app_p95": r.p("app", 95),
                     "raw_p50": r.p("raw", 50), "raw_p95": r.p("raw", 95)}
                    for r in results
                ],
                out,
                indent=2,
            )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
