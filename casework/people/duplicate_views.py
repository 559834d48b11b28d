"""Pages of duplicate review: the queue of suspected pairs, a person's possible duplicates,
dismissing a pair, merging two people and undoing a merge (routes of the `people` blueprint)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import aliased
from sqlalchemy.orm.exc import StaleDataError

from casework.extensions import db
from casework.pagination import BadCursor, page_by_id_desc
from casework.people import merge as merging
from casework.people.duplicates import (
    PROBABLE,
    find_candidates,
    reason_label,
)
from casework.people.forms import MergeForm, VersionForm
from casework.people.merge_models import DuplicatePair, PairStatus, PersonMerge
from casework.people.models import Person
from casework.people.views import bp, get_person_or_404
from casework.policy import can, people_scope, requires

MERGE_ERRORS = {
    "same_person": _l("A record cannot be merged into itself."),
    "already_merged": _l("One of these records was already merged."),
    "reason_required": _l("Say why these are the same person."),
    "decided": _l("This pair was already decided."),
    "already_undone": _l("This merge was already undone."),
    "kept_merged_since": _l(
        "The record kept was merged into another since: undo that merge first."
    ),
    "not_merged": _l("The merged record changed since: this merge cannot be undone."),
}


def _in_scope_ids():
    return select(Person.id).where(people_scope(current_user))


def _open_pairs_query():
    first, second = aliased(Person), aliased(Person)
    return (
        select(DuplicatePair)
        .join(first, first.id == DuplicatePair.person_id)
        .join(second, second.id == DuplicatePair.other_id)
        .where(
            DuplicatePair.status == PairStatus.OPEN.value,
            first.merged_into_id.is_(None),
            second.merged_into_id.is_(None),
            DuplicatePair.person_id.in_(_in_scope_ids()),
            DuplicatePair.other_id.in_(_in_scope_ids()),
        )
    )


def get_pair_or_404(pair_id: int) -> DuplicatePair:
    """A pair whose two people are both in the caller's scope."""
    pair = db.session.scalar(
        select(DuplicatePair).where(
            DuplicatePair.id == pair_id,
            DuplicatePair.person_id.in_(_in_scope_ids()),
            DuplicatePair.other_id.in_(_in_scope_ids()),
        )
    )
    if pair is None:
        abort(404)
    return pair


def _merge_form(pair: DuplicatePair) -> MergeForm:
    form = MergeForm(prefix=f"m{pair.id}")
    form.keep.choices = [
        (str(p.id), _("Keep no. %(id)s, %(name)s", id=p.id, name=p.full_name))
        for p in (pair.person, pair.other)
    ]
    return form


@bp.route("/people/duplicates", methods=["GET", "POST"])
@requires("person.duplicates")
def duplicates():
    """The review queue: open pairs of people both in the caller's scope, newest first."""
    cursor = request.form.get("cursor") or request.args.get("cursor") or None
    try:
        page = page_by_id_desc(_open_pairs_query(), DuplicatePair.id, cursor, 25)
    except BadCursor:
        page = page_by_id_desc(_open_pairs_query(), DuplicatePair.id, None, 25)
    return _render_queue(page)


def _render_queue(page, forms: dict | None = None, status: int = 200):
    forms = forms or {}
    merge_forms = {pair.id: forms.get(pair.id) or _merge_form(pair) for pair in page.items}
    return render_template(
        "people/duplicates.html",
        page=page,
        merge_forms=merge_forms,
        action_form=VersionForm(),
        reason_label=reason_label,
    ), status


@bp.route("/people/duplicates/<int:pair_id>/dismiss", methods=["POST"])
@requires("person.duplicates")
def dismiss_duplicate(pair_id: int):
    pair = get_pair_or_404(pair_id)
    if not VersionForm().validate_on_submit():
        abort(400)
    try:
        merging.dismiss_pair(pair, by=current_user)
    except merging.MergeError as error:
        db.session.rollback()
        flash(str(MERGE_ERRORS[error.code]), "warning")
    else:
        db.session.commit()
        flash(_("Noted: not the same person. This pair will not be suggested again."), "success")
    return redirect(url_for("people.duplicates"))


@bp.route("/people/duplicates/<int:pair_id>/merge", methods=["POST"])
@requires("person.merge")
def merge_duplicate(pair_id: int):
    pair = get_pair_or_404(pair_id)
    form = _merge_form(pair)
    if not form.validate_on_submit():
        flash(_("Choose the record to keep and say why these are the same person."), "danger")
        return redirect(url_for("people.duplicates"))
    if pair.status != PairStatus.OPEN:
        flash(str(MERGE_ERRORS["decided"]), "warning")
        return redirect(url_for("people.duplicates"))
    kept, merged = (
        (pair.person, pair.other)
        if form.keep.data == str(pair.person_id)
        else (pair.other, pair.person)
    )
    try:
        merge = merging.merge_people(
            kept, merged, by=current_user, reason=form.reason.data, pair=pair
        )
        db.session.commit()
    except merging.MergeError as error:
        db.session.rollback()
        flash(str(MERGE_ERRORS[error.code]), "danger")
        return redirect(url_for("people.duplicates"))
    except StaleDataError:
        db.session.rollback()
        flash(_("Someone else changed these records meanwhile: try again."), "danger")
        return redirect(url_for("people.duplicates"))
    flash(_("Merged. Everything of both records is now on no. %(id)s.", id=kept.id), "success")
    return redirect(url_for("people.merge_record", merge_id=merge.id))


def get_merge_or_404(merge_id: int) -> PersonMerge:
    """A merge whose kept person is in the caller's scope (the merged one's rows moved to it)."""
    merge = db.session.scalar(
        select(PersonMerge).where(
            PersonMerge.id == merge_id, PersonMerge.kept_id.in_(_in_scope_ids())
        )
    )
    if merge is None:
        abort(404)
    return merge


@bp.route("/people/merges/<int:merge_id>")
@requires("person.duplicates")
def merge_record(merge_id: int):
    merge = get_merge_or_404(merge_id)
    return render_template(
        "people/merge.html", merge=merge, action_form=VersionForm(), former=merge.former_values
    )


@bp.route("/people/merges/<int:merge_id>/undo", methods=["POST"])
@requires("person.merge")
def undo_merge(merge_id: int):
    merge = get_merge_or_404(merge_id)
    if not VersionForm().validate_on_submit():
        abort(400)
    try:
        merging.undo_merge(merge, by=current_user)
        db.session.commit()
    except merging.MergeError as error:
        db.session.rollback()
        flash(str(MERGE_ERRORS[error.code]), "danger")
    except StaleDataError:
        db.session.rollback()
        flash(_("Someone else changed these records meanwhile: try again."), "danger")
    else:
        flash(_("The merge is undone: both records are back as they were."), "success")
    return redirect(url_for("people.merge_record", merge_id=merge_id))


@bp.route("/people/<int:person_id>/duplicates", methods=["GET", "POST"])
@requires("person.duplicates")
def person_duplicates(person_id: int):
    """A person's possible duplicates in the caller's scope; POST sends one to the queue."""
    person = get_person_or_404(person_id)
    if request.method == "POST":
        form = VersionForm()
        other_id = request.form.get("other_id", type=int)
        other = db.session.scalar(
            select(Person).where(
                Person.id == other_id, people_scope(current_user), Person.merged_into_id.is_(None)
            )
        )
        if not form.validate_on_submit() or other is None or other.id == person.id:
            abort(400)
        pair = _pair_of(person, other)
        db.session.commit()
        flash(_("Sent to the review queue."), "success")
        return redirect(url_for("people.person_duplicates", person_id=person.id, pair=pair.id))
    candidates = (
        find_candidates(person, current_user, limit=20, load=True)
        if person.merged_into_id is None
        else []
    )
    pairs = _pairs_with(person, [c.person_id for c in candidates])
    return render_template(
        "people/person_duplicates.html",
        person=person,
        candidates=candidates,
        pairs=pairs,
        probable=PROBABLE,
        action_form=VersionForm(),
        reason_label=reason_label,
        can_merge=can(current_user, "person.merge"),
    )


def _pairs_with(person: Person, others: list[int]) -> dict[int, DuplicatePair]:
    if not others:
        return {}
    rows = db.session.scalars(
        select(DuplicatePair).where(
            ((DuplicatePair.person_id == person.id) & DuplicatePair.other_id.in_(others))
            | ((DuplicatePair.other_id == person.id) & DuplicatePair.person_id.in_(others))
        )
    )
    return {(p.other_id if p.person_id == person.id else p.person_id): p for p in rows}


def _pair_of(person: Person, other: Person) -> DuplicatePair:
    from casework.people.duplicates import Probe, score

    low, high = sorted((person.id, other.id))
    pair = db.session.scalar(
        select(DuplicatePair).where(DuplicatePair.person_id == low, DuplicatePair.other_id == high)
    )
    if pair is None:
        value, reasons = score(Probe.of(person), other)
        pair = DuplicatePair(person_id=low, other_id=high, score=value, reasons=reasons)
        db.session.add(pair)
        db.session.flush()
    return pair
