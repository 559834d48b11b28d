"""Receipts and decision letters (issue #3, item 6): bilingual PDFs whose QR code leads to a
public page confirming they are genuine, without any personal data."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeSerializer
from pypdf import PdfReader
from sqlalchemy import select

from casework.admin.models import Organisation
from casework.audit.models import AuditEntry
from casework.cases import guards, letters
from casework.cases.models import Case
from casework.cases.operations import file_case, perform
from casework.extensions import db
from casework.people.models import Person
from tests.conftest import api_token, sign_in
from tests.factories import World, user_by_key

FILED_ON = date(2026, 3, 2)
APPLICANT_NAMES = ("Mamadou", "Diallo", "DIALLO", "مامادو", "ديالو")  # `rabat` in the test world


def new_case(app: Flask, world: World, kind: str = "regularisation") -> int:
    with app.test_request_context():
        case = file_case(
            kind=kind,
            applicant=db.session.get(Person, world.people["rabat"]),
            by=user_by_key(world, "caseworker"),
            category="residence_5_years" if kind == "regularisation" else None,
            filed_on=FILED_ON,
        )
        db.session.commit()
        return case.id


def take(app: Flask, world: World, case_id: int, steps: list[tuple[str, str, dict]]) -> None:
    """Take (action, user key, fields) steps on the case, today."""
    with app.test_request_context():
        case = db.session.get(Case, case_id)
        for action, who, fields in steps:
            perform(case, action, by=user_by_key(world, who), expected_version=case.version,
                    fields=fields)  # fmt: skip
        db.session.commit()


def reject(app: Flask, world: World, case_id: int) -> None:
    take(app, world, case_id, [
        ("start_review", "caseworker", {}),
        ("propose_decision", "caseworker", {"outcome": "unfavourable",
                                            "reasons": ["insufficient_proof_of_stay"]}),
        ("approve_decision", "supervisor", {}),
    ])  # fmt: skip


def page_client(app: Flask, world: World, role: str) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, world.users[role]).status_code == 302
    return client


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def pdf_links(data: bytes) -> list[str]:
    """The URIs of the PDF's link annotations (the address printed under the QR code)."""
    links = []
    for page in PdfReader(io.BytesIO(data)).pages:
        for annotation in page.get("/Annots") or []:
            action = annotation.get_object().get("/A") or {}
            if action.get("/URI"):
                links.append(str(action["/URI"]))
    return links


def reference_of(app: Flask, case_id: int) -> str:
    with app.app_context():
        return db.session.get(Case, case_id).reference


@pytest.fixture
def case_id(app: Flask, world: World) -> int:
    return new_case(app, world)


# --- The receipt --------------------------------------------------------------------------------


def test_the_receipt_is_a_pdf_in_french_and_arabic(app: Flask, world: World, case_id) -> None:
    response = page_client(app, world, "caseworker").get(f"/cases/{case_id}/receipt.pdf")

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    reference = reference_of(app, case_id)
    assert f"{reference}-recepisse.pdf" in response.headers["Content-Disposition"]
    text = pdf_text(response.data)
    assert reference in text
    assert "Récépissé de dépôt" in text and "02/03/2026" in text
    assert "Organisation RAB" in text and "Régularisation" in text
    assert "DIALLO Mamadou" in text  # the applicant in Latin letters
    # Arabic, extracted in logical order: the shaping kept the text, not only its picture.
    assert "المملكة المغربية" in text
    assert "وصل الإيداع" in text
    assert "مامادو ديالو" in text
    assert "تسوية الوضعية" in text
    [entry] = [e for e in audit(app) if e.action == "case.letter_download"]
    assert (entry.user_id, entry.record_id) == (world.user_ids["caseworker"], case_id)
    assert entry.data == {"letter": "receipt", "channel": "web"}


OFFICE_AR = "مكتب الأجانب — عمالة الرباط"


def name_office_in_arabic(app: Flask, world: World, name_ar: str | None) -> None:
    with app.app_context():
        db.session.get(Organisation, world.orgs["RAB"]).name_ar = name_ar
        db.session.commit()


def test_the_arabic_column_names_the_office_in_arabic(app: Flask, world: World, case_id) -> None:
    name_office_in_arabic(app, world, OFFICE_AR)

    text = pdf_text(page_client(app, world, "caseworker").get(f"/cases/{case_id}/receipt.pdf").data)

    # Header and office field: the French name on the left, the Arabic one on the right.
    assert text.count(OFFICE_AR) == 2
    assert text.count("Organisation RAB") == 2


def test_without_an_arabic_name_the_arabic_column_repeats_the_french_one(
    app: Flask, world: World, case_id
) -> None:
    text = pdf_text(page_client(app, world, "caseworker").get(f"/cases/{case_id}/receipt.pdf").data)

    assert text.count("Organisation RAB") == 4
    assert OFFICE_AR not in text


def test_the_decision_letter_names_the_office_in_arabic(app: Flask, world: World, case_id) -> None:
    name_office_in_arabic(app, world, OFFICE_AR)
    reject(app, world, case_id)

    text = pdf_text(
        page_client(app, world, "caseworker").get(f"/cases/{case_id}/decision.pdf").data
    )

    assert text.count(OFFICE_AR) == 2
    assert text.count("Organisation RAB") == 2


def test_the_api_serves_the_receipt(app: Flask, world: World, case_id) -> None:
    headers = api_token(app.test_client(), world.users["supervisor"])

    response = app.test_client().get(f"/api/v1/cases/{case_id}/receipt.pdf", headers=headers)

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert reference_of(app, case_id) in pdf_text(response.data)
    assert [e.data["channel"] for e in audit(app) if e.action == "case.letter_download"] == ["api"]


def test_the_receipt_stays_inside_the_office_and_away_from_ngos(
    app: Flask, world: World, case_id
) -> None:
    assert page_client(app, world, "caseworker2").get(
        f"/cases/{case_id}/receipt.pdf").status_code == 404  # fmt: skip
    assert page_client(app, world, "ngo").get(f"/cases/{case_id}/receipt.pdf").status_code == 403
    tanger = api_token(app.test_client(), world.users["caseworker2"])
    assert app.test_client().get(f"/api/v1/cases/{case_id}/receipt.pdf",
                                 headers=tanger).status_code == 404  # fmt: skip


# --- The QR code's page -------------------------------------------------------------------------


def test_the_receipts_link_verifies_publicly_without_personal_data(
    app: Flask, world: World, case_id
) -> None:
    pdf = page_client(app, world, "caseworker").get(f"/cases/{case_id}/receipt.pdf").data
    [url] = pdf_links(pdf)
    assert url in pdf_text(pdf)  # printed under the QR code, for those who cannot scan it
    parts = urlsplit(url)
    assert parts.scheme == "http" and parts.netloc == "localhost"  # absolute
    assert parts.path.startswith("/verify/")

    anonymous = app.test_client()
    response = anonymous.get(parts.path, headers={"Accept-Language": "en"})

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert reference_of(app, case_id) in page
    assert "This document is genuine" in page
    assert "Receipt of filing" in page
    assert "Filed" in page  # the file's current stage
    for name in (*APPLICANT_NAMES, "Organisation RAB", "Caseworker", "caseworker@"):
        assert name not in page, name
    assert response.headers["X-Robots-Tag"] == "noindex"


def test_the_verification_page_follows_the_files_stage(app: Flask, world: World, case_id) -> None:
    path = urlsplit(verify_link(app, case_id, letters.RECEIPT)).path
    take(app, world, case_id, [("start_review", "caseworker", {})])

    page = app.test_client().get(path, headers={"Accept-Language": "en"}).get_data(as_text=True)

    assert "Under review" in page


def verify_link(app: Flask, case_id: int, kind: str) -> str:
    with app.test_request_context():
        token = letters.letter_token(db.session.get(Case, case_id), kind)
    return f"http://localhost/verify/{token}"


def _swap_first_of_signature(token: str) -> str:
    payload, _, signature = token.rpartition(".")
    return f"{payload}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"


@pytest.mark.parametrize(
    "forge",
    [
        # The signature's first character: its last may only carry base64 padding bits, which
        # decode to the same signature whatever they are.
        pytest.param(lambda token: _swap_first_of_signature(token), id="tampered"),
        pytest.param(lambda token: token.replace(".", "x.", 1), id="payload-edited"),
        pytest.param(lambda token: token.split(".")[0], id="unsigned"),
        pytest.param(lambda token: "x", id="garbage"),
    ],
)
def test_a_tampered_token_answers_404(app: Flask, world: World, case_id, forge) -> None:
    genuine = urlsplit(verify_link(app, case_id, letters.RECEIPT)).path.rsplit("/", 1)[1]
    client = app.test_client()
    assert client.get(f"/verify/{genuine}").status_code == 200

    response = client.get(f"/verify/{forge(genuine)}")

    assert response.status_code == 404
    assert reference_of(app, case_id) not in response.get_data(as_text=True)


def test_tokens_cannot_be_forged_or_enumerated(app: Flask, world: World, case_id) -> None:
    client = app.test_client()
    payload = {"case": case_id, "kind": "receipt"}
    wrong_key = URLSafeSerializer("not-the-secret-key", salt=letters.TOKEN_SALT).dumps(payload)
    wrong_salt = URLSafeSerializer(app.config["SECRET_KEY"], salt="another-use").dumps(payload)
    with app.test_request_context():
        next_case = letters.letter_token(SimpleNamespace(id=case_id + 1), letters.RECEIPT)
        undecided = letters.letter_token(db.session.get(Case, case_id), letters.DECISION)

    assert client.get(f"/verify/{wrong_key}").status_code == 404
    assert client.get(f"/verify/{wrong_salt}").status_code == 404
    assert client.get(f"/verify/{next_case}").status_code == 404  # genuine, but no such file
    assert client.get(f"/verify/{undecided}").status_code == 404  # no decision letter exists


def test_printed_letters_survive_a_secret_key_rotation(
    app: Flask, world: World, case_id, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = urlsplit(verify_link(app, case_id, letters.RECEIPT)).path
    monkeypatch.setitem(app.config, "SECRET_KEY_FALLBACKS", [app.config["SECRET_KEY"]])
    monkeypatch.setitem(app.config, "SECRET_KEY", "a-new-secret-key")

    assert app.test_client().get(path).status_code == 200
    assert verify_link(app, case_id, letters.RECEIPT).rsplit("/", 1)[1] != path.rsplit("/", 1)[1]


# --- The decision letter ------------------------------------------------------------------------


def test_a_rejection_letter_gives_the_appeal_deadline(app: Flask, world: World, case_id) -> None:
    client = page_client(app, world, "caseworker")
    assert client.get(f"/cases/{case_id}/decision.pdf").status_code == 404  # not decided yet
    reject(app, world, case_id)

    response = client.get(f"/cases/{case_id}/decision.pdf")

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    text = pdf_text(response.data)
    with app.app_context():
        deadline = guards.appeal_deadline(db.session.get(Case, case_id))
    assert deadline == date.today() + timedelta(days=30)
    assert "Notification de décision" in text and "تبليغ بالقرار" in text
    assert "Demande rejetée" in text and "رفض الطلب" in text
    assert "Preuve de séjour insuffisante" in text and "عدم كفاية إثبات الإقامة" in text
    assert date.today().strftime("%d/%m/%Y") in text
    assert deadline.strftime("%d/%m/%Y") in text
    [url] = pdf_links(response.data)
    page = app.test_client().get(urlsplit(url).path, headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert "Decision letter" in page.get_data(as_text=True)
    assert "Rejected" in page.get_data(as_text=True)


def test_a_recognised_refugee_gets_a_letter_without_appeal_deadline(
    app: Flask, world: World
) -> None:
    case_id = new_case(app, world, kind="asylum")
    interview = datetime.now(UTC) + timedelta(days=1)
    take(app, world, case_id, [
        ("start_pre_screening", "caseworker", {}),
        ("issue_certificate", "caseworker", {}),
        ("schedule_interview", "caseworker", {"interview_on": interview,
                                              "interpreter_language": "fr"}),
        ("record_interview", "caseworker", {}),
        ("propose_decision", "caseworker", {"outcome": "favourable",
                                            "reasons": ["well_founded_fear"]}),
        ("approve_decision", "supervisor", {}),
    ])  # fmt: skip
    headers = api_token(app.test_client(), world.users["caseworker"])

    response = app.test_client().get(f"/api/v1/cases/{case_id}/decision.pdf", headers=headers)

    assert response.status_code == 200
    text = pdf_text(response.data)
    assert "Statut de réfugié reconnu" in text and "الاعتراف بصفة لاجئ" in text
    assert "Demande d'asile" in text and "طلب اللجوء" in text
    assert "Recours possible" not in text


def test_the_decision_of_an_appeal_is_the_letters_decision(app: Flask, world: World, case_id):
    reject(app, world, case_id)
    take(app, world, case_id, [
        ("lodge_appeal", "caseworker", {}),
        ("decide_appeal", "regional", {"outcome": "granted"}),
    ])  # fmt: skip
    with app.app_context():
        decision = letters.decision_of(db.session.get(Case, case_id))
    assert (decision.outcome, decision.decided_on, decision.appeal_until) == (
        "appeal_granted", date.today(), None
    )  # fmt: skip


# --- The font -----------------------------------------------------------------------------------


def test_the_font_comes_from_an_installed_package_without_importing_it() -> None:
    code = (
        "import sys\n"
        "from casework.cases.letters import FONT_FILES, font_directory\n"
        "directory = font_directory()\n"
        "assert all((directory / name).is_file() for name in FONT_FILES.values())\n"
        "assert 'matplotlib' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def audit(app: Flask) -> list[AuditEntry]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
