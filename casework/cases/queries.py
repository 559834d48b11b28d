"""The work queues and case lists, always inside the caller's scope (casework.policy)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import joinedload

from casework.auth.models import User
from casework.cases.models import Case
from casework.extensions import db
from casework.pagination import Page, page_by_keys
from casework.people.models import Person
from casework.policy import Role, cases_scope

RENEWAL_NOTICE_DAYS = 60


class Queue(StrEnum):
    ALL = "all"
    MINE = "mine"
    UNASSIGNED = "unassigned"
    WAITING_INFORMATION = "waiting_information"
    OVERDUE = "overdue"
    AWAITING_APPROVAL = "awaiting_approval"
    RENEWALS_DUE = "renewals_due"


QUEUE_LABELS = {
    Queue.MINE: _l("My files"),
    Queue.UNASSIGNED: _l("Unassigned in my office"),
    Queue.WAITING_INFORMATION: _l("Waiting for information"),
    Queue.OVERDUE: _l("Overdue"),
    Queue.AWAITING_APPROVAL: _l("Awaiting my approval"),
    Queue.RENEWALS_DUE: _l("Renewals due"),
    Queue.ALL: _l("All files"),
}

# Which queues each role works from, in the order the page shows them.
QUEUES_BY_ROLE = {
    Role.CASEWORKER: [
        Queue.MINE, Queue.UNASSIGNED, Queue.WAITING_INFORMATION, Queue.OVERDUE,
        Queue.RENEWALS_DUE, Queue.ALL,
    ],
    Role.SUPERVISOR: [
        Queue.AWAITING_APPROVAL, Queue.OVERDUE, Queue.WAITING_INFORMATION, Queue.RENEWALS_DUE,
        Queue.ALL,
    ],
}  # fmt: skip

SORTS = {
    "newest": ([Case.filed_on, Case.id], True),
    "oldest": ([Case.filed_on, Case.id], False),
    "deadline": ([Case.deadline_on, Case.id], False),
}


@dataclass
class CaseFilter:
    kind: str | None = None
    state: str | None = None
    category: str | None = None
    nationality: str | None = None
    filed_from: date | None = None
    filed_to: date | None = None


def visible_cases(user: User) -> Select:
    return select(Case).where(cases_scope(user))


def queue_query(user: User, queue: Queue, criteria: CaseFilter, today: date) -> Select:
    query = visible_cases(user)
    if queue == Queue.MINE:
        query = query.where(Case.assigned_to_id == user.id)
        if not criteria.state:  # finished files leave "my files" unless asked for
            query = query.where(Case.state.not_in(("closed", "withdrawn")))
    elif queue == Queue.UNASSIGNED:
        query = query.where(
            Case.assigned_to_id.is_(None),
            Case.office_id == user.organisation_id,
            Case.state.not_in(("closed", "withdrawn")),
        )
    elif queue == Queue.WAITING_INFORMATION:
        query = query.where(Case.state == "information_requested")
    elif queue == Queue.OVERDUE:
        query = query.where(
            Case.state == "information_requested",
            Case.deadline_on < today,
            Case.deadline_kind == "information",
        )
    elif queue == Queue.AWAITING_APPROVAL:
        # Four eyes: not one's own proposal, nor an appeal against one's own decision.
        query = query.where(
            or_(
                and_(
                    Case.state == "decision_proposed",
                    or_(Case.proposed_by_id.is_(None), Case.proposed_by_id != user.id),
                ),
                and_(
                    Case.state == "appeal_lodged",
                    or_(Case.decided_by_id.is_(None), Case.decided_by_id != user.id),
                    or_(Case.proposed_by_id.is_(None), Case.proposed_by_id != user.id),
                ),
            )
        )
    elif queue == Queue.RENEWALS_DUE:
        renewal_open = select(Case.renewal_of_id).where(
            Case.renewal_of_id.is_not(None), Case.state != "withdrawn"
        )
        query = query.where(
            Case.card_expires_on <= today + timedelta(days=RENEWAL_NOTICE_DAYS),
            Case.id.not_in(renewal_open),
        )
    return apply_filter(query, criteria)


def apply_filter(query: Select, criteria: CaseFilter) -> Select:
    if criteria.kind:
        query = query.where(Case.kind == criteria.kind)
    if criteria.state:
        query = query.where(Case.state == criteria.state)
    if criteria.category:
        query = query.where(Case.category_code == criteria.category)
    if criteria.nationality:
        query = query.where(
            Case.applicant_id.in_(
                select(Person.id).where(Person.nationality == criteria.nationality.upper())
            )
        )
    if criteria.filed_from:
        query = query.where(Case.filed_on >= criteria.filed_from)
    if criteria.filed_to:
        query = query.where(Case.filed_on <= criteria.filed_to)
    return query


def queue_page(
    user: User,
    queue: Queue,
    criteria: CaseFilter,
    *,
    sort: str = "newest",
    cursor: str | None = None,
    limit: int = 25,
    today: date | None = None,
) -> Page:
    today = today or date.today()
    order, descending = SORTS.get(sort, SORTS["newest"])
    # The page shows each file's applicant, office and assignee: load them with the rows
    # (one query, not one per row; measured in bench/queue.py).
    query = queue_query(user, queue, criteria, today).options(
        joinedload(Case.applicant, innerjoin=True),
        joinedload(Case.office, innerjoin=True),
        joinedload(Case.assigned_to),
    )
    if sort == "deadline":
        query = query.where(Case.deadline_on.is_not(None))

    def key_of(case: Case) -> list:
        first = getattr(case, order[0].key)
        return [first.isoformat() if isinstance(first, date) else first, case.id]

    return page_by_keys(query, order, key_of, cursor, limit, descending)


def is_overdue(case: Case, today: date | None = None) -> bool:
    today = today or date.today()
    return case.deadline_on is not None and case.deadline_on < today


def cases_of_person(user: User, person: Person) -> list[Case]:
    """The files in the caller's scope where `person` is the applicant or a member."""
    from casework.cases.models import CaseMember

    as_member = select(CaseMember.case_id).where(CaseMember.person_id == person.id)
    query = visible_cases(user).where((Case.applicant_id == person.id) | Case.id.in_(as_member))
    return list(db.session.scalars(query.order_by(Case.filed_on.desc(), Case.id.desc())))
