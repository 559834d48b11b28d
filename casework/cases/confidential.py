"""A case's confidential fields: the asylum claim narrative and the serious-illness medical
details. Operations only (no request): flush, never commit.

Who reads and writes them is `casework.policy.FIELD_RULES`; this module applies it to changes,
and audits each change by the names of the fields that changed, never their text.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from casework.audit.operations import record
from casework.auth.models import User
from casework.cases.errors import ActionForbidden, InvalidInput
from casework.cases.models import Case
from casework.conflicts import check_version
from casework.extensions import db
from casework.policy import FieldRefusal, field_refusal, readable_fields, sensitive_fields

CONFIDENTIAL_FIELDS = sensitive_fields("case")
# Long enough for a written account of persecution; a bound all the same.
MAX_LENGTH = 20000

NOT_APPLICABLE = {
    "claim_narrative": _l("Only asylum files have a claim narrative."),
    "medical_details": _l("Only serious-illness files have medical details."),
}


def applicable_fields(case: Case) -> list[str]:
    """The confidential fields this file has (a narrative on asylum files, medical details on
    serious-illness files), whoever asks."""
    return [
        name
        for name in CONFIDENTIAL_FIELDS
        if field_refusal(None, case, name) != FieldRefusal.NOT_APPLICABLE
    ]


def shown_fields(case: Case, user: Any) -> list[str]:
    """The confidential fields `user` is shown on this file: readable and holding a value.
    The case view's audit entry names them (ASVS 16: access to sensitive data is logged)."""
    readable = readable_fields(user, case)
    return [name for name in CONFIDENTIAL_FIELDS if name in readable and getattr(case, name)]


def update_confidential(
    case: Case, values: dict[str, str | None], *, by: User, expected_version: int | None
) -> list[str]:
    """Set the confidential fields named in `values` (empty text clears one), or raise why not
    (nothing changes). Returns the names of the fields that changed."""
    check_version(case, expected_version)
    errors: dict[str, list[str]] = {}
    clean: dict[str, str | None] = {}
    for name, value in values.items():
        if name not in CONFIDENTIAL_FIELDS:
            errors[name] = [str(_l("Unknown field."))]
            continue
        refusal = field_refusal(by, case, name, writing=True)
        if refusal == FieldRefusal.NOT_APPLICABLE:
            errors[name] = [str(NOT_APPLICABLE[name])]
        elif refusal is not None:
            raise ActionForbidden(str(refusal))
        text = (value or "").strip()
        if len(text) > MAX_LENGTH:
            errors[name] = [str(_l("At most %(n)d characters.", n=MAX_LENGTH))]
        clean[name] = text or None
    if errors:
        raise InvalidInput(errors)
    changed = [name for name, value in clean.items() if getattr(case, name) != value]
    for name in changed:
        setattr(case, name, clean[name])
    if changed:
        db.session.flush()
        record("case.confidential_update", user=by, record=case, fields=sorted(changed))
    return changed
