"""Deciding on suspected duplicates: dismiss a pair, merge two people, undo a merge.

A merge keeps one person and moves to it everything that hung on the other: case files (as
applicant and as member), household membership, referrals, consents, assistance records,
timeline events and identity documents. The merged person is not deleted: it is marked
`merged_into_id`, leaves searches and lists, and its page says where it went. The merge row
(`PersonMerge`) keeps who merged, why and when, the merged person's former values and the ids
of every row moved, so that `undo_merge` puts each back. Operations flush; the caller commits.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, inspect, select, update

from casework.audit.operations import record
from casework.auth.models import User
from casework.extensions import db
from casework.models_base import utcnow
from casework.people.merge_models import DuplicatePair, PairStatus, PersonMerge
from casework.people.models import HouseholdMember, IdentityDocument, Person


class MergeError(ValueError):
    """A merge or an undo the rules refuse; `code` says why."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _moving_tables() -> dict[str, tuple[Any, Any]]:
    """table name -> (model, the column pointing at the person), for the rows that move."""
    from casework.cases.models import Case
    from casework.services.models import AssistanceRecord, Consent, PersonEvent, Referral

    return {
        "cases": (Case, Case.applicant_id),
        "referrals": (Referral, Referral.person_id),
        "consents": (Consent, Consent.person_id),
        "assistance_records": (AssistanceRecord, AssistanceRecord.person_id),
        "person_events": (PersonEvent, PersonEvent.person_id),
        "identity_documents": (IdentityDocument, IdentityDocument.person_id),
    }


def _json_value(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _row_values(obj: Any) -> dict[str, Any]:
    return {
        column.key: _json_value(getattr(obj, column.key))
        for column in inspect(obj).mapper.column_attrs
    }


def former_values(person: Person) -> dict[str, Any]:
    """Every column of the person, its documents and its household membership."""
    values = _row_values(person)
    values["documents"] = [_row_values(d) for d in person.documents]
    values["membership"] = _row_values(person.membership) if person.membership else None
    return values


def dismiss_pair(pair: DuplicatePair, *, by: User) -> None:
    """ "Not the same person": the pair leaves the queue and is not suggested again."""
    if pair.status != PairStatus.OPEN:
        raise MergeError("decided")
    pair.status = PairStatus.DISMISSED.value
    pair.decided_by_id = by.id
    pair.decided_at = utcnow()
    db.session.flush()
    record(
        "person.duplicate_dismiss",
        user=by,
        record=pair,
        person_id=pair.person_id,
        other_id=pair.other_id,
    )


def merge_people(
    kept: Person, merged: Person, *, by: User, reason: str, pair: DuplicatePair | None = None
) -> PersonMerge:
    """Merge `merged` into `kept` (see the module's docstring)."""
    from casework.cases.models import Case, CaseMember

    if kept.id == merged.id:
        raise MergeError("same_person")
    if kept.merged_into_id is not None or merged.merged_into_id is not None:
        raise MergeError("already_merged")
    if not (reason or "").strip():
        raise MergeError("reason_required")
    former = former_values(merged)
    moved: dict[str, list] = {}
    for table, (model, column) in _moving_tables().items():
        ids = list(db.session.scalars(select(model.id).where(column == merged.id)))
        if ids:
            db.session.execute(
                update(model).where(model.id.in_(ids)).values({column.key: kept.id}),
                execution_options={"synchronize_session": False},
            )
        moved[table] = ids
    _recount_programme_reach(kept, merged)
    # Case members: moved, unless the kept person is already in that file (then set aside).
    kept_cases = set(db.session.scalars(select(Case.id).where(Case.applicant_id == kept.id)))
    kept_cases |= set(
        db.session.scalars(select(CaseMember.case_id).where(CaseMember.person_id == kept.id))
    )
    members = db.session.scalars(select(CaseMember).where(CaseMember.person_id == merged.id))
    moved["case_members"], removed_members = [], []
    for member in list(members):
        if member.case_id in kept_cases:
            removed_members.append(_row_values(member))
            db.session.delete(member)
        else:
            member.person_id = kept.id
            moved["case_members"].append(member.id)
    moved["_case_members_removed"] = removed_members
    # Household: the merged person's place goes to the kept one, if it has none.
    moved["household_members"], moved["_household_members_removed"] = [], []
    membership = merged.membership
    if membership is not None:
        if kept.membership is None:
            membership.person = kept
            moved["household_members"].append(membership.id)
        else:
            moved["_household_members_removed"].append(_row_values(membership))
            db.session.delete(membership)
    db.session.flush()
    merged.merged_into_id = kept.id
    merge = PersonMerge(
        kept_id=kept.id,
        merged_id=merged.id,
        pair_id=pair.id if pair else None,
        merged_by_id=by.id,
        reason=reason.strip(),
        former_values=former,
        moved=moved,
    )
    db.session.add(merge)
    if pair is not None:
        pair.status = PairStatus.MERGED.value
        pair.decided_by_id = by.id
        pair.decided_at = utcnow()
    db.session.flush()
    db.session.expire_all()
    record(
        "person.merge",
        user=by,
        record=kept,
        merged_id=merge.merged_id,
        merge_id=merge.id,
        moved={k: len(v) for k, v in moved.items()},
    )
    return merge


def undo_merge(merge: PersonMerge, *, by: User) -> None:
    """Put back every row the merge moved, and the merged person; the pair is open again."""
    from casework.cases.models import CaseMember

    if merge.undone_at is not None:
        raise MergeError("already_undone")
    kept, merged = merge.kept, merge.merged
    if kept.merged_into_id is not None:
        raise MergeError("kept_merged_since")  # undo that later merge first
    if merged.merged_into_id != kept.id:
        raise MergeError("not_merged")
    tables = dict(_moving_tables())
    tables["case_members"] = (CaseMember, CaseMember.person_id)
    tables["household_members"] = (HouseholdMember, HouseholdMember.person_id)
    for table, (model, column) in tables.items():
        ids = merge.moved.get(table) or []
        if ids:
            db.session.execute(
                update(model)
                .where(model.id.in_(ids), column == kept.id)
                .values({column.key: merged.id}),
                execution_options={"synchronize_session": False},
            )
    _recount_programme_reach(kept, merged)
    for model, key in ((CaseMember, "_case_members_removed"),
                       (HouseholdMember, "_household_members_removed")):  # fmt: skip
        for values in merge.moved.get(key) or []:
            if db.session.get(model, values["id"]) is None:
                db.session.execute(insert(model).values(**values))
    merged.merged_into_id = None
    merge.undone_at = utcnow()
    merge.undone_by_id = by.id
    if merge.pair_id is not None:
        pair = db.session.get(DuplicatePair, merge.pair_id)
        if pair is not None and pair.status == PairStatus.MERGED:
            pair.status = PairStatus.OPEN.value
            pair.decided_by_id = None
            pair.decided_at = None
    db.session.flush()
    db.session.expire_all()
    record(
        "person.merge_undo",
        user=by,
        record=merge.kept,
        merged_id=merge.merged_id,
        merge_id=merge.id,
    )


def merge_of(person: Person) -> PersonMerge | None:
    """The merge in force that put `person` into another record."""
    return db.session.scalar(
        select(PersonMerge)
        .where(PersonMerge.merged_id == person.id, PersonMerge.undone_at.is_(None))
        .order_by(PersonMerge.id.desc())
    )


def _recount_programme_reach(kept: Person, merged: Person) -> None:
    """Referrals and assistance records move between the two people with Core UPDATEs, which
    the reach table's listener does not see (casework.reports.reach): recount both."""
    from casework.reports import reach

    reach.add_people(db.session.connection(), [kept.id, merged.id])
