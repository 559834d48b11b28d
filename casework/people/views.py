"""Pages for people and households: load, check, call the operation, render."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from casework.conflicts import EditConflict, parse_version
from casework.extensions import db
from casework.pagination import BadCursor, page_by_id_desc
from casework.people import operations
from casework.people.duplicates import find_candidates, probable, reason_label
from casework.people.forms import (
    AddMemberForm,
    DocumentForm,
    DuplicateWarningForm,
    PersonForm,
    RegistrationDocumentForm,
    SearchForm,
    VersionForm,
)
from casework.people.models import Household, HouseholdMember, Person
from casework.people.queries import PeopleFilter, search_people, visible_households
from casework.policy import Role, can, people_scope, requires

bp = Blueprint("people", __name__)

CONFLICT_MESSAGE = _l(
    "Someone else changed this record while you were editing it. Your changes were not saved. "
    "The form below still holds what you typed: check the person's page for the other change, "
    "then save again."
)


def get_person_or_404(person_id: int) -> Person:
    """A person outside the caller's scope is answered as if it did not exist. NGO staff reach
    the full record of their own walk-ins only (a person referred to them: the card, `view`)."""
    person = db.session.scalar(
        select(Person).where(Person.id == person_id, people_scope(current_user))
    )
    if person is None or not _full_record_allowed(person):
        abort(404)
    return person


def new_person() -> Person:
    """The person a registration form creates, held by the caller's organisation (unsaved):
    what the policy's field rules are asked about before it exists."""
    return Person(organisation_id=current_user.organisation_id)


def _full_record_allowed(person: Person) -> bool:
    return current_user.role != Role.NGO or person.organisation_id == current_user.organisation_id


def get_household_or_404(household_id: int) -> Household:
    household = db.session.scalar(
        visible_households(current_user).where(Household.id == household_id)
    )
    if household is None:
        abort(404)
    return household


@bp.route("/people", methods=["GET", "POST"])
@requires("person.search")
def search():
    form = SearchForm()
    criteria = PeopleFilter()
    if request.method == "POST" and form.validate_on_submit():
        criteria = PeopleFilter(
            q=form.q.data,
            nationality=form.nationality.data or None,
            sex=form.sex.data or None,
            date_of_birth=form.date_of_birth.data,
        )
    try:
        page = page_by_id_desc(
            search_people(current_user, criteria), Person.id, form.cursor.data or None, 25
        )
    except BadCursor:
        page = page_by_id_desc(search_people(current_user, criteria), Person.id, None, 25)
    form.cursor.data = ""
    return render_template("people/search.html", form=form, page=page, searched=criteria.q)


@bp.route("/people/new", methods=["GET", "POST"])
@requires("person.register")
def register():
    form = PersonForm().keep_writable(current_user, new_person())
    document_form = RegistrationDocumentForm(prefix="doc")
    warning_form = DuplicateWarningForm(prefix="dup", meta={"csrf": False})
    candidates: list = []
    if form.validate_on_submit() and document_form.validate():
        documents = [document_form.document_values()] if document_form.number.data else []
        values = form.person_values()
        if not warning_form.save_anyway.data:
            # Warn before saving a probable duplicate: the caseworker looks, then decides.
            candidates = probable(
                find_candidates({**values, "documents": documents}, current_user, load=True)
            )
        if not candidates:
            try:
                person = operations.register_person(values, by=current_user, documents=documents)
            except operations.PersonError as error:
                getattr(form, error.field).errors.append(error.message)
            else:
                db.session.commit()
                flash(_("%(name)s is registered.", name=person.full_name), "success")
                return redirect(url_for("people.view", person_id=person.id))
    return render_template(
        "people/form.html",
        form=form,
        document_form=document_form,
        person=None,
        candidates=candidates,
        warning_form=warning_form,
        reason_label=reason_label,
    )


@bp.route("/people/<int:person_id>")
@requires("person.view")
def view(person_id: int):
    if current_user.role == Role.NGO and not _holds(person_id):
        # Not the NGO's walk-in but a person referred to it: the card the service needs, never
        # the agency's record.
        from casework.services.panels import referred_person_card

        card = referred_person_card(current_user, person_id)
        if card is None:
            abort(404)
        operations.record_view(card.person, by=current_user, channel="referral_card")
        db.session.commit()
        return render_template("services/person_card.html", card=card)
    person = get_person_or_404(person_id)
    operations.record_view(person, by=current_user, channel="web")
    db.session.commit()
    return _person_page(person, DocumentForm(prefix="doc"))


def _holds(person_id: int) -> bool:
    """Whether the caller's organisation holds the person's record."""
    held = select(Person.id).where(
        Person.id == person_id, Person.organisation_id == current_user.organisation_id
    )
    return db.session.scalar(held) is not None


def _person_page(person: Person, document_form: DocumentForm, status: int = 200):
    from casework.cases.queries import cases_of_person
    from casework.people.data_protection import data_protection_panel
    from casework.people.merge import merge_of
    from casework.services.panels import person_services

    household = person.membership.household if person.membership else None
    return render_template(
        "people/view.html",
        person=person,
        merged_by=merge_of(person) if person.merged_into_id else None,
        household=household,
        document_form=document_form,
        household_form=VersionForm(),
        cases=cases_of_person(current_user, person) if can(current_user, "case.view") else [],
        services_panel=person_services(current_user, person),
        data_protection=data_protection_panel(current_user, person),
    ), status


@bp.route("/people/<int:person_id>/edit", methods=["GET", "POST"])
@requires("person.edit")
def edit(person_id: int):
    person = get_person_or_404(person_id)
    form = PersonForm(obj=person).keep_writable(current_user, person)
    if request.method == "GET":
        form.version.data = person.version
    elif form.validate_on_submit():
        expected = parse_version(form.version.data)
        try:
            changed = operations.update_person(
                person, form.person_values(), by=current_user, expected_version=expected
            )
            db.session.commit()
        except (EditConflict, StaleDataError):
            db.session.rollback()
            flash(str(CONFLICT_MESSAGE), "danger")
            form.version.data = db.session.get(Person, person_id).version
            return render_template(
                "people/form.html", form=form, person=person, document_form=None, conflict=True
            ), 409
        except operations.PersonError as error:
            getattr(form, error.field).errors.append(error.message)
        else:
            flash(
                _("Saved.") if changed else _("Nothing changed."), "success" if changed else "info"
            )
            return redirect(url_for("people.view", person_id=person.id))
    return render_template("people/form.html", form=form, person=person, document_form=None)


@bp.route("/people/<int:person_id>/documents", methods=["POST"])
@requires("person.edit")
def add_document(person_id: int):
    person = get_person_or_404(person_id)
    form = DocumentForm(prefix="doc")
    if form.validate_on_submit():
        operations.add_document(person, form.document_values(), by=current_user)
        db.session.commit()
        flash(_("Document added."), "success")
        return redirect(url_for("people.view", person_id=person.id))
    operations.record_view(person, by=current_user, channel="web")
    db.session.commit()
    return _person_page(person, form, 422)


@bp.route("/people/<int:person_id>/household", methods=["POST"])
@requires("household.manage")
def start_household(person_id: int):
    person = get_person_or_404(person_id)
    if not VersionForm().validate_on_submit():
        abort(400)
    try:
        household = operations.create_household(person, by=current_user)
    except operations.HouseholdError:
        flash(_("This person already belongs to a household."), "warning")
        return redirect(url_for("people.view", person_id=person.id))
    db.session.commit()
    return redirect(url_for("people.household", household_id=household.id))


@bp.route("/households/<int:household_id>")
@requires("household.view")
def household(household_id: int):
    household = get_household_or_404(household_id)
    return _render_household(household, AddMemberForm())


def _render_household(household: Household, form: AddMemberForm, status: int = 200):
    form.version.data = household.version
    return render_template(
        "people/household.html", household=household, form=form, remove_form=VersionForm()
    ), status


@bp.route("/households/<int:household_id>/members", methods=["POST"])
@requires("household.manage")
def add_member(household_id: int):
    household = get_household_or_404(household_id)
    form = AddMemberForm()
    if not form.validate_on_submit():
        return _render_household(household, form, 422)
    member = db.session.scalar(
        select(Person).where(Person.id == form.person_id.data, people_scope(current_user))
    )
    if member is None:
        form.person_id.errors.append(_("No person with this number in your files."))
        return _render_household(household, form, 422)
    status = _add_member(household, member, form)
    if status == 303:
        return redirect(url_for("people.household", household_id=household.id), 303)
    return _render_household(db.session.get(Household, household_id), form, status)


def _add_member(household: Household, person: Person, form: AddMemberForm) -> int:
    expected = parse_version(form.version.data)
    try:
        operations.add_member(
            household, person, form.relationship.data, by=current_user, expected_version=expected
        )
        db.session.commit()
    except (EditConflict, StaleDataError):
        db.session.rollback()
        flash(str(CONFLICT_MESSAGE), "danger")
        return 409
    except operations.HouseholdError:
        db.session.rollback()
        form.person_id.errors.append(_("This person already belongs to a household."))
        return 422
    flash(_("%(name)s added to the household.", name=person.full_name), "success")
    return 303


@bp.route("/households/<int:household_id>/members/<int:member_id>/remove", methods=["POST"])
@requires("household.manage")
def remove_member(household_id: int, member_id: int):
    household = get_household_or_404(household_id)
    member = db.session.get(HouseholdMember, member_id)
    if member is None or member.household_id != household.id:
        abort(404)
    form = VersionForm()
    if not form.validate_on_submit():
        abort(400)
    expected = parse_version(form.version.data)
    try:
        operations.remove_member(household, member, by=current_user, expected_version=expected)
        db.session.commit()
    except (EditConflict, StaleDataError):
        db.session.rollback()
        flash(str(CONFLICT_MESSAGE), "danger")
    except operations.HouseholdError:
        db.session.rollback()
        flash(_("Remove the other members before the head of household."), "warning")
    return redirect(url_for("people.household", household_id=household_id))


# The duplicate review pages add their routes to this blueprint.
from casework.people import duplicate_views  # noqa: E402, F401
