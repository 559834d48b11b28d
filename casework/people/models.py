"""People, their identity documents and households."""

from __future__ import annotations

from datetime import date, datetime
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
    String,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.admin.models import Organisation
from casework.extensions import db
from casework.field_encryption import EncryptedText
from casework.models_base import TimestampMixin
from casework.people.normalise import fold, fold_document_number
from casework.reference.models import Country, Prefecture


class Sex(StrEnum):
    FEMALE = "F"
    MALE = "M"
    OTHER = "X"


SEX_LABELS = {Sex.FEMALE: _l("Female"), Sex.MALE: _l("Male"), Sex.OTHER: _l("Other / unspecified")}

# The vulnerability flags a caseworker records, in the order the form shows them.
VULNERABILITIES = {
    "unaccompanied_minor": _l("Unaccompanied minor"),
    "pregnant": _l("Pregnant"),
    "serious_illness": _l("Serious illness"),
    "disability": _l("Disability"),
    "trafficking_victim": _l("Victim of trafficking"),
}


class DocumentKind(StrEnum):
    PASSPORT = "passport"
    NATIONAL_ID = "national_id"
    CONSULAR_CARD = "consular_card"
    BIRTH_CERTIFICATE = "birth_certificate"
    ASYLUM_CERTIFICATE = "asylum_certificate"
    REFUGEE_CARD = "refugee_card"
    RESIDENCE_CARD = "residence_card"
    OTHER = "other"


DOCUMENT_KIND_LABELS = {
    DocumentKind.PASSPORT: _l("Passport"),
    DocumentKind.NATIONAL_ID: _l("National identity card"),
    DocumentKind.CONSULAR_CARD: _l("Consular card"),
    DocumentKind.BIRTH_CERTIFICATE: _l("Birth certificate"),
    DocumentKind.ASYLUM_CERTIFICATE: _l("Asylum-seeker certificate"),
    DocumentKind.REFUGEE_CARD: _l("Refugee card"),
    DocumentKind.RESIDENCE_CARD: _l("Residence card"),
    DocumentKind.OTHER: _l("Other document"),
}


class Relationship(StrEnum):
    HEAD = "head"
    SPOUSE = "spouse"
    CHILD = "child"
    PARENT = "parent"
    SIBLING = "sibling"
    OTHER_RELATIVE = "other_relative"
    OTHER = "other"


RELATIONSHIP_LABELS = {
    Relationship.HEAD: _l("Head of household"),
    Relationship.SPOUSE: _l("Spouse"),
    Relationship.CHILD: _l("Child"),
    Relationship.PARENT: _l("Parent"),
    Relationship.SIBLING: _l("Brother or sister"),
    Relationship.OTHER_RELATIVE: _l("Other relative"),
    Relationship.OTHER: _l("Other"),
}


class Person(TimestampMixin, db.Model):
    __tablename__ = "people"
    # An imported person keeps the reference of the register it came from, unique per holding
    # organisation: importing the same file again updates instead of duplicating.
    __table_args__ = (
        UniqueConstraint(
            "organisation_id", "external_ref", name="uq_people_organisation_external_ref"
        ),
        # Duplicate detection's blocks (casework.people.duplicates): the same name keys near a
        # date of birth, or one name key on the same date of birth.
        Index("ix_people_match_names", "match_family", "match_given", "date_of_birth"),
        Index("ix_people_match_family_born", "match_family", "date_of_birth"),
        Index("ix_people_match_given_born", "match_given", "date_of_birth"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    external_ref: Mapped[str | None] = mapped_column(String(64), index=True)
    family_name: Mapped[str] = mapped_column(String(120))
    given_names: Mapped[str] = mapped_column(String(120))
    family_name_ar: Mapped[str | None] = mapped_column(String(120))
    given_names_ar: Mapped[str | None] = mapped_column(String(120))
    sex: Mapped[str] = mapped_column(String(1))
    date_of_birth: Mapped[date | None] = mapped_column(Date, index=True)
    date_of_birth_approximate: Mapped[bool] = mapped_column(Boolean, default=False)
    nationality: Mapped[str | None] = mapped_column(ForeignKey("countries.alpha2"), index=True)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    phone: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(String(300))
    prefecture_code: Mapped[str | None] = mapped_column(ForeignKey("prefectures.code"))
    unaccompanied_minor: Mapped[bool] = mapped_column(Boolean, default=False)
    pregnant: Mapped[bool] = mapped_column(Boolean, default=False)
    serious_illness: Mapped[bool] = mapped_column(Boolean, default=False)
    disability: Mapped[bool] = mapped_column(Boolean, default=False)
    trafficking_victim: Mapped[bool] = mapped_column(Boolean, default=False)
    vulnerability_notes: Mapped[str | None] = mapped_column(
        EncryptedText("people.vulnerability_notes")
    )
    # The organisation that holds the record: the office that registered the person, or the
    # NGO that registered a walk-in beneficiary. Scope rules start from it.
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Folded copy of every name, in both scripts, for accent- and case-insensitive search.
    search_text: Mapped[str] = mapped_column(String(600), default="", index=True)
    # Blocking keys of duplicate detection (casework.people.transliteration.name_key): the
    # consonant skeleton of the family name and of the first given name, kept by the hook below.
    match_family: Mapped[str | None] = mapped_column(String(40))
    match_given: Mapped[str | None] = mapped_column(String(40))
    # Set when a supervisor merged this record into another (casework.people.merge): the
    # record stays for its history, out of searches and lists.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    # Set when the retention policy anonymised the record (casework.people.retention): names,
    # contact details and documents are gone; the files' statistics stay.
    anonymised_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    organisation: Mapped[Organisation] = relationship()
    country: Mapped[Country | None] = relationship()
    prefecture: Mapped[Prefecture | None] = relationship()
    documents: Mapped[list[IdentityDocument]] = relationship(
        back_populates="person", cascade="all, delete-orphan", order_by="IdentityDocument.id"
    )
    membership: Mapped[HouseholdMember | None] = relationship(back_populates="person")

    __mapper_args__ = {"version_id_col": version}

    @property
    def full_name(self) -> str:
        return f"{self.family_name.upper()} {self.given_names}"

    @property
    def full_name_ar(self) -> str:
        return " ".join(p for p in (self.given_names_ar, self.family_name_ar) if p)

    @property
    def vulnerability_codes(self) -> list[str]:
        return [code for code in VULNERABILITIES if getattr(self, code)]

    def age_on(self, day: date) -> int | None:
        if self.date_of_birth is None:
            return None
        born = self.date_of_birth
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))

    def refresh_search_text(self) -> None:
        names = (self.family_name, self.given_names, self.family_name_ar, self.given_names_ar)
        self.search_text = fold(" ".join(n for n in names if n))[:600]

    def refresh_match_keys(self) -> None:
        from casework.people.transliteration import name_key

        self.match_family = name_key(self.family_name or self.family_name_ar)
        self.match_given = name_key(self.given_names or self.given_names_ar, first_word=True)

    def __repr__(self) -> str:
        return f"<Person {self.id}>"


@event.listens_for(Person, "before_insert")
@event.listens_for(Person, "before_update")
def _keep_search_text(_mapper, _connection, person: Person) -> None:
    if person.anonymised_at is not None:  # nothing left to search for, nobody to match
        person.search_text, person.match_family, person.match_given = "", None, None
        return
    person.refresh_search_text()
    person.refresh_match_keys()


class IdentityDocument(db.Model):
    __tablename__ = "identity_documents"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    number: Mapped[str] = mapped_column(String(60))
    number_folded: Mapped[str] = mapped_column(String(60), index=True)
    issuing_country: Mapped[str | None] = mapped_column(ForeignKey("countries.alpha2"))
    expires_on: Mapped[date | None] = mapped_column(Date)
    person: Mapped[Person] = relationship(back_populates="documents")

    @property
    def kind_label(self) -> str:
        return str(DOCUMENT_KIND_LABELS.get(DocumentKind(self.kind), self.kind))


@event.listens_for(IdentityDocument, "before_insert")
@event.listens_for(IdentityDocument, "before_update")
def _keep_number_folded(_mapper, _connection, document: IdentityDocument) -> None:
    document.number_folded = fold_document_number(document.number)


class Household(TimestampMixin, db.Model):
    __tablename__ = "households"
    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    members: Mapped[list[HouseholdMember]] = relationship(
        back_populates="household", cascade="all, delete-orphan", order_by="HouseholdMember.id"
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def head(self) -> Person | None:
        for member in self.members:
            if member.relationship_to_head == Relationship.HEAD:
                return member.person
        return None


class HouseholdMember(db.Model):
    __tablename__ = "household_members"
    # A person belongs to one household at a time.
    __table_args__ = (UniqueConstraint("person_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    relationship_to_head: Mapped[str] = mapped_column(String(20))
    household: Mapped[Household] = relationship(back_populates="members")
    person: Mapped[Person] = relationship(back_populates="membership")

    @property
    def relationship_label(self) -> str:
        return str(RELATIONSHIP_LABELS.get(Relationship(self.relationship_to_head), ""))
