"""A case as one caller sees it: the record plus what that caller may do with it now."""

from __future__ import annotations

from datetime import date
from typing import Any

from casework.auth.models import User
from casework.cases import guards
from casework.cases.models import Case
from casework.cases.operations import allowed_actions, rule_warnings
from casework.policy import hidden_fields


class CaseForCaller:
    """Delegates to the case; adds `allowed_actions`, `warnings`, `appeal_deadline`, and the
    sensitive fields the caller is not sent (`hidden_fields`, from the policy)."""

    def __init__(self, case: Case, user: User, today: date | None = None) -> None:
        self._case = case
        self.hidden_fields = hidden_fields(user, case)
        self.allowed_actions = allowed_actions(case, user, today)
        self.warnings = [rule["code"] for rule in rule_warnings(case, today=today)]
        self.appeal_deadline = guards.appeal_deadline(case)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._case, name)
