"""Pages for a case's documents and letters, and the public check of a letter's QR code.

Every case is loaded through the caller's scope, so another office's file answers 404 whatever
the id; the role check is `@requires`. Operations live in `casework.cases.documents` and
`casework.cases.letters`; these views only load, check, call, answer.
"""

from __future__ import annotations

import logging
from io import BytesIO

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import HiddenField, SelectField
from wtforms.validators import DataRequired

from casework.cases import documents, letters
from casework.cases.errors import ActionForbidden
from casework.cases.models import Case, CaseDocument, VerificationStatus
from casework.cases.workflows import state_label
from casework.extensions import db
from casework.policy import cases_scope, public, requires

log = logging.getLogger(__name__)

bp = Blueprint("case_documents", __name__)

ACCEPT = "application/pdf,image/jpeg,image/png,.pdf,.jpg,.jpeg,.png"
LETTER_LABELS = {
    letters.RECEIPT: _l("Receipt of filing"),
    letters.DECISION: _l("Decision letter"),
}


# --- Forms --------------------------------------------------------------------------------------


class UploadForm(FlaskForm):
    """A scan for the case's checklist. The page renders `document_code`'s options from the
    checklist (`checklist.choices`); the view checks the code against the case's category."""

    document_code = SelectField(
        _l("Document"), choices=[], validate_choice=False, validators=[DataRequired()]
    )
    file = FileField(_l("File (PDF, JPEG or PNG)"), validators=[FileRequired()])
    # Where to go back after a successful upload: "case" (the case page) or "documents".
    return_to = HiddenField(default="case")

    @classmethod
    def for_case(cls, case: Case, checklist: documents.Checklist | None = None) -> UploadForm:
        form = cls()
        form.document_code.choices = (checklist or documents.checklist(case)).choices
        return form


class VerificationForm(FlaskForm):
    status = SelectField(choices=[(s.value, s.value) for s in VerificationStatus])
    return_to = HiddenField(default="case")


# --- Helpers shared with the API ----------------------------------------------------------------


def get_case_or_404(case_id: int) -> Case:
    """A file outside the caller's office or region is answered as if it did not exist."""
    case = db.session.scalar(select(Case).where(Case.id == case_id, cases_scope(current_user)))
    if case is None:
        abort(404)
    return case


def document_file_response(document: CaseDocument) -> Response:
    """The stored content as an attachment, with the type detected at upload, never sniffed."""
    path = documents.document_path(document)
    if not path.is_file():
        log.error("Stored content missing for case document %s", document.id)
        abort(404)
    response = send_file(
        path,
        mimetype=document.content_type,
        as_attachment=True,
        download_name=document.filename,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def verify_url(case: Case, kind: str) -> str:
    token = letters.letter_token(case, kind)
    # Behind a proxy the request's host may be internal: PUBLIC_BASE_URL names the public one.
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        return base.rstrip("/") + url_for("case_documents.verify_letter", token=token)
    return url_for("case_documents.verify_letter", token=token, _external=True)


def pdf_response(pdf: bytes, filename: str) -> Response:
    response = send_file(
        BytesIO(pdf), mimetype="application/pdf", as_attachment=False, download_name=filename
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def letter_response(case: Case, kind: str, channel: str) -> Response:
    """Render the letter, audit it, answer it inline (the office prints it)."""
    pdf = letters.render(case, kind, verify_url(case, kind))
    letters.record_letter_download(case, kind, by=current_user, channel=channel)
    db.session.commit()
    return pdf_response(pdf, letters.download_name(case, kind))


def documents_context(case: Case, upload_form: UploadForm | None = None) -> dict:
    """The variables `cases/_documents.html` needs: `case`, `checklist`, `upload_form`."""
    checklist = documents.checklist(case)
    if upload_form is None:
        upload_form = UploadForm.for_case(case, checklist)
    else:
        upload_form.document_code.choices = checklist.choices
    return {"case": case, "checklist": checklist, "upload_form": upload_form}


def _documents_page(case: Case, upload_form: UploadForm | None = None, status: int = 200):
    return render_template(
        "cases/documents.html",
        case_page=_case_page_url(case),
        return_to="documents",
        **documents_context(case, upload_form),
    ), status


def _case_page_url(case: Case) -> str | None:
    if "cases.view" in current_app.view_functions:
        return url_for("cases.view", case_id=case.id)
    return None


def _back(case: Case, return_to: str | None):
    """Back to the case page (or, when asked or when there is none, the documents page)."""
    target = None if return_to == "documents" else _case_page_url(case)
    return redirect(target or url_for("case_documents.index", case_id=case.id), 303)


# --- Documents ----------------------------------------------------------------------------------


@bp.route("/cases/<int:case_id>/documents")
@requires("case.view")
def index(case_id: int):
    """The checklist on a page of its own (the case page includes the same partial)."""
    return _documents_page(get_case_or_404(case_id))


@bp.route("/cases/<int:case_id>/documents", methods=["POST"])
@requires("case.document.upload")
def upload(case_id: int):
    case = get_case_or_404(case_id)
    form = UploadForm.for_case(case)
    if not form.validate_on_submit():
        return _documents_page(case, form, 422)
    received = form.file.data
    try:
        document = documents.store_document(
            case, received.stream, received.filename, form.document_code.data, by=current_user
        )
    except documents.DocumentRefused as error:
        db.session.rollback()
        getattr(form, error.field).errors.append(error.message)
        return _documents_page(case, form, error.status)
    except ActionForbidden:
        db.session.rollback()
        abort(403)
    db.session.commit()
    flash(_("Document added: %(name)s.", name=document.filename), "success")
    return _back(case, form.return_to.data)


@bp.route("/cases/<int:case_id>/documents/<int:document_id>/file")
@requires("case.document.download")
def download(case_id: int, document_id: int):
    case = get_case_or_404(case_id)
    document = documents.get_document(case, document_id)
    if document is None:
        abort(404)
    response = document_file_response(document)
    documents.record_download(document, by=current_user, channel="web")
    db.session.commit()
    return response


@bp.route("/cases/<int:case_id>/documents/<int:document_id>/verification", methods=["POST"])
@requires("case.document.verify")
def verify(case_id: int, document_id: int):
    case = get_case_or_404(case_id)
    document = documents.get_document(case, document_id)
    if document is None:
        abort(404)
    form = VerificationForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        changed = documents.set_verification(document, form.status.data, by=current_user)
    except ActionForbidden:
        db.session.rollback()
        abort(403)
    db.session.commit()
    if changed:
        flash(
            _(
                "%(name)s: %(status)s.",
                name=document.filename,
                status=documents.status_label(document.status),
            ),
            "success",
        )
    return _back(case, form.return_to.data)


# --- Letters ------------------------------------------------------------------------------------


@bp.route("/cases/<int:case_id>/receipt.pdf")
@requires("case.view")
def receipt(case_id: int):
    return letter_response(get_case_or_404(case_id), letters.RECEIPT, channel="web")


@bp.route("/cases/<int:case_id>/decision.pdf")
@requires("case.view")
def decision_letter(case_id: int):
    case = get_case_or_404(case_id)
    if not letters.available(case, letters.DECISION):
        abort(404)
    return letter_response(case, letters.DECISION, channel="web")


@bp.route("/verify/<token>")
@public
def verify_letter(token: str):
    """Anyone holding a letter checks it here: genuine or not, and the file's stage now.

    Shows no personal data (no name, no office staff): only what the letter itself shows."""
    found = letters.verified_letter(token)
    if found is None:
        abort(404)
    case, kind = found
    response = Response(
        render_template(
            "cases/verify.html",
            reference=case.reference,
            letter_label=str(LETTER_LABELS[kind]),
            state=case.state,
            stage=state_label(case.state),
        )
    )
    response.headers["X-Robots-Tag"] = "noindex"
    return response
