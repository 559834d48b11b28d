"""Duplicate detection: who among the people already registered may be this person?

`find_candidates(person_or_values, user)` answers with the people in the caller's scope that
look like the same person, each with a score from 0 to 1 and the reasons for it. It runs in two
steps, so that it stays fast at a million people:

1. **Blocking**: a few indexed look-ups fetch the few rows worth comparing, by the blocking
   keys stored on `Person` (`match_family`, `match_given`: consonant skeletons of the names
   that Latin and Arabic spellings share, see `casework.people.transliteration`):
   * the same two name keys (in either order: family and given names swapped) born within a
     year and a bit of each other, or with no date of birth on either side;
   * the same family-name key born the same day (a variant of the given name), or within a
     year when either date is approximate; the same for the given-name key (a variant of the
     family name);
   * the same identity document number.
2. **Scoring**: each row fetched is compared with rapidfuzz on its names in every written form
   (Latin and Arabic script, straight and swapped), its date of birth (exact, within a year when
   approximate), nationality, sex and documents; the evidence adds up to a log-odds, mapped to
   0..1.

`PROBABLE` is the score from which two records are taken for the same person (registration
warns, the API answers 409, the pair goes to the review queue). It was chosen by measurement on
labelled data (bench/duplicates.py; the figures are in bench/README.md).

Suspected pairs are stored (`DuplicatePair`) when a person is registered or their identity
changes, looked up with no scope so that the pair reaches the supervisors who see both people;
the queue shows each user only the pairs whose two people are in their scope.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, and_, or_, select, text, union

from casework.auth.models import User
from casework.extensions import db
from casework.people.models import IdentityDocument, Person
from casework.people.normalise import fold_document_number
from casework.people.transliteration import name_key, names_match
from casework.policy import people_scope

# From this score two records are taken for the same person (see the module's docstring).
PROBABLE = 0.85
# Candidates shown on a person's "possible duplicates" list start here.
POSSIBLE = 0.5
# How many rows each block may bring (a very common name on a very common day).
BLOCK_LIMIT = 200
# The evidence of a missing date of birth (on either side), in log-odds.
NO_BIRTH_DATE = -1.5
# Two exact dates of birth this close may still hold a typo.
NEAR = timedelta(days=400)

# Reasons, as the API gives them, and as the pages show them.
NAME = "name"
NAME_SWAPPED = "name swapped"
ARABIC_NAME = "Arabic name"
BORN_SAME_DAY = "date of birth exact"
BORN_NEAR_APPROXIMATE = "date of birth within 1 year (approximate)"
BORN_NEAR = "date of birth close"
SAME_NATIONALITY = "same nationality"
SAME_DOCUMENT = "same document number"
REASON_LABELS = {
    NAME: _l("Similar name"),
    NAME_SWAPPED: _l("Similar name, family and given names swapped"),
    ARABIC_NAME: _l("Same name in Arabic script"),
    BORN_SAME_DAY: _l("Same date of birth"),
    BORN_NEAR_APPROXIMATE: _l("Date of birth within a year (approximate)"),
    BORN_NEAR: _l("Close date of birth"),
    SAME_NATIONALITY: _l("Same nationality"),
    SAME_DOCUMENT: _l("Same identity document number"),
}


def reason_label(reason: str) -> str:
    return str(REASON_LABELS.get(reason, reason))


@dataclass
class Probe:
    """What is compared: a person being registered, or one already registered."""

    family: list[str]
    given: list[str]
    sex: str | None = None
    born: date | None = None
    approximate: bool = False
    nationality: str | None = None
    documents: set[str] = field(default_factory=set)
    person_id: int | None = None

    @classmethod
    def of(cls, person_or_values: Person | dict[str, Any]) -> Probe:
        if isinstance(person_or_values, Person):
            p = person_or_values
            return cls(
                family=[n for n in (p.family_name, p.family_name_ar) if n],
                given=[n for n in (p.given_names, p.given_names_ar) if n],
                sex=p.sex,
                born=p.date_of_birth,
                approximate=bool(p.date_of_birth_approximate),
                nationality=p.nationality,
                documents={d.number_folded or fold_document_number(d.number) for d in p.documents},
                person_id=p.id,
            )
        v = person_or_values
        numbers = {fold_document_number(d.get("number")) for d in v.get("documents") or []}
        nationality = v.get("nationality")
        return cls(
            family=[n for n in (v.get("family_name"), v.get("family_name_ar")) if n],
            given=[n for n in (v.get("given_names"), v.get("given_names_ar")) if n],
            sex=v.get("sex"),
            born=v.get("date_of_birth"),
            approximate=bool(v.get("date_of_birth_approximate")),
            nationality=nationality.upper() if nationality else None,
            documents={n for n in numbers if n},
        )


@dataclass
class Candidate:
    person_id: int
    score: float
    reasons: list[str]
    person: Person | None = None

    def as_json(self) -> dict[str, Any]:
        return {"id": self.person_id, "score": round(self.score, 3), "reasons": self.reasons}


# --- Blocking ----------------------------------------------------------------------------------


def _keys(names: Iterable[str], *, first_word: bool) -> set[str]:
    return {k for k in (name_key(n, first_word=first_word) for n in names) if k}


def blocking_queries(probe: Probe) -> list:
    """The indexed look-ups (SELECT person ids) whose union is worth scoring."""
    family = _keys(probe.family, first_word=False)
    given = _keys(probe.given, first_word=True)
    # Swapped: the stored family name is what the probe has as given names, and so on.
    family_swapped = _keys(probe.given, first_word=False)
    given_swapped = _keys(probe.family, first_word=True)
    pairs = [(f, g) for f in family for g in given]
    pairs += [(f, g) for f in family_swapped for g in given_swapped]
    born = probe.born
    queries = []
    if born is not None:
        # An approximate date of birth is within a year of the true one: the year before, the
        # same year or the year after (approximate dates are put on any day of the year).
        years = Person.date_of_birth.between(date(born.year - 1, 1, 1), date(born.year + 1, 12, 31))
    # One look-up per pair of keys, so that each is an equality on the composite index.
    for family_key, given_key in sorted(set(pairs)):
        names = and_(Person.match_family == family_key, Person.match_given == given_key)
        if born is None:
            queries.append(select(Person.id).where(names).limit(BLOCK_LIMIT))
        else:
            queries.append(select(Person.id).where(names, years).limit(BLOCK_LIMIT))
            queries.append(
                select(Person.id).where(names, Person.date_of_birth.is_(None)).limit(BLOCK_LIMIT)
            )
    if born is not None:
        for column, keys in (
            (Person.match_family, family | family_swapped),
            (Person.match_given, given | given_swapped),
        ):
            if not keys:
                continue
            queries.append(
                select(Person.id)
                .where(column.in_(sorted(keys)), Person.date_of_birth == born)
                .limit(BLOCK_LIMIT)
            )
            near = years
            if not probe.approximate:
                near = and_(near, Person.date_of_birth_approximate.is_(True))
            queries.append(
                select(Person.id).where(column.in_(sorted(keys)), near).limit(BLOCK_LIMIT)
            )
    if probe.documents:
        queries.append(
            select(IdentityDocument.person_id)
            .where(IdentityDocument.number_folded.in_(sorted(probe.documents)))
            .limit(BLOCK_LIMIT)
        )
    return queries


def _blocked_ids(probe: Probe) -> set[int]:
    queries = blocking_queries(probe)
    if not queries:
        return set()
    # Each look-up is a subquery of its own so that each keeps its LIMIT and its index.
    statement = union(*(select(q.subquery().c[0]) for q in queries))
    ids = set(db.session.scalars(statement))
    ids.discard(probe.person_id)
    return ids


# --- Scoring -----------------------------------------------------------------------------------


def score(probe: Probe, row: Any, shared_document: bool = False) -> tuple[float, list[str]]:
    """0..1 and the reasons: the evidence of each field adds up to a log-odds."""
    reasons: list[str] = []
    family = [n for n in (row.family_name, row.family_name_ar) if n]
    given = [n for n in (row.given_names, row.given_names_ar) if n]
    similarity, swapped, arabic = names_match(probe.family, probe.given, family, given)
    logit = 14.0 * (similarity - 0.82)
    if similarity >= 0.8:
        reasons.append(NAME_SWAPPED if swapped else NAME)
        if arabic:
            reasons.append(ARABIC_NAME)
    logit += _born_evidence(probe, row, reasons)
    if probe.nationality and row.nationality:
        if probe.nationality == row.nationality:
            logit += 0.6
            reasons.append(SAME_NATIONALITY)
        else:
            logit -= 1.5
    if probe.sex and row.sex and "X" not in (probe.sex, row.sex) and probe.sex != row.sex:
        logit -= 3.5
    if shared_document:
        logit += 4.0
        reasons.append(SAME_DOCUMENT)
    return 1.0 / (1.0 + math.exp(-logit)), reasons


def _born_evidence(probe: Probe, row: Any, reasons: list[str]) -> float:
    if probe.born is None or row.date_of_birth is None:
        # Homonyms are common: a name alone (and a nationality) is not enough.
        return NO_BIRTH_DATE
    apart = abs((probe.born - row.date_of_birth).days)
    approximate = probe.approximate or bool(row.date_of_birth_approximate)
    if apart == 0 and not approximate:
        reasons.append(BORN_SAME_DAY)
        return 2.2
    a, b = probe.born, row.date_of_birth
    if approximate and abs(a.year - b.year) <= 1:
        reasons.append(BORN_NEAR_APPROXIMATE)
        return 1.2
    if apart <= 31 or (a.year == b.year and (a.month, a.day) == (b.day, b.month)):
        reasons.append(BORN_NEAR)  # a typo in the day, or day and month swapped
        return 0.4
    if a.month == b.month and a.day == b.day and abs(a.year - b.year) <= 10:
        reasons.append(BORN_NEAR)  # a typo in the year
        return 0.0
    if apart <= NEAR.days:
        return -2.0
    return -3.0 if approximate else -4.5


# --- Finding -----------------------------------------------------------------------------------


_COLUMNS = (
    Person.id,
    Person.family_name,
    Person.given_names,
    Person.family_name_ar,
    Person.given_names_ar,
    Person.sex,
    Person.date_of_birth,
    Person.date_of_birth_approximate,
    Person.nationality,
)


def _find(
    probe: Probe, scope: ColumnElement[bool] | None, limit: int, minimum: float
) -> list[Candidate]:
    ids = _blocked_ids(probe)
    if not ids:
        return []
    if db.session.get_bind().dialect.name == "postgresql":
        # The scope's subqueries make the planner's estimate large enough to compile this
        # short look-up with JIT, which alone takes most of a second: not for this transaction.
        db.session.execute(text("SET LOCAL jit = off"))
    query = select(*_COLUMNS).where(Person.id.in_(sorted(ids)), Person.merged_into_id.is_(None))
    if scope is not None:
        query = query.where(scope)
    rows = db.session.execute(query).all()
    shared: set[int] = set()
    if probe.documents and rows:
        shared = set(
            db.session.scalars(
                select(IdentityDocument.person_id).where(
                    IdentityDocument.person_id.in_([r.id for r in rows]),
                    IdentityDocument.number_folded.in_(sorted(probe.documents)),
                )
            )
        )
    dismissed = _dismissed_with(probe.person_id) if probe.person_id else set()
    candidates = []
    for row in rows:
        if row.id in dismissed:
            continue
        value, reasons = score(probe, row, row.id in shared)
        if value >= minimum:
            candidates.append(Candidate(row.id, value, reasons))
    candidates.sort(key=lambda c: (-c.score, c.person_id))
    return candidates[:limit]


def _dismissed_with(person_id: int) -> set[int]:
    from casework.people.merge_models import DuplicatePair, PairStatus

    rows = db.session.execute(
        select(DuplicatePair.person_id, DuplicatePair.other_id).where(
            or_(DuplicatePair.person_id == person_id, DuplicatePair.other_id == person_id),
            DuplicatePair.status == PairStatus.DISMISSED,
        )
    ).all()
    return {a if b == person_id else b for a, b in rows}


def find_candidates(
    person_or_values: Person | dict[str, Any],
    user: User,
    limit: int = 10,
    minimum: float = POSSIBLE,
    *,
    load: bool = False,
) -> list[Candidate]:
    """The people in `user`'s scope who may be this person (a `Person`, or the values of one
    being registered, with its `documents`), best first, scored 0..1 with reasons. Merged
    people, the person itself and pairs dismissed as "not the same person" are left out.
    `load`: also load each candidate's `Person` (for pages)."""
    candidates = _find(Probe.of(person_or_values), people_scope(user), limit, minimum)
    if load and candidates:
        people = db.session.scalars(
            select(Person).where(Person.id.in_([c.person_id for c in candidates]))
        )
        by_id = {p.id: p for p in people}
        for candidate in candidates:
            candidate.person = by_id[candidate.person_id]
    return candidates


def probable(candidates: list[Candidate]) -> list[Candidate]:
    return [c for c in candidates if c.score >= PROBABLE]


def note_suspected_pairs(person: Person) -> int:
    """Store the pairs of `person` with the people it probably duplicates, whoever holds them
    (the queue filters by scope); a pair already known keeps its status. Returns how many pairs
    were added."""
    from casework.people.merge_models import DuplicatePair

    if person.merged_into_id is not None:
        return 0
    found = _find(Probe.of(person), None, 20, PROBABLE)
    added = 0
    for candidate in found:
        low, high = sorted((person.id, candidate.person_id))
        exists = db.session.scalar(
            select(DuplicatePair.id).where(
                DuplicatePair.person_id == low, DuplicatePair.other_id == high
            )
        )
        if exists is None:
            db.session.add(
                DuplicatePair(
                    person_id=low, other_id=high, score=candidate.score, reasons=candidate.reasons
                )
            )
            added += 1
    if added:
        db.session.flush()
    return added
