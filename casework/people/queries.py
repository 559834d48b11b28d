"""Reading people: every query starts from the caller's scope (casework.policy)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, and_, or_, select

from casework.auth.models import User
from casework.people.models import Household, IdentityDocument, Person
from casework.people.normalise import fold, fold_document_number
from casework.policy import households_scope, people_scope


@dataclass
class PeopleFilter:
    q: str | None = None
    nationality: str | None = None
    sex: str | None = None
    date_of_birth: date | None = None
    document_number: str | None = None


def visible_people(user: User) -> Select:
    return select(Person).where(people_scope(user))


def search_people(user: User, criteria: PeopleFilter) -> Select:
    """Names match in either script, whatever the accents and case, word by word; a term that
    looks like a document number also matches identity documents."""
    query = visible_people(user)
    words = fold(criteria.q).split()
    if words:  # a term of punctuation or spaces only folds to nothing: it filters nothing
        name_match = and_(*(Person.search_text.contains(word, autoescape=True) for word in words))
        number = fold_document_number(criteria.q)
        if number and any(ch.isdigit() for ch in number):
            by_document = Person.id.in_(
                select(IdentityDocument.person_id).where(IdentityDocument.number_folded == number)
            )
            query = query.where(or_(name_match, by_document))
        else:
            query = query.where(name_match)
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
