"""Case pages: work queues, filing, the case page with its actions, assignment, notes."""

from __future__ import annotations

from datetime import date

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from casework.auth.forms import ConfirmForm
from casework.auth.models import User
from casework.cases import operations
from casework.cases.confidential import applicable_fields, update_confidential
from casework.cases.errors import ActionForbidden, ActionNotAvailable, ActionTooLate, InvalidInput
from casework.cases.forms import (
    AssignForm,
    BulkAssignForm,
    ConfidentialForm,
    FileCaseForm,
    NoteForm,
    action_fields,
    build_action_form,
)
from casework.cases.models import Case, CaseKind
from casework.cases.presenters import CaseForCaller
from casework.cases.queries import QUEUE_LABELS, QUEUES_BY_ROLE, CaseFilter, Queue, queue_page
from casework.cases.workflows import STATE_LABELS, WORKFLOWS, action_label
from casework.conflicts import EditConflict, parse_version
from casework.extensions import db
from casework.models_base import current_language
from casework.pagination import BadCursor
from casework.people.models import Person
from casework.policy import Role, can, can_read_field, cases_scope, people_scope, requires
from casework.reference.models import Operation

bp = Blueprint("cases", __name__)

FORBIDDEN_REASONS = {
    "role": _l("Your role may not take this action."),
    "scope": _l("This file is outside your office or region."),
    "four_eyes": _l("A decision must be approved by someone other than who proposed it."),
}


CONFIDENTIAL_PREFIX = "confidential"  # its fields' names differ from the other forms' on the page
CONFIDENTIAL_LABELS = {
    "claim_narrative": _l("Claim narrative"),
    "medical_details": _l("Medical details"),
}


def get_case_or_404(case_id: int) -> Case:
    case = db.session.scalar(select(Case).where(Case.id == case_id, cases_scope(current_user)))
    if case is None:
        abort(404)
    return case


def _criteria_from_args() -> CaseFilter:
    def day(name: str) -> date | None:
        try:
            return date.fromisoformat(request.args[name]) if request.args.get(name) else None
        except ValueError:
            return None

    return CaseFilter(
        kind=request.args.get("kind") or None,
        state=request.args.get("state") or None,
        category=request.args.get("category") or None,
        nationality=request.args.get("nationality") or None,
        filed_from=day("filed_from"),
        filed_to=day("filed_to"),
    )


def _office_caseworkers(office_id: int) -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .where(
                User.organisation_id == office_id,
                User.role == Role.CASEWORKER.value,
                User.active.is_(True),
            )
            .order_by(User.name)
        )
    )


@bp.route("/cases")
@requires("case.view")
def queues():
    role = Role(current_user.role)
    available = QUEUES_BY_ROLE.get(role, [Queue.ALL])
    try:
        queue = Queue(request.args.get("queue") or available[0].value)
    except ValueError:
        queue = available[0]
    criteria = _criteria_from_args()
    sort = request.args.get("sort", "newest")
    try:
        page = queue_page(current_user, queue, criteria, sort=sort,
                          cursor=request.args.get("cursor"), limit=25)  # fmt: skip
    except BadCursor:
        page = queue_page(current_user, queue, criteria, sort=sort, limit=25)
    bulk = None
    if can(current_user, "case.assign") and current_user.role == Role.CASEWORKER.value:
        bulk = BulkAssignForm()
        bulk.assignee.choices = [(0, _("Nobody"))] + [
            (u.id, u.name) for u in _office_caseworkers(current_user.organisation_id)
        ]
    args = {k: v for k, v in request.args.items() if k not in {"cursor"}}
    return render_template(
        "cases/queues.html",
        queue=queue,
        queues=available,
        queue_labels=QUEUE_LABELS,
        page=page,
        criteria=criteria,
        sort=sort,
        args=args,
        bulk=bulk,
        states=STATE_LABELS,
        today=date.today(),
    )


@bp.route("/cases/assign", methods=["POST"])
@requires("case.assign")
def bulk_assign():
    form = BulkAssignForm()
    form.assignee.choices = [(0, "")] + [
        (u.id, u.name) for u in _office_caseworkers(current_user.organisation_id)
    ]
    if not form.validate_on_submit() or not form.case_ids.data:
        flash(_("Choose the files and the caseworker."), "warning")
        return redirect(request.referrer or url_for("cases.queues"))
    assignee = db.session.get(User, form.assignee.data) if form.assignee.data else None
    cases = db.session.scalars(
        select(Case).where(Case.id.in_(form.case_ids.data), cases_scope(current_user))
    ).all()
    try:
        for case in cases:
            operations.assign(case, assignee, by=current_user, expected_version=None)
        db.session.commit()
    except (InvalidInput, ActionForbidden):
        db.session.rollback()
        flash(_("These files cannot be assigned to this person."), "danger")
    else:
        flash(_("%(n)d files assigned.", n=len(cases)), "success")
    return redirect(url_for("cases.queues", queue=request.args.get("queue", "unassigned")))


@bp.route("/people/<int:person_id>/cases/new", methods=["GET", "POST"])
@requires("case.file")
def file_case(person_id: int):
    person = db.session.scalar(
        select(Person).where(Person.id == person_id, people_scope(current_user))
    )
    if person is None:
        abort(404)
    form = FileCaseForm()
    today = date.today()
    open_operations = [op for op in db.session.scalars(select(Operation)) if op.is_open_on(today)]
    form.operation.choices = [(op.code, op.name) for op in open_operations]
    categories = {op.code: [(c.code, c.name) for c in op.categories] for op in open_operations}
    form.category.choices = [("", "—")] + [
        pair for op in open_operations for pair in categories[op.code]
    ]
    household = person.membership.household if person.membership else None
    others = [m.person for m in household.members if m.person_id != person.id] if household else []
    form.members.choices = [(p.id, p.full_name) for p in others]
    if form.validate_on_submit():
        operation = db.session.get(Operation, form.operation.data)
        members = [p for p in others if p.id in (form.members.data or [])]
        try:
            case = operations.file_case(
                kind=CaseKind(form.kind.data), applicant=person, by=current_user,
                category=form.category.data or None, members=members, operation=operation,
            )  # fmt: skip
            if form.claim_narrative.data and form.claim_narrative.data.strip():
                update_confidential(case, {"claim_narrative": form.claim_narrative.data},
                                    by=current_user, expected_version=None)  # fmt: skip
        except InvalidInput as error:
            db.session.rollback()
            for name, messages in error.errors.items():
                getattr(form, name, form.operation).errors.extend(messages)
        else:
            db.session.commit()
            flash(_("File %(ref)s opened. Print the receipt for the applicant.",
                    ref=case.reference), "success")  # fmt: skip
            return redirect(url_for("cases.view", case_id=case.id))
    return render_template("cases/new.html", form=form, person=person)


def _case_page(case: Case, forms: dict | None = None, status: int = 200):
    presented = CaseForCaller(case, current_user)
    forms = forms or {}
    action_forms = {}
    for action in presented.allowed_actions:
        form = forms.get(action) or build_action_form(case.kind, case.state, action)
        form.version.data = case.version
        action_forms[action] = form
    assign_form = None
    if can(current_user, "case.assign", case):
        assign_form = forms.get("assign") or AssignForm()
        assign_form.assignee.choices = [(0, _("Nobody"))] + [
            (u.id, u.name) for u in _office_caseworkers(case.office_id)
        ]
        assign_form.assignee.data = assign_form.assignee.data or case.assigned_to_id or 0
        assign_form.version.data = case.version
    documents = {}
    if current_app.view_functions.get("case_documents.upload"):
        from casework.cases.document_views import UploadForm
        from casework.cases.documents import checklist

        documents = {"checklist": checklist(case), "upload_form": UploadForm()}
    return render_template(
        "cases/view.html",
        case=case,
        presented=presented,
        confidential=_confidential_panel(case, forms.get("confidential")),
        action_forms=action_forms,
        action_label=action_label,
        assign_form=assign_form,
        note_form=forms.get("note") or NoteForm(),
        category=operations.category_of(case),
        rules=operations.rule_warnings(case),
        language=current_language(),
        **documents,
    ), status


def _confidential_panel(case: Case, form: ConfidentialForm | None) -> dict | None:
    """The "Confidential" panel: the fields this file has that the user may read, and a form
    for those they may write now; None when there is nothing to show them."""
    readable = [
        name for name in applicable_fields(case) if can_read_field(current_user, case, name)
    ]
    if not readable:
        return None
    submitted = form is not None  # sent back refused: open, with what the user typed
    if form is None:
        form = ConfidentialForm(formdata=None, obj=case, prefix=CONFIDENTIAL_PREFIX)
        form.keep_writable(current_user, case)
        form.version.data = case.version
    writable = [name for name in readable if name in form]
    return {
        "fields": readable,
        "labels": CONFIDENTIAL_LABELS,
        "form": form if writable else None,
        "submitted": submitted,
    }


@bp.route("/cases/<int:case_id>/confidential", methods=["POST"])
@requires("case.sensitive.edit")
def edit_confidential(case_id: int):
    case = get_case_or_404(case_id)
    form = ConfidentialForm(prefix=CONFIDENTIAL_PREFIX).keep_writable(current_user, case)
    if not form.values():
        abort(403)  # nothing this user may write on this file now
    if not form.validate_on_submit():
        return _case_page(case, {"confidential": form}, 422)
    try:
        update_confidential(case, form.values(), by=current_user,
                            expected_version=parse_version(form.version.data))  # fmt: skip
        db.session.commit()
    except (EditConflict, StaleDataError):
        db.session.rollback()
        case = db.session.get(Case, case_id)
        flash(_("Someone else changed this file while you were editing it. Your text was not "
                "saved: it is still in the form below. Check the file, then save again."),
              "danger")  # fmt: skip
        form.version.data = case.version
        return _case_page(case, {"confidential": form}, 409)
    except ActionForbidden:
        db.session.rollback()
        abort(403)
    except InvalidInput as error:
        db.session.rollback()
        for name, messages in error.errors.items():
            if name in form:
                form[name].errors = list(form[name].errors) + messages
        return _case_page(db.session.get(Case, case_id), {"confidential": form}, 422)
    flash(_("Confidential information saved."), "success")
    return redirect(url_for("cases.view", case_id=case_id, _anchor="confidential"))


@bp.route("/cases/<int:case_id>")
@requires("case.view")
def view(case_id: int):
    case = get_case_or_404(case_id)
    operations.record_case_view(case, by=current_user, channel="web")
    db.session.commit()
    return _case_page(case)


@bp.route("/cases/<int:case_id>/actions/<action>", methods=["POST"])
@requires("case.act")
def act(case_id: int, action: str):
    case = get_case_or_404(case_id)
    form = build_action_form(case.kind, case.state, action)
    if not form.validate_on_submit():
        return _case_page(case, {action: form}, 422)
    fields = action_fields(form)
    if fields.get("interview_on") is not None and fields["interview_on"].tzinfo is None:
        # The time typed is local: read it with the zone data pages display times with
        # (Flask-Babel's, from the pinned pytz), so what is typed is what is shown.
        fields["interview_on"] = get_timezone().localize(fields["interview_on"])
    try:
        expected = parse_version(form.version.data)
        operations.perform(case, action, by=current_user, expected_version=expected, fields=fields)
        db.session.commit()
    except ActionNotAvailable:
        db.session.rollback()
        flash(_("This action is no longer possible: the file is now “%(state)s”.",
                state=STATE_LABELS.get(case.state, case.state)), "danger")  # fmt: skip
        return redirect(url_for("cases.view", case_id=case_id))
    except ActionForbidden as error:
        db.session.rollback()
        flash(str(FORBIDDEN_REASONS.get(error.reason, _l("Not allowed."))), "danger")
        return _case_page(db.session.get(Case, case_id), status=403)
    except ActionTooLate as error:
        db.session.rollback()
        flash(error.message, "danger")
        return _case_page(db.session.get(Case, case_id), {action: form}, 409)
    except InvalidInput as error:
        db.session.rollback()
        for name, messages in error.errors.items():
            target = getattr(form, name, None) or form.comment
            target.errors = list(target.errors) + messages
        return _case_page(db.session.get(Case, case_id), {action: form}, 422)
    except (EditConflict, StaleDataError):
        db.session.rollback()
        flash(_("Someone else acted on this file while you were reading it. Nothing was "
                "changed: check the file's current state and act again."), "danger")  # fmt: skip
        return _case_page(db.session.get(Case, case_id), status=409)
    flash(_("%(action)s: done.", action=action_label(action)), "success")
    return redirect(url_for("cases.view", case_id=case_id))


@bp.route("/cases/<int:case_id>/assign", methods=["POST"])
@requires("case.assign")
def assign(case_id: int):
    case = get_case_or_404(case_id)
    form = AssignForm()
    form.assignee.choices = [(0, "")] + [
        (u.id, u.name) for u in _office_caseworkers(case.office_id)
    ]
    if not form.validate_on_submit():
        return _case_page(case, {"assign": form}, 422)
    assignee = db.session.get(User, form.assignee.data) if form.assignee.data else None
    try:
        operations.assign(case, assignee, by=current_user,
                          expected_version=parse_version(form.version.data))  # fmt: skip
        db.session.commit()
    except (EditConflict, StaleDataError):
        db.session.rollback()
        flash(_("Someone else changed this file meanwhile; nothing was changed."), "danger")
        return _case_page(db.session.get(Case, case_id), status=409)
    except (InvalidInput, ActionForbidden):
        db.session.rollback()
        abort(403)
    flash(_("Assignment saved."), "success")
    return redirect(url_for("cases.view", case_id=case_id))


@bp.route("/cases/<int:case_id>/notes", methods=["POST"])
@requires("case.note")
def add_note(case_id: int):
    case = get_case_or_404(case_id)
    form = NoteForm()
    if not form.validate_on_submit():
        return _case_page(case, {"note": form}, 422)
    operations.add_note(case, form.comment.data, by=current_user)
    db.session.commit()
    flash(_("Note added."), "success")
    return redirect(url_for("cases.view", case_id=case_id) + "#timeline")


@bp.route("/cases/<int:case_id>/renewal", methods=["POST"])
@requires("case.file")
def open_renewal(case_id: int):
    case = get_case_or_404(case_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        renewal = operations.open_renewal(case, by=current_user)
        db.session.commit()
    except (ActionNotAvailable, ActionTooLate, InvalidInput) as error:
        db.session.rollback()
        flash(getattr(error, "message", _("No card to renew on this file.")), "warning")
        return redirect(url_for("cases.view", case_id=case_id))
    flash(_("Renewal file %(ref)s opened.", ref=renewal.reference), "success")
    return redirect(url_for("cases.view", case_id=renewal.id))


@bp.route("/workflows")
@requires("workflow.view")
def workflows():
    from casework.cases.diagram import workflow_svg

    return render_template(
        "cases/workflows.html",
        workflows=WORKFLOWS,
        svg=workflow_svg,
        states=STATE_LABELS,
        action_label=action_label,
    )
