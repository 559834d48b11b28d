"""Property-based: whatever anyone tries on a file, the table holds and the timeline is whole.

A fresh file of each kind is driven to a random state of its table (along the table's shortest
path), then given a random sequence of (actor, action, fields, day, version):

* the file is only ever in a state of its kind's table, and moves only along a row;
* a refusal is always of the CaseError family (or an EditConflict) and changes nothing;
* every success appends exactly one timeline event, every refusal none, none is ever lost;
* `allowed_actions` never offers an action that is then refused for its state, role, scope or
  date, and never hides one that succeeds.

Random fields have the types the API hands over (dates, aware datetimes, strings up to the
schema's lengths); inputs of other types reach known bugs (see test_operations' xfails).

The fixtures run once per test, not per example: each example files its own case and rolls the
session back at the end (nothing in an example is committed).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from casework.cases.errors import (
    ActionForbidden,
    ActionNotAvailable,
    ActionTooLate,
    CaseError,
)
from casework.cases.models import CaseEvent, CaseKind
from casework.cases.operations import allowed_actions
from casework.cases.workflows import DECISION_REASONS, OUTCOMES, WORKFLOWS
from casework.conflicts import EditConflict
from casework.extensions import db
from tests.cases.helpers import (
    DAY,
    act,
    actor_key,
    drive,
    fields_for,
    new_case,
    plan,
    request_context,
    users,
)
from tests.factories import World

ACTIONS = sorted({a for w in WORKFLOWS.values() for a in w.actions} | {"no_such_action"})
ACTORS = ("caseworker", "caseworker2", "supervisor", "regional", "ngo", "admin")
DAY_STEPS = (0, 0, 1, 15, 29, 30, 31, 45)

# Fields of the types the API hands over (dates, aware datetimes, strings), valid or not.
RANDOM_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "comment": st.sampled_from([None, "", "  ", "Because.", "x" * 4001]),
        "due_in": st.sampled_from([None, -1, 0, 14]),
        "outcome": st.sampled_from([None, "", *OUTCOMES, "granted", "dismissed", "maybe"]),
        "reasons": st.lists(st.sampled_from([*DECISION_REASONS, "bogus"]), max_size=2),
        "decision_text": st.sampled_from([None, "", "Reasoned decision."]),
        "notified_ago": st.sampled_from([None, -1, 0, 3, 40]),
        "card_number": st.sampled_from([None, "", "C1", "CARD 9", "card-0001", "CARD-0002"]),
        "interview_on": st.sampled_from([None, "tomorrow", datetime(2026, 4, 1, 9, tzinfo=UTC)]),
        "interpreter_language": st.sampled_from([None, "", "ar", " wo ", "tzm"]),
    },
)


@pytest.fixture
def ops(ctx: Flask) -> Iterator[Flask]:
    with request_context(ctx):
        yield ctx


def _random_fields(raw: dict, today) -> dict:
    fields = {k: v for k, v in raw.items() if k not in {"due_in", "notified_ago"}}
    if "due_in" in raw:
        fields["due_date"] = None if raw["due_in"] is None else today + timedelta(raw["due_in"])
    if "notified_ago" in raw:
        ago = raw["notified_ago"]
        fields["notified_on"] = None if ago is None else today - timedelta(ago)
    return fields


def _event_ids(case) -> list[int]:
    return list(
        db.session.scalars(
            select(CaseEvent.id).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
        )
    )


def _step(data, case, workflow, who, today):
    """Draw one attempt. Most are plausible (an action of the state, by whom the row names,
    with valid fields and the version just read) so that files get deep into their table; the
    others spoil one of these at random (any action, any actor, random fields, an old or no
    version) or withdraw the file, which ends it (so it is drawn rarely)."""
    spoil = data.draw(
        st.sampled_from(["none"] * 8 + ["action", "actor", "fields", "version", "withdraw"])
    )
    offered = [a for a in workflow.actions_in(case.state) if a != "withdraw"]
    if spoil == "withdraw":
        action = "withdraw"
    elif spoil == "action" or not offered:
        action = data.draw(st.sampled_from(ACTIONS))
    else:
        action = data.draw(st.sampled_from(offered))
    rows = [r for r in workflow.from_state(case.state) if r.action == action]
    row = data.draw(st.sampled_from(rows)) if rows else None
    if spoil == "actor" or row is None:
        actor = data.draw(st.sampled_from(ACTORS))
    else:
        actor = actor_key(row)
    if spoil == "fields" or row is None:
        fields = _random_fields(data.draw(RANDOM_FIELDS), today)
    else:
        fields = fields_for(row, today)
        if action == "propose_decision":
            fields["outcome"] = data.draw(st.sampled_from(OUTCOMES))
    expected = case.version
    if spoil == "version":
        expected = data.draw(st.sampled_from([case.version - 1, None]))
    return action, getattr(who, actor), fields, expected


def _run(data, world: World, kind: CaseKind) -> None:
    who = users(world)
    workflow = WORKFLOWS[kind]
    case = new_case(world, kind, who=who)
    # Start from any state of the table (reached along its shortest path), then wander.
    start = data.draw(st.sampled_from(workflow.states))
    today = drive(case, plan(workflow, start), who, DAY)
    events = _event_ids(case)
    assert len(events) == 1 + len(plan(workflow, start))  # "created", then one per row
    successes = 0
    for _ in range(data.draw(st.integers(min_value=1, max_value=12))):
        today += timedelta(days=data.draw(st.sampled_from(DAY_STEPS)))
        action, user, fields, expected = _step(data, case, workflow, who, today)
        state, version = case.state, case.version
        offered = allowed_actions(case, user, today)
        try:
            act(case, action, user, today=today, version=expected, **fields)
        except (CaseError, EditConflict) as refusal:
            assert (case.state, case.version) == (state, version)
            assert _event_ids(case) == events, "a refusal left an event"
            if isinstance(refusal, ActionNotAvailable):
                assert action not in workflow.actions_in(state)
            if isinstance(refusal, ActionNotAvailable | ActionForbidden | ActionTooLate):
                assert action not in offered, (action, refusal)
        else:
            successes += 1
            assert case.state in workflow.states
            assert any(
                r.state == state and r.action == action and r.to == case.state
                for r in workflow.transitions
            ), (state, action, case.state)
            assert action in offered, (state, action, user.email)
            # +1 as a rule; +0 when nothing changed (rescheduling to the same time), +2 when
            # issue_card flushes twice (see test_operations' version test).
            assert version <= case.version <= version + 2
            now = _event_ids(case)
            assert now[:-1] == events and len(now) == len(events) + 1, "not exactly one event"
            events = now
            last = db.session.get(CaseEvent, events[-1])
            assert (last.action, last.from_state, last.to_state) == (action, state, case.state)
    assert len(_event_ids(case)) == 1 + len(plan(workflow, start)) + successes


SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.mark.parametrize("kind", list(CaseKind))
@SETTINGS
@given(data=st.data())
def test_random_attempts_keep_the_table_and_the_timeline(
    ops: Flask, world: World, kind: CaseKind, data
) -> None:
    try:
        _run(data, world, kind)
    finally:
        db.session.rollback()  # nothing of the example was committed: the next starts clean


def test_examples_leave_nothing_behind(ops: Flask, world: World) -> None:
    """The rollback between examples is enough: filing, then rolling back, leaves no case."""
    from casework.cases.models import Case

    new_case(world, who=users(world))
    db.session.rollback()
    assert db.session.scalar(select(Case.id)) is None
    assert db.session.scalar(select(CaseEvent.id)) is None
