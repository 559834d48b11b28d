"""The case operations called directly: guards, roles, four eyes, scope, input, versions,
operation rules, references and renewals (issue #3)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from casework.admin.models import Organisation
from casework.audit.models import AuditEntry
from casework.cases.errors import (
    ActionForbidden,
    ActionNotAvailable,
    ActionTooLate,
    CaseError,
    InvalidInput,
)
from casework.cases.models import Case, CaseKind, CaseMember, EventKind
from casework.cases.operations import (
    add_note,
    allowed_actions,
    assign,
    card_validity_days,
    file_case,
    open_renewal,
    rule_warnings,
)
from casework.cases.workflows import State, workflow_for
from casework.conflicts import EditConflict
from casework.extensions import db
from casework.reference.models import Operation
from tests.cases.helpers import (
    DAY,
    act,
    case_in,
    drive,
    event_count,
    last_event,
    new_card_number,
    new_case,
    person,
    plan,
    request_context,
    users,
)
from tests.factories import World, make_person


@pytest.fixture
def ops(ctx: Flask) -> Iterator[Flask]:
    with request_context(ctx):
        yield ctx


@pytest.fixture
def who(ops: Flask, world: World):
    return users(world)


def refused(case: Case, error: type[CaseError] | type[EditConflict], action: str, user, **kw):
    """Take `action`, expect `error`, and check that nothing changed on the file."""
    state, version, events = case.state, case.version, event_count(case)
    with pytest.raises(error) as caught:
        act(case, action, user, **kw)
    assert (case.state, case.version, event_count(case)) == (state, version, events)
    return caught.value


# --- Dates: the appeal window and closing a rejected file ---------------------------------------


@pytest.mark.parametrize("kind", [CaseKind.REGULARISATION, CaseKind.ASYLUM])
def test_an_appeal_on_the_30th_day_after_notification_is_lodged(
    world: World, who, kind: CaseKind
) -> None:
    case = case_in(world, kind, State.REJECTED, who=who)
    assert case.notified_on == DAY
    assert case.deadline_kind == "appeal_window"
    assert case.deadline_on == DAY + timedelta(days=30)
    day_30 = DAY + timedelta(days=30)
    assert "lodge_appeal" in allowed_actions(case, who.caseworker, day_30)
    act(case, "lodge_appeal", who.caseworker, today=day_30)
    assert case.state == "appeal_lodged"
    assert case.appeal_lodged_on == day_30
    assert case.deadline_kind is None and case.deadline_on is None


@pytest.mark.parametrize("kind", [CaseKind.REGULARISATION, CaseKind.ASYLUM])
def test_an_appeal_on_the_31st_day_is_too_late(world: World, who, kind: CaseKind) -> None:
    case = case_in(world, kind, State.REJECTED, who=who)
    day_31 = DAY + timedelta(days=31)
    assert "lodge_appeal" not in allowed_actions(case, who.caseworker, day_31)
    error = refused(case, ActionTooLate, "lodge_appeal", who.caseworker, today=day_31)
    assert (DAY + timedelta(days=30)).isoformat() in error.message


def test_the_window_runs_from_the_notification_date_recorded_at_approval(world: World, who):
    case = case_in(world, "regularisation", State.DECISION_PROPOSED, who=who)
    # The shortest path proposes favourably: send it back and propose a rejection.
    act(case, "return_proposal", who.supervisor, comment="Reconsider the proof of stay.")
    act(case, "propose_decision", who.caseworker, outcome="unfavourable",
        reasons=["insufficient_proof_of_stay"])  # fmt: skip
    notified = DAY - timedelta(days=5)
    act(case, "approve_decision", who.supervisor, notified_on=notified)
    assert (case.state, case.notified_on, case.decided_on) == ("rejected", notified, DAY)
    assert case.deadline_on == notified + timedelta(days=30)
    refused(case, ActionTooLate, "lodge_appeal", who.caseworker, today=DAY + timedelta(days=26))
    act(case, "lodge_appeal", who.caseworker, today=DAY + timedelta(days=25))


def test_a_notification_date_in_the_future_is_refused(world: World, who) -> None:
    case = case_in(world, "regularisation", State.DECISION_PROPOSED, who=who)
    error = refused(case, InvalidInput, "approve_decision", who.supervisor,
                    notified_on=DAY + timedelta(days=1))  # fmt: skip
    assert set(error.errors) == {"notified_on"}


@pytest.mark.parametrize("kind", [CaseKind.REGULARISATION, CaseKind.ASYLUM])
def test_a_rejected_file_closes_only_after_the_appeal_window(
    world: World, who, kind: CaseKind
) -> None:
    case = case_in(world, kind, State.REJECTED, who=who)
    for days in (0, 30):
        today = DAY + timedelta(days=days)
        assert "close" not in allowed_actions(case, who.caseworker, today)
        error = refused(case, ActionTooLate, "close", who.caseworker, today=today)
        assert (DAY + timedelta(days=30)).isoformat() in error.message
    day_31 = DAY + timedelta(days=31)
    assert allowed_actions(case, who.caseworker, day_31) == ["close"]
    act(case, "close", who.supervisor, today=day_31)
    assert (case.state, case.closed_on) == ("closed", day_31)


def test_a_rejected_renewal_closes_at_once_there_is_no_appeal(world: World, who) -> None:
    case = case_in(world, "renewal", State.REJECTED, who=who)
    assert case.deadline_kind is None
    assert "lodge_appeal" not in workflow_for(case.kind).actions_in(case.state)
    act(case, "close", who.caseworker, today=DAY)
    assert case.state == "closed"


# --- Roles, four eyes and scope -----------------------------------------------------------------


def test_a_caseworker_cannot_approve_a_decision(world: World, who) -> None:
    case = case_in(world, "regularisation", State.DECISION_PROPOSED, who=who)
    assert "approve_decision" not in allowed_actions(case, who.caseworker, DAY)
    error = refused(case, ActionForbidden, "approve_decision", who.caseworker)
    assert error.reason == "role"


@pytest.mark.parametrize("kind", [CaseKind.REGULARISATION, CaseKind.ASYLUM])
def test_a_supervisor_cannot_propose_a_decision(world: World, who, kind: CaseKind) -> None:
    state = State.UNDER_REVIEW if kind == CaseKind.REGULARISATION else State.INTERVIEWED
    case = case_in(world, kind, state, who=who)
    for supervisor in (who.supervisor, who.regional):
        assert "propose_decision" not in allowed_actions(case, supervisor, DAY)
        error = refused(case, ActionForbidden, "propose_decision", supervisor,
                        outcome="favourable", reasons=["humanitarian_grounds"])  # fmt: skip
        assert error.reason == "role"


@pytest.mark.parametrize("key", ["ngo", "admin", "auditor"])
def test_roles_outside_the_casework_cannot_act_at_all(world: World, who, key: str) -> None:
    case = new_case(world, who=who)
    assert allowed_actions(case, getattr(who, key), DAY) == []
    error = refused(case, ActionForbidden, "start_review", getattr(who, key))
    assert error.reason == "role"


def test_only_a_supervisor_reopens_a_closed_asylum_file(world: World, who) -> None:
    case = case_in(world, "asylum", State.CLOSED, who=who)
    error = refused(case, ActionForbidden, "reopen", who.caseworker, comment="New facts.")
    assert error.reason == "role"
    act(case, "reopen", who.regional, comment="New facts.")
    assert (case.state, case.closed_on, case.proposed_outcome) == ("registered", None, None)


def test_the_first_instance_decider_cannot_decide_the_appeal(world: World, who) -> None:
    case = case_in(world, "regularisation", State.APPEAL_LODGED, who=who)
    assert case.decided_by_id == who.supervisor.id
    assert "decide_appeal" not in allowed_actions(case, who.supervisor, DAY)
    error = refused(case, ActionForbidden, "decide_appeal", who.supervisor, outcome="granted")
    assert error.reason == "four_eyes"
    assert "decide_appeal" in allowed_actions(case, who.regional, DAY)
    act(case, "decide_appeal", who.regional, outcome="dismissed")
    assert (case.state, case.appeal_outcome) == ("appeal_dismissed", "dismissed")
    assert case.appeal_decided_by_id == who.regional.id


def test_whoever_proposed_cannot_approve(world: World, who) -> None:
    case = case_in(world, "regularisation", State.DECISION_PROPOSED, who=who)
    case.proposed_by_id = who.supervisor.id  # e.g. a supervisor promoted since proposing
    db.session.flush()
    error = refused(case, ActionForbidden, "approve_decision", who.supervisor)
    assert error.reason == "four_eyes"
    act(case, "approve_decision", who.regional)
    assert case.state == "accepted"


def test_a_caseworker_of_another_office_is_out_of_scope(world: World, who) -> None:
    case = new_case(world, who=who)  # Rabat
    assert allowed_actions(case, who.caseworker2, DAY) == []
    error = refused(case, ActionForbidden, "start_review", who.caseworker2)
    assert error.reason == "scope"
    with pytest.raises(ActionForbidden) as caught:
        assign(case, None, by=who.caseworker2, expected_version=case.version)
    assert caught.value.reason == "scope"


def test_a_regional_supervisor_is_out_of_scope_in_another_region(world: World, who) -> None:
    case = case_in(world, "regularisation", State.DECISION_PROPOSED, applicant="tanger",
                   by="caseworker2", who=who)  # fmt: skip
    assert case.office_id == world.orgs["TNG"]
    error = refused(case, ActionForbidden, "approve_decision", who.regional)
    assert error.reason == "scope"
    act(case, "approve_decision", who.supervisor)  # national
    assert case.state == "accepted"


# --- Input ------------------------------------------------------------------------------------

MISSING = [
    ("regularisation", "under_review", "propose_decision", "caseworker", {"outcome", "reasons"}),
    ("regularisation", "under_review", "request_information", "caseworker",
     {"due_date", "comment"}),
    ("regularisation", "accepted", "issue_card", "caseworker", {"card_number"}),
    ("regularisation", "filed", "withdraw", "caseworker", {"comment"}),
    ("regularisation", "decision_proposed", "return_proposal", "supervisor", {"comment"}),
    ("regularisation", "appeal_lodged", "decide_appeal", "regional", {"outcome"}),
    ("asylum", "interviewed", "propose_decision", "caseworker", {"outcome", "reasons"}),
    ("asylum", "certificate_issued", "schedule_interview", "caseworker",
     {"interview_on", "interpreter_language"}),
    ("asylum", "pending_bra", "issue_card", "caseworker", {"card_number"}),
    ("asylum", "decision_proposed", "return_proposal", "supervisor", {"comment"}),
    ("asylum", "closed", "reopen", "supervisor", {"comment"}),
    ("asylum", "appeal_lodged", "withdraw", "caseworker", {"comment"}),
    ("renewal", "accepted", "issue_card", "caseworker", {"card_number"}),
    ("renewal", "under_review", "request_information", "caseworker", {"due_date", "comment"}),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "state", "action", "actor", "expected"), MISSING)
@pytest.mark.parametrize("empty", [None, ""])
def test_missing_required_fields_are_each_named(
    world: World, who, kind, state, action, actor, expected, empty
) -> None:
    case = case_in(world, kind, state, who=who)
    row = next(r for r in workflow_for(kind).from_state(state) if r.action == action)
    assert set(row.requires) == expected
    fields = dict.fromkeys(expected, empty)
    error = refused(case, InvalidInput, action, getattr(who, actor), **fields)
    assert set(error.errors) == expected
    assert all(error.errors[name] and error.errors[name][0] for name in expected)
    if action != "decide_appeal" and empty is None:
        assert all(error.errors[name] == ["This field is required."] for name in expected)


def test_a_blank_comment_is_a_missing_comment(world: World, who) -> None:
    case = new_case(world, who=who)
    error = refused(case, InvalidInput, "withdraw", who.caseworker, comment="   ")
    assert set(error.errors) == {"comment"}


INVALID = [
    ("under_review", "request_information", "caseworker",
     {"due_date": DAY - timedelta(days=1), "comment": "x"}, {"due_date"}),
    ("under_review", "propose_decision", "caseworker",
     {"outcome": "granted", "reasons": ["humanitarian_grounds"]}, {"outcome"}),
    ("under_review", "propose_decision", "caseworker",
     {"outcome": "favourable", "reasons": ["because"]}, {"reasons"}),
    ("filed", "withdraw", "caseworker", {"comment": "x" * 4001}, {"comment"}),
    ("accepted", "issue_card", "caseworker", {"card_number": "C1"}, {"card_number"}),
    ("accepted", "issue_card", "caseworker", {"card_number": "CARD 0001"}, {"card_number"}),
    ("accepted", "issue_card", "caseworker", {"card_number": "C" * 41}, {"card_number"}),
    ("appeal_lodged", "decide_appeal", "regional", {"outcome": "favourable"}, {"outcome"}),
]  # fmt: skip


@pytest.mark.parametrize(("state", "action", "actor", "fields", "expected"), INVALID)
def test_invalid_fields_are_named(world: World, who, state, action, actor, fields, expected):
    case = case_in(world, "regularisation", state, who=who)
    error = refused(case, InvalidInput, action, getattr(who, actor), **fields)
    assert set(error.errors) == expected


def test_an_interview_needs_a_date_and_time(world: World, who) -> None:
    case = case_in(world, "asylum", State.CERTIFICATE_ISSUED, who=who)
    error = refused(case, InvalidInput, "schedule_interview", who.caseworker,
                    interview_on="next Tuesday", interpreter_language="ar")  # fmt: skip
    assert set(error.errors) == {"interview_on"}
    when = datetime(2026, 3, 9, 10, 0, tzinfo=UTC)
    act(case, "schedule_interview", who.caseworker, interview_on=when, interpreter_language="ff")
    act(case, "schedule_interview", who.caseworker, interview_on=when + timedelta(days=2),
        interpreter_language=" wo ")  # rescheduling stays in the same state  # fmt: skip
    assert case.state == "interview_scheduled"
    assert case.interview_on.replace(tzinfo=case.interview_on.tzinfo or UTC) == when + timedelta(
        days=2
    )
    assert case.interpreter_language == "wo"


def test_a_too_long_interpreter_language_is_invalid_input(world: World, who) -> None:
    case = case_in(world, "asylum", State.CERTIFICATE_ISSUED, who=who)
    with pytest.raises(InvalidInput) as caught:
        act(case, "schedule_interview", who.caseworker, interpreter_language="bambara-fr",
            interview_on=datetime(2026, 3, 9, 10, 0, tzinfo=UTC))  # fmt: skip
    assert set(caught.value.errors) == {"interpreter_language"}


def test_a_due_date_that_is_not_a_date_is_invalid_input(world: World, who) -> None:
    case = case_in(world, "regularisation", State.UNDER_REVIEW, who=who)
    error = refused(case, InvalidInput, "request_information", who.caseworker,
                    due_date="2026-04-01", comment="Send the lease.")  # fmt: skip
    assert set(error.errors) == {"due_date"}


def test_a_card_number_already_used_is_refused(world: World, who) -> None:
    first = case_in(world, "regularisation", State.ACCEPTED, who=who)
    act(first, "issue_card", who.caseworker, card_number=" ci-2026-0042 ")
    assert first.card_number == "CI-2026-0042"  # normalised
    second = case_in(world, "regularisation", State.ACCEPTED, applicant="rabat_child", who=who)
    error = refused(second, InvalidInput, "issue_card", who.caseworker, card_number="CI-2026-0042")
    assert set(error.errors) == {"card_number"}
    refused(second, InvalidInput, "issue_card", who.caseworker, card_number="ci-2026-0042")
    act(second, "issue_card", who.caseworker, card_number="CI-2026-0043")
    assert second.state == "card_issued"


def test_an_action_not_in_the_state_is_not_available(world: World, who) -> None:
    case = new_case(world, who=who)
    error = refused(case, ActionNotAvailable, "issue_card", who.caseworker, card_number="C-0001")
    assert (error.action, error.state, error.allowed) == (
        "issue_card",
        "filed",
        ["start_review", "withdraw"],
    )
    error = refused(case, ActionNotAvailable, "refer_to_bra", who.caseworker)  # asylum only
    assert error.state == "filed"
    refused(case, ActionNotAvailable, "no_such_action", who.supervisor)


def test_allowed_actions_follow_the_table_role_and_scope(world: World, who) -> None:
    case = case_in(world, "regularisation", State.DECISION_PROPOSED, who=who)
    assert allowed_actions(case, who.caseworker, DAY) == ["withdraw"]
    assert allowed_actions(case, who.supervisor, DAY) == ["approve_decision", "return_proposal"]
    assert allowed_actions(case, who.regional, DAY) == ["approve_decision", "return_proposal"]
    assert allowed_actions(case, who.caseworker2, DAY) == []


# --- The version: optimistic locking ------------------------------------------------------------


def test_a_stale_expected_version_is_an_edit_conflict(world: World, who) -> None:
    case = new_case(world, who=who)
    read = case.version
    act(case, "start_review", who.caseworker, version=read)
    assert case.version == read + 1
    error = refused(case, EditConflict, "withdraw", who.caseworker, version=read,
                    comment="The applicant left.")  # fmt: skip
    assert (error.expected, error.current) == (read, read + 1)
    with pytest.raises(EditConflict):
        assign(case, None, by=who.caseworker, expected_version=read)
    with pytest.raises(EditConflict):  # checked before anything else
        act(case, "no_such_action", who.ngo, version=read)
    act(case, "withdraw", who.caseworker, version=None, comment="The applicant left.")
    assert case.state == "withdrawn"


def test_two_sessions_editing_the_same_case_the_second_flush_is_stale(
    ops: Flask, world: World, who
) -> None:
    case = new_case(world, who=who)
    db.session.commit()
    with Session(db.engine) as first, Session(db.engine) as second:
        mine, theirs = first.get(Case, case.id), second.get(Case, case.id)
        assert mine.version == theirs.version
        mine.state = "under_review"
        first.commit()
        theirs.state = "withdrawn"
        with pytest.raises(StaleDataError):
            second.flush()
        second.rollback()
    db.session.expire_all()
    assert db.session.get(Case, case.id).state == "under_review"


def test_perform_on_a_case_changed_since_it_was_read_fails_at_flush(
    ops: Flask, world: World, who
) -> None:
    case = new_case(world, who=who)
    db.session.commit()
    read = case.version
    assert case.state == "filed"  # loaded in this request's session
    with Session(db.engine) as other:
        other.get(Case, case.id).assigned_to_id = None
        other.commit()
    # The version check passes on the stale copy; the versioned UPDATE catches the race.
    with pytest.raises(StaleDataError):
        act(case, "start_review", who.caseworker, version=read)
    db.session.rollback()
    assert db.session.get(Case, case.id).state == "filed"


def test_issuing_a_card_moves_the_version_by_one(ops: Flask, world: World, who) -> None:
    case_id = case_in(world, "regularisation", State.ACCEPTED, who=who).id
    db.session.commit()
    db.session.expunge_all()  # as in a new request: nothing loaded yet
    case, caseworker = db.session.get(Case, case_id), users(world).caseworker
    before = case.version
    act(case, "issue_card", caseworker, card_number=new_card_number())
    assert case.version == before + 1


# --- Timeline and audit -------------------------------------------------------------------------


def test_each_action_leaves_one_event_and_one_audit_entry(world: World, who) -> None:
    case = new_case(world, who=who)
    created = last_event(case)
    assert (created.kind, created.to_state) == ("created", "filed")
    assert created.user_id == who.caseworker.id
    act(case, "start_review", who.caseworker)
    due = DAY + timedelta(days=10)
    act(case, "request_information", who.caseworker, due_date=due, comment="Send the lease.")
    event = last_event(case)
    assert (event.action, event.from_state, event.to_state) == (
        "request_information",
        "under_review",
        "information_requested",
    )
    assert event.comment == "Send the lease."
    assert event.data == {"due_date": due.isoformat()}
    assert (case.information_due_on, case.deadline_on, case.deadline_kind) == (
        due,
        due,
        "information",
    )
    act(case, "provide_information", who.caseworker, today=DAY + timedelta(days=3))
    assert (case.information_due_on, case.deadline_on, case.deadline_kind) == (None, None, None)
    assert event_count(case) == 4
    audit = db.session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.record_type == "cases", AuditEntry.record_id == case.id)
        .order_by(AuditEntry.id)
    ).all()
    assert audit == [
        "case.create",
        "case.start_review",
        "case.request_information",
        "case.provide_information",
    ]


def test_assignment_goes_to_a_caseworker_of_the_office(world: World, who) -> None:
    case = new_case(world, who=who)
    assert case.assigned_to_id == who.caseworker.id  # the filer
    assign(case, None, by=who.regional, expected_version=case.version)
    assert case.assigned_to_id is None
    event = last_event(case)
    assert (event.kind, event.data) == ("assignment", {"from": who.caseworker.id, "to": None})
    for wrong in (who.caseworker2, who.supervisor):
        with pytest.raises(InvalidInput) as caught:
            assign(case, wrong, by=who.supervisor, expected_version=case.version)
        assert set(caught.value.errors) == {"assignee"}
    assign(case, who.caseworker, by=who.caseworker, expected_version=case.version)
    assert case.assigned_to_id == who.caseworker.id


def test_notes_need_text(world: World, who) -> None:
    case = new_case(world, who=who)
    for blank in ("", "   ", None):
        with pytest.raises(InvalidInput) as caught:
            add_note(case, blank, by=who.caseworker)
        assert set(caught.value.errors) == {"comment"}
    assert event_count(case) == 1
    note = add_note(case, "  Called the applicant.  ", by=who.supervisor)
    db.session.flush()
    assert (note.kind, note.comment, note.user_id) == (
        EventKind.NOTE.value,
        "Called the applicant.",
        who.supervisor.id,
    )
    assert event_count(case) == 2
    assert case.state == "filed"


# --- Filing and references ----------------------------------------------------------------------


def test_references_are_sequential_per_office_kind_and_year(world: World, who) -> None:
    assert new_case(world, who=who).reference == "REG-2026-RAB-000001"
    assert new_case(world, who=who, applicant="rabat_child").reference == "REG-2026-RAB-000002"
    tanger = new_case(world, who=who, applicant="tanger", by="caseworker2")
    assert tanger.reference == "REG-2026-TNG-000001"
    assert new_case(world, "asylum", who=who).reference == "ASY-2026-RAB-000001"
    assert new_case(world, "asylum", who=who, applicant="tanger",
                    by="caseworker2").reference == "ASY-2026-TNG-000001"  # fmt: skip
    next_year = new_case(world, who=who, filed_on=date(2027, 1, 4))
    assert next_year.reference == "REG-2027-RAB-000001"
    assert new_case(world, who=who).reference == "REG-2026-RAB-000003"
    assert new_case(world, who=who, applicant="tanger", by="caseworker2").reference == (
        "REG-2026-TNG-000002"
    )


def test_filing_at_another_office_numbers_at_that_office(world: World, who) -> None:
    tanger = db.session.get(Organisation, world.orgs["TNG"])
    case = file_case(kind="asylum", applicant=person(world, "tanger"), by=who.caseworker,
                     office=tanger, filed_on=DAY)  # fmt: skip
    assert case.reference == "ASY-2026-TNG-000001"
    assert case.office_id == tanger.id


def test_filing_sets_the_initial_state_and_members(world: World, who) -> None:
    applicant, child = person(world, "rabat"), person(world, "rabat_child")
    case = file_case(
        kind="regularisation", applicant=applicant, by=who.caseworker,
        category="child_of_eligible", members=[child, applicant], filed_on=DAY,
    )  # fmt: skip
    assert (case.state, case.operation_code, case.office_id) == (
        "filed",
        "REG-2026",
        world.orgs["RAB"],
    )
    assert [m.person_id for m in case.members] == [child.id]  # never the applicant twice
    asylum = file_case(kind="asylum", applicant=applicant, by=who.caseworker, filed_on=DAY)
    assert (asylum.state, asylum.operation_code, asylum.category_code) == (
        "registered",
        "ASYLUM",
        None,
    )


FILING_ERRORS = [
    ({"kind": "regularisation"}, {"category"}),
    ({"kind": "regularisation", "category": "lottery_winner"}, {"category"}),
    ({"kind": "asylum", "category": "residence_5_years"}, {"category"}),
    ({"kind": "regularisation", "category": "work_contract", "filed_on": date(2015, 6, 1)},
     {"operation"}),
    ({"kind": "renewal"}, {"renewal_of"}),
]  # fmt: skip


@pytest.mark.parametrize(("values", "expected"), FILING_ERRORS)
def test_filing_errors_are_named(world: World, who, values: dict, expected: set) -> None:
    values = {"filed_on": DAY, **values}
    with pytest.raises(InvalidInput) as caught:
        file_case(applicant=person(world), by=who.caseworker, **values)
    assert set(caught.value.errors) == expected


def test_an_operation_of_the_other_kind_is_refused(world: World, who) -> None:
    asylum = db.session.get(Operation, "ASYLUM")
    with pytest.raises(InvalidInput) as caught:
        file_case(kind="regularisation", applicant=person(world), by=who.caseworker,
                  category="work_contract", operation=asylum, filed_on=DAY)  # fmt: skip
    assert caught.value.errors["operation"] == ["This operation is not for this kind of file."]


# --- Operation rules: warnings, never blocks ----------------------------------------------------


def _applicant(who, **values):
    return make_person(who.caseworker, **values)


WARNINGS = [
    ({"sex": "F", "date_of_birth": date(1985, 1, 1)}, ["women_accepted"]),
    ({"sex": "M", "date_of_birth": date(2014, 6, 1)}, ["children_accepted"]),
    ({"sex": "F", "date_of_birth": date(2014, 6, 1)}, ["women_accepted", "children_accepted"]),
    ({"sex": "M", "date_of_birth": date(2008, 3, 3)}, ["children_accepted"]),  # 17 on DAY
    ({"sex": "M", "date_of_birth": date(2008, 3, 2)}, []),  # 18 on DAY
    ({"sex": "M", "date_of_birth": date(1985, 1, 1)}, []),
]


@pytest.mark.parametrize(("values", "expected"), WARNINGS)
def test_an_unfavourable_proposal_warns_of_the_rules_it_contradicts(
    world: World, who, values: dict, expected: list[str]
) -> None:
    applicant = _applicant(who, **values)
    case = file_case(kind="regularisation", applicant=applicant, by=who.caseworker,
                     category="residence_5_years", filed_on=DAY)  # fmt: skip
    assert case.operation_code == "REG-2026"
    assert [rule["code"] for rule in rule_warnings(case, "unfavourable", DAY)] == expected
    assert rule_warnings(case, "favourable", DAY) == []
    assert rule_warnings(case, None, DAY) == []  # nothing proposed yet
    act(case, "start_review", who.caseworker)
    act(case, "propose_decision", who.caseworker, outcome="unfavourable",
        reasons=["documents_missing"])  # fmt: skip
    assert [rule["code"] for rule in rule_warnings(case, today=DAY)] == expected
    # A warning, not a block: the supervisor may still reject.
    act(case, "approve_decision", who.supervisor)
    assert case.state == "rejected"


def test_a_favourable_proposal_for_a_woman_does_not_warn(world: World, who) -> None:
    applicant = _applicant(who, sex="F", date_of_birth=date(1990, 2, 2))
    case = file_case(kind="regularisation", applicant=applicant, by=who.caseworker,
                     category="residence_5_years", filed_on=DAY)  # fmt: skip
    act(case, "start_review", who.caseworker)
    act(case, "propose_decision", who.caseworker, outcome="favourable",
        reasons=["meets_category_conditions"])  # fmt: skip
    assert rule_warnings(case, today=DAY) == []


def test_asylum_has_no_acceptance_rules(world: World, who) -> None:
    applicant = _applicant(who, sex="F", date_of_birth=date(2012, 1, 1))
    case = file_case(kind="asylum", applicant=applicant, by=who.caseworker, filed_on=DAY)
    assert rule_warnings(case, "unfavourable", DAY) == []


# --- Cards and renewals -------------------------------------------------------------------------


def test_first_cards_last_a_year(world: World, who) -> None:
    for kind in ("regularisation", "asylum"):
        case = case_in(world, kind, State.CARD_ISSUED, who=who)
        assert card_validity_days(case) == 365
        assert (case.card_issued_on, case.card_expires_on) == (DAY, DAY + timedelta(days=365))


def test_a_renewal_file_renews_the_card_for_three_years(world: World, who) -> None:
    card = case_in(world, "regularisation", State.CARD_ISSUED, who=who)
    child = person(world, "rabat_child")
    card.members.append(CaseMember(person_id=child.id))  # to see members carried over
    db.session.flush()

    renewal = open_renewal(card, by=who.caseworker)

    assert (renewal.kind, renewal.state, renewal.renewal_of_id) == ("renewal", "filed", card.id)
    assert renewal.reference == f"REN-{date.today().year}-RAB-000001"
    assert (renewal.operation_code, renewal.category_code) == (
        card.operation_code,
        card.category_code,
    )
    assert [m.person_id for m in renewal.members] == [child.id]
    assert last_event(card).comment == f"renewal: {renewal.reference}"
    drive(renewal, plan(workflow_for("renewal"), State.ACCEPTED), who, DAY)
    act(renewal, "issue_card", who.caseworker, card_number=new_card_number())
    assert renewal.state == "card_issued"
    assert card_validity_days(renewal) == 1095
    assert renewal.operation.renewal_card_validity_days == 1095
    assert renewal.card_expires_on == DAY + timedelta(days=1095)


def test_a_second_renewal_is_refused_while_one_is_open(world: World, who) -> None:
    card = case_in(world, "regularisation", State.CARD_ISSUED, who=who)
    first = open_renewal(card, by=who.caseworker)
    with pytest.raises(ActionTooLate) as caught:
        open_renewal(card, by=who.caseworker)
    assert first.reference in caught.value.message
    act(first, "withdraw", who.caseworker, comment="Filed twice by mistake.")
    second = open_renewal(card, by=who.caseworker)  # a withdrawn renewal does not count
    assert second.reference != first.reference and second.renewal_of_id == card.id


def test_a_file_without_a_card_cannot_be_renewed(world: World, who) -> None:
    case = case_in(world, "regularisation", State.ACCEPTED, who=who)
    with pytest.raises(ActionNotAvailable):
        open_renewal(case, by=who.caseworker)


def test_a_refugee_card_is_renewed_or_refused_cleanly(world: World, who) -> None:
    card = case_in(world, "asylum", State.CARD_ISSUED, who=who)
    try:
        renewal = open_renewal(card, by=who.caseworker)
    except ActionNotAvailable:
        return
    assert renewal.kind == "renewal" and renewal.renewal_of_id == card.id
