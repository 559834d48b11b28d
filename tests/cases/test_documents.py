"""Documents of a case (issue #3, item 5): type read from the content, size limit, content stored
once under its hash, downloads inside the office only, verification on the timeline."""

from __future__ import annotations

import hashlib
import io
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select

from casework.audit.models import AuditEntry
from casework.cases import documents
from casework.cases.errors import ActionForbidden
from casework.cases.models import Case, CaseDocument, CaseEvent
from casework.cases.operations import file_case
from casework.extensions import db
from casework.people.models import Person
from tests.conftest import api_token, sign_in
from tests.factories import World, user_by_key

FILED_ON = date(2026, 3, 2)  # inside the REG-2026 operation
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
TEXT = b"This is not a scan, whatever its name says.\n"


def png_bytes(colour: str = "navy") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "teal").save(buffer, format="JPEG")
    return buffer.getvalue()


def new_case(app: Flask, world: World, person: str = "rabat", by: str = "caseworker") -> int:
    """A regularisation file (category residence_5_years) of `person`, filed by `by`."""
    with app.test_request_context():
        case = file_case(
            kind="regularisation",
            applicant=db.session.get(Person, world.people[person]),
            by=user_by_key(world, by),
            category="residence_5_years",
            filed_on=FILED_ON,
        )
        db.session.commit()
        return case.id


def page_client(app: Flask, world: World, role: str) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, world.users[role]).status_code == 302
    return client


def api_upload(client, headers, case_id: int, content: bytes, filename: str, code: str):
    return client.post(
        f"/api/v1/cases/{case_id}/documents",
        data={"file": (io.BytesIO(content), filename), "document_code": code},
        headers=headers,
        content_type="multipart/form-data",
    )


def page_upload(client, case_id: int, content: bytes, filename: str, code: str, **extra):
    return client.post(
        f"/cases/{case_id}/documents",
        data={"file": (io.BytesIO(content), filename), "document_code": code, **extra},
        content_type="multipart/form-data",
    )


def upload_dir(app: Flask) -> Path:
    return Path(app.config["UPLOAD_DIR"])


def document_rows(app: Flask, case_id: int) -> list[CaseDocument]:
    query = select(CaseDocument).where(CaseDocument.case_id == case_id).order_by(CaseDocument.id)
    with app.app_context():
        return list(db.session.scalars(query))


def document_events(app: Flask, case_id: int) -> list[CaseEvent]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(CaseEvent)
                .where(CaseEvent.case_id == case_id, CaseEvent.kind == "document")
                .order_by(CaseEvent.id)
            )
        )


def audit(app: Flask, action: str) -> list[AuditEntry]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


@pytest.fixture
def case_id(app: Flask, world: World) -> int:
    return new_case(app, world)


@pytest.fixture
def cw_api(app: Flask, world: World) -> dict[str, str]:
    return api_token(app.test_client(), world.users["caseworker"])


# --- The type comes from the content ----------------------------------------------------------


def test_a_png_named_pdf_is_stored_as_a_png(app: Flask, case_id: int, cw_api) -> None:
    content = png_bytes()
    response = api_upload(app.test_client(), cw_api, case_id, content, "scan.pdf", "photo")

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    sha = hashlib.sha256(content).hexdigest()
    assert body["content_type"] == "image/png"
    assert body["filename"] == "scan.png"  # the name keeps its stem, the type its extension
    assert (body["document_code"], body["status"]) == ("photo", "pending")
    assert (body["size"], body["sha256"]) == (len(content), sha)
    assert set(body) >= {"id", "uploaded_at"}
    stored = upload_dir(app) / sha[:2] / sha[2:4] / sha
    assert stored.read_bytes() == content


@pytest.mark.parametrize(
    ("content", "content_type"), [(PDF, "application/pdf"), (b"", None)], ids=["pdf", "empty"]
)
def test_pdf_and_jpeg_are_recognised_and_an_empty_file_is_refused(
    app: Flask, case_id: int, cw_api, content: bytes, content_type: str | None
) -> None:
    client = app.test_client()
    response = api_upload(client, cw_api, case_id, content, "passport.jpg", "identity_document")
    if content_type is None:
        assert response.status_code == 422
        assert "file" in response.get_json()["errors"]
    else:
        assert response.get_json()["content_type"] == content_type
        assert response.get_json()["filename"] == "passport.pdf"
    jpeg = api_upload(client, cw_api, case_id, jpeg_bytes(), "photo", "photo").get_json()
    assert (jpeg["content_type"], jpeg["filename"]) == ("image/jpeg", "photo.jpg")


def test_a_text_file_named_scan_pdf_is_refused_with_415(app: Flask, case_id: int, cw_api) -> None:
    response = api_upload(app.test_client(), cw_api, case_id, TEXT, "scan.pdf", "photo")

    assert response.status_code == 415
    assert response.mimetype == "application/problem+json"
    assert "file" in response.get_json()["errors"]
    assert document_rows(app, case_id) == []
    assert list((upload_dir(app) / "tmp").iterdir()) == []  # no half-stored file left behind


def test_the_page_refuses_a_text_file_next_to_the_field(
    app: Flask, world: World, case_id: int
) -> None:
    client = page_client(app, world, "caseworker")

    response = page_upload(client, case_id, TEXT, "scan.pdf", "photo")

    assert response.status_code == 415
    page = response.get_data(as_text=True)
    assert "Only PDF, JPEG and PNG files are accepted" in page
    assert 'class="form-control is-invalid"' in page
    assert document_rows(app, case_id) == []


def test_a_hostile_file_name_is_only_kept_sanitised(app: Flask, case_id: int, cw_api) -> None:
    body = api_upload(
        app.test_client(), cw_api, case_id, PDF, "../../etc/passwd .pdf", "other"
    ).get_json()
    assert body["filename"] == "passwd.pdf"
    arabic = api_upload(app.test_client(), cw_api, case_id, PDF, "جواز.pdf", "other").get_json()
    assert arabic["filename"] == "other.pdf"  # nothing left of the name: the code stands in


def test_a_document_code_outside_the_checklist_is_refused_with_422(
    app: Flask, case_id: int, cw_api
) -> None:
    # marriage_certificate belongs to the spouses' categories, not to residence_5_years.
    response = api_upload(
        app.test_client(), cw_api, case_id, PDF, "acte.pdf", "marriage_certificate"
    )

    assert response.status_code == 422
    assert "document_code" in response.get_json()["errors"]
    assert document_rows(app, case_id) == []


# --- Size ---------------------------------------------------------------------------------------


def test_a_file_over_the_size_limit_is_refused_with_413(
    app: Flask, case_id: int, cw_api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "MAX_UPLOAD_MB", 1)  # restored after the test
    limit = 1024 * 1024
    client = app.test_client()

    too_large = api_upload(client, cw_api, case_id, PDF + b"0" * (limit - len(PDF) + 1), "a.pdf",
                           "other")  # fmt: skip
    at_limit = api_upload(client, cw_api, case_id, PDF + b"0" * (limit - len(PDF)), "b.pdf",
                          "other")  # fmt: skip

    assert too_large.status_code == 413
    assert "1 MB" in too_large.get_json()["detail"]
    assert at_limit.status_code == 201
    assert [d.filename for d in document_rows(app, case_id)] == ["b.pdf"]
    assert list((upload_dir(app) / "tmp").iterdir()) == []


# --- Stored once --------------------------------------------------------------------------------


def test_identical_content_is_stored_once(app: Flask, world: World, case_id: int, cw_api) -> None:
    other_case = new_case(app, world, person="rabat_child")
    content = png_bytes("crimson")
    sha = hashlib.sha256(content).hexdigest()
    client = app.test_client()

    first = api_upload(client, cw_api, case_id, content, "a.png", "photo").get_json()
    second = api_upload(client, cw_api, case_id, content, "b.png", "other").get_json()
    third = api_upload(client, cw_api, other_case, content, "c.png", "photo").get_json()

    assert len({first["id"], second["id"], third["id"]}) == 3
    assert {first["sha256"], second["sha256"], third["sha256"]} == {sha}
    assert [p.name for p in upload_dir(app).rglob(sha)] == [sha]
    with app.app_context():
        document = db.session.get(CaseDocument, first["id"])
        assert documents.document_path(document) == upload_dir(app) / sha[:2] / sha[2:4] / sha


# --- Downloads ----------------------------------------------------------------------------------


def test_the_office_downloads_a_document_as_an_attachment_and_it_is_audited(
    app: Flask, world: World, case_id: int, cw_api
) -> None:
    content = png_bytes()
    document_id = api_upload(app.test_client(), cw_api, case_id, content, "scan.pdf",
                             "photo").get_json()["id"]  # fmt: skip
    client = page_client(app, world, "caseworker")

    response = client.get(f"/cases/{case_id}/documents/{document_id}/file")

    assert response.status_code == 200
    assert response.data == content
    assert response.mimetype == "image/png"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert "scan.png" in response.headers["Content-Disposition"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    [entry] = audit(app, "case.document_download")
    assert (entry.user_id, entry.record_type, entry.record_id) == (
        world.user_ids["caseworker"], "case_documents", document_id
    )  # fmt: skip
    assert entry.data == {"case_id": case_id, "channel": "web"}

    api = app.test_client().get(f"/api/v1/cases/{case_id}/documents/{document_id}/content",
                                headers=cw_api)  # fmt: skip
    assert (api.status_code, api.data, api.mimetype) == (200, content, "image/png")
    assert api.headers["X-Content-Type-Options"] == "nosniff"
    # The regional supervisor of Rabat's region may download too.
    regional = page_client(app, world, "regional")
    assert regional.get(f"/cases/{case_id}/documents/{document_id}/file").status_code == 200


def test_another_office_gets_404_and_an_ngo_403(
    app: Flask, world: World, case_id: int, cw_api
) -> None:
    document_id = api_upload(app.test_client(), cw_api, case_id, PDF, "a.pdf",
                             "other").get_json()["id"]  # fmt: skip
    page = f"/cases/{case_id}/documents/{document_id}/file"
    api = f"/api/v1/cases/{case_id}/documents/{document_id}/content"

    tanger = page_client(app, world, "caseworker2")
    assert tanger.get(page).status_code == 404
    tanger_api = api_token(app.test_client(), world.users["caseworker2"])
    assert app.test_client().get(api, headers=tanger_api).status_code == 404
    assert app.test_client().get(f"/api/v1/cases/{case_id}/documents",
                                 headers=tanger_api).status_code == 404  # fmt: skip

    ngo = page_client(app, world, "ngo")
    assert ngo.get(page).status_code == 403
    ngo_api = api_token(app.test_client(), world.users["ngo"])
    assert app.test_client().get(api, headers=ngo_api).status_code == 403
    assert audit(app, "case.document_download") == []


def test_a_document_is_only_reached_through_its_own_case(
    app: Flask, world: World, case_id: int, cw_api
) -> None:
    document_id = api_upload(app.test_client(), cw_api, case_id, PDF, "a.pdf",
                             "other").get_json()["id"]  # fmt: skip
    other_case = new_case(app, world, person="rabat_child")
    client = page_client(app, world, "caseworker")

    assert client.get(f"/cases/{other_case}/documents/{document_id}/file").status_code == 404


def test_another_office_cannot_upload(app: Flask, world: World, case_id: int) -> None:
    tanger = api_token(app.test_client(), world.users["caseworker2"])
    response = api_upload(app.test_client(), tanger, case_id, PDF, "a.pdf", "other")
    assert response.status_code == 404
    # The operation refuses on its own too, whoever calls it.
    with app.test_request_context():
        case = db.session.get(Case, case_id)
        with pytest.raises(ActionForbidden):
            documents.store_document(case, io.BytesIO(PDF), "a.pdf", "other",
                                     by=user_by_key(world, "caseworker2"))  # fmt: skip
        db.session.rollback()


# --- Verification -------------------------------------------------------------------------------


def test_verifying_and_rejecting_change_the_status_with_timeline_events(
    app: Flask, world: World, case_id: int
) -> None:
    client = page_client(app, world, "caseworker")
    uploaded = page_upload(client, case_id, PDF, "form.pdf", "application_form")
    assert uploaded.status_code == 303
    [document] = document_rows(app, case_id)
    url = f"/cases/{case_id}/documents/{document.id}/verification"

    verified = client.post(url, data={"status": "verified", "return_to": "documents"})
    assert verified.status_code == 303
    assert verified.headers["Location"].endswith(f"/cases/{case_id}/documents")
    [document] = document_rows(app, case_id)
    assert document.status == "verified"
    assert document.verified_by_id == world.user_ids["caseworker"]
    assert document.verified_at is not None

    client.post(url, data={"status": "rejected"})
    client.post(url, data={"status": "rejected"})  # no change: no event
    [document] = document_rows(app, case_id)
    assert document.status == "rejected"

    events = document_events(app, case_id)
    assert [(e.action, e.data["status"]) for e in events] == [
        ("document_upload", "pending"),
        ("document_verification", "verified"),
        ("document_verification", "rejected"),
    ]
    assert all(e.data["document_id"] == document.id for e in events)
    assert all(e.data["document_code"] == "application_form" for e in events)
    assert all(e.user_id == world.user_ids["caseworker"] for e in events)
    assert "form.pdf" not in repr([e.data for e in events])  # no file name (personal data)
    trail = audit(app, "case.document_verify")
    assert [(e.data["from_status"], e.data["to_status"]) for e in trail] == [
        ("pending", "verified"), ("verified", "rejected")
    ]  # fmt: skip
    assert len(audit(app, "case.document_upload")) == 1


def test_verification_through_the_api_and_by_role(
    app: Flask, world: World, case_id: int, cw_api
) -> None:
    document_id = api_upload(app.test_client(), cw_api, case_id, PDF, "a.pdf",
                             "proof_of_stay").get_json()["id"]  # fmt: skip
    url = f"/api/v1/cases/{case_id}/documents/{document_id}/verification"
    client = app.test_client()

    response = client.post(url, json={"status": "verified"}, headers=cw_api)
    assert (response.status_code, response.get_json()["status"]) == (200, "verified")
    assert client.post(url, json={"status": "lost"}, headers=cw_api).status_code == 422
    # Supervisors see documents but do not verify them.
    supervisor = api_token(app.test_client(), world.users["supervisor"])
    assert client.post(url, json={"status": "rejected"}, headers=supervisor).status_code == 403
    page = page_client(app, world, "supervisor")
    assert page.post(f"/cases/{case_id}/documents/{document_id}/verification",
                     data={"status": "rejected"}).status_code == 403  # fmt: skip


# --- The checklist ------------------------------------------------------------------------------


def test_the_checklist_shows_each_required_document_its_latest_upload_and_others(
    app: Flask, case_id: int, cw_api
) -> None:
    client = app.test_client()
    api_upload(client, cw_api, case_id, PDF, "old.pdf", "proof_of_stay")
    latest = api_upload(client, cw_api, case_id, png_bytes(), "new.png", "proof_of_stay")
    api_upload(client, cw_api, case_id, jpeg_bytes(), "letter.jpg", "other")

    body = client.get(f"/api/v1/cases/{case_id}/documents", headers=cw_api).get_json()

    codes = [item["code"] for item in body["required"]]
    assert codes == ["application_form", "photo", "identity_document", "proof_of_stay",
                     "residence_proofs_5_years"]  # fmt: skip
    items = {item["code"]: item for item in body["required"]}
    assert items["application_form"] == {
        "code": "application_form", "name": "Signed application form", "status": "missing",
        "document": None, "earlier": [],
    }  # fmt: skip
    proof = items["proof_of_stay"]
    assert (proof["status"], proof["document"]["id"]) == ("pending", latest.get_json()["id"])
    assert [d["filename"] for d in proof["earlier"]] == ["old.pdf"]
    assert [d["filename"] for d in body["other"]] == ["letter.jpg"]
    assert body["complete"] is False


def test_the_checklist_is_localised_and_complete_when_all_are_verified(
    app: Flask, world: World, case_id: int
) -> None:
    with app.test_request_context():
        case = db.session.get(Case, case_id)
        caseworker = user_by_key(world, "caseworker")
        for code in documents.document_codes(case)[:-1]:
            document = documents.store_document(case, io.BytesIO(PDF), f"{code}.pdf", code,
                                                by=caseworker)  # fmt: skip
            documents.set_verification(document, "verified", by=caseworker)
        db.session.commit()
        assert documents.checklist(case).complete
        french = documents.checklist(case, language="fr").items[0].name
        arabic = documents.checklist(case, language="ar").items[0].name
    assert (french, arabic) == ("Formulaire de demande signé", "استمارة الطلب موقعة")


def test_an_asylum_file_has_no_checklist_only_other_documents(
    app: Flask, world: World, cw_api
) -> None:
    with app.test_request_context():
        case = file_case(kind="asylum", applicant=db.session.get(Person, world.people["rabat"]),
                         by=user_by_key(world, "caseworker"))  # fmt: skip
        db.session.commit()
        case_id = case.id
    client = app.test_client()
    assert api_upload(client, cw_api, case_id, PDF, "a.pdf", "photo").status_code == 422
    assert api_upload(client, cw_api, case_id, PDF, "a.pdf", "other").status_code == 201
    body = client.get(f"/api/v1/cases/{case_id}/documents", headers=cw_api).get_json()
    assert (body["required"], len(body["other"])) == ([], 1)


# --- The page and its partial -------------------------------------------------------------------


def test_the_documents_page_offers_upload_and_verification_to_the_caseworker_only(
    app: Flask, world: World, case_id: int, cw_api
) -> None:
    document_id = api_upload(app.test_client(), cw_api, case_id, PDF, "a.pdf",
                             "photo").get_json()["id"]  # fmt: skip
    caseworker = page_client(app, world, "caseworker").get(f"/cases/{case_id}/documents")
    supervisor = page_client(app, world, "supervisor").get(f"/cases/{case_id}/documents")

    assert caseworker.status_code == supervisor.status_code == 200
    page = caseworker.get_data(as_text=True)
    assert "Signed application form" in page
    assert 'enctype="multipart/form-data"' in page
    assert f"/cases/{case_id}/documents/{document_id}/verification" in page
    assert f"/cases/{case_id}/documents/{document_id}/file" in page
    seen = supervisor.get_data(as_text=True)
    assert f"/cases/{case_id}/documents/{document_id}/file" in seen  # may download
    assert f"/documents/{document_id}/verification" not in seen
    assert "multipart/form-data" not in seen
    assert page_client(app, world, "caseworker2").get(
        f"/cases/{case_id}/documents").status_code == 404  # fmt: skip


def test_a_page_upload_goes_back_to_the_case_or_the_documents_page(
    app: Flask, world: World, case_id: int
) -> None:
    client = page_client(app, world, "caseworker")

    to_case = page_upload(client, case_id, PDF, "a.pdf", "photo")
    to_documents = page_upload(client, case_id, PDF, "b.pdf", "photo", return_to="documents")
    missing_file = client.post(f"/cases/{case_id}/documents", data={"document_code": "photo"},
                               content_type="multipart/form-data")  # fmt: skip

    assert to_case.status_code == 303
    case_page = f"/cases/{case_id}" if "cases.view" in app.view_functions else "/documents"
    assert to_case.headers["Location"].endswith(case_page)
    assert to_documents.headers["Location"].endswith(f"/cases/{case_id}/documents")
    assert missing_file.status_code == 422
    assert len(document_rows(app, case_id)) == 2


def test_an_api_upload_without_a_file_is_refused_with_422(app: Flask, case_id: int, cw_api) -> None:
    client = app.test_client()
    url = f"/api/v1/cases/{case_id}/documents"

    no_file = client.post(url, data={"document_code": "photo"}, headers=cw_api,
                          content_type="multipart/form-data")  # fmt: skip
    text_field = client.post(url, data={"file": "not a file", "document_code": "photo"},
                             headers=cw_api, content_type="multipart/form-data")  # fmt: skip
    no_code = client.post(url, data={"file": (io.BytesIO(PDF), "a.pdf")}, headers=cw_api,
                          content_type="multipart/form-data")  # fmt: skip

    assert (no_file.status_code, list(no_file.get_json()["errors"])) == (422, ["file"])
    assert (text_field.status_code, list(text_field.get_json()["errors"])) == (422, ["file"])
    assert (no_code.status_code, list(no_code.get_json()["errors"])) == (422, ["document_code"])
    assert document_rows(app, case_id) == []


def test_the_case_page_includes_the_documents_partial(
    app: Flask, world: World, case_id: int
) -> None:
    if "cases.view" not in app.view_functions:
        pytest.skip("the case page is not registered")
    page = page_client(app, world, "caseworker").get(f"/cases/{case_id}").get_data(as_text=True)

    assert 'id="documents"' in page
    assert f'action="/cases/{case_id}/documents"' in page
    assert "Signed application form" in page
