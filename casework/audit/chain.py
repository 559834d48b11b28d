"""The audit trail as a hash chain: append a link, and verify the whole chain.

Each entry's hash covers its content and the previous entry's hash, so changing, removing or
inserting an entry breaks every hash after it; the chain head records the last sequence, so
removing the newest entries shows too.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update

from casework.audit.models import AuditChainHead, AuditEntry
from casework.extensions import db
from casework.models_base import as_utc

GENESIS = "0" * 64
HEAD_ID = 1


def canonical(data: Any) -> Any:
    """What JSON storage gives back, so that the hash made now is the hash recomputed later."""
    return json.loads(json.dumps(data, default=str, sort_keys=True))


def digest(prev_hash: str, entry: AuditEntry) -> str:
    content = [
        entry.sequence,
        as_utc(entry.at).isoformat(timespec="microseconds"),
        entry.user_id,
        entry.action,
        entry.record_type,
        entry.record_id,
        entry.client_address,
        entry.data,
    ]
    payload = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + payload).encode("utf-8")).hexdigest()


def link(entry: AuditEntry) -> None:
    """Give `entry` the next place in the chain (in the current transaction)."""
    head = AuditChainHead.__table__
    row = db.session.execute(
        update(head)
        .where(head.c.id == HEAD_ID)
        .values(last_sequence=head.c.last_sequence + 1)
        .returning(head.c.last_sequence, head.c.last_hash)
    ).first()
    if row is None:  # a new database: the chain starts here
        db.session.execute(insert(head).values(id=HEAD_ID, last_sequence=1, last_hash=GENESIS))
        sequence, prev_hash = 1, GENESIS
    else:
        sequence, prev_hash = row
    entry.sequence = sequence
    entry.prev_hash = prev_hash
    entry.entry_hash = digest(prev_hash, entry)
    db.session.execute(update(head).where(head.c.id == HEAD_ID).values(last_hash=entry.entry_hash))


@dataclass
class Problem:
    sequence: int | None
    entry_id: int | None
    what: str

    def __str__(self) -> str:
        where = f"entry #{self.sequence}" if self.sequence is not None else "the chain"
        ident = f" (id {self.entry_id})" if self.entry_id is not None else ""
        return f"{where}{ident}: {self.what}"


def verify(batch: int = 5000) -> tuple[int, Problem | None]:
    """Walk the chain in order; return how many entries were checked and the first problem."""
    expected_sequence, prev_hash, checked = 1, GENESIS, 0
    last_id = 0
    unchained = db.session.scalar(
        select(AuditEntry.id).where(AuditEntry.sequence.is_(None)).order_by(AuditEntry.id).limit(1)
    )
    if unchained is not None:
        return 0, Problem(None, unchained, "an entry outside the chain was inserted")
    while True:
        entries = list(
            db.session.scalars(
                select(AuditEntry)
                .where(AuditEntry.sequence > last_id)
                .order_by(AuditEntry.sequence)
                .limit(batch)
            )
        )
        if not entries:
            break
        for entry in entries:
            if entry.sequence > expected_sequence:
                return checked, Problem(
                    expected_sequence, None, f"entries {expected_sequence}–{entry.sequence - 1} "
                    "were removed"
                )  # fmt: skip
            if entry.prev_hash != prev_hash:
                return checked, Problem(
                    entry.sequence, entry.id, "its link to the entry before it is broken "
                    "(an entry was removed or inserted)"
                )  # fmt: skip
            if digest(prev_hash, entry) != entry.entry_hash:
                return checked, Problem(entry.sequence, entry.id, "its content was changed")
            prev_hash, expected_sequence = entry.entry_hash, entry.sequence + 1
            checked += 1
        last_id = entries[-1].sequence
        db.session.expunge_all()
    head = db.session.get(AuditChainHead, HEAD_ID)
    if head is not None and head.last_sequence >= expected_sequence:
        return checked, Problem(
            expected_sequence, None, f"the last entries ({expected_sequence}–"
            f"{head.last_sequence}) were removed"
        )  # fmt: skip
    return checked, None
