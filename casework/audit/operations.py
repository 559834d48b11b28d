"""Writing to the audit trail. Operations call `record` themselves, so no caller can forget."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request

from casework.audit.chain import canonical, link
from casework.audit.models import AuditEntry
from casework.extensions import db
from casework.models_base import utcnow


def client_address() -> str | None:
    # `remote_addr` is the proxy's unless ProxyFix is configured with the real hop count.
    return request.remote_addr if has_request_context() else None


def record(
    action: str,
    *,
    user: Any = None,
    record: Any = None,
    record_type: str | None = None,
    record_id: int | None = None,
    **data: Any,
) -> AuditEntry:
    """Append an audit entry in the current transaction: it commits or rolls back with the
    change it describes. `data` must carry no personal data (field names, codes, counts)."""
    if record is not None:
        record_type = record_type or record.__tablename__
        record_id = record_id if record_id is not None else record.id
    user_id = getattr(user, "id", None) if user is not None and user.is_authenticated else None
    entry = AuditEntry(
        at=utcnow(),
        user_id=user_id,
        action=action,
        record_type=record_type,
        record_id=record_id,
        client_address=client_address(),
        data=canonical(data),
    )
    link(entry)
    db.session.add(entry)
    return entry
