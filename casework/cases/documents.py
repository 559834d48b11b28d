"""Documents attached to a case: storing scans, verifying them, the checklist of what is missing.

Operations only (no Flask request here): the pages and the API hand in a stream and a file name.
Operations flush; callers commit.

Storage. A scan is stored once, outside the web root, under its content hash:
`UPLOAD_DIR/<sha[:2]>/<sha[2:4]>/<sha256>`. It is first written to a temporary file in
`UPLOAD_DIR/tmp` (same file system), then renamed into place, so a half-written file is never
visible under a hash. Identical content uploaded twice (to one case or two) is one file and two
`CaseDocument` rows. The original file name is only kept, sanitised, as the display and download
name; the stored type is the one read from the content, whatever the name says.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.utils import secure_filename

from casework.audit.operations import record
from casework.auth.models import User
from casework.cases.errors import ActionForbidden, CaseError
from casework.cases.models import Case, CaseDocument, EventKind, VerificationStatus
from casework.cases.operations import _event, category_of
from casework.extensions import db
from casework.models_base import current_language
from casework.policy import in_scope, role_may

OTHER = "other"
CHUNK = 64 * 1024

# Signatures (magic numbers) of the accepted types: content type, extension, first bytes.
SIGNATURES: tuple[tuple[str, str, bytes], ...] = (
    ("application/pdf", "pdf", b"%PDF-"),
    ("image/jpeg", "jpg", b"\xff\xd8\xff"),
    ("image/png", "png", b"\x89PNG\r\n\x1a\n"),
)
EXTENSIONS = {content_type: extension for content_type, extension, _ in SIGNATURES}
SNIFF_BYTES = max(len(magic) for _, _, magic in SIGNATURES)

STATUS_LABELS = {
    VerificationStatus.PENDING: _l("Awaiting verification"),
    VerificationStatus.VERIFIED: _l("Verified"),
    VerificationStatus.REJECTED: _l("Rejected"),
}
MISSING = "missing"
MISSING_LABEL = _l("Not provided")


# --- Refusals -----------------------------------------------------------------------------------


class DocumentRefused(CaseError):
    """The upload was refused and nothing was stored. `status` is the HTTP answer it deserves,
    `field` the form field to show `message` next to."""

    status = 422
    field = "file"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DocumentTooLarge(DocumentRefused):
    status = 413


class UnsupportedDocumentType(DocumentRefused):
    status = 415


class UnknownDocumentCode(DocumentRefused):
    field = "document_code"


class EmptyDocument(DocumentRefused):
    pass


# --- Reading and storing ------------------------------------------------------------------------


def max_upload_bytes() -> int:
    return int(current_app.config.get("MAX_UPLOAD_MB") or 10) * 1024 * 1024


def upload_root() -> Path:
    return Path(current_app.config["UPLOAD_DIR"])


def sniff(head: bytes) -> str | None:
    """The content type the first bytes announce, or None: the name is never trusted."""
    for content_type, _extension, magic in SIGNATURES:
        if head.startswith(magic):
            return content_type
    return None


def blob_path(sha256: str) -> Path:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError("not a SHA-256 hex digest")
    return upload_root() / sha256[:2] / sha256[2:4] / sha256


def document_path(document: CaseDocument) -> Path:
    """Where the document's content is stored (the caller checks it exists)."""
    return blob_path(document.sha256)


def display_name(filename: str | None, content_type: str, document_code: str) -> str:
    """The sanitised original name, with the extension of the type actually detected."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    stem = name.rsplit(".", 1)[0] if "." in name else name
    stem = secure_filename(stem).strip("._-")[:150] or document_code
    return f"{stem}.{EXTENSIONS[content_type]}"


@dataclass
class _Received:
    sha256: str
    size: int
    content_type: str


def _receive(stream: BinaryIO, limit: int) -> _Received:
    """Copy `stream` into a temporary file while hashing it, then move it under its hash.

    Refuses (and deletes the temporary file) past `limit` bytes or when the first bytes are not
    those of an accepted type."""
    root = upload_root()
    incoming = root / "tmp"
    incoming.mkdir(mode=0o700, parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    head = b""
    descriptor, temp_name = tempfile.mkstemp(dir=incoming, prefix="upload-")
    try:
        with os.fdopen(descriptor, "wb") as temp:
            while True:
                chunk = stream.read(CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > limit:
                    raise DocumentTooLarge(
                        str(_l("The file is larger than %(mb)s MB.", mb=limit // (1024 * 1024)))
                    )
                if len(head) < SNIFF_BYTES:
                    head += chunk[: SNIFF_BYTES - len(head)]
                    if len(head) >= SNIFF_BYTES and sniff(head) is None:
                        raise _unsupported()
                digest.update(chunk)
                temp.write(chunk)
            temp.flush()
            os.fsync(temp.fileno())
        if size == 0:
            raise EmptyDocument(str(_l("The file is empty.")))
        content_type = sniff(head)
        if content_type is None:
            raise _unsupported()
        sha256 = digest.hexdigest()
        final = blob_path(sha256)
        final.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if final.exists():  # the same content is already stored: keep that one
            os.unlink(temp_name)
        else:
            os.replace(temp_name, final)
        return _Received(sha256=sha256, size=size, content_type=content_type)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise


def _unsupported() -> UnsupportedDocumentType:
    return UnsupportedDocumentType(
        str(_l("Only PDF, JPEG and PNG files are accepted; this file is none of them."))
    )


def required_documents(case: Case) -> list[dict]:
    category = category_of(case)
    return list(category.required_documents or []) if category else []


def document_codes(case: Case) -> list[str]:
    """The codes an upload to `case` may carry: its category's, then "other"."""
    return [d["code"] for d in required_documents(case)] + [OTHER]


def _check_may(by: User, action: str, case: Case) -> None:
    if not role_may(by.role, action):
        raise ActionForbidden("role")
    if not in_scope(by, case):
        raise ActionForbidden("scope")


def store_document(
    case: Case, stream: BinaryIO, filename: str | None, document_code: str, by: User
) -> CaseDocument:
    """Store an uploaded scan for `case` and record it (timeline and audit trail).

    Raises UnknownDocumentCode (422), DocumentTooLarge (413), UnsupportedDocumentType (415),
    EmptyDocument (422) or ActionForbidden; nothing is stored then."""
    _check_may(by, "case.document.upload", case)
    document_code = (document_code or "").strip()
    if document_code not in document_codes(case):
        raise UnknownDocumentCode(str(_l("Not a document of this file's checklist.")))
    received = _receive(stream, max_upload_bytes())
    document = CaseDocument(
        case_id=case.id,
        document_code=document_code,
        filename=display_name(filename, received.content_type, document_code),
        content_type=received.content_type,
        size=received.size,
        sha256=received.sha256,
        uploaded_by_id=by.id,
        status=VerificationStatus.PENDING.value,
    )
    db.session.add(document)
    db.session.flush()
    _event(
        case, by, EventKind.DOCUMENT, action="document_upload",
        data={"document_id": document.id, "document_code": document_code,
              "status": document.status, "content_type": received.content_type},
    )  # fmt: skip
    record(
        "case.document_upload", user=by, record=document, case_id=case.id,
        document_code=document_code, content_type=received.content_type, size=received.size,
    )  # fmt: skip
    return document


def set_verification(document: CaseDocument, status: VerificationStatus | str, by: User) -> bool:
    """Mark `document` pending, verified or rejected. Returns whether anything changed."""
    status = VerificationStatus(status)
    case = document.case
    _check_may(by, "case.document.verify", case)
    previous = document.status
    if previous == status.value:
        return False
    document.status = status.value
    if status == VerificationStatus.PENDING:
        document.verified_by_id, document.verified_at = None, None
    else:
        document.verified_by_id, document.verified_at = by.id, datetime.now(UTC)
    db.session.flush()
    _event(
        case, by, EventKind.DOCUMENT, action="document_verification",
        data={"document_id": document.id, "document_code": document.document_code,
              "status": status.value, "from": previous},
    )  # fmt: skip
    record(
        "case.document_verify", user=by, record=document, case_id=case.id,
        from_status=previous, to_status=status.value,
    )  # fmt: skip
    return True


def record_download(document: CaseDocument, *, by: User, channel: str) -> None:
    record(
        "case.document_download", user=by, record=document, case_id=document.case_id,
        channel=channel,
    )  # fmt: skip


def get_document(case: Case, document_id: int) -> CaseDocument | None:
    """A document of `case` (never one of another case, whatever the id says)."""
    return db.session.scalar(
        select(CaseDocument).where(CaseDocument.id == document_id, CaseDocument.case_id == case.id)
    )


# --- The checklist ------------------------------------------------------------------------------


def status_label(status: str | None) -> str:
    if status is None or status == MISSING:
        return str(MISSING_LABEL)
    return str(STATUS_LABELS.get(VerificationStatus(status), status))


@dataclass
class ChecklistItem:
    """One required document: the latest upload for its code, and the earlier ones."""

    code: str
    name: str
    document: CaseDocument | None = None
    earlier: list[CaseDocument] = field(default_factory=list)

    @property
    def status(self) -> str:
        return self.document.status if self.document else MISSING

    @property
    def status_label(self) -> str:
        return status_label(self.status)


@dataclass
class Checklist:
    items: list[ChecklistItem]
    other: list[CaseDocument]

    @property
    def complete(self) -> bool:
        """Every required document uploaded and verified."""
        return all(item.status == VerificationStatus.VERIFIED.value for item in self.items)

    @property
    def choices(self) -> list[tuple[str, str]]:
        """(code, localised name) for the upload form's select, "other" last."""
        return [(item.code, item.name) for item in self.items] + [(OTHER, str(_l("Other")))]

    @staticmethod
    def status_label(status: str | None) -> str:
        return status_label(status)


def _localised(document: dict, language: str) -> str:
    return document.get(f"name_{language}") or document.get("name_fr") or document["code"]


def checklist(case: Case, language: str | None = None) -> Checklist:
    """For each required document of the case's category: code, localised name, the latest
    upload for that code and its status; plus the other documents (code "other", or a code the
    category does not list), newest first."""
    language = language or current_language()
    documents = db.session.scalars(
        select(CaseDocument)
        .where(CaseDocument.case_id == case.id)
        .order_by(CaseDocument.uploaded_at.desc(), CaseDocument.id.desc())
    ).all()
    items = [
        ChecklistItem(code=d["code"], name=_localised(d, language))
        for d in required_documents(case)
    ]
    by_code = {item.code: item for item in items}
    other = []
    for document in documents:  # newest first
        item = by_code.get(document.document_code)
        if item is None:
            other.append(document)
        elif item.document is None:
            item.document = document
        else:
            item.earlier.append(document)
    return Checklist(items=items, other=other)
