"""Named conditions used by the workflow tables (`Transition.when`).

A condition sees the case, the action's input and today's date. Conditions on the input pick
between two rows of the same action (approve → accepted or rejected); conditions on dates decide
whether the action is possible at all now (an appeal after its window).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from casework.cases.models import Case


def appeal_deadline(case: Case) -> date | None:
    """The last day an appeal may be lodged: notification + the operation's appeal window."""
    if case.notified_on is None:
        return None
    return case.notified_on + timedelta(days=case.operation.appeal_window_days)


def _within_appeal_window(case: Case, _fields: dict, today: date) -> bool:
    deadline = appeal_deadline(case)
    return deadline is not None and today <= deadline


CONDITIONS: dict[str, Callable[[Case, dict[str, Any], date], bool]] = {
    "proposal_favourable": lambda case, _f, _t: case.proposed_outcome == "favourable",
    "proposal_unfavourable": lambda case, _f, _t: case.proposed_outcome == "unfavourable",
    "outcome_granted": lambda _c, fields, _t: fields.get("outcome") == "granted",
    "outcome_dismissed": lambda _c, fields, _t: fields.get("outcome") == "dismissed",
    "within_appeal_window": _within_appeal_window,
    "appeal_window_over": lambda case, f, today: not _within_appeal_window(case, f, today),
}

# Conditions that depend on the action's input: the action stays on offer whatever they say.
INPUT_CONDITIONS = {"outcome_granted", "outcome_dismissed"}


def holds(condition: str | None, case: Case, fields: dict[str, Any], today: date) -> bool:
    return condition is None or CONDITIONS[condition](case, fields, today)
