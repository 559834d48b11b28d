"""Driving case files through their workflow tables in tests (operations called directly).

`plan` finds the shortest path of table rows from a kind's initial state to a state; `drive`
takes them with the right actor, fields and dates, so that every row of every table can be
reached without writing the path out by hand.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from casework.cases import guards
from casework.cases.models import Case, CaseEvent, CaseKind
from casework.cases.operations import file_case, open_renewal, perform
from casework.cases.workflows import State, Transition, Workflow, workflow_for
from casework.extensions import db
from casework.people.models import Person
from casework.policy import CASEWORKER
from tests.factories import World, user_by_key

# A day inside the REG-2026 operation; operations are given it as `today`.
DAY = date(2026, 3, 2)
USER_KEYS = ("caseworker", "caseworker2", "supervisor", "regional", "ngo", "admin", "auditor")
_card_numbers = itertools.count(1)


@contextmanager
def request_context(app: Flask) -> Iterator[None]:
    """Operations translate their messages, which needs a request (the locale selector reads
    the session): run them inside one, in English, on the same app context and session."""
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


def users(world: World) -> SimpleNamespace:
    return SimpleNamespace(**{key: user_by_key(world, key) for key in USER_KEYS})


def person(world: World, key: str = "rabat") -> Person:
    return db.session.get(Person, world.people[key])


def new_card_number() -> str:
    return f"CARD-{next(_card_numbers):06d}"


def event_count(case: Case) -> int:
    return db.session.scalar(select(func.count(CaseEvent.id)).where(CaseEvent.case_id == case.id))


def last_event(case: Case) -> CaseEvent:
    return db.session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id.desc())
    ).first()


def act(case: Case, action: str, user, *, today: date = DAY, version: int | None = -1, **fields):
    """`perform` with the case's current version unless `version` says otherwise."""
    expected = case.version if version == -1 else version
    return perform(case, action, by=user, expected_version=expected, fields=fields, today=today)


# --- Planning a path through a table ------------------------------------------------------------


def plan(workflow: Workflow, target: State | str) -> list[Transition]:
    """The shortest list of rows leading from the initial state to `target`."""
    target = State(target)
    paths: dict[State, list[Transition]] = {workflow.initial: []}
    queue = deque([workflow.initial])
    while queue:
        state = queue.popleft()
        if state == target:
            return paths[state]
        for row in workflow.from_state(state):
            if row.to not in paths:
                paths[row.to] = [*paths[state], row]
                queue.append(row.to)
    raise AssertionError(f"{target} cannot be reached in the {workflow.kind} table")


def actor_key(row: Transition, caseworker: str = "caseworker") -> str:
    """Who takes `row` in the standard world: the file's caseworker when a caseworker may; for
    an appeal, the regional supervisor (the national one decided the first instance)."""
    if CASEWORKER in row.roles:
        return caseworker
    return "regional" if row.action == "decide_appeal" else "supervisor"


def fields_for(row: Transition, today: date, following: list[Transition] = ()) -> dict[str, Any]:
    """Valid input for `row`; a proposal's outcome is the one the next approval needs."""
    if row.action == "propose_decision":
        approval = next((r for r in following if r.action == "approve_decision"), None)
        favourable = approval is None or approval.when == "proposal_favourable"
        return {
            "outcome": "favourable" if favourable else "unfavourable",
            "reasons": ["meets_category_conditions" if favourable else "documents_missing"],
        }
    if row.action == "decide_appeal":
        return {"outcome": "granted" if row.when == "outcome_granted" else "dismissed"}
    if row.action == "request_information":
        return {"due_date": today + timedelta(days=14), "comment": "Send the lease."}
    if row.action == "issue_card":
        return {"card_number": new_card_number()}
    if row.action == "schedule_interview":
        return {
            "interview_on": datetime.combine(today + timedelta(days=7), time(9, 30), tzinfo=UTC),
            "interpreter_language": "ar",
        }
    if "comment" in row.requires:
        return {"comment": f"{row.action} for the test"}
    return {}


def day_for(row: Transition, case: Case, today: date) -> date:
    """A day on which `row`'s date condition holds (closing a rejected file: after the window)."""
    if row.when == "appeal_window_over":
        return max(today, guards.appeal_deadline(case) + timedelta(days=1))
    return today


def drive(
    case: Case,
    path: list[Transition],
    who: SimpleNamespace,
    today: date = DAY,
    then: list[Transition] = (),
    caseworker: str = "caseworker",
) -> date:
    """Take every row of `path` in turn (`then`: the rows that will follow, which a proposal's
    outcome must suit); returns the day the last one was taken."""
    for index, row in enumerate(path):
        today = day_for(row, case, today)
        fields = fields_for(row, today, [*path[index + 1 :], *then])
        act(case, row.action, getattr(who, actor_key(row, caseworker)), today=today, **fields)
        assert case.state == row.to, (row, case.state)
    return today


# --- Filing -------------------------------------------------------------------------------------


def new_case(
    world: World,
    kind: CaseKind | str = CaseKind.REGULARISATION,
    *,
    applicant: str = "rabat",
    by: str = "caseworker",
    filed_on: date = DAY,
    category: str = "residence_5_years",
    who: SimpleNamespace | None = None,
) -> Case:
    """A fresh file of `kind` in its initial state. A renewal renews a regularisation card."""
    kind = CaseKind(kind)
    who = who or users(world)
    if kind == CaseKind.RENEWAL:
        card = new_case(world, applicant=applicant, by=by, filed_on=filed_on, who=who)
        drive(card, plan(workflow_for(card.kind), State.CARD_ISSUED), who, filed_on, caseworker=by)
        return open_renewal(card, by=getattr(who, by))
    return file_case(
        kind=kind,
        applicant=person(world, applicant),
        by=getattr(who, by),
        category=category if kind == CaseKind.REGULARISATION else None,
        filed_on=filed_on,
    )


def case_in(world: World, kind: CaseKind | str, state: State | str, **options) -> Case:
    """A file of `kind` brought to `state` along the shortest path of its table."""
    who = options.pop("who", None) or users(world)
    case = new_case(world, kind, who=who, **options)
    caseworker = options.get("by", "caseworker")
    day = options.get("filed_on", DAY)
    drive(case, plan(workflow_for(case.kind), state), who, day, caseworker=caseworker)
    return case
