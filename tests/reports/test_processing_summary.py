"""The processing-time summary table: kept in step by every write, and the percentiles read
from it are those of the files themselves (the former window-function query is the oracle)."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

from flask import Flask
from sqlalchemy import and_, case, delete, func, insert, select, update

from casework.admin.models import Organisation
from casework.cases.models import Case, CaseKind
from casework.cases.workflows import State, workflow_for
from casework.extensions import db
from casework.reference.models import Operation
from casework.reports.queries import (
    StatsFilter,
    filter_condition,
    processing,
    scope_condition,
    split_period,
)
from casework.reports.summary import ProcessingCount, add_cases, differences, rebuild
from tests.cases.helpers import act, case_in, drive, new_case, plan, request_context, users
from tests.factories import World
from tests.imports.helpers import GOOD_ROWS, PEOPLE_HEADER, run_cli, write_csv

DAY = date(2026, 3, 2)


def old_percentiles(user, criteria: StatsFilter) -> list[tuple]:
    """The query `processing()` ran before the summary table: window functions over the files
    (nearest rank: the smallest days whose row number reaches n * p)."""
    where = and_(scope_condition(user, criteria), filter_condition(criteria))
    ranked = (
        select(
            Case.office_id.label("office_id"),
            Case.processing_days.label("days"),
            func.row_number()
            .over(partition_by=Case.office_id, order_by=Case.processing_days)
            .label("rank"),
            func.count().over(partition_by=Case.office_id).label("n"),
        )
        .where(where, Case.processing_days.is_not(None))
        .subquery()
    )

    def percentile(p: float):
        return func.min(case((ranked.c.rank >= ranked.c.n * p, ranked.c.days)))

    query = (
        select(ranked.c.office_id, func.max(ranked.c.n), percentile(0.5), percentile(0.9))
        .group_by(ranked.c.office_id)
        .order_by(ranked.c.office_id)
    )
    return [(str(o), int(n), int(m), int(p)) for o, n, m, p in db.session.execute(query)]


def new_percentiles(user, criteria: StatsFilter) -> list[tuple]:
    rows = processing(user, criteria, today=DAY)["by_office"]
    return [(r["key"], r["decided"], r["median_days"], r["p90_days"]) for r in rows]


def summary_rows() -> dict[tuple, int]:
    rows = db.session.execute(select(ProcessingCount)).scalars()
    return {(r.kind, r.office_id, r.filed_month, r.processing_days): r.case_count for r in rows}


def assert_in_step() -> None:
    assert differences(db.session.connection()) == []


def _decide(world: World, who, kind: CaseKind, filed_on: date, days: int, favourable=True):
    """A file of `kind` filed on `filed_on` whose first-instance decision is approved `days`
    later."""
    case = new_case(world, kind, filed_on=filed_on, who=who)
    target = State.RECOGNISED if kind == CaseKind.ASYLUM else State.ACCEPTED
    path = plan(workflow_for(case.kind), target if favourable else State.REJECTED)
    drive(case, path[:-1], who, filed_on, then=path[-1:])
    act(case, "approve_decision", who.supervisor, today=filed_on + timedelta(days=days))
    return case


# --- Kept in step by the operations -------------------------------------------------------------


def test_workflow_operations_keep_the_summary_equal_to_a_recount(app: Flask, world: World) -> None:
    with app.app_context(), request_context(app):
        who = users(world)
        _decide(world, who, CaseKind.REGULARISATION, date(2026, 1, 5), 10)
        _decide(world, who, CaseKind.REGULARISATION, date(2026, 1, 20), 10, favourable=False)
        _decide(world, who, CaseKind.ASYLUM, date(2026, 2, 2), 30)
        case_in(world, CaseKind.RENEWAL, State.CARD_ISSUED, who=who)
        case_in(world, CaseKind.REGULARISATION, State.UNDER_REVIEW, who=who)  # undecided
        db.session.commit()

        rows = summary_rows()
        assert rows[("regularisation", world.orgs["RAB"], date(2026, 1, 1), 10)] == 2
        assert rows[("asylum", world.orgs["RAB"], date(2026, 2, 1), 30)] == 1
        assert sum(rows.values()) == db.session.scalar(
            select(func.count()).where(Case.processing_days.is_not(None))
        )
        assert_in_step()


def test_a_reopened_asylum_file_decided_again_is_counted_once(app: Flask, world: World) -> None:
    with app.app_context(), request_context(app):
        who = users(world)
        filed = date(2026, 1, 10)
        case = _decide(world, who, CaseKind.ASYLUM, filed, 20, favourable=False)
        closed_on = drive(
            case,
            [r for r in plan(workflow_for(case.kind), State.CLOSED) if r.state == State.REJECTED],
            who,
            filed + timedelta(days=20),
        )
        assert case.state == State.CLOSED
        db.session.commit()
        assert summary_rows() == {("asylum", world.orgs["RAB"], date(2026, 1, 1), 20): 1}

        act(case, "reopen", who.supervisor, today=closed_on, comment="new evidence")
        db.session.commit()
        # Re-opening keeps the first decision's processing time until it is decided again.
        assert summary_rows() == {("asylum", world.orgs["RAB"], date(2026, 1, 1), 20): 1}
        path = plan(workflow_for(case.kind), State.RECOGNISED)
        drive(case, path[:-1], who, closed_on, then=path[-1:])
        act(case, "approve_decision", who.supervisor, today=filed + timedelta(days=200))
        db.session.commit()

        assert summary_rows() == {("asylum", world.orgs["RAB"], date(2026, 1, 1), 200): 1}
        assert_in_step()


def test_orm_changes_deletes_and_rollbacks_move_the_counts(app: Flask, world: World) -> None:
    with app.app_context(), request_context(app):
        who = users(world)
        case = _decide(world, who, CaseKind.REGULARISATION, date(2026, 1, 5), 10)
        db.session.commit()
        key = ("regularisation", world.orgs["RAB"])

        case.filed_on = date(2025, 12, 30)  # a correction moves it to another month
        case.processing_days = 16
        db.session.commit()
        assert summary_rows() == {(*key, date(2025, 12, 1), 16): 1}

        db.session.expire(case)  # the old value is not loaded when it is replaced
        case.processing_days = None
        db.session.flush()
        assert summary_rows() == {}
        db.session.rollback()
        assert summary_rows() == {(*key, date(2025, 12, 1), 16): 1}

        assert_in_step()


def test_a_deleted_file_leaves_its_bucket(app: Flask, world: World) -> None:
    with app.app_context(), request_context(app):
        [case_id] = _random_files(world, random.Random(3), 1)
        # A Core update, as a loader makes it: out of the old bucket, into the new one.
        add_cases(db.session.connection(), [case_id], sign=-1)
        db.session.execute(update(Case).where(Case.id == case_id).values(processing_days=12))
        add_cases(db.session.connection(), [case_id])
        db.session.commit()
        assert list(summary_rows().values()) == [1]
        assert [days for *_, days in summary_rows()] == [12]

        db.session.delete(db.session.get(Case, case_id))
        db.session.flush()
        assert summary_rows() == {}
        assert_in_step()


# --- Writers that bypass the ORM ----------------------------------------------------------------


def _random_files(world: World, rng: random.Random, count: int) -> list[int]:
    """`count` files inserted through Core (as a bulk loader does), copies of a filed one with
    random kinds, offices, filing days and processing times (a fifth undecided)."""
    template = new_case(world)
    db.session.flush()
    row = dict(
        db.session.execute(select(Case.__table__).where(Case.id == template.id)).mappings().one()
    )
    offices = db.session.execute(
        select(Organisation.id, Organisation.region_code).where(
            Organisation.code.in_(["RAB", "TNG"])
        )
    ).all()
    operations = {
        kind: db.session.scalars(select(Operation.code).where(Operation.kind == kind)).all()
        for kind in ("regularisation", "asylum")
    }
    rows = []
    for number in range(count):
        kind = rng.choice(["regularisation", "asylum", "renewal"])
        office, region = rng.choice(offices)
        operation_kind = "asylum" if kind == "asylum" else "regularisation"
        filed = date(2025, 1, 1) + timedelta(days=rng.randrange(700))
        rows.append(
            {
                **row,
                "id": None,
                "reference": f"RND-{number:06d}",
                "kind": kind,
                "operation_code": rng.choice(operations[operation_kind]),
                "office_id": office,
                "region_code": region,
                "filed_on": filed,
                "processing_days": None if rng.random() < 0.2 else rng.randrange(90),
            }
        )
    for value in rows:
        del value["id"]
    db.session.execute(insert(Case), rows)
    ids = db.session.scalars(select(Case.id).where(Case.reference.like("RND-%"))).all()
    add_cases(db.session.connection(), ids)
    return list(ids)


def _random_filter(rng: random.Random) -> StatsFilter:
    first = date(2024, 12, 1) + timedelta(days=rng.randrange(800))
    last = first + timedelta(days=rng.choice([0, 3, 20, 31, 45, 90, 400]))
    return StatsFilter(
        kind=rng.choice([None, None, "regularisation", "asylum", "renewal"]),
        date_from=rng.choice([None, first]),
        date_to=rng.choice([None, last]),
        region=rng.choice([None, None, "04", "01"]),
    )


def test_percentiles_from_the_summary_are_those_of_the_window_functions(
    app: Flask, world: World
) -> None:
    rng = random.Random(20261129)
    with app.app_context(), request_context(app):
        who = users(world)
        ids = _random_files(world, rng, 400)
        # Then ORM writes: new processing times, decisions undone, files moved to other months.
        for case_id in rng.sample(ids, 60):
            case = db.session.get(Case, case_id)
            case.processing_days = rng.choice([None, rng.randrange(120)])
            if rng.random() < 0.3:
                case.filed_on = case.filed_on - timedelta(days=rng.randrange(60))
        db.session.commit()
        assert_in_step()

        filters = [
            StatsFilter(),
            StatsFilter(date_from=date(2025, 3, 1), date_to=date(2025, 5, 31)),
            StatsFilter(date_from=date(2025, 3, 15), date_to=date(2025, 3, 20)),
            StatsFilter(date_from=date(2025, 2, 28), date_to=date(2025, 4, 1)),
        ]
        filters += [_random_filter(rng) for _ in range(60)]
        for criteria in filters:
            for user in (who.supervisor, who.regional):
                if user.region_code and criteria.region not in (None, user.region_code):
                    continue
                assert new_percentiles(user, criteria) == old_percentiles(user, criteria), criteria


def test_periods_split_into_whole_months_and_edge_days() -> None:
    assert split_period(None, None) == ((None, None), [])
    assert split_period(date(2025, 3, 1), date(2025, 5, 31)) == (
        (date(2025, 3, 1), date(2025, 6, 1)),
        [],
    )
    assert split_period(date(2025, 3, 15), date(2025, 5, 10)) == (
        (date(2025, 4, 1), date(2025, 5, 1)),
        [(date(2025, 3, 15), date(2025, 3, 31)), (date(2025, 5, 1), date(2025, 5, 10))],
    )
    assert split_period(date(2025, 3, 15), date(2025, 3, 20)) == (
        None,
        [(date(2025, 3, 15), date(2025, 3, 20))],
    )
    assert split_period(date(2025, 12, 2), None) == (
        (date(2026, 1, 1), None),
        [(date(2025, 12, 2), date(2025, 12, 31))],
    )


def test_bulk_loads_are_counted_by_add_cases_and_rebuild(app: Flask, world: World) -> None:
    with app.app_context(), request_context(app):
        _random_files(world, random.Random(5), 50)
        assert_in_step()
        db.session.execute(delete(ProcessingCount))
        assert differences(db.session.connection())
        rebuild(db.session.connection())
        assert_in_step()


def test_a_case_import_moving_a_decided_file_moves_its_count(
    app: Flask, world: World, tmp_path: Path
) -> None:
    people = write_csv(tmp_path / "people.csv", PEOPLE_HEADER, GOOD_ROWS)
    assert run_cli(app, str(people), "--kind", "people", "--organisation", "RAB").exit_code == 0
    header = [
        "external_ref",
        "person_external_ref",
        "kind",
        "operation",
        "category",
        "office_code",
        "filed_on",
        "state",
    ]
    rows = [["C-1", "P-1", "asile", "", "", "RAB", "01/03/2025", "pre_screening"]]
    path = write_csv(tmp_path / "cases.csv", header, rows)
    assert run_cli(app, str(path), "--kind", "cases", "--organisation", "RAB").exit_code == 0
    with app.app_context():
        case = db.session.scalar(select(Case).where(Case.external_ref == "C-1"))
        case.processing_days = 40  # decided in the application since the first import
        db.session.commit()
        assert list(summary_rows()) == [("asylum", case.office_id, date(2025, 3, 1), 40)]

    rows[0][6] = "20/04/2025"  # the next export corrects the filing date
    write_csv(path, header, rows)
    again = run_cli(app, str(path), "--kind", "cases", "--organisation", "RAB")
    assert "updated 1" in again.output, again.output
    with app.app_context():
        assert list(summary_rows()) == [("asylum", case.office_id, date(2025, 4, 1), 40)]
        assert_in_step()


# --- The command line ---------------------------------------------------------------------------


def test_stats_check_finds_a_difference_and_rebuild_repairs_it(app: Flask, world: World) -> None:
    runner = app.test_cli_runner()
    with app.app_context(), request_context(app):
        _random_files(world, random.Random(7), 30)
        db.session.commit()
    ok = runner.invoke(args=["stats", "check"])
    assert ok.exit_code == 0 and "matches" in ok.output, ok.output

    with app.app_context():
        db.session.execute(delete(ProcessingCount).where(ProcessingCount.processing_days < 30))
        db.session.commit()
    broken = runner.invoke(args=["stats", "check"])
    assert broken.exit_code == 1 and "only in cases" in broken.output, broken.output

    rebuilt = runner.invoke(args=["stats", "rebuild"])
    assert rebuilt.exit_code == 0 and "rebuilt" in rebuilt.output, rebuilt.output
    assert runner.invoke(args=["stats", "check"]).exit_code == 0
