"""Imports through the API: upload a file (multipart), poll the job, fetch its report.

    POST /api/v1/imports            multipart: file, kind, dry_run, valid_only[, organisation]
                                    -> 202 {"id": ..., "state": "queued", ...}
    GET  /api/v1/imports/<id>       -> {state, rows_total, rows_done, rows_valid, rows_invalid,
                                        created, updated, report_url, ...}
    GET  /api/v1/imports/<id>/report.csv

Jobs always run in the background (RQ when REDIS_URL is set, else a thread). A job is only
visible to the account that started it. The same checks and writes as the page and the
command line (`casework.imports.operations`).
"""

from __future__ import annotations

from flask import jsonify, url_for
from flask_login import current_user
from flask_smorest import Blueprint
from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.utils import secure_filename

from casework.admin.models import Organisation
from casework.api.answers import committed
from casework.api.case_files import BINARY, _MultipartParser
from casework.api.problems import abort_problem
from casework.extensions import db
from casework.imports import jobs, layouts, operations
from casework.imports.models import ImportJob, ImportKind
from casework.imports.views import MAPPING_MAX_BYTES, report_response
from casework.models_base import current_language
from casework.policy import requires
from casework.schemas import UtcDateTime

PREFIX = "/imports"
SECURITY = [{"bearerAuth": []}]

blp = Blueprint("api_imports", __name__, description="Imports of people and case files")
blp.ARGUMENTS_PARSER = _MultipartParser()


class ImportUploadSchema(Schema):
    file = Upload(required=True, metadata={"description": "CSV or XLSX; first row: columns."})
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in ImportKind]))
    dry_run = fields.Boolean(load_default=True)
    valid_only = fields.Boolean(load_default=False)
    organisation = fields.String(
        load_default=None,
        metadata={"description": "Code of the holding organisation; default: yours."},
    )
    mapping = Upload(load_default=None, metadata={"description": "JSON or CSV mapping file."})


UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file", "kind"],
                "properties": {
                    "file": {
                        "type": "string",
                        "format": "binary",
                        "description": "CSV (UTF-8, UTF-8 with BOM or Windows-1252) or XLSX.",
                    },
                    "kind": {"type": "string", "enum": [k.value for k in ImportKind]},
                    "dry_run": {
                        "type": "boolean",
                        "default": True,
                        "description": "Check every row and write nothing.",
                    },
                    "valid_only": {
                        "type": "boolean",
                        "default": False,
                        "description": "Import the valid rows and report the others "
                        "(default: all or nothing).",
                    },
                    "organisation": {
                        "type": "string",
                        "description": "Code of the organisation holding the records "
                        "(default: yours).",
                    },
                    "mapping": {
                        "type": "string",
                        "format": "binary",
                        "description": "Optional mapping file: JSON object or CSV of "
                        "(source column, field).",
                    },
                },
            }
        }
    },
}


class ImportJobSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    filename = fields.String()
    state = fields.String(metadata={"description": "queued, running, done or failed"})
    dry_run = fields.Boolean()
    valid_only = fields.Boolean()
    written = fields.Boolean(metadata={"description": "Whether the rows were committed."})
    rows_total = fields.Integer(allow_none=True)
    rows_done = fields.Integer()
    rows_valid = fields.Integer()
    rows_invalid = fields.Integer()
    created = fields.Integer(
        attribute="rows_created",
        metadata={"description": "Records created (a dry run: that would be created)."},
    )
    updated = fields.Integer(attribute="rows_updated")
    unchanged = fields.Integer(attribute="rows_unchanged")
    error = fields.String(allow_none=True)
    files_removed = fields.Boolean(
        metadata={
            "description": "The uploaded file and its report were deleted (IMPORT_FILES_MAX_HOURS "
            "after the upload): upload the file again to import it."
        }
    )
    report_url = fields.Function(
        lambda job: (
            url_for("api_imports.get_report", import_id=job.id) if job.report_path else None
        ),
        allow_none=True,
    )
    created_at = UtcDateTime()
    started_at = UtcDateTime(allow_none=True)
    finished_at = UtcDateTime(allow_none=True)


def _job_or_404(import_id: int) -> ImportJob:
    job = db.session.scalar(
        select(ImportJob).where(
            ImportJob.id == import_id, ImportJob.created_by_id == current_user.id
        )
    )
    if job is None:
        abort_problem(404, "Not Found", "No import with this id of yours.")
    jobs.mark_stale(job)
    return job


def _organisation(code: str | None) -> Organisation:
    allowed = db.session.scalars(operations.allowed_organisations(current_user))
    by_code = {org.code: org for org in allowed}
    code = (code or "").upper()
    if not code:
        own = db.session.get(Organisation, current_user.organisation_id)
        if own is not None and own.code in by_code:
            return own
        message = "Give the organisation holding the records."
        abort_problem(422, "Unprocessable Content", errors={"organisation": [message]})
    if code not in by_code:
        message = "Unknown organisation, or one you may not import into."
        abort_problem(422, "Unprocessable Content", errors={"organisation": [message]})
    return by_code[code]


@blp.route("", methods=["POST"])
@requires("import.run")
@blp.response(202, ImportJobSchema)
@blp.alt_response(413, description="Larger than IMPORT_MAX_MB")
@blp.alt_response(422, description="Missing file or kind, unknown organisation, bad mapping")
@blp.doc(security=SECURITY, requestBody=UPLOAD_BODY)
def create_import():
    """Upload a CSV or XLSX file to check (`dry_run`, the default) or import. Answers 202
    with the job; poll `GET /imports/{id}` until its state is `done` or `failed`."""
    values = blp.ARGUMENTS_PARSER.parse(ImportUploadSchema(), location="files")
    upload = values["file"]
    if not isinstance(upload, FileStorage):
        abort_problem(422, "Unprocessable Content", errors={"file": ["Send a file."]})
    organisation = _organisation(values.get("organisation"))
    mapping = None
    if isinstance(values.get("mapping"), FileStorage):
        content = values["mapping"].read(MAPPING_MAX_BYTES + 1)
        try:
            if len(content) > MAPPING_MAX_BYTES:
                raise layouts.MappingError("The mapping file is too large.")
            mapping = layouts.read_mapping(
                values["kind"], content, values["mapping"].filename or ""
            )
        except layouts.MappingError as error:
            abort_problem(422, "Unprocessable Content", errors={"mapping": [str(error)]})
    job = operations.create_job(
        kind=values["kind"],
        filename=secure_filename(upload.filename or "") or "upload",
        source_path="",
        by=current_user,
        organisation=organisation,
        dry_run=values["dry_run"],
        valid_only=values["valid_only"],
        mapping=mapping,
        language=current_language(),
    )
    operations.store_upload(job, upload.stream, ".upload")
    # Answered as the job stands when committed (queued), rendered before the commit; the job,
    # out of the session, keeps its id for `jobs.start` without reading the database again.
    db.session.flush()
    db.session.expire_all()  # rendered as stored, like commit_and_answer
    answer = jsonify(ImportJobSchema().dump(job))
    db.session.expunge(job)
    committed(answer, 202)
    jobs.start(job)
    return answer


@blp.route("/<int:import_id>")
@requires("import.run")
@blp.response(200, ImportJobSchema)
@blp.doc(security=SECURITY)
def get_import(import_id: int):
    """The job's state, progress (`rows_done` of `rows_total`) and counts."""
    return _job_or_404(import_id)


@blp.route("/<int:import_id>/report.csv")
@requires("import.run")
@blp.response(200, BINARY, content_type="text/csv",
              description="The problems: row, column, value, message.")  # fmt: skip
@blp.doc(security=SECURITY)
def get_report(import_id: int):
    """The report of the job's problems, as CSV (404 until the job has one)."""
    job = _job_or_404(import_id)
    if not job.report_path:
        abort_problem(404, "Not Found", "This import has no report yet.")
    return report_response(job)
