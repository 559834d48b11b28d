"""Reference data: geography, countries, procedures and the strategy's programmes.

Loaded from the JSON files in `reference/data/` by `casework reference load`; rows are keyed by
their published codes so that reloading updates them in place.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.extensions import db
from casework.models_base import TrilingualNameMixin, current_language


class Region(TrilingualNameMixin, db.Model):
    """One of the 12 regions created in 2015."""

    __tablename__ = "regions"
    code: Mapped[str] = mapped_column(String(4), primary_key=True)
    prefectures: Mapped[list[Prefecture]] = relationship(
        back_populates="region", order_by="Prefecture.name_fr"
    )


class LegacyRegion(TrilingualNameMixin, db.Model):
    """One of the 16 regions of the pre-2015 map, used by the 2014 statistics."""

    __tablename__ = "legacy_regions"
    code: Mapped[str] = mapped_column(String(4), primary_key=True)
    new_region_codes: Mapped[list[str]] = mapped_column(JSON, default=list)


class Prefecture(TrilingualNameMixin, db.Model):
    """A prefecture or province: the unit where foreigners' offices sit."""

    __tablename__ = "prefectures"
    code: Mapped[str] = mapped_column(String(3), primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))  # prefecture | province
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    legacy_region_code: Mapped[str | None] = mapped_column(ForeignKey("legacy_regions.code"))
    region: Mapped[Region] = relationship(back_populates="prefectures")


class Country(TrilingualNameMixin, db.Model):
    __tablename__ = "countries"
    alpha2: Mapped[str] = mapped_column(String(2), primary_key=True)
    alpha3: Mapped[str] = mapped_column(String(3), unique=True)


class Operation(TrilingualNameMixin, db.Model):
    """A procedure a file is filed under: a regularisation operation or the asylum procedure.

    Policy changed between operations, so its rules (appeal window, card validity, acceptance
    rules such as "all women and children are accepted") are data kept per operation.
    """

    __tablename__ = "operations"
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # regularisation | asylum
    opens_on: Mapped[date] = mapped_column(Date)
    closes_on: Mapped[date | None] = mapped_column(Date)
    appeal_window_days: Mapped[int] = mapped_column(Integer, default=30)
    first_card_validity_days: Mapped[int | None] = mapped_column(Integer)
    renewal_card_validity_days: Mapped[int | None] = mapped_column(Integer)
    rules: Mapped[list[dict]] = mapped_column(JSON, default=list)
    categories: Mapped[list[EligibilityCategory]] = relationship(
        back_populates="operation", order_by="EligibilityCategory.position"
    )

    def is_open_on(self, day: date) -> bool:
        return self.opens_on <= day and (self.closes_on is None or day <= self.closes_on)

    def rule_names(self) -> list[str]:
        language = current_language()
        return [r.get(f"name_{language}") or r.get("name_fr", r["code"]) for r in self.rules]


class EligibilityCategory(TrilingualNameMixin, db.Model):
    __tablename__ = "eligibility_categories"
    __table_args__ = (UniqueConstraint("operation_code", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    operation_code: Mapped[str] = mapped_column(ForeignKey("operations.code"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(Integer, default=0)
    description_fr: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    description_ar: Mapped[str] = mapped_column(Text, default="")
    required_documents: Mapped[list[dict]] = mapped_column(JSON, default=list)
    operation: Mapped[Operation] = relationship(back_populates="categories")

    @property
    def description(self) -> str:
        return getattr(self, f"description_{current_language()}") or self.description_fr


class SdgTarget(TrilingualNameMixin, db.Model):
    __tablename__ = "sdg_targets"
    code: Mapped[str] = mapped_column(String(8), primary_key=True)


class Programme(TrilingualNameMixin, db.Model):
    """One of the 11 programmes of the National Immigration and Asylum Strategy."""

    __tablename__ = "programmes"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    kind: Mapped[str] = mapped_column(String(12))  # sectoral | transversal
    action_count: Mapped[int] = mapped_column(Integer)
    sdg_targets: Mapped[list[str]] = mapped_column(JSON, default=list)
    services: Mapped[list[Service]] = relationship(
        back_populates="programme", order_by="Service.position"
    )


class Service(TrilingualNameMixin, db.Model):
    """A service a person can be referred to, under one programme."""

    __tablename__ = "services"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    programme_code: Mapped[str] = mapped_column(ForeignKey("programmes.code"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(default=True)
    programme: Mapped[Programme] = relationship(back_populates="services")
