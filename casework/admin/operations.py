"""Managing organisations (accounts are in casework.auth.operations)."""

from __future__ import annotations

from casework.admin.models import Organisation
from casework.audit.operations import record
from casework.auth.models import User
from casework.extensions import db
from casework.reference.models import Prefecture


def _region_of(prefecture_code: str | None) -> str | None:
    if not prefecture_code:
        return None
    prefecture = db.session.get(Prefecture, prefecture_code)
    return prefecture.region_code if prefecture else None


def save_organisation(org: Organisation | None, values: dict, *, by: User) -> Organisation:
    creating = org is None
    org = org or Organisation()
    values = {**values, "prefecture_code": values.get("prefecture_code") or None}
    changed = [k for k, v in values.items() if getattr(org, k) != v]
    for key in changed:
        setattr(org, key, values[key])
    org.region_code = _region_of(org.prefecture_code)
    db.session.add(org)
    db.session.flush()
    if creating or changed:
        action = "organisation.create" if creating else "organisation.update"
        record(action, user=by, record=org, fields=sorted(changed))
    return org
