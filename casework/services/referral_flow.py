"""The referral workflow, as a table: who may move a referral from which state to which.

"Provider" means staff of the organisation the person was referred to; "sender" staff of the
organisation that sent the referral.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from casework.services.models import ReferralState as S

PROVIDER, SENDER = "provider", "sender"


@dataclass(frozen=True)
class Step:
    state: S
    action: str
    to: S
    side: str
    requires: tuple[str, ...] = ()


REFERRAL_STEPS: tuple[Step, ...] = (
    Step(S.SENT, "accept", S.ACCEPTED, PROVIDER),
    Step(S.SENT, "decline", S.DECLINED, PROVIDER, ("reason",)),
    Step(S.SENT, "cancel", S.CANCELLED, SENDER),
    Step(S.ACCEPTED, "start", S.IN_PROGRESS, PROVIDER),
    Step(S.ACCEPTED, "close", S.CLOSED_WITHOUT_SERVICE, PROVIDER, ("outcome",)),
    Step(S.IN_PROGRESS, "complete", S.COMPLETED, PROVIDER, ("outcome",)),
    Step(S.IN_PROGRESS, "close", S.CLOSED_WITHOUT_SERVICE, PROVIDER, ("outcome",)),
)

REFERRAL_ACTIONS = sorted({step.action for step in REFERRAL_STEPS})

REFERRAL_ACTION_LABELS = {
    "accept": _l("Accept"),
    "decline": _l("Decline"),
    "cancel": _l("Cancel the referral"),
    "start": _l("Start the service"),
    "complete": _l("Complete"),
    "close": _l("Close without service"),
}

# Assistance can be recorded while the provider works on the referral.
ASSISTANCE_STATES = (S.ACCEPTED, S.IN_PROGRESS)


def steps_from(state: str) -> list[Step]:
    return [step for step in REFERRAL_STEPS if step.state == state]
