"""Case files, their members, timeline events and documents."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.admin.models import Organisation
from casework.auth.models import User
from casework.extensions import db
from casework.field_encryption import EncryptedText
from casework.models_base import TimestampMixin, utcnow
from casework.people.models import Person
from casework.reference.models import Operation


class CaseKind(StrEnum):
    REGULARISATION = "regularisation"
    ASYLUM = "asylum"
    RENEWAL = "renewal"


CASE_KIND_LABELS = {
    CaseKind.REGULARISATION: _l("Regularisation"),
    CaseKind.ASYLUM: _l("Asylum"),
    CaseKind.RENEWAL: _l("Card renewal"),
}

# Prefix of the file reference for each kind: REG-2026-RAB-000123.
REFERENCE_PREFIX = {
    CaseKind.REGULARISATION: "REG",
    CaseKind.ASYLUM: "ASY",
    CaseKind.RENEWAL: "REN",
}


class Case(TimestampMixin, db.Model):
    __tablename__ = "cases"
    __table_args__ = (
        # The office queues: one office, one state, newest first (keyset pagination).
        Index("ix_cases_office_state_filed", "office_id", "state", "filed_on", "id"),
        Index("ix_cases_office_filed", "office_id", "filed_on", "id"),
        Index("ix_cases_assignee_state", "assigned_to_id", "state"),
        # National and regional supervisors' queues cut across offices by state.
        Index("ix_cases_state_filed", "state", "filed_on", "id"),
        # A national or regional supervisor's "all files", newest first, with no office filter.
        Index("ix_cases_filed", "filed_on", "id"),
        # Dashboards filter by kind and operation, then by region or office, over a period.
        Index("ix_cases_stats", "kind", "operation_code", "region_code", "office_id", "filed_on"),
        # An imported file keeps the register's reference, unique per office (casework.imports).
        UniqueConstraint("office_id", "external_ref", name="uq_cases_office_external_ref"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    external_ref: Mapped[str | None] = mapped_column(String(64), index=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    operation_code: Mapped[str] = mapped_column(ForeignKey("operations.code"))
    category_code: Mapped[str | None] = mapped_column(String(40))
    applicant_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    state: Mapped[str] = mapped_column(String(30))
    # The running deadline (information due, appeal window), for the "overdue" queue.
    deadline_on: Mapped[date | None] = mapped_column(Date, index=True)
    deadline_kind: Mapped[str | None] = mapped_column(String(20))
    # Key dates
    filed_on: Mapped[date] = mapped_column(Date)
    information_due_on: Mapped[date | None] = mapped_column(Date)
    proposed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_on: Mapped[date | None] = mapped_column(Date)
    notified_on: Mapped[date | None] = mapped_column(Date)
    appeal_lodged_on: Mapped[date | None] = mapped_column(Date)
    appeal_decided_on: Mapped[date | None] = mapped_column(Date)
    interview_on: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    interpreter_language: Mapped[str | None] = mapped_column(String(8))
    referred_to_bra_on: Mapped[date | None] = mapped_column(Date)
    card_number: Mapped[str | None] = mapped_column(String(40), unique=True)
    card_issued_on: Mapped[date | None] = mapped_column(Date)
    card_expires_on: Mapped[date | None] = mapped_column(Date, index=True)
    closed_on: Mapped[date | None] = mapped_column(Date)
    # The decision: proposed by a caseworker, approved by another person (four eyes).
    proposed_outcome: Mapped[str | None] = mapped_column(String(20))
    proposed_reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decision_text: Mapped[str | None] = mapped_column(Text)
    # Sensitive fields (casework.policy.FIELD_RULES): the asylum seeker's account of why they
    # fled, and the medical details behind a serious-illness application. Only the file's
    # office and its supervisors read them; they may be encrypted at rest.
    claim_narrative: Mapped[str | None] = mapped_column(EncryptedText("cases.claim_narrative"))
    medical_details: Mapped[str | None] = mapped_column(EncryptedText("cases.medical_details"))
    first_instance_outcome: Mapped[str | None] = mapped_column(String(20))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    appeal_outcome: Mapped[str | None] = mapped_column(String(20))
    appeal_decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    renewal_of_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    # Statistics dimensions, fixed when the file is filed (and the processing time when it is
    # decided), so that national figures are one GROUP BY on this table, with no joins.
    region_code: Mapped[str | None] = mapped_column(String(4))
    applicant_sex: Mapped[str | None] = mapped_column(String(1))
    applicant_nationality: Mapped[str | None] = mapped_column(String(2))
    applicant_age_band: Mapped[str | None] = mapped_column(String(8))
    processing_days: Mapped[int | None] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    applicant: Mapped[Person] = relationship(foreign_keys=[applicant_id])
    office: Mapped[Organisation] = relationship()
    operation: Mapped[Operation] = relationship()
    assigned_to: Mapped[User | None] = relationship(foreign_keys=[assigned_to_id])
    proposed_by: Mapped[User | None] = relationship(foreign_keys=[proposed_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    members: Mapped[list[CaseMember]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="CaseMember.id"
    )
    events: Mapped[list[CaseEvent]] = relationship(
        back_populates="case", order_by="CaseEvent.id", cascade="save-update"
    )
    documents: Mapped[list[CaseDocument]] = relationship(
        back_populates="case", order_by="CaseDocument.id"
    )
    renewal_of: Mapped[Case | None] = relationship(remote_side=[id])

    __mapper_args__ = {"version_id_col": version}

    @property
    def kind_label(self) -> str:
        return str(CASE_KIND_LABELS[CaseKind(self.kind)])

    def __repr__(self) -> str:
        return f"<Case {self.reference} {self.state}>"


AGE_BANDS = (("0-17", 0, 17), ("18-25", 18, 25), ("26-35", 26, 35), ("36-50", 36, 50),
             ("51+", 51, 200))  # fmt: skip


def age_band(age: int | None) -> str | None:
    """The dashboard's age band (0–17, 18–25, 26–35, 36–50, 51+) for an age in years."""
    if age is None:
        return None
    return next(label for label, low, high in AGE_BANDS if low <= age <= high)


class CaseMember(db.Model):
    """A household member included in the file besides the principal applicant."""

    __tablename__ = "case_members"
    __table_args__ = (UniqueConstraint("case_id", "person_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    case: Mapped[Case] = relationship(back_populates="members")
    person: Mapped[Person] = relationship()


class EventKind(StrEnum):
    CREATED = "created"
    TRANSITION = "transition"
    NOTE = "note"
    DOCUMENT = "document"
    ASSIGNMENT = "assignment"


class CaseEvent(db.Model):
    """One line of a case's timeline. Inserted, never updated or deleted."""

    __tablename__ = "case_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(20))
    action: Mapped[str | None] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(30))
    to_state: Mapped[str | None] = mapped_column(String(30))
    comment: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    case: Mapped[Case] = relationship(back_populates="events")
    user: Mapped[User | None] = relationship()


class VerificationStatus(StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"


class CaseDocument(db.Model):
    """A scan attached to a case, stored outside the web root under its content hash."""

    __tablename__ = "case_documents"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    document_code: Mapped[str] = mapped_column(String(40))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    status: Mapped[str] = mapped_column(String(12), default=VerificationStatus.PENDING.value)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    case: Mapped[Case] = relationship(back_populates="documents")


class ReferenceCounter(db.Model):
    """The last number given for a reference prefix (e.g. REG-2026-RAB)."""

    __tablename__ = "reference_counters"
    prefix: Mapped[str] = mapped_column(String(24), primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, default=0)
