"""The work queues: who sees which file, filters, keyset pagination, and the API's list."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from flask import Flask

from casework.cases.models import Case
from casework.cases.operations import assign, open_renewal
from casework.cases.queries import CaseFilter, Queue, queue_page
from casework.cases.workflows import State
from casework.extensions import db
from tests.cases.helpers import DAY, act, case_in, new_case, request_context, users
from tests.conftest import api_token
from tests.factories import World

PROBLEM = "application/problem+json"


@pytest.fixture
def ops(ctx: Flask) -> Iterator[Flask]:
    with request_context(ctx):
        yield ctx


@pytest.fixture
def who(ops: Flask, world: World):
    return users(world)


def ids(user, queue: Queue, today: date = DAY, criteria: CaseFilter | None = None, **kw):
    """Every id of the queue, following the cursor to the end."""
    found, cursor = [], None
    while True:
        page = queue_page(user, queue, criteria or CaseFilter(), cursor=cursor, today=today, **kw)
        found += [case.id for case in page.items]
        cursor = page.next_cursor
        if cursor is None:
            return found


# --- Each queue ---------------------------------------------------------------------------------


def test_mine_and_unassigned(world: World, who) -> None:
    mine = new_case(world, who=who)
    nobodys = new_case(world, who=who, applicant="rabat_child")
    assign(nobodys, None, by=who.caseworker, expected_version=nobodys.version)
    withdrawn = new_case(world, who=who)
    assign(withdrawn, None, by=who.caseworker, expected_version=withdrawn.version)
    act(withdrawn, "withdraw", who.caseworker, comment="Left.")
    tanger = new_case(world, who=who, applicant="tanger", by="caseworker2")
    assign(tanger, None, by=who.caseworker2, expected_version=tanger.version)

    assert ids(who.caseworker, Queue.MINE) == [mine.id]
    assert ids(who.caseworker, Queue.UNASSIGNED) == [nobodys.id]
    assert ids(who.caseworker2, Queue.UNASSIGNED) == [tanger.id]
    assert ids(who.caseworker2, Queue.MINE) == []
    # A supervisor has no office files of their own to pick up.
    assert ids(who.supervisor, Queue.UNASSIGNED) == []
    assert set(ids(who.caseworker, Queue.ALL)) == {mine.id, nobodys.id, withdrawn.id}


def test_waiting_information_and_overdue(world: World, who) -> None:
    waiting = case_in(world, "regularisation", State.UNDER_REVIEW, who=who)
    due = DAY + timedelta(days=5)
    act(waiting, "request_information", who.caseworker, due_date=due, comment="Lease?")
    answered = case_in(world, "regularisation", State.INFORMATION_REQUESTED, who=who)
    act(answered, "provide_information", who.caseworker)
    # An appeal window that has run out is not "overdue" work.
    rejected = case_in(world, "asylum", State.REJECTED, who=who)
    assert rejected.deadline_kind == "appeal_window"

    for user in (who.caseworker, who.supervisor, who.regional):
        assert ids(user, Queue.WAITING_INFORMATION) == [waiting.id]
        assert ids(user, Queue.OVERDUE, today=due) == []
        assert ids(user, Queue.OVERDUE, today=due + timedelta(days=1)) == [waiting.id]
        assert ids(user, Queue.OVERDUE, today=DAY + timedelta(days=100)) == [waiting.id]
    assert ids(who.caseworker2, Queue.OVERDUE, today=due + timedelta(days=1)) == []
    act(waiting, "provide_information", who.caseworker, today=due + timedelta(days=3))
    assert ids(who.caseworker, Queue.OVERDUE, today=due + timedelta(days=10)) == []
    assert ids(who.caseworker, Queue.WAITING_INFORMATION) == []


def test_a_withdrawn_file_is_never_overdue(world: World, who) -> None:
    case = case_in(world, "regularisation", State.INFORMATION_REQUESTED, who=who)
    act(case, "withdraw", who.caseworker, comment="The applicant left Morocco.")
    assert ids(who.caseworker, Queue.OVERDUE, today=DAY + timedelta(days=60)) == []


def test_awaiting_approval_is_for_others_proposals(world: World, who) -> None:
    proposed = case_in(world, "regularisation", State.DECISION_PROPOSED, who=who)
    appeal = case_in(world, "regularisation", State.REJECTED, who=who, applicant="rabat_child")
    act(appeal, "lodge_appeal", who.caseworker)
    case_in(world, "regularisation", State.UNDER_REVIEW, who=who)
    case_in(world, "asylum", State.RECOGNISED, who=who)

    assert set(ids(who.regional, Queue.AWAITING_APPROVAL)) == {proposed.id, appeal.id}
    # Not the proposer's own proposals.
    assert ids(who.caseworker, Queue.AWAITING_APPROVAL) == []
    proposed.proposed_by_id = who.regional.id
    db.session.flush()
    assert ids(who.regional, Queue.AWAITING_APPROVAL) == [appeal.id]
    assert proposed.id in ids(who.supervisor, Queue.AWAITING_APPROVAL)


def test_awaiting_approval_leaves_out_appeals_against_ones_own_decision(world: World, who):
    case = case_in(world, "regularisation", State.APPEAL_LODGED, who=who)
    assert case.decided_by_id == who.supervisor.id
    assert case.id in ids(who.regional, Queue.AWAITING_APPROVAL)
    assert ids(who.supervisor, Queue.AWAITING_APPROVAL) == []


def test_renewals_due_within_60_days_without_a_renewal(world: World, who) -> None:
    card = case_in(world, "regularisation", State.CARD_ISSUED, who=who)
    later = case_in(world, "regularisation", State.CARD_ISSUED, who=who, applicant="rabat_child",
                    filed_on=DAY + timedelta(days=1))  # fmt: skip
    case_in(world, "regularisation", State.ACCEPTED, who=who)  # no card yet
    assert card.card_expires_on == DAY + timedelta(days=365)
    sixty_before = card.card_expires_on - timedelta(days=60)

    assert ids(who.caseworker, Queue.RENEWALS_DUE, today=sixty_before - timedelta(days=1)) == []
    assert ids(who.caseworker, Queue.RENEWALS_DUE, today=sixty_before) == [card.id]
    next_day = sixty_before + timedelta(days=1)
    assert set(ids(who.caseworker, Queue.RENEWALS_DUE, today=next_day)) == {card.id, later.id}
    assert ids(who.caseworker2, Queue.RENEWALS_DUE, today=next_day) == []

    renewal = open_renewal(card, by=who.caseworker)
    assert ids(who.caseworker, Queue.RENEWALS_DUE, today=next_day) == [later.id]
    assert renewal.id not in ids(who.caseworker, Queue.RENEWALS_DUE, today=next_day)


def test_a_withdrawn_renewal_puts_the_card_back_in_renewals_due(world: World, who) -> None:
    card = case_in(world, "regularisation", State.CARD_ISSUED, who=who)
    renewal = open_renewal(card, by=who.caseworker)
    act(renewal, "withdraw", who.caseworker, comment="Filed by mistake.")
    today = card.card_expires_on - timedelta(days=10)
    assert ids(who.caseworker, Queue.RENEWALS_DUE, today=today) == [card.id]


# --- Filters and pages --------------------------------------------------------------------------


def test_filters(world: World, who) -> None:
    early = new_case(world, who=who, category="work_contract", filed_on=date(2026, 2, 1))
    review = case_in(world, "regularisation", State.UNDER_REVIEW, who=who)
    asylum = new_case(world, "asylum", who=who, applicant="rabat_child")
    nigerian = new_case(world, who=who, applicant="tanger", by="caseworker2",
                        filed_on=date(2026, 4, 1))  # fmt: skip
    sv = who.supervisor

    def listed(**criteria):
        return set(ids(sv, Queue.ALL, criteria=CaseFilter(**criteria)))

    assert listed() == {early.id, review.id, asylum.id, nigerian.id}
    assert listed(kind="asylum") == {asylum.id}
    assert listed(kind="regularisation", state="filed") == {early.id, nigerian.id}
    assert listed(state="under_review") == {review.id}
    assert listed(category="work_contract") == {early.id}
    assert listed(nationality="ng") == {nigerian.id}
    assert listed(nationality="SN") == {early.id, review.id, asylum.id}
    assert listed(filed_from=DAY) == {review.id, asylum.id, nigerian.id}
    assert listed(filed_to=DAY - timedelta(days=1)) == {early.id}
    assert listed(filed_from=DAY, filed_to=DAY) == {review.id, asylum.id}
    assert listed(kind="renewal") == set()
    assert ids(who.caseworker, Queue.ALL, criteria=CaseFilter(nationality="NG")) == []


def _many(world: World, who, count: int = 13) -> list[Case]:
    """Files on a few days, several per day (the id breaks ties), with information deadlines."""
    cases = []
    for n in range(count):
        case = new_case(world, who=who, applicant=("rabat", "rabat_child")[n % 2],
                        filed_on=DAY + timedelta(days=n // 3))  # fmt: skip
        if n % 2 == 0:
            act(case, "start_review", who.caseworker)
            act(case, "request_information", who.caseworker, comment="Lease?",
                due_date=DAY + timedelta(days=20 - n // 4))  # fmt: skip
        cases.append(case)
    return cases


@pytest.mark.parametrize("limit", [1, 4, 5, 13, 50])
def test_keyset_pages_cover_the_queue_once_in_order(world: World, who, limit: int) -> None:
    cases = _many(world, who)
    newest = sorted(cases, key=lambda c: (c.filed_on, c.id), reverse=True)
    oldest = list(reversed(newest))
    by_deadline = sorted((c for c in cases if c.deadline_on), key=lambda c: (c.deadline_on, c.id))
    for sort, expected in (("newest", newest), ("oldest", oldest), ("deadline", by_deadline)):
        pages, cursor = [], None
        while True:
            page = queue_page(who.caseworker, Queue.ALL, CaseFilter(), sort=sort, cursor=cursor,
                              limit=limit, today=DAY)  # fmt: skip
            assert len(page.items) <= limit
            pages.append([c.id for c in page.items])
            cursor = page.next_cursor
            if cursor is None:
                break
        flat = [i for page in pages for i in page]
        assert flat == [c.id for c in expected], sort
        assert len(flat) == len(set(flat))
        assert all(pages), "no empty page"


# --- Scope ------------------------------------------------------------------------------------


def test_a_regional_supervisor_never_sees_another_regions_files(world: World, who) -> None:
    for by, applicant in (("caseworker", "rabat"), ("caseworker2", "tanger")):
        for state in (State.FILED, State.INFORMATION_REQUESTED, State.DECISION_PROPOSED,
                      State.APPEAL_LODGED, State.CARD_ISSUED):  # fmt: skip
            case_in(world, "regularisation", state, who=who, by=by, applicant=applicant)
    rabat, tanger = world.orgs["RAB"], world.orgs["TNG"]
    late = DAY + timedelta(days=340)
    for queue in Queue:
        for today in (DAY, late):
            seen = queue_page(who.regional, queue, CaseFilter(), limit=200, today=today).items
            assert {c.office_id for c in seen} <= {rabat}, queue
            everyone = queue_page(who.supervisor, queue, CaseFilter(), limit=200, today=today)
            offices = {c.office_id for c in everyone.items}
            assert offices <= {rabat, tanger}
            mine = {c.id for c in seen}
            rabat_for_national = {c.id for c in everyone.items if c.office_id == rabat}
            if queue == Queue.AWAITING_APPROVAL:
                # Four eyes differ per person: the national supervisor decided these files, so
                # the appeals against their decisions wait for someone else.
                assert rabat_for_national <= mine, queue
            else:
                assert mine == rabat_for_national, queue
    assert len(ids(who.supervisor, Queue.ALL)) == 10
    assert len(ids(who.regional, Queue.ALL)) == 5


# --- Through the API ----------------------------------------------------------------------------


def _seed(app: Flask, world: World, build) -> list[int]:
    with request_context(app):
        who = users(world)
        cases = build(who)
        db.session.commit()
        return [c.id for c in cases]


def test_the_api_pages_with_a_cursor_without_duplicates(app: Flask, world: World) -> None:
    made = _seed(app, world, lambda who: _many(world, who, 12))
    client = app.test_client()
    headers = api_token(client, world.users["regional"])
    seen, cursor, pages = [], None, 0
    while True:
        query = {"limit": 5, "sort": "oldest", **({"cursor": cursor} if cursor else {})}
        response = client.get("/api/v1/cases", query_string=query, headers=headers)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        seen += [item["id"] for item in body["items"]]
        pages += 1
        cursor = body["next"]
        if cursor is None:
            break
    assert pages == 3
    assert sorted(seen) == sorted(made) and len(seen) == len(set(seen))
    items = client.get("/api/v1/cases", query_string={"limit": 200, "sort": "oldest"},
                       headers=headers).get_json()["items"]  # fmt: skip
    assert [i["id"] for i in items] == seen
    assert [i["filed_on"] for i in items] == sorted(i["filed_on"] for i in items)


def test_the_api_queue_and_filters(app: Flask, world: World) -> None:
    def build(who):
        waiting = case_in(world, "regularisation", State.INFORMATION_REQUESTED, who=who)
        asylum = new_case(world, "asylum", who=who)
        tanger = new_case(world, who=who, applicant="tanger", by="caseworker2")
        return [waiting, asylum, tanger]

    waiting, asylum, tanger = _seed(app, world, build)
    client = app.test_client()
    cw = api_token(client, world.users["caseworker"])

    def listed(headers, **query):
        response = client.get("/api/v1/cases", query_string=query, headers=headers)
        assert response.status_code == 200, response.get_json()
        return {item["id"] for item in response.get_json()["items"]}

    assert listed(cw) == {waiting, asylum}
    assert listed(cw, queue="waiting_information") == {waiting}
    assert listed(cw, queue="mine", kind="asylum") == {asylum}
    regional = api_token(client, world.users["regional"])
    assert listed(regional) == {waiting, asylum}
    assert listed(regional, nationality="NG") == set()
    national = api_token(client, world.users["supervisor"])
    assert listed(national, nationality="NG") == {tanger}


def test_the_api_refuses_bad_list_arguments(app: Flask, world: World) -> None:
    client = app.test_client()
    headers = api_token(client, world.users["caseworker"])
    for query, field in (
        ({"filed_from": "2026-05-01", "filed_to": "2026-04-01"}, "filed_from"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "WzFd"}, "cursor"),  # a valid cursor of the wrong shape: [1]
        ({"queue": "everything"}, "queue"),
    ):
        response = client.get("/api/v1/cases", query_string=query, headers=headers)
        assert response.status_code in {400, 422}, (query, response.status_code)
        assert response.mimetype == PROBLEM
        assert field in response.get_json()["errors"], query


@pytest.mark.parametrize("role", ["ngo", "admin", "auditor"])
def test_the_case_list_is_closed_to_other_roles(app: Flask, world: World, role: str) -> None:
    client = app.test_client()
    response = client.get("/api/v1/cases", headers=api_token(client, world.users[role]))
    assert response.status_code == 403
    assert response.mimetype == PROBLEM
    assert response.get_json()["status"] == 403
