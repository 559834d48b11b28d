"""Organisations: the offices, commissions and partners whose staff use Casework."""

from __future__ import annotations

from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.extensions import db
from casework.models_base import TimestampMixin, current_language
from casework.reference.models import Prefecture


class OrganisationKind(StrEnum):
    FOREIGNERS_OFFICE = "foreigners_office"
    APPEALS_COMMISSION = "appeals_commission"
    ASYLUM_OFFICE = "asylum_office"
    NGO = "ngo"
    PUBLIC_SERVICE = "public_service"


ORGANISATION_KIND_LABELS = {
    OrganisationKind.FOREIGNERS_OFFICE: _l("Foreigners' office"),
    OrganisationKind.APPEALS_COMMISSION: _l("National appeals commission"),
    OrganisationKind.ASYLUM_OFFICE: _l("Asylum office"),
    OrganisationKind.NGO: _l("Partner NGO"),
    OrganisationKind.PUBLIC_SERVICE: _l("Public service"),
}


class Organisation(TimestampMixin, db.Model):
    __tablename__ = "organisations"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # The name in Arabic script, for the Arabic UI and the Arabic column of letters.
    name_ar: Mapped[str | None] = mapped_column(String(200))
    # Short code used in file references (e.g. RAB in REG-2026-RAB-000123).
    code: Mapped[str] = mapped_column(String(12), unique=True)
    kind: Mapped[str] = mapped_column(String(24))
    prefecture_code: Mapped[str | None] = mapped_column(ForeignKey("prefectures.code"))
    # Kept alongside the prefecture so that regional scopes are a plain indexed filter.
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    prefecture: Mapped[Prefecture | None] = relationship()

    @property
    def kind_label(self) -> str:
        return str(ORGANISATION_KIND_LABELS.get(OrganisationKind(self.kind), self.kind))

    @property
    def local_name(self) -> str:
        """The name in the language of the current request (French outside a request)."""
        return self.name_in(current_language())

    def name_in(self, language: str) -> str:
        """The Arabic name for "ar" when there is one; the (French) name otherwise."""
        if language == "ar" and self.name_ar:
            return self.name_ar
        return self.name

    def __repr__(self) -> str:
        return f"<Organisation {self.code}>"
