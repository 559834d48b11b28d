"""A case's documents and letters through the API: upload, checklist, content, letters' PDFs."""

from __future__ import annotations

from flask_login import current_user
from flask_smorest import Blueprint
from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import CombinedMultiDict, FileStorage

from casework.api.answers import commit_and_answer
from casework.api.cases import SECURITY, get_case_or_404, refuse
from casework.api.problems import abort_problem
from casework.cases import documents, letters
from casework.cases.document_views import document_file_response, letter_response
from casework.cases.errors import ActionForbidden
from casework.cases.models import CaseDocument, VerificationStatus
from casework.extensions import db
from casework.policy import requires
from casework.schemas import UtcDateTime

PREFIX = "/cases"


class _MultipartParser(FlaskParser):
    """`files` reads the whole multipart body, files and text fields, so that one schema (and
    one documented request body) describes an upload and its fields."""

    def load_files(self, req, schema):
        return self._makeproxy(CombinedMultiDict([req.files, req.form]), schema)


blp = Blueprint("api_case_files", __name__, description="Case files' documents and letters")
blp.ARGUMENTS_PARSER = _MultipartParser()

PROBLEM_TITLES = {413: "Content Too Large", 415: "Unsupported Media Type"}
BINARY = {"type": "string", "format": "binary"}


# --- Schemas ------------------------------------------------------------------------------------


class CaseDocumentSchema(Schema):
    id = fields.Integer()
    document_code = fields.String()
    filename = fields.String(metadata={"description": "Sanitised; its extension is the type's."})
    content_type = fields.String(metadata={"description": "Detected from the content."})
    size = fields.Integer()
    sha256 = fields.String()
    status = fields.String(metadata={"description": "pending, verified or rejected"})
    uploaded_at = UtcDateTime()
    verified_at = UtcDateTime(allow_none=True)


class DocumentChecklistItemSchema(Schema):
    code = fields.String()
    name = fields.String(metadata={"description": "In the caller's language."})
    status = fields.String(metadata={"description": "missing, pending, verified or rejected"})
    document = fields.Nested(
        CaseDocumentSchema, allow_none=True, metadata={"description": "The latest upload."}
    )
    earlier = fields.List(fields.Nested(CaseDocumentSchema))


class DocumentChecklistSchema(Schema):
    complete = fields.Boolean(metadata={"description": "Every required document is verified."})
    required = fields.List(fields.Nested(DocumentChecklistItemSchema), attribute="items")
    other = fields.List(fields.Nested(CaseDocumentSchema))


def _is_file(value: object) -> bool:
    return isinstance(value, FileStorage)


class CaseDocumentUploadSchema(Schema):
    file = Upload(
        required=True,
        metadata={"description": "PDF, JPEG or PNG; the type is read from the content."},
    )
    document_code = fields.String(
        required=True,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "A code of the category's checklist, or `other`."},
    )


UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file", "document_code"],
                "properties": {
                    "file": {"type": "string", "format": "binary"},
                    "document_code": {"type": "string", "maxLength": 40},
                },
            }
        }
    },
}


class DocumentVerificationInSchema(Schema):
    status = fields.String(
        required=True, validate=validate.OneOf([s.value for s in VerificationStatus])
    )


# --- Handlers -----------------------------------------------------------------------------------


def _document_or_404(case, document_id: int) -> CaseDocument:
    document = documents.get_document(case, document_id)
    if document is None:
        abort_problem(404, "Not Found", "No document with this id in this case.")
    return document


@blp.route("/<int:case_id>/documents")
@requires("case.view")
@blp.response(200, DocumentChecklistSchema)
@blp.doc(security=SECURITY)
def get_checklist(case_id: int):
    """The checklist: each required document of the case's category with its latest upload and
    status (`missing` when none), and the other documents."""
    return documents.checklist(get_case_or_404(case_id))


@blp.route("/<int:case_id>/documents", methods=["POST"])
@requires("case.document.upload")
@blp.response(201, CaseDocumentSchema)
@blp.alt_response(413, description="Larger than MAX_UPLOAD_MB")
@blp.alt_response(415, description="Not a PDF, JPEG or PNG (read from the content)")
@blp.alt_response(422, description="Missing file, or a document_code outside the checklist")
@blp.doc(security=SECURITY, requestBody=UPLOAD_BODY)
def upload_document(case_id: int):
    """Upload a scan as `multipart/form-data` with the fields `file` (PDF, JPEG or PNG, the type
    read from the content) and `document_code` (a code of the checklist, or `other`)."""
    # Parsed here, documented by UPLOAD_BODY: webargs' "files" location would leave
    # `document_code`, a form field, out of the OpenAPI body.
    case = get_case_or_404(case_id)
    values = blp.ARGUMENTS_PARSER.parse(CaseDocumentUploadSchema(), location="files")
    upload: FileStorage = values["file"]
    if not _is_file(upload):
        abort_problem(422, "Unprocessable Content", errors={"file": ["Send a file."]})
    try:
        document = documents.store_document(
            case, upload.stream, upload.filename, values["document_code"], by=current_user
        )
    except documents.DocumentRefused as error:
        db.session.rollback()
        abort_problem(
            error.status,
            PROBLEM_TITLES.get(error.status, "Unprocessable Content"),
            error.message,
            errors={error.field: [error.message]},
        )
    except ActionForbidden as error:
        refuse(error, case)
    return commit_and_answer(CaseDocumentSchema, document, 201)


@blp.route("/<int:case_id>/documents/<int:document_id>/content")
@requires("case.document.download")
@blp.response(200, BINARY, content_type="application/octet-stream",
              description="The stored file, with the content type detected at upload.")  # fmt: skip
@blp.doc(security=SECURITY)
def get_document_content(case_id: int, document_id: int):
    """The document's content, as an attachment; the download is audited."""
    case = get_case_or_404(case_id)
    document = _document_or_404(case, document_id)
    response = document_file_response(document)
    documents.record_download(document, by=current_user, channel="api")
    db.session.commit()
    return response


@blp.route("/<int:case_id>/documents/<int:document_id>/verification", methods=["POST"])
@requires("case.document.verify")
@blp.arguments(DocumentVerificationInSchema)
@blp.response(200, CaseDocumentSchema)
@blp.doc(security=SECURITY)
def set_verification(values: dict, case_id: int, document_id: int):
    """Mark the document verified, rejected or pending again (a timeline event when changed)."""
    case = get_case_or_404(case_id)
    document = _document_or_404(case, document_id)
    try:
        documents.set_verification(document, values["status"], by=current_user)
    except ActionForbidden as error:
        refuse(error, case)
    return commit_and_answer(CaseDocumentSchema, document)


@blp.route("/<int:case_id>/receipt.pdf")
@requires("case.view")
@blp.response(200, BINARY, content_type="application/pdf",
              description="The filing receipt, French and Arabic, with its QR code.")  # fmt: skip
@blp.doc(security=SECURITY)
def get_receipt(case_id: int):
    """The filing receipt (récépissé) as PDF; the download is audited."""
    return letter_response(get_case_or_404(case_id), letters.RECEIPT, channel="api")


@blp.route("/<int:case_id>/decision.pdf")
@requires("case.view")
@blp.response(200, BINARY, content_type="application/pdf",
              description="The decision letter, French and Arabic, with its QR code.")  # fmt: skip
@blp.doc(security=SECURITY)
def get_decision_letter(case_id: int):
    """The decision letter as PDF (404 while the file has no decision); audited."""
    case = get_case_or_404(case_id)
    if not letters.available(case, letters.DECISION):
        abort_problem(404, "Not Found", "This file has no decision yet.")
    return letter_response(case, letters.DECISION, channel="api")
