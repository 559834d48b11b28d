"""A case as one caller sees it: the record plus what that caller may do with it now."""

from __future__ import annotations

from datetime import date
from typing import Any

from casework.auth.models import User
from casework.cases import guards
from casework.cases.models import Case
from casework.cases.operations import allowed_actions, rule_warnings


class CaseForCaller:
    """Delegates to the case; adds `allowed_actions`, `warnings` and `appeal_deadline`."""

    def __init__(self, case: Case, user: User, today: date | None = None) -> None:
        self._case = case
        self.allowed_actions = allowed_actions(case, user, today)
        self.warnings = [rule["code"] for rule in rule_warnings(case, today=today)]
        self.appeal_deadline = guards.appeal_deadline(case)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._case, name)
