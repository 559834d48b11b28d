"""Reading people: every query starts from the caller's scope (casework.policy)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, and_, or_, select

from casework.auth.models import User
from casework.people.models import Household, IdentityDocument, Person
from casework.people.normalise import fold, fold_document_number
from casework.policy import Role, households_scope, people_scope


@dataclass
class PeopleFilter:
    q: str | None = None
    nationality: str | None = None
    sex: str | None = None
    date_of_birth: date | None = None
    document_number: str | None = None


def visible_people(user: User) -> Select:
    """The people in `user`'s scope, less those merged into another record (their history is
    reached from the record they were merged into)."""
    return select(Person).where(people_scope(user), Person.merged_into_id.is_(None))


def search_people(user: User, criteria: PeopleFilter) -> Select:
    """Names match in either script, whatever the accents and case, word by word; a term that
    looks like a document number also matches identity documents.

    An NGO searches the people referred to it only on what its view of them shows (names,
    nationality, sex): no date of birth or document number can probe what that view hides."""
    query = visible_people(user)
    own_only = None
    if Role(user.role) == Role.NGO:
        own_only = Person.organisation_id == user.organisation_id
    words = fold(criteria.q).split()
    if words:  # a term of punctuation or spaces only folds to nothing: it filters nothing
        name_match = and_(*(Person.search_text.contains(word, autoescape=True) for word in words))
        number = fold_document_number(criteria.q)
        if number and any(ch.isdigit() for ch in number):
            by_document = Person.id.in_(
                select(IdentityDocument.person_id).where(IdentityDocument.number_folded == number)
            )
            if own_only is not None:
                by_document = and_(by_document, own_only)
            query = query.where(or_(name_match, by_document))
        else:
            query = query.where(name_match)
    if own_only is not None and (criteria.document_number or criteria.date_of_birth):
        query = query.where(own_only)
    if criteria.document_number:
        number = fold_document_number(criteria.document_number)
        query = query.where(
            Person.id.in_(
                select(IdentityDocument.person_id).where(IdentityDocument.number_folded == number)
            )
        )
    if criteria.nationality:
        query = query.where(Person.nationality == criteria.nationality.upper())
    if criteria.sex:
        query = query.where(Person.sex == criteria.sex)
    if criteria.date_of_birth:
        query = query.where(Person.date_of_birth == criteria.date_of_birth)
    return query


def visible_households(user: User) -> Select:
    return select(Household).where(households_scope(user))
