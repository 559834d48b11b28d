"""Suspected duplicates awaiting review, and the merges made of them (with what undoes them)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.auth.models import User
from casework.extensions import db
from casework.models_base import utcnow
from casework.people.models import Person


class PairStatus(StrEnum):
    OPEN = "open"
    DISMISSED = "dismissed"  # "not the same person": never suggested again
    MERGED = "merged"


PAIR_STATUS_LABELS = {
    PairStatus.OPEN: _l("To review"),
    PairStatus.DISMISSED: _l("Not the same person"),
    PairStatus.MERGED: _l("Merged"),
}


class DuplicatePair(db.Model):
    """Two people who may be one, found when the later was registered (or changed)."""

    __tablename__ = "duplicate_pairs"
    __table_args__ = (
        # One row per pair, the lower id first: a dismissal is remembered whoever finds it.
        UniqueConstraint("person_id", "other_id", name="uq_duplicate_pairs_people"),
        Index("ix_duplicate_pairs_status", "status", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    other_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    score: Mapped[float] = mapped_column(Float)
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(12), default=PairStatus.OPEN.value)
    found_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    person: Mapped[Person] = relationship(foreign_keys=[person_id])
    other: Mapped[Person] = relationship(foreign_keys=[other_id])
    decided_by: Mapped[User | None] = relationship()

    @property
    def status_label(self) -> str:
        return str(PAIR_STATUS_LABELS[PairStatus(self.status)])


class PersonMerge(db.Model):
    """One merge: who merged which record into which, why, when, the merged record as it was,
    and the ids of every row moved (so that `casework.people.merge.undo_merge` restores them)."""

    __tablename__ = "person_merges"
    id: Mapped[int] = mapped_column(primary_key=True)
    kept_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    merged_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    pair_id: Mapped[int | None] = mapped_column(ForeignKey("duplicate_pairs.id"))
    merged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    merged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    reason: Mapped[str] = mapped_column(Text)
    # Every column of the merged person, and of its documents, before the merge.
    former_values: Mapped[dict] = mapped_column(JSON)
    # table -> ids of the rows moved to the kept person (and the rows set aside, see merge).
    moved: Mapped[dict] = mapped_column(JSON)
    undone_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    undone_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    kept: Mapped[Person] = relationship(foreign_keys=[kept_id])
    merged: Mapped[Person] = relationship(foreign_keys=[merged_id])
    merged_by: Mapped[User | None] = relationship(foreign_keys=[merged_by_id])
    undone_by: Mapped[User | None] = relationship(foreign_keys=[undone_by_id])

    __mapper_args__ = {"version_id_col": version}

    @property
    def moved_count(self) -> int:
        return sum(len(ids) for key, ids in self.moved.items() if not key.startswith("_"))
