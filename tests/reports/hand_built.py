"""Statistics tests: a small set of hand-built files whose figures are known by heart.

Rabat office (RAB, region 04 Rabat-Salé-Kénitra), applicant `rabat` (SN, male, 26-35):

    R1 accepted (favourable)       filed 2026-01-05, decided after 10 days
    R2 accepted (favourable)       filed 2026-01-20, decided after 20 days
    R3 rejected (unfavourable)     filed 2026-02-02, decided after 30 days
    R4 appeal granted              filed 2026-02-10, decided after 40 days, appeal granted
    R5 appeal lodged (pending)     filed 2026-03-02, decided after 5 days, appeal undecided
    R6 filed (pending)             filed 2026-03-02
    R7 withdrawn                   filed 2026-03-02

Tanger office (TNG, region 01 Tanger-Tétouan-Al Hoceïma), applicant `tanger` (NG, male):

    T1 accepted (favourable)       filed 2026-04-01, decided after 15 days
    T2 rejected (unfavourable)     filed 2026-04-02, decided after 25 days
    T3 filed (pending)             filed 2026-04-03

National: filed 10, decided 6 (accepted 4, rejected 2), pending 3, withdrawn 1; first
instance 7 decided, 3 favourable; appeals 2 lodged, 1 granted.
Region 04: filed 7, decided 4 (accepted 3, rejected 1), pending 2, withdrawn 1.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import Flask

from casework.cases.models import Case
from casework.cases.workflows import State, workflow_for
from casework.extensions import db
from tests.cases.helpers import act, drive, new_case, plan, request_context, users
from tests.factories import World

NATIONAL = {"filed": 10, "decided": 6, "accepted": 4, "rejected": 2, "pending": 3,
            "withdrawn": 1, "first_instance_decided": 7, "first_instance_favourable": 3,
            "appeals_lodged": 2, "appeals_granted": 1, "appeals_dismissed": 0}  # fmt: skip
RABAT = {"filed": 7, "decided": 4, "accepted": 3, "rejected": 1, "pending": 2, "withdrawn": 1}
TANGER_REGION = "01"
TANGER_REGION_NAMES = ("Tanger-Tétouan-Al Hoceïma", "Tanger-Tetouan-Al Hoceima", "Tanger")
TANGER_OFFICE_NAME = "Organisation TNG"


def _decided(world: World, who, *, by: str, applicant: str, outcome: str, filed_on: date,
             days: int, appeal: str | None = None) -> Case:  # fmt: skip
    """A file decided `days` after filing; then, maybe, an appeal (lodged, granted...)."""
    case = new_case(world, applicant=applicant, by=by, filed_on=filed_on, who=who)
    target = State.ACCEPTED if outcome == "favourable" else State.REJECTED
    path = plan(workflow_for(case.kind), target)
    assert path[-1].action == "approve_decision"
    drive(case, path[:-1], who, filed_on, then=path[-1:], caseworker=by)
    decided_on = filed_on + timedelta(days=days)
    act(case, "approve_decision", who.supervisor, today=decided_on)
    if appeal:
        act(case, "lodge_appeal", getattr(who, by), today=decided_on + timedelta(days=1))
        if appeal != "lodged":
            act(case, "decide_appeal", who.regional, today=decided_on + timedelta(days=2),
                outcome=appeal)  # fmt: skip
    return case


def _open(world: World, who, *, by: str, applicant: str, filed_on: date, withdraw=False) -> Case:
    case = new_case(world, applicant=applicant, by=by, filed_on=filed_on, who=who)
    if withdraw:
        act(case, "withdraw", getattr(who, by), today=filed_on, comment="applicant left")
    return case


def build_cases(app: Flask, world: World) -> dict[str, int]:
    """The ten files above; returns their ids by name."""
    with app.app_context(), request_context(app):
        who = users(world)
        rabat = {"by": "caseworker", "applicant": "rabat"}
        tanger = {"by": "caseworker2", "applicant": "tanger"}
        cases = {
            "R1": _decided(world, who, **rabat, outcome="favourable",
                           filed_on=date(2026, 1, 5), days=10),
            "R2": _decided(world, who, **rabat, outcome="favourable",
                           filed_on=date(2026, 1, 20), days=20),
            "R3": _decided(world, who, **rabat, outcome="unfavourable",
                           filed_on=date(2026, 2, 2), days=30),
            "R4": _decided(world, who, **rabat, outcome="unfavourable",
                           filed_on=date(2026, 2, 10), days=40, appeal="granted"),
            "R5": _decided(world, who, **rabat, outcome="unfavourable",
                           filed_on=date(2026, 3, 2), days=5, appeal="lodged"),
            "R6": _open(world, who, **rabat, filed_on=date(2026, 3, 2)),
            "R7": _open(world, who, **rabat, filed_on=date(2026, 3, 2), withdraw=True),
            "T1": _decided(world, who, **tanger, outcome="favourable",
                           filed_on=date(2026, 4, 1), days=15),
            "T2": _decided(world, who, **tanger, outcome="unfavourable",
                           filed_on=date(2026, 4, 2), days=25),
            "T3": _open(world, who, **tanger, filed_on=date(2026, 4, 3)),
        }  # fmt: skip
        db.session.commit()
        return {name: case.id for name, case in cases.items()}
