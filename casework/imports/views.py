"""Pages: /imports (upload, check, confirm, follow a job) and /exports (full downloads).

An upload is always checked first (a dry run: every row checked, nothing written), and its
problems shown on the job's page; "Import" then runs the real import from the same stored file.
Small files run within the request; larger ones in the background (`jobs.start`), and the job's
page refreshes itself (`<meta http-equiv="refresh">`, no script) until the job is finished.
A job is only ever shown to the person who started it: its report holds the file's values.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from werkzeug.utils import secure_filename
from wtforms import BooleanField, SelectField
from wtforms.validators import DataRequired

from casework.admin.models import Organisation
from casework.auth.reauth import requires_recent_authentication
from casework.extensions import db
from casework.imports import exports, jobs, layouts, operations, purge
from casework.imports.cli import purge_command
from casework.imports.models import KIND_LABELS, ImportJob, ImportKind
from casework.models_base import current_language
from casework.policy import requires

bp = Blueprint("imports", __name__)
# `casework imports purge`: the blueprint's command group is named after it.
bp.cli.help = "Imports: delete the uploaded files past IMPORT_FILES_MAX_HOURS (purge)."
bp.cli.add_command(purge_command)

UPLOAD_ENDPOINTS = {"imports.upload", "api_imports.create_import"}
DEFAULT_MAX_MB = 100  # IMPORT_MAX_MB: imports are larger than scans (MAX_UPLOAD_MB)
DEFAULT_INLINE_BYTES = 1024 * 1024  # IMPORT_INLINE_BYTES: smaller files are checked at once
MAPPING_MAX_BYTES = 64 * 1024


# --- The upload size limit ----------------------------------------------------------------------


def import_max_bytes() -> int:
    return int(float(current_app.config.get("IMPORT_MAX_MB", DEFAULT_MAX_MB)) * 1024 * 1024)


def _raise_upload_limit() -> None:
    """Import uploads may be larger than scans: raise this request's limit before anything
    (CSRF protection included) reads the body. Werkzeug answers 413 past it."""
    if request.endpoint in UPLOAD_ENDPOINTS:
        request.max_content_length = import_max_bytes()


@bp.record_once
def _install_upload_limit(state) -> None:
    app: Flask = state.app
    app.before_request_funcs.setdefault(None, []).insert(0, _raise_upload_limit)


# --- Forms --------------------------------------------------------------------------------------


class UploadForm(FlaskForm):
    file = FileField(_l("File (CSV or XLSX)"), validators=[FileRequired()])
    kind = SelectField(
        _l("The file holds"),
        choices=[(k.value, KIND_LABELS[k]) for k in ImportKind],
        validators=[DataRequired()],
    )
    organisation = SelectField(_l("Organisation holding the records"), coerce=int, choices=[])
    mapping = FileField(_l("Mapping file (optional: JSON or CSV, source column → field)"))

    def fill_organisations(self) -> list[Organisation]:
        organisations = list(db.session.scalars(operations.allowed_organisations(current_user)))
        self.organisation.choices = [(o.id, f"{o.code} — {o.name}") for o in organisations]
        if self.organisation.data is None and any(
            o.id == current_user.organisation_id for o in organisations
        ):
            self.organisation.data = current_user.organisation_id
        return organisations


class ConfirmForm(FlaskForm):
    valid_only = BooleanField(_l("Import the valid rows and leave out the rows with problems"))


# --- Helpers ------------------------------------------------------------------------------------


def get_job_or_404(import_id: int) -> ImportJob:
    """A job is its author's: anyone else is answered as if it did not exist."""
    job = db.session.scalar(
        select(ImportJob).where(
            ImportJob.id == import_id, ImportJob.created_by_id == current_user.id
        )
    )
    if job is None:
        abort(404)
    jobs.mark_stale(job)
    return job


def start_or_run(job: ImportJob, size: int | None) -> None:
    """Small files are checked within the request; the others go to the background."""
    inline = current_app.config.get("IMPORT_INLINE_BYTES", DEFAULT_INLINE_BYTES)
    if size is not None and size <= inline:
        operations.run_import(job.id)
    else:
        jobs.start(job)


def max_hours() -> str:
    """IMPORT_FILES_MAX_HOURS as people write it: 24, or 1.5."""
    return f"{purge.max_age().total_seconds() / 3600:g}"


def report_response(job: ImportJob) -> Response:
    if not job.report_path:
        abort(404)
    try:
        response = send_file(
            job.report_path,
            mimetype="text/csv",
            as_attachment=True,
            download_name=f"casework-import-{job.id}-report.csv",
            max_age=0,
        )
    except FileNotFoundError:
        abort(404)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def recent_jobs(limit: int = 15) -> list[ImportJob]:
    return list(
        db.session.scalars(
            select(ImportJob)
            .where(ImportJob.created_by_id == current_user.id)
            .order_by(ImportJob.id.desc())
            .limit(limit)
        )
    )


# --- Pages --------------------------------------------------------------------------------------


@bp.route("/imports", methods=["GET", "POST"])
@requires("import.run")
def upload():
    form = UploadForm()
    organisations = form.fill_organisations()
    if form.validate_on_submit():
        organisation = next(o for o in organisations if o.id == form.organisation.data)
        mapping = None
        if form.mapping.data:
            content = form.mapping.data.read(MAPPING_MAX_BYTES + 1)
            try:
                if len(content) > MAPPING_MAX_BYTES:
                    raise layouts.MappingError(_("The mapping file is too large."))
                mapping = layouts.read_mapping(
                    form.kind.data, content, form.mapping.data.filename or ""
                )
            except layouts.MappingError as error:
                form.mapping.errors = [str(error)]
        if not form.mapping.errors:
            upload_file = form.file.data
            job = operations.create_job(
                kind=form.kind.data,
                filename=secure_filename(upload_file.filename or "") or "upload",
                source_path="",
                by=current_user,
                organisation=organisation,
                dry_run=True,
                valid_only=False,
                mapping=mapping,
                language=current_language(),
            )
            operations.store_upload(job, upload_file.stream, ".upload")
            db.session.commit()
            start_or_run(job, request.content_length)
            return redirect(url_for("imports.job", import_id=job.id))
    status = 400 if request.method == "POST" else 200
    return (
        render_template(
            "imports/index.html", form=form, jobs=recent_jobs(), layouts=layouts.LAYOUTS
        ),
        status,
    )


@bp.route("/imports/<int:import_id>")
@requires("import.run")
def job(import_id: int):
    job = get_job_or_404(import_id)
    return render_template(
        "imports/job.html",
        job=job,
        problems=operations.read_report(job.report_path),
        confirm_form=ConfirmForm() if operations.may_confirm(job) else None,
        confirmed_by=db.session.scalar(
            select(ImportJob).where(ImportJob.checked_by_job_id == job.id).limit(1)
        ),
        max_hours=max_hours(),
    )


@bp.route("/imports/<int:import_id>/confirm", methods=["POST"])
@requires("import.run")
def confirm(import_id: int):
    checked = get_job_or_404(import_id)
    form = ConfirmForm()
    confirmed = db.session.scalar(
        select(ImportJob.id).where(ImportJob.checked_by_job_id == checked.id).limit(1)
    )
    if checked.dry_run and confirmed is None and purge.is_expired(checked):
        return _upload_again()
    if not form.validate_on_submit() or not operations.may_confirm(checked):
        flash(_("This file cannot be imported from here: check it again."), "warning")
        return redirect(url_for("imports.job", import_id=checked.id))
    if checked.rows_invalid and not form.valid_only.data:
        flash(_("Some rows have problems: tick the box to import the valid rows only."), "warning")
        return redirect(url_for("imports.job", import_id=checked.id))
    try:
        job = operations.confirm(checked, by=current_user, valid_only=bool(form.valid_only.data))
    except operations.FilesRemoved:
        return _upload_again()
    db.session.commit()
    start_or_run(job, 0 if (checked.rows_total or 0) <= 2000 else None)
    return redirect(url_for("imports.job", import_id=job.id))


def _upload_again():
    flash(
        _(
            "The file of this check was deleted %(hours)s hours after its upload (personal "
            "data is not kept longer): upload it again to import it.",
            hours=max_hours(),
        ),
        "warning",
    )
    return redirect(url_for("imports.upload"))


@bp.route("/imports/<int:import_id>/report.csv")
@requires("import.run")
def report(import_id: int):
    return report_response(get_job_or_404(import_id))


TEMPLATE_RULE = (
    "/imports/templates/<any(people,cases):dataset>-<any(fr,en):template_language>"
    ".<any(csv,xlsx):file_format>"
)


@bp.route(TEMPLATE_RULE)
@requires("import.run")
def template(dataset: str, template_language: str, file_format: str):
    """The layout's header row, in French or English, as CSV or XLSX (with a help sheet)."""
    if file_format == "xlsx":
        body = layouts.template_xlsx(dataset, template_language)
        mimetype = exports.XLSX_TYPE
    else:
        body, mimetype = layouts.template_csv(dataset, template_language), exports.CSV_TYPE
    response = Response(body, content_type=mimetype)
    name = layouts.template_name(dataset, template_language, file_format)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.route("/exports")
@requires("export.people")
def exports_index():
    return render_template("imports/exports.html")


@bp.route("/exports/<any(people,cases):dataset>.<any(csv,xlsx):file_format>")
@requires("export.people")
@requires_recent_authentication
def export(dataset: str, file_format: str):
    """Everything in the caller's scope, streamed; audited."""
    return exports.export_response(dataset, file_format, current_user, channel="web")
