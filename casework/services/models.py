"""Providers' offers, consents, referrals, assistance records and the person's timeline."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.admin.models import Organisation
from casework.auth.models import User
from casework.extensions import db
from casework.models_base import TimestampMixin, utcnow
from casework.people.models import Person
from casework.reference.models import Service


class ProviderService(db.Model):
    """A service a provider organisation offers, where, and how many open places it has."""

    __tablename__ = "provider_services"
    __table_args__ = (UniqueConstraint("organisation_id", "service_code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    service_code: Mapped[str] = mapped_column(ForeignKey("services.code"), index=True)
    region_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    capacity: Mapped[int | None] = mapped_column(Integer)  # open places; empty: not tracked
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    organisation: Mapped[Organisation] = relationship()
    service: Mapped[Service] = relationship()


class ConsentScope(StrEnum):
    REFERRAL = "referral"  # to be referred to a provider for a service
    SHARE_WITH_AGENCY = "share_with_agency"  # an NGO's walk-in shared with agency staff


class Consent(db.Model):
    """A person's consent: given on which date, to whom, for what, recorded by whom."""

    __tablename__ = "consents"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    scope: Mapped[str] = mapped_column(String(24))
    purpose: Mapped[str] = mapped_column(Text)
    given_on: Mapped[date] = mapped_column(Date)
    given_to_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    # The vulnerabilities the person agreed to share with the receiving organisation.
    shared_vulnerabilities: Mapped[list[str]] = mapped_column(JSON, default=list)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    withdrawn_on: Mapped[date | None] = mapped_column(Date)
    person: Mapped[Person] = relationship()
    given_to: Mapped[Organisation] = relationship()
    recorded_by: Mapped[User | None] = relationship()


class ReferralState(StrEnum):
    SENT = "sent"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CLOSED_WITHOUT_SERVICE = "closed_without_service"
    CANCELLED = "cancelled"


OPEN_REFERRAL_STATES = (ReferralState.SENT, ReferralState.ACCEPTED, ReferralState.IN_PROGRESS)

REFERRAL_STATE_LABELS = {
    ReferralState.SENT: _l("Sent"),
    ReferralState.ACCEPTED: _l("Accepted"),
    ReferralState.DECLINED: _l("Declined"),
    ReferralState.IN_PROGRESS: _l("In progress"),
    ReferralState.COMPLETED: _l("Completed"),
    ReferralState.CLOSED_WITHOUT_SERVICE: _l("Closed without service"),
    ReferralState.CANCELLED: _l("Cancelled"),
}

URGENCY_LABELS = {
    "low": _l("Low"),
    "normal": _l("Normal"),
    "high": _l("High"),
    "emergency": _l("Emergency"),
}


class Referral(TimestampMixin, db.Model):
    __tablename__ = "referrals"
    __table_args__ = (
        # The NGO inbox: one provider, open referrals, oldest due first.
        Index("ix_referrals_provider_state", "provider_id", "state", "due_date"),
        Index("ix_referrals_person_state", "person_id", "state"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    include_household: Mapped[bool] = mapped_column(Boolean, default=False)
    service_code: Mapped[str] = mapped_column(ForeignKey("services.code"))
    provider_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    sender_organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    consent_id: Mapped[int] = mapped_column(ForeignKey("consents.id"))
    purpose: Mapped[str] = mapped_column(Text)
    urgency: Mapped[str] = mapped_column(String(12), default="normal")
    due_date: Mapped[date | None] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(24), default=ReferralState.SENT.value)
    decline_reason: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(Text)
    responded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    person: Mapped[Person] = relationship()
    service: Mapped[Service] = relationship()
    provider: Mapped[Organisation] = relationship(foreign_keys=[provider_id])
    sender_organisation: Mapped[Organisation] = relationship(foreign_keys=[sender_organisation_id])
    sent_by: Mapped[User | None] = relationship()
    consent: Mapped[Consent] = relationship()
    assistance: Mapped[list[AssistanceRecord]] = relationship(
        back_populates="referral", order_by="AssistanceRecord.id"
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_open(self) -> bool:
        return self.state in {s.value for s in OPEN_REFERRAL_STATES}

    def is_overdue(self, today: date) -> bool:
        return self.is_open and self.due_date is not None and self.due_date < today

    @property
    def state_label(self) -> str:
        return str(REFERRAL_STATE_LABELS[ReferralState(self.state)])


class AssistanceRecord(db.Model):
    """What a provider gave. Corrections are new records pointing at the one they correct."""

    __tablename__ = "assistance_records"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referrals.id"), index=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    service_code: Mapped[str] = mapped_column(ForeignKey("services.code"), index=True)
    given_on: Mapped[date] = mapped_column(Date)
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    unit: Mapped[str] = mapped_column(String(40))
    place: Mapped[str | None] = mapped_column(String(200))
    outcome: Mapped[str | None] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("assistance_records.id"))
    # Records made together in one distribution share a batch key.
    batch: Mapped[str | None] = mapped_column(String(36), index=True)

    person: Mapped[Person] = relationship()
    referral: Mapped[Referral | None] = relationship(back_populates="assistance")
    provider: Mapped[Organisation] = relationship()
    service: Mapped[Service] = relationship()
    recorded_by: Mapped[User | None] = relationship()
    corrects: Mapped[AssistanceRecord | None] = relationship(remote_side=[id])


class PersonEvent(db.Model):
    """A line of a person's timeline (referrals, consents, assistance). Never edited."""

    __tablename__ = "person_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    kind: Mapped[str] = mapped_column(String(30))
    record_type: Mapped[str | None] = mapped_column(String(30))
    record_id: Mapped[int | None] = mapped_column(Integer)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    user: Mapped[User | None] = relationship()
    organisation: Mapped[Organisation | None] = relationship()
