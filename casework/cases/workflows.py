"""The case workflows, as tables a supervisor could read aloud.

Each row says: in STATE, ACTION by one of ROLES leads to NEXT STATE, given the FIELDS, when the
CONDITION holds; it may start or stop a deadline. The case page, the API, the workflow diagram and
the tests all read these tables; nothing else decides what may happen to a file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from flask_babel import lazy_gettext as _l

from casework.cases.models import CaseKind
from casework.policy import CASEWORKER, SUPERVISOR, Role


class State(StrEnum):
    # Regularisation and renewal
    FILED = "filed"
    UNDER_REVIEW = "under_review"
    INFORMATION_REQUESTED = "information_requested"
    DECISION_PROPOSED = "decision_proposed"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    APPEAL_LODGED = "appeal_lodged"
    APPEAL_GRANTED = "appeal_granted"
    APPEAL_DISMISSED = "appeal_dismissed"
    CARD_ISSUED = "card_issued"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"
    # Asylum
    REGISTERED = "registered"
    PRE_SCREENING = "pre_screening"
    CERTIFICATE_ISSUED = "certificate_issued"
    INTERVIEW_SCHEDULED = "interview_scheduled"
    INTERVIEWED = "interviewed"
    RECOGNISED = "recognised"
    REFERRED_TO_BRA = "referred_to_bra"
    PENDING_BRA = "pending_bra"


STATE_LABELS = {
    State.FILED: _l("Filed"),
    State.UNDER_REVIEW: _l("Under review"),
    State.INFORMATION_REQUESTED: _l("Information requested"),
    State.DECISION_PROPOSED: _l("Decision proposed"),
    State.ACCEPTED: _l("Accepted"),
    State.REJECTED: _l("Rejected"),
    State.APPEAL_LODGED: _l("Appeal lodged"),
    State.APPEAL_GRANTED: _l("Appeal granted"),
    State.APPEAL_DISMISSED: _l("Appeal dismissed"),
    State.CARD_ISSUED: _l("Card issued"),
    State.CLOSED: _l("Closed"),
    State.WITHDRAWN: _l("Withdrawn"),
    State.REGISTERED: _l("Registered"),
    State.PRE_SCREENING: _l("Pre-screening"),
    State.CERTIFICATE_ISSUED: _l("Asylum-seeker certificate issued"),
    State.INTERVIEW_SCHEDULED: _l("Interview scheduled"),
    State.INTERVIEWED: _l("Interviewed"),
    State.RECOGNISED: _l("Recognised as refugee"),
    State.REFERRED_TO_BRA: _l("Referred to the BRA"),
    State.PENDING_BRA: _l("Pending at the BRA"),
}


class Deadline(StrEnum):
    INFORMATION = "information"  # the applicant must provide missing information by a date
    APPEAL_WINDOW = "appeal_window"  # an appeal may be lodged until notification + window


ACTION_LABELS = {
    "start_review": _l("Start the review"),
    "request_information": _l("Request information"),
    "provide_information": _l("Information received"),
    "propose_decision": _l("Propose a decision"),
    "approve_decision": _l("Approve the decision"),
    "return_proposal": _l("Send the proposal back"),
    "lodge_appeal": _l("Lodge an appeal"),
    "decide_appeal": _l("Decide the appeal"),
    "issue_card": _l("Issue the card"),
    "close": _l("Close the file"),
    "withdraw": _l("Withdraw the file"),
    "start_pre_screening": _l("Start pre-screening"),
    "issue_certificate": _l("Issue the asylum-seeker certificate"),
    "schedule_interview": _l("Schedule the interview"),
    "record_interview": _l("Record the interview"),
    "refer_to_bra": _l("Refer to the BRA"),
    "mark_pending_bra": _l("Mark as pending at the BRA"),
    "reopen": _l("Re-open the file"),
}


@dataclass(frozen=True)
class Transition:
    state: State
    action: str
    to: State
    roles: frozenset[Role]
    requires: tuple[str, ...] = ()
    when: str | None = None  # a named condition (see casework.cases.guards)
    starts: Deadline | None = None
    stops: Deadline | None = None
    four_eyes: bool = False  # the actor must not be the one who proposed / first decided


def T(state, action, to, roles, requires=(), **options) -> Transition:
    return Transition(State(state), action, State(to), frozenset(roles), tuple(requires), **options)


CW, SV = {CASEWORKER}, {SUPERVISOR}
BOTH = {CASEWORKER, SUPERVISOR}

# States from which a file can still be withdrawn by the applicant.
REGULARISATION_OPEN = (
    "filed", "under_review", "information_requested", "decision_proposed", "appeal_lodged",
)  # fmt: skip

# The office's review, the same for a first file and a renewal.
OFFICE_REVIEW: tuple[Transition, ...] = (
    T("filed", "start_review", "under_review", CW),
    T("under_review", "request_information", "information_requested", CW,
      ("due_date", "comment"), starts=Deadline.INFORMATION),
    T("information_requested", "provide_information", "under_review", CW,
      stops=Deadline.INFORMATION),
    T("under_review", "propose_decision", "decision_proposed", CW, ("outcome", "reasons")),
)  # fmt: skip

REGULARISATION: tuple[Transition, ...] = (
    *OFFICE_REVIEW,
    T("decision_proposed", "approve_decision", "accepted", SV,
      when="proposal_favourable", four_eyes=True),
    T("decision_proposed", "approve_decision", "rejected", SV,
      when="proposal_unfavourable", four_eyes=True, starts=Deadline.APPEAL_WINDOW),
    T("decision_proposed", "return_proposal", "under_review", SV, ("comment",)),
    T("rejected", "lodge_appeal", "appeal_lodged", CW,
      when="within_appeal_window", stops=Deadline.APPEAL_WINDOW),
    T("appeal_lodged", "decide_appeal", "appeal_granted", SV, ("outcome",),
      when="outcome_granted", four_eyes=True),
    T("appeal_lodged", "decide_appeal", "appeal_dismissed", SV, ("outcome",),
      when="outcome_dismissed", four_eyes=True),
    T("accepted", "issue_card", "card_issued", CW, ("card_number",)),
    T("appeal_granted", "issue_card", "card_issued", CW, ("card_number",)),
    T("card_issued", "close", "closed", BOTH),
    T("rejected", "close", "closed", BOTH, when="appeal_window_over"),
    T("appeal_dismissed", "close", "closed", BOTH),
    *(T(state, "withdraw", "withdrawn", CW, ("comment",)) for state in REGULARISATION_OPEN),
)  # fmt: skip

ASYLUM_OPEN = (
    "registered", "pre_screening", "certificate_issued", "interview_scheduled", "interviewed",
    "decision_proposed", "appeal_lodged",
)  # fmt: skip

ASYLUM: tuple[Transition, ...] = (
    T("registered", "start_pre_screening", "pre_screening", CW),
    T("pre_screening", "issue_certificate", "certificate_issued", CW),
    T("certificate_issued", "schedule_interview", "interview_scheduled", CW,
      ("interview_on", "interpreter_language")),
    T("interview_scheduled", "schedule_interview", "interview_scheduled", CW,
      ("interview_on", "interpreter_language")),
    T("interview_scheduled", "record_interview", "interviewed", CW),
    T("interviewed", "propose_decision", "decision_proposed", CW, ("outcome", "reasons")),
    T("decision_proposed", "approve_decision", "recognised", SV,
      when="proposal_favourable", four_eyes=True),
    T("decision_proposed", "approve_decision", "rejected", SV,
      when="proposal_unfavourable", four_eyes=True, starts=Deadline.APPEAL_WINDOW),
    T("decision_proposed", "return_proposal", "interviewed", SV, ("comment",)),
    T("rejected", "lodge_appeal", "appeal_lodged", CW,
      when="within_appeal_window", stops=Deadline.APPEAL_WINDOW),
    # The appeal is heard by a different officer than the one who decided (four eyes).
    T("appeal_lodged", "decide_appeal", "recognised", SV, ("outcome",),
      when="outcome_granted", four_eyes=True),
    T("appeal_lodged", "decide_appeal", "appeal_dismissed", SV, ("outcome",),
      when="outcome_dismissed", four_eyes=True),
    T("recognised", "refer_to_bra", "referred_to_bra", CW),
    T("referred_to_bra", "mark_pending_bra", "pending_bra", CW),
    T("pending_bra", "issue_card", "card_issued", CW, ("card_number",)),
    T("card_issued", "close", "closed", BOTH),
    T("rejected", "close", "closed", BOTH, when="appeal_window_over"),
    T("appeal_dismissed", "close", "closed", BOTH),
    T("closed", "reopen", "registered", SV, ("comment",)),
    *(T(state, "withdraw", "withdrawn", CW, ("comment",)) for state in ASYLUM_OPEN),
)  # fmt: skip

RENEWAL: tuple[Transition, ...] = (
    *OFFICE_REVIEW,
    T("decision_proposed", "approve_decision", "accepted", SV,
      when="proposal_favourable", four_eyes=True),
    T("decision_proposed", "approve_decision", "rejected", SV,
      when="proposal_unfavourable", four_eyes=True),
    T("decision_proposed", "return_proposal", "under_review", SV, ("comment",)),
    T("accepted", "issue_card", "card_issued", CW, ("card_number",)),
    T("card_issued", "close", "closed", BOTH),
    T("rejected", "close", "closed", BOTH),
    *(
        T(state, "withdraw", "withdrawn", CW, ("comment",))
        for state in REGULARISATION_OPEN
        if state != "appeal_lodged"
    ),
)  # fmt: skip


@dataclass(frozen=True)
class Workflow:
    kind: CaseKind
    initial: State
    transitions: tuple[Transition, ...]
    final_states: frozenset[State] = field(default_factory=frozenset)

    @property
    def states(self) -> list[State]:
        seen: dict[State, None] = {self.initial: None}
        for t in self.transitions:
            seen.setdefault(t.state, None)
            seen.setdefault(t.to, None)
        return list(seen)

    @property
    def actions(self) -> list[str]:
        return list(dict.fromkeys(t.action for t in self.transitions))

    def from_state(self, state: str) -> list[Transition]:
        return [t for t in self.transitions if t.state == state]

    def actions_in(self, state: str) -> list[str]:
        return list(dict.fromkeys(t.action for t in self.from_state(state)))


WORKFLOWS: dict[CaseKind, Workflow] = {
    CaseKind.REGULARISATION: Workflow(
        CaseKind.REGULARISATION,
        State.FILED,
        REGULARISATION,
        frozenset({State.CLOSED, State.WITHDRAWN}),
    ),
    CaseKind.ASYLUM: Workflow(
        CaseKind.ASYLUM, State.REGISTERED, ASYLUM, frozenset({State.WITHDRAWN})
    ),
    CaseKind.RENEWAL: Workflow(
        CaseKind.RENEWAL, State.FILED, RENEWAL, frozenset({State.CLOSED, State.WITHDRAWN})
    ),
}

# Outcomes of a decision, and the coded reasons a proposal gives.
OUTCOMES = ("favourable", "unfavourable")
APPEAL_OUTCOMES = ("granted", "dismissed")
DECISION_REASONS = {
    "meets_category_conditions": _l("Meets the conditions of the eligibility category"),
    "policy_rule_applies": _l("A policy rule of the operation applies"),
    "humanitarian_grounds": _l("Humanitarian grounds"),
    "well_founded_fear": _l("Well-founded fear of persecution"),
    "conditions_not_met": _l("Conditions of the category not met"),
    "documents_missing": _l("Required documents missing"),
    "insufficient_proof_of_stay": _l("Insufficient proof of stay"),
    "false_documents": _l("False or altered documents"),
    "public_order": _l("Threat to public order"),
    "not_credible": _l("Account not credible"),
    "outside_convention_grounds": _l("Outside the grounds of the 1951 Convention"),
}


def workflow_for(kind: str) -> Workflow:
    return WORKFLOWS[CaseKind(kind)]


def state_label(state: str) -> str:
    return str(STATE_LABELS.get(State(state), state))


def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))
