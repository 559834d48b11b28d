"""Demo case files in every state of every workflow, so each queue and action can be tried.

Files are moved through the real operations (`perform`), with simulated dates, so the demo
obeys exactly the rules the application enforces.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from casework.admin.models import Organisation
from casework.auth.models import User
from casework.cases.models import Case, CaseEvent, CaseKind
from casework.cases.operations import file_case, open_renewal, perform
from casework.extensions import db
from casework.people.models import Person
from casework.policy import Role

# The actions leading to each state, from the file's first state. `propose+` and `propose-`
# are favourable and unfavourable proposals; `appeal+` / `appeal-` the appeal's outcomes.
REGULARISATION_PATHS = {
    "filed": [],
    "under_review": ["start_review"],
    "information_requested": ["start_review", "request_information"],
    "decision_proposed": ["start_review", "propose+"],
    "accepted": ["start_review", "propose+", "approve_decision"],
    "rejected": ["start_review", "propose-", "approve_decision"],
    "appeal_lodged": ["start_review", "propose-", "approve_decision", "lodge_appeal"],
    "appeal_granted": ["start_review", "propose-", "approve_decision", "lodge_appeal", "appeal+"],
    "appeal_dismissed": ["start_review", "propose-", "approve_decision", "lodge_appeal", "appeal-"],
    "card_issued": ["start_review", "propose+", "approve_decision", "issue_card"],
    "closed": ["start_review", "propose+", "approve_decision", "issue_card", "close"],
    "withdrawn": ["start_review", "withdraw"],
}
ASYLUM_START = [
    "start_pre_screening",
    "issue_certificate",
    "schedule_interview",
    "record_interview",
]
ASYLUM_PATHS = {
    "registered": [],
    "pre_screening": ASYLUM_START[:1],
    "certificate_issued": ASYLUM_START[:2],
    "interview_scheduled": ASYLUM_START[:3],
    "interviewed": ASYLUM_START,
    "decision_proposed": [*ASYLUM_START, "propose+"],
    "recognised": [*ASYLUM_START, "propose+", "approve_decision"],
    "rejected": [*ASYLUM_START, "propose-", "approve_decision"],
    "appeal_lodged": [*ASYLUM_START, "propose-", "approve_decision", "lodge_appeal"],
    "appeal_dismissed": [*ASYLUM_START, "propose-", "approve_decision", "lodge_appeal", "appeal-"],
    "referred_to_bra": [*ASYLUM_START, "propose+", "approve_decision", "refer_to_bra"],
    "pending_bra": [*ASYLUM_START, "propose+", "approve_decision", "refer_to_bra", "mark_pending_bra"],
    "card_issued": [*ASYLUM_START, "propose+", "approve_decision", "refer_to_bra",
                    "mark_pending_bra", "issue_card"],
}  # fmt: skip

# Invented accounts for the demo's confidential fields (no real person's story).
DEMO_NARRATIVES = [
    "Le demandeur déclare avoir quitté son pays après des menaces répétées liées à son "
    "engagement syndical ; il a traversé deux pays avant d'arriver à Oujda.",
    "La demandeuse déclare avoir fui un mariage forcé ; elle voyage avec ses deux enfants et "
    "a été hébergée par une association à Rabat.",
    "Le demandeur déclare avoir été détenu pendant trois mois en raison de son appartenance à "
    "une minorité religieuse ; il présente des cicatrices qu'il attribue à cette détention.",
]
DEMO_MEDICAL_DETAILS = [
    "Insuffisance rénale chronique, dialyse trois fois par semaine au CHU de Rabat.",
    "Diabète de type 1 sous insuline ; suivi mensuel au centre de santé du quartier.",
]

FAVOURABLE_REASONS = ["meets_category_conditions"]
UNFAVOURABLE_REASONS = ["conditions_not_met", "insufficient_proof_of_stay", "documents_missing"]


class DemoCaseBuilder:
    def __init__(self, rng: random.Random, today: date) -> None:
        self.rng = rng
        self.today = today
        self.card_serial = 0
        users = db.session.scalars(select(User).where(User.email.like("%@demo.test"))).all()
        self.caseworkers = {u.organisation_id: u for u in users if u.role == Role.CASEWORKER.value}
        supervisors = [
            u for u in users if u.role == Role.SUPERVISOR.value and u.region_code is None
        ]
        self.approver = next(u for u in supervisors if u.email == "supervisor@demo.test")
        self.appeals = next(u for u in supervisors if u.email == "commission@demo.test")

    def build(self, kind: CaseKind, applicant: Person, target: str, office: Organisation) -> Case:
        paths = ASYLUM_PATHS if kind == CaseKind.ASYLUM else REGULARISATION_PATHS
        steps = paths[target]
        clerk = self.caseworkers[office.id]
        # Leave room for every step before today.
        day = self.today - timedelta(
            days=self.rng.randint(10 + 12 * len(steps), 30 + 25 * len(steps))
        )
        category = None
        if kind == CaseKind.REGULARISATION:
            category = self.rng.choice(
                ["residence_5_years"] * 4 + ["spouse_of_resident", "spouse_of_national",
                 "work_contract", "child_of_eligible", "serious_illness"]
            )  # fmt: skip
        case = file_case(kind=kind, applicant=applicant, by=clerk, category=category,
                         office=office, filed_on=day)  # fmt: skip
        # Chosen without the random generator, so that the demo's other draws stay the same.
        if kind == CaseKind.ASYLUM:
            case.claim_narrative = DEMO_NARRATIVES[(applicant.id or 0) % len(DEMO_NARRATIVES)]
        elif category == "serious_illness":
            details = DEMO_MEDICAL_DETAILS
            case.medical_details = details[(applicant.id or 0) % len(details)]
        self._date_events(case, day)
        for step in steps:
            day = min(self.today, day + timedelta(days=self.rng.randint(3, 12)))
            self._step(case, step, clerk, day)
        if self.rng.random() < 0.25 and case.state not in {"closed", "withdrawn"}:
            case.assigned_to_id = None  # some files wait in the office's unassigned queue
        return case

    def _step(self, case: Case, step: str, clerk: User, day: date) -> None:
        action, fields, actor = step, {}, clerk
        if step in {"propose+", "propose-"}:
            action = "propose_decision"
            favourable = step == "propose+"
            fields = {
                "outcome": "favourable" if favourable else "unfavourable",
                "reasons": FAVOURABLE_REASONS if favourable
                else [self.rng.choice(UNFAVOURABLE_REASONS)],
            }  # fmt: skip
        elif step in {"appeal+", "appeal-"}:
            action, actor = "decide_appeal", self.appeals
            fields = {"outcome": "granted" if step == "appeal+" else "dismissed"}
        elif step == "approve_decision":
            actor = self.approver
        elif step == "request_information":
            # Some requests are already past due: they show in the overdue queue.
            fields = {"due_date": day + timedelta(days=self.rng.choice([-0, 10, 20])),
                      "comment": "Justificatif de résidence manquant."}  # fmt: skip
            if self.rng.random() < 0.4:
                day = day - timedelta(days=40)
                fields["due_date"] = day + timedelta(days=15)
        elif step == "issue_card":
            self.card_serial += 1
            fields = {"card_number": f"DEMO-{case.filed_on.year}-{self.card_serial:06d}"}
        elif step == "withdraw":
            fields = {"comment": "Départ volontaire du demandeur."}
        elif step == "schedule_interview":
            moment = datetime.combine(day + timedelta(days=14), time(10, 0), tzinfo=UTC)
            fields = {"interview_on": moment, "interpreter_language": "en"}
        perform(case, action, by=actor, expected_version=case.version, fields=fields, today=day)
        self._date_events(case, day)

    def _date_events(self, case: Case, day: date) -> None:
        """Events carry the simulated day, not the moment the demo was loaded."""
        db.session.flush()
        moment = datetime.combine(day, time(9, 0), tzinfo=UTC) + timedelta(
            minutes=self.rng.randint(0, 480)
        )
        for event in db.session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.at > _midnight(day))
        ):
            event.at = moment


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(23, 59), tzinfo=UTC)


def generate_cases(seed: int = 2026, today: date | None = None) -> int:
    """File regularisation cases for most demo applicants and asylum cases for some."""
    rng = random.Random(seed)
    builder = DemoCaseBuilder(rng, today or date.today())
    offices = {o.id: o for o in db.session.scalars(select(Organisation))}
    asylum_office = next(o for o in offices.values() if o.code == "ASY")
    applicants = db.session.scalars(
        select(Person).where(Person.organisation_id.in_(builder.caseworkers)).order_by(Person.id)
    ).all()
    heads = [
        p for p in applicants if p.membership is None or p.membership.relationship_to_head == "head"
    ]
    reg_states = list(REGULARISATION_PATHS)
    asy_states = list(ASYLUM_PATHS)
    count = asylum = 0
    for index, person in enumerate(heads):
        if index % 6 == 5:
            target = asy_states[asylum % len(asy_states)]
            builder.build(CaseKind.ASYLUM, person, target, asylum_office)
            asylum += 1
        else:
            target = reg_states[(count - asylum) % len(reg_states)]
            builder.build(CaseKind.REGULARISATION, person, target, offices[person.organisation_id])
        count += 1
    count += _renewals_due(builder)
    return count


def _renewals_due(builder: DemoCaseBuilder) -> int:
    """Cards issued about eleven months ago come up for renewal; open a renewal for some."""
    cards = db.session.scalars(
        select(Case).where(Case.state == "card_issued", Case.kind == CaseKind.REGULARISATION.value)
    ).all()
    opened = 0
    for case in cards[: max(1, len(cards) // 2)]:
        case.card_issued_on = builder.today - timedelta(days=330)
        case.card_expires_on = case.card_issued_on + timedelta(days=365)
    for case in cards[: max(1, len(cards) // 6)]:
        open_renewal(case, by=builder.caseworkers[case.office_id])
        opened += 1
    return opened
