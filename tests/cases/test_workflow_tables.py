"""The workflow tables: well formed, every row reachable, every row leads where it says.

Each row of each table is taken on a fresh file brought to the row's state along the shortest
path of the table itself, by operations called directly (`perform(..., today=...)`).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from casework.cases import guards
from casework.cases.models import CaseKind, EventKind
from casework.cases.workflows import (
    ACTION_LABELS,
    STATE_LABELS,
    WORKFLOWS,
    Transition,
)
from casework.policy import Role
from tests.cases.helpers import (
    DAY,
    drive,
    event_count,
    last_event,
    new_case,
    plan,
    request_context,
    users,
)
from tests.conftest import api_token
from tests.factories import World

# Every field an action may require, as the API's ActionInSchema accepts them.
KNOWN_FIELDS = {
    "comment", "due_date", "outcome", "reasons", "decision_text", "notified_on", "card_number",
    "interview_on", "interpreter_language",
}  # fmt: skip

ROWS = [
    pytest.param(kind, index, row, id=f"{kind.value}:{row.state}-{row.action}-{row.to}")
    for kind, workflow in WORKFLOWS.items()
    for index, row in enumerate(workflow.transitions)
]


@pytest.fixture
def ops(ctx: Flask) -> Iterator[Flask]:
    with request_context(ctx):
        yield ctx


# --- The tables are well formed -----------------------------------------------------------------


@pytest.mark.parametrize("kind", list(CaseKind))
def test_every_state_is_reachable_from_the_initial_state(kind: CaseKind) -> None:
    workflow = WORKFLOWS[kind]
    for state in workflow.states:
        path = plan(workflow, state)
        assert path == [] or path[-1].to == state


@pytest.mark.parametrize("kind", list(CaseKind))
def test_final_states_have_no_way_out_and_other_states_have_one(kind: CaseKind) -> None:
    workflow = WORKFLOWS[kind]
    for state in workflow.states:
        if state in workflow.final_states:
            assert workflow.from_state(state) == [], state
        else:
            assert workflow.from_state(state), f"{state} is a dead end of {kind}"


@pytest.mark.parametrize(("kind", "index", "row"), ROWS)
def test_rows_are_well_formed(kind: CaseKind, index: int, row: Transition) -> None:
    assert row.roles and row.roles <= {Role.CASEWORKER, Role.SUPERVISOR}
    assert set(row.requires) <= KNOWN_FIELDS
    assert row.when is None or row.when in guards.CONDITIONS
    assert row.action in ACTION_LABELS
    assert row.state in STATE_LABELS and row.to in STATE_LABELS
    if row.four_eyes:
        assert row.roles == {Role.SUPERVISOR}


@pytest.mark.parametrize("kind", list(CaseKind))
def test_rows_sharing_a_state_and_action_are_told_apart_by_their_condition(
    kind: CaseKind,
) -> None:
    workflow = WORKFLOWS[kind]
    for state in workflow.states:
        for action in workflow.actions_in(state):
            rows = [r for r in workflow.from_state(state) if r.action == action]
            if len(rows) > 1:
                conditions = [r.when for r in rows]
                assert None not in conditions and len(set(conditions)) == len(rows), rows


@pytest.mark.parametrize("kind", list(CaseKind))
def test_an_open_file_can_be_withdrawn_by_its_caseworker(kind: CaseKind) -> None:
    workflow = WORKFLOWS[kind]
    withdrawable = {r.state for r in workflow.transitions if r.action == "withdraw"}
    assert workflow.initial in withdrawable
    for row in workflow.transitions:
        if row.action == "withdraw":
            assert row.to == "withdrawn" and row.roles == {Role.CASEWORKER}
            assert row.requires == ("comment",)


def test_decisions_need_four_eyes_everywhere() -> None:
    for workflow in WORKFLOWS.values():
        for row in workflow.transitions:
            if row.action in {"approve_decision", "decide_appeal"}:
                assert row.four_eyes, row


# --- Every row, taken ---------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "index", "row"), ROWS)
def test_every_row_is_reachable_and_leads_to_its_state(
    ops: Flask, world: World, kind: CaseKind, index: int, row: Transition
) -> None:
    who = users(world)
    case = new_case(world, kind, who=who)
    workflow = WORKFLOWS[kind]
    assert case.state == workflow.initial
    today = drive(case, plan(workflow, row.state), who, DAY, then=[row])
    assert case.state == row.state
    before = event_count(case)

    drive(case, [row], who, today)

    assert case.state == row.to
    assert event_count(case) == before + 1
    event = last_event(case)
    assert (event.kind, event.action) == (EventKind.TRANSITION.value, row.action)
    assert (event.from_state, event.to_state) == (row.state, row.to)
    if row.starts is not None:
        assert case.deadline_kind == row.starts.value
        assert case.deadline_on is not None
    if row.stops is not None:
        assert case.deadline_kind != row.stops.value


# --- The tables through the API -----------------------------------------------------------------


def test_the_api_serves_the_same_tables(app: Flask, world: World) -> None:
    client = app.test_client()
    response = client.get("/api/v1/workflows", headers=api_token(client, world.users["auditor"]))
    assert response.status_code == 200
    served = {w["kind"]: w for w in response.get_json()}
    assert set(served) == {kind.value for kind in WORKFLOWS}
    for kind, workflow in WORKFLOWS.items():
        body = served[kind.value]
        assert body["initial"] == workflow.initial.value
        assert body["states"] == [s.value for s in workflow.states]
        assert body["transitions"] == [
            {
                "state": t.state.value,
                "action": t.action,
                "to": t.to.value,
                "roles": sorted(r.value for r in t.roles),
                "requires": list(t.requires),
                "when": t.when,
                "starts": t.starts.value if t.starts else None,
                "stops": t.stops.value if t.stops else None,
                "four_eyes": t.four_eyes,
            }
            for t in workflow.transitions
        ]


def test_workflows_are_not_for_partner_ngos(app: Flask, world: World) -> None:
    client = app.test_client()
    response = client.get("/api/v1/workflows", headers=api_token(client, world.users["ngo"]))
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"
