"""Why an action on a case was refused. Views and the API turn these into answers."""

from __future__ import annotations


class CaseError(Exception):
    """Base: the action was refused and nothing changed."""


class ActionNotAvailable(CaseError):
    """The action does not exist in this state (HTTP 409, with the allowed actions)."""

    def __init__(self, action: str, state: str, allowed: list[str]) -> None:
        super().__init__(f"{action} is not possible in state {state}")
        self.action, self.state, self.allowed = action, state, allowed


class ActionForbidden(CaseError):
    """The caller may not take this action (HTTP 403): role, office or four-eyes rule."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ActionTooLate(CaseError):
    """A time condition fails (an appeal after its window): HTTP 409."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(CaseError):
    """Missing or invalid fields (HTTP 422), by field name."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(str(errors))
        self.errors = errors
