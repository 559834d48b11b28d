"""Filing cases and moving them through their workflow. Operations flush; callers commit.

Every change leaves a timeline event on the case and an entry in the audit trail, here, so
that no page or API endpoint can forget either.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from casework.admin.models import Organisation
from casework.audit.operations import record
from casework.auth.models import User
from casework.cases import guards
from casework.cases.errors import ActionForbidden, ActionNotAvailable, ActionTooLate, InvalidInput
from casework.cases.models import (
    REFERENCE_PREFIX,
    Case,
    CaseEvent,
    CaseKind,
    CaseMember,
    EventKind,
    ReferenceCounter,
    age_band,
)
from casework.cases.workflows import (
    APPEAL_OUTCOMES,
    DECISION_REASONS,
    OUTCOMES,
    Deadline,
    Transition,
    workflow_for,
)
from casework.conflicts import check_version
from casework.db_setup import is_sqlite
from casework.extensions import db
from casework.people.models import Person
from casework.policy import Role, in_scope, role_may
from casework.reference.models import EligibilityCategory, Operation

REQUIRED = str(_l("This field is required."))
FINAL_OR_CLOSED = {"closed", "withdrawn"}


# --- Filing ------------------------------------------------------------------------------------


def open_operation(kind: CaseKind, on: date) -> Operation | None:
    """The operation open on `on` for files of `kind` (renewals follow regularisation)."""
    operation_kind = "asylum" if kind == CaseKind.ASYLUM else "regularisation"
    candidates = db.session.scalars(
        select(Operation)
        .where(Operation.kind == operation_kind)
        .order_by(Operation.opens_on.desc())
    )
    return next((op for op in candidates if op.is_open_on(on)), None)


def next_reference(kind: CaseKind, office: Organisation, year: int) -> str:
    """REG-2026-RAB-000123: per kind, office and year, without gaps or duplicates.

    The counter row is locked (FOR UPDATE) so that two offices' clerks filing at once never get
    the same number; SQLite serialises writers anyway.
    """
    prefix = f"{REFERENCE_PREFIX[kind]}-{year}-{office.code}"
    query = select(ReferenceCounter).where(ReferenceCounter.prefix == prefix)
    if not is_sqlite():
        query = query.with_for_update()
    counter = db.session.scalar(query)
    if counter is None:
        try:
            with db.session.begin_nested():
                counter = ReferenceCounter(prefix=prefix, last_number=0)
                db.session.add(counter)
        except IntegrityError:  # another request created it first: lock theirs
            counter = db.session.scalar(query)
    counter.last_number += 1
    return f"{prefix}-{counter.last_number:06d}"


def file_case(
    *,
    kind: CaseKind | str,
    applicant: Person,
    by: User,
    category: str | None = None,
    members: list[Person] | None = None,
    office: Organisation | None = None,
    operation: Operation | None = None,
    filed_on: date | None = None,
    renewal_of: Case | None = None,
) -> Case:
    """Open a file for `applicant` at `office` (the filer's own by default)."""
    kind = CaseKind(kind)
    filed_on = filed_on or date.today()
    office = office or db.session.get(Organisation, by.organisation_id)
    errors: dict[str, list[str]] = {}
    if renewal_of is not None:
        operation = operation or renewal_of.operation
        category = category or renewal_of.category_code
    operation = operation or open_operation(kind, filed_on)
    if operation is None:
        errors["operation"] = [str(_l("No operation is open for this kind of file."))]
    elif kind != CaseKind.RENEWAL and (operation.kind == "asylum") != (kind == CaseKind.ASYLUM):
        # A renewal keeps the operation of the card it renews (regularisation or asylum).
        errors["operation"] = [str(_l("This operation is not for this kind of file."))]
    if kind == CaseKind.REGULARISATION and operation is not None:
        codes = {c.code for c in operation.categories}
        if not category:
            errors["category"] = [REQUIRED]
        elif category not in codes:
            errors["category"] = [str(_l("Not a category of this operation."))]
    if kind == CaseKind.ASYLUM and category:
        errors["category"] = [str(_l("Asylum files have no eligibility category."))]
    if kind == CaseKind.RENEWAL and renewal_of is None:
        errors["renewal_of"] = [REQUIRED]
    members = [m for m in (members or []) if m.id != applicant.id]
    if errors:
        raise InvalidInput(errors)
    workflow = workflow_for(kind)
    case = Case(
        reference=next_reference(kind, office, filed_on.year),
        kind=kind.value,
        operation_code=operation.code,
        category_code=category or None,
        applicant_id=applicant.id,
        office_id=office.id,
        state=workflow.initial.value,
        filed_on=filed_on,
        proposed_reasons=[],
        renewal_of_id=renewal_of.id if renewal_of else None,
        assigned_to_id=by.id if Role(by.role) == Role.CASEWORKER else None,
        region_code=office.region_code,
        applicant_sex=applicant.sex,
        applicant_nationality=applicant.nationality,
        applicant_age_band=age_band(applicant.age_on(filed_on)),
    )
    case.members = [CaseMember(person_id=m.id) for m in members]
    db.session.add(case)
    db.session.flush()
    _event(case, by, EventKind.CREATED, to_state=case.state, data={"members": len(members)})
    record("case.create", user=by, record=case, kind=case.kind, office=office.code)
    return case


def open_renewal(card_case: Case, *, by: User) -> Case:
    """A card nearing expiry opens a renewal file (renewed cards are valid 3 years)."""
    if card_case.card_number is None:
        raise ActionNotAvailable("open_renewal", card_case.state, [])
    existing = db.session.scalar(
        select(Case).where(Case.renewal_of_id == card_case.id, Case.state != "withdrawn")
    )
    if existing is not None:
        raise ActionTooLate(
            str(_l("A renewal file is already open: %(ref)s", ref=existing.reference))
        )
    members = [m.person for m in card_case.members]
    renewal = file_case(
        kind=CaseKind.RENEWAL,
        applicant=card_case.applicant,
        by=by,
        members=members,
        office=card_case.office,
        renewal_of=card_case,
    )
    _event(card_case, by, EventKind.NOTE, comment=f"renewal: {renewal.reference}")
    return renewal


# --- What a user may do now ---------------------------------------------------------------------


def _transition_for(case: Case, action: str, fields: dict[str, Any], today: date):
    """The row of the table that applies, or why none does."""
    rows = [t for t in workflow_for(case.kind).from_state(case.state) if t.action == action]
    if not rows:
        raise ActionNotAvailable(action, case.state, workflow_for(case.kind).actions_in(case.state))
    matching = [t for t in rows if guards.holds(t.when, case, fields, today)]
    if not matching:
        return rows[0], False
    return matching[0], True


def may_take(user: User, transition: Transition, case: Case) -> str | None:
    """Why `user` may not take `transition` on `case`, or None when they may."""
    if not role_may(user.role, "case.act") or Role(user.role) not in transition.roles:
        return "role"
    if not in_scope(user, case):
        return "scope"
    if transition.four_eyes and user.id in {
        case.proposed_by_id,
        case.decided_by_id if transition.action == "decide_appeal" else None,
    }:
        return "four_eyes"
    return None


def allowed_actions(case: Case, user: User, today: date | None = None) -> list[str]:
    """Exactly the actions `user` can take on `case` now: the page's buttons, the API's list."""
    today = today or date.today()
    allowed = []
    for action in workflow_for(case.kind).actions_in(case.state):
        rows = [t for t in workflow_for(case.kind).from_state(case.state) if t.action == action]
        for row in rows:
            input_dependent = row.when in guards.INPUT_CONDITIONS
            if not input_dependent and not guards.holds(row.when, case, {}, today):
                continue
            if may_take(user, row, case) is None:
                allowed.append(action)
                break
    return allowed


# --- Taking an action -------------------------------------------------------------------------


def _validate(transition: Transition, case: Case, fields: dict[str, Any], today: date) -> dict:
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    for name in transition.requires:
        value = fields.get(name)
        if isinstance(value, str):
            value = value.strip()
        if value in (None, "", []):
            errors[name] = [REQUIRED]
    comment = (fields.get("comment") or "").strip()
    if len(comment) > 4000:
        errors["comment"] = [str(_l("At most 4000 characters."))]
    clean["comment"] = comment or None
    action = transition.action
    if action == "request_information" and fields.get("due_date") not in (None, ""):
        due = fields["due_date"]
        if not isinstance(due, date) or isinstance(due, datetime):
            errors["due_date"] = [str(_l("Give a date."))]
        elif due < today:
            errors["due_date"] = [str(_l("The due date is in the past."))]
        clean["due_date"] = due
    if action == "propose_decision":
        if fields.get("outcome") and fields["outcome"] not in OUTCOMES:
            errors["outcome"] = [str(_l("Choose favourable or unfavourable."))]
        reasons = list(fields.get("reasons") or [])
        unknown = [r for r in reasons if r not in DECISION_REASONS]
        if unknown:
            errors["reasons"] = [
                str(_l("Unknown reason code: %(codes)s", codes=", ".join(unknown)))
            ]
        clean.update(outcome=fields.get("outcome"), reasons=reasons)
        clean["decision_text"] = (fields.get("decision_text") or "").strip() or None
    if action == "decide_appeal":
        if fields.get("outcome") not in APPEAL_OUTCOMES:
            errors.setdefault("outcome", [str(_l("Choose granted or dismissed."))])
        clean["outcome"] = fields.get("outcome")
    if action == "approve_decision" and fields.get("notified_on"):
        notified = fields["notified_on"]
        if not isinstance(notified, date) or isinstance(notified, datetime):
            errors["notified_on"] = [str(_l("Give a date."))]
        elif notified > today:
            errors["notified_on"] = [str(_l("This date is in the future."))]
        clean["notified_on"] = fields["notified_on"]
    if action == "issue_card" and fields.get("card_number"):
        number = str(fields["card_number"]).strip().upper()
        if not (4 <= len(number) <= 40) or not number.replace("-", "").isalnum():
            errors["card_number"] = [str(_l("4 to 40 letters, digits or dashes."))]
        elif db.session.scalar(select(Case.id).where(Case.card_number == number)) is not None:
            errors["card_number"] = [str(_l("This card number is already used."))]
        clean["card_number"] = number
    if action == "schedule_interview":
        when = fields.get("interview_on")
        if when is not None and not isinstance(when, datetime):
            errors["interview_on"] = [str(_l("Give a date and time."))]
        elif when is not None:
            # Stored as UTC: SQLite keeps no offset, so an aware time must be normalised first.
            when = when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
        clean["interview_on"] = when
        language = str(fields.get("interpreter_language") or "").strip()
        if language and not (2 <= len(language) <= 8 and language.replace("-", "").isalpha()):
            errors["interpreter_language"] = [str(_l("Give a language code such as ar or fr."))]
        clean["interpreter_language"] = language or None
    if errors:
        raise InvalidInput(errors)
    return clean


def perform(
    case: Case,
    action: str,
    *,
    by: User,
    expected_version: int | None,
    fields: dict[str, Any] | None = None,
    today: date | None = None,
) -> Case:
    """Take `action` on `case` as `by`, or raise the reason it is refused (nothing changes)."""
    fields = dict(fields or {})
    today = today or date.today()
    check_version(case, expected_version)
    transition, condition_holds = _transition_for(case, action, fields, today)
    refusal = may_take(by, transition, case)
    if refusal is not None:
        raise ActionForbidden(refusal)
    if not condition_holds:
        if transition.when in guards.INPUT_CONDITIONS:
            raise InvalidInput({"outcome": [str(_l("Choose granted or dismissed."))]})
        raise ActionTooLate(_too_late_message(case, transition))
    clean = _validate(transition, case, fields, today)
    from_state = case.state
    # Effects may read relationships (the operation's card validity): loading them must not
    # flush a half-applied change, which would move the version twice.
    with db.session.no_autoflush:
        EFFECTS.get(action, _no_effect)(case, clean, by, today)
        case.state = transition.to.value
        _apply_deadline(case, transition, clean)
    db.session.flush()
    data = {k: v for k, v in clean.items() if k not in {"comment", "decision_text"} and v}
    _event(
        case, by, EventKind.TRANSITION, action=action, from_state=from_state,
        to_state=case.state, comment=clean.get("comment"), data=_jsonable(data),
    )  # fmt: skip
    record(f"case.{action}", user=by, record=case, from_state=from_state, to_state=case.state)
    return case


def _too_late_message(case: Case, transition: Transition) -> str:
    if transition.when == "within_appeal_window":
        deadline = guards.appeal_deadline(case)
        return str(_l("The appeal window closed on %(day)s.", day=deadline.isoformat()))
    if transition.when == "appeal_window_over":
        deadline = guards.appeal_deadline(case)
        return str(_l("An appeal may still be lodged until %(day)s.", day=deadline.isoformat()))
    return str(_l("This action is not possible now."))


def _apply_deadline(case: Case, transition: Transition, clean: dict) -> None:
    if transition.stops is not None and case.deadline_kind == transition.stops.value:
        case.deadline_on, case.deadline_kind = None, None
    if transition.to.value in FINAL_OR_CLOSED:  # a closed or withdrawn file has no deadline
        case.deadline_on, case.deadline_kind = None, None
    if transition.starts == Deadline.INFORMATION:
        case.deadline_on, case.deadline_kind = clean["due_date"], Deadline.INFORMATION.value
    elif transition.starts == Deadline.APPEAL_WINDOW:
        case.deadline_on = guards.appeal_deadline(case)
        case.deadline_kind = Deadline.APPEAL_WINDOW.value


def _jsonable(data: dict) -> dict:
    return {k: v.isoformat() if isinstance(v, date | datetime) else v for k, v in data.items()}


# --- What each action changes on the case -------------------------------------------------------


def _no_effect(case: Case, clean: dict, by: User, today: date) -> None:
    return None


def _request_information(case, clean, by, today):
    case.information_due_on = clean["due_date"]


def _provide_information(case, clean, by, today):
    case.information_due_on = None


def _propose(case, clean, by, today):
    case.proposed_outcome = clean["outcome"]
    case.proposed_reasons = clean["reasons"]
    case.decision_text = clean["decision_text"]
    case.proposed_by_id = by.id
    case.proposed_at = datetime.now(UTC)


def _approve(case, clean, by, today):
    case.first_instance_outcome = case.proposed_outcome
    case.decided_on = today
    case.processing_days = (today - case.filed_on).days
    case.decided_by_id = by.id
    # The decision is notified when approved unless the caseworker records another date.
    case.notified_on = clean.get("notified_on") or today


def _return_proposal(case, clean, by, today):
    case.proposed_outcome = None
    case.proposed_reasons = []
    case.proposed_by_id = None
    case.proposed_at = None


def _lodge_appeal(case, clean, by, today):
    case.appeal_lodged_on = today


def _decide_appeal(case, clean, by, today):
    case.appeal_outcome = clean["outcome"]
    case.appeal_decided_on = today
    case.appeal_decided_by_id = by.id


def _issue_card(case, clean, by, today):
    case.card_number = clean["card_number"]
    case.card_issued_on = today
    case.card_expires_on = today + timedelta(days=card_validity_days(case))


def card_validity_days(case: Case) -> int:
    """First cards last a year; renewed cards three (since January 2017)."""
    if case.kind == CaseKind.RENEWAL:
        return case.operation.renewal_card_validity_days or 3 * 365
    return case.operation.first_card_validity_days or 365


def _close(case, clean, by, today):
    case.closed_on = today


def _schedule_interview(case, clean, by, today):
    case.interview_on = clean["interview_on"]
    case.interpreter_language = clean["interpreter_language"]


def _refer_to_bra(case, clean, by, today):
    case.referred_to_bra_on = today


def _reopen(case, clean, by, today):
    case.closed_on = None
    _return_proposal(case, clean, by, today)


EFFECTS = {
    "request_information": _request_information,
    "provide_information": _provide_information,
    "propose_decision": _propose,
    "approve_decision": _approve,
    "return_proposal": _return_proposal,
    "lodge_appeal": _lodge_appeal,
    "decide_appeal": _decide_appeal,
    "issue_card": _issue_card,
    "close": _close,
    "withdraw": _close,
    "schedule_interview": _schedule_interview,
    "refer_to_bra": _refer_to_bra,
    "reopen": _reopen,
}


# --- Assignment, notes, timeline ------------------------------------------------------------------


def assign(case: Case, assignee: User | None, *, by: User, expected_version: int | None) -> None:
    """Give the file to a caseworker of its office (or nobody)."""
    check_version(case, expected_version)
    if assignee is not None and (
        assignee.role != Role.CASEWORKER.value or assignee.organisation_id != case.office_id
    ):
        raise InvalidInput({"assignee": [str(_l("Choose a caseworker of the file's office."))]})
    if not in_scope(by, case):
        raise ActionForbidden("scope")
    previous = case.assigned_to_id
    case.assigned_to_id = assignee.id if assignee else None
    db.session.flush()
    _event(case, by, EventKind.ASSIGNMENT, data={"from": previous, "to": case.assigned_to_id})
    record("case.assign", user=by, record=case, to_user=case.assigned_to_id)


def add_note(case: Case, text: str, *, by: User) -> CaseEvent:
    if not in_scope(by, case):
        raise ActionForbidden("scope")
    text = (text or "").strip()
    if not text:
        raise InvalidInput({"comment": [REQUIRED]})
    event = _event(case, by, EventKind.NOTE, comment=text[:4000])
    record("case.note", user=by, record=case)
    return event


def record_case_view(case: Case, *, by: User, channel: str) -> None:
    """Every view of a file is audited, naming the confidential fields it showed (no text)."""
    from casework.cases.confidential import shown_fields

    shown = shown_fields(case, by)
    extra = {"sensitive_fields": shown} if shown else {}
    record("case.view", user=by, record=case, channel=channel, **extra)


def _event(case: Case, by: Any, kind: EventKind, **values: Any) -> CaseEvent:
    event = CaseEvent(
        case_id=case.id,
        user_id=getattr(by, "id", None),
        kind=kind.value,
        data=values.pop("data", None) or {},
        **values,
    )
    db.session.add(event)
    return event


# --- Operation rules --------------------------------------------------------------------------


def rule_warnings(case: Case, outcome: str | None = None, today: date | None = None) -> list[str]:
    """Names of the operation's rules that an unfavourable proposal would contradict.

    Rules such as "all women and children are accepted" are policy, not law: the caseworker and
    supervisor are warned, not blocked."""
    outcome = outcome or case.proposed_outcome
    if outcome != "unfavourable":
        return []
    today = today or date.today()
    person = case.applicant
    age = person.age_on(case.filed_on or today)
    matched = []
    for rule in case.operation.rules or []:
        applies = rule.get("applies_to", {})
        hit = (
            ("sex" in applies and person.sex in applies["sex"])
            or ("max_age" in applies and age is not None and age <= applies["max_age"])
            or ("unaccompanied_minor" in applies and person.unaccompanied_minor)
            or ("categories" in applies and case.category_code in applies["categories"])
        )
        if hit:
            matched.append(rule)
    return matched


def category_of(case: Case) -> EligibilityCategory | None:
    if not case.category_code:
        return None
    return db.session.scalar(
        select(EligibilityCategory).where(
            EligibilityCategory.operation_code == case.operation_code,
            EligibilityCategory.code == case.category_code,
        )
    )
