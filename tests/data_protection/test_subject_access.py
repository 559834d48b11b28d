"""The right of access: everything held about one person, for supervisors (page) and on the
command line, as JSON or as a PDF with French and Arabic headings; every export audited."""

from __future__ import annotations

import io
import json
import re
import stat
from pathlib import Path

import pytest
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import select

from casework.audit.models import AuditEntry
from casework.auth.models import User
from casework.cases.models import Case
from casework.extensions import db
from casework.people.models import Person
from casework.people.operations import update_person
from casework.people.subject_access import collect, to_pdf
from tests.data_protection.conftest import (
    CONSENT_PURPOSE,
    NEW_PHONE,
    NOTES,
    OLD_PHONE,
    PASSPORT,
    REFERRAL_PURPOSE,
    SHARE_PURPOSE,
    Story,
    signed_in,
)
from tests.factories import World

ARABIC = re.compile(r"[\u0600-\u06FF\uFB50-\uFDFF\uFE70-\uFEFF]")


def url(person_id: int) -> str:
    return f"/people/{person_id}/subject-access"


def exports_audited(app: Flask, person_id: int) -> list[AuditEntry]:
    with app.app_context():
        entries = list(
            db.session.scalars(
                select(AuditEntry)
                .where(AuditEntry.action == "person.subject_access")
                .where(AuditEntry.record_id == person_id)
                .order_by(AuditEntry.id)
            )
        )
        for entry in entries:
            db.session.expunge(entry)
        return entries


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


# --- What is exported ----------------------------------------------------------------------------


def test_the_export_holds_everything_about_the_person(app: Flask, story: Story) -> None:
    with app.app_context():
        data = collect(db.session.get(Person, story.person_id))

    assert data["identity"]["id"] == story.person_id
    assert data["identity"]["phone"] == NEW_PHONE
    assert data["identity"]["vulnerability_notes"] == NOTES
    assert data["identity"]["serious_illness"] is True
    assert [d["number"] for d in data["documents"]] == [PASSPORT]
    household = data["households"][0]
    assert household["relationship"] == "head"
    assert {"relationship": "child", "is_subject": False} in household["members"]
    [case] = data["cases"]
    assert case["role"] == "applicant"
    assert case["state"] == "closed"
    assert case["card_number"]
    assert case["decision"]["first_instance_outcome"] == "favourable"
    assert [e["action"] for e in case["events"]][-1] == "close"
    [referral] = data["referrals"]
    assert referral["purpose"] == REFERRAL_PURPOSE
    assert referral["provider"] == "Organisation NGO1"
    assert referral["state"] == "completed"
    assert {c["purpose"] for c in data["consents"]} == {CONSENT_PURPOSE, SHARE_PURPOSE}
    withdrawn = next(c for c in data["consents"] if c["purpose"] == SHARE_PURPOSE)
    assert withdrawn["withdrawn_on"] is not None
    [assistance] = data["assistance"]
    assert assistance["quantity"] == "2.00"
    assert {"consent", "referral_sent", "assistance_recorded", "consent_withdrawn"} <= {
        e["kind"] for e in data["person_events"]
    }
    [correction] = data["corrections"]
    assert correction["fields"]["phone"] == [OLD_PHONE, NEW_PHONE]
    assert [p["kind"] for p in data["purposes"]] == ["registration", "referral"]
    actions = {e["action"] for e in data["audit"]}
    assert {"person.create", "person.update", "case.create", "case.close", "referral.send",
            "consent.record", "consent.withdraw", "assistance.record"} <= actions  # fmt: skip
    assert json.dumps(data)  # JSON-ready as it is


def test_the_export_names_no_other_person_and_no_staff(app: Flask, story: Story) -> None:
    with app.app_context():
        text = json.dumps(collect(db.session.get(Person, story.person_id)), ensure_ascii=False)
        child = collect(db.session.get(Person, story.world.people["rabat_child"]))
        child_text = json.dumps(child, ensure_ascii=False)

    assert "Awa" not in text and "عوا" not in text  # the child in the household
    assert "@test.example" not in text  # staff accounts
    assert "Caseworker" not in text  # staff names (the test world's users are named by role)
    # The child's export: joining the household is about the child; the head is not named.
    assert "household.add_member" in {e["action"] for e in child["audit"]}
    assert child["households"][0]["relationship"] == "child"
    assert NEW_PHONE not in child_text and PASSPORT not in child_text


def test_records_merged_into_the_person_are_part_of_the_export(app: Flask, world: World) -> None:
    from casework.people.merge import merge_people
    from tests.factories import make_person, user_by_key

    with app.test_request_context():
        caseworker = user_by_key(world, "caseworker")
        kept = db.session.get(Person, world.people["rabat"])
        duplicate = make_person(caseworker, given_names="Mamadou A.", phone="+212 655 444 333")
        merge_people(kept, duplicate, by=user_by_key(world, "supervisor"), reason="Same passport.")
        db.session.commit()
        data = collect(db.session.get(Person, kept.id))

    assert [r["phone"] for r in data["merged_records"]] == ["+212 655 444 333"]
    assert any(e["action"] == "person.create" and e["record_id"] == duplicate.id
               for e in data["audit"])  # fmt: skip


# --- The page ------------------------------------------------------------------------------------


def test_a_supervisor_downloads_the_json_export_and_it_is_audited(app: Flask, story: Story) -> None:
    client = signed_in(app, story.world, "supervisor")
    assert client.get(url(story.person_id)).status_code == 200

    response = client.post(url(story.person_id), data={"file_format": "json"})

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    data = json.loads(response.get_data(as_text=True))
    assert data["identity"]["id"] == story.person_id
    [entry] = exports_audited(app, story.person_id)
    assert entry.user_id == story.world.user_ids["supervisor"]
    assert entry.data["format"] == "json" and entry.data["channel"] == "web"
    assert NEW_PHONE not in json.dumps(entry.data)  # counts, never personal data


def test_the_export_holds_the_claim_narrative_of_the_persons_file(app: Flask, story: Story) -> None:
    with app.app_context():
        case = db.session.get(Case, story.case_id)
        case.medical_details = "Chronic asthma, treated at the Souissi clinic."
        db.session.commit()
        data = collect(db.session.get(Person, story.person_id))

    [case] = data["cases"]
    assert case["medical_details"] == "Chronic asthma, treated at the Souissi clinic."
    assert "claim_narrative" in case


def test_a_correction_of_the_notes_is_recorded_without_their_text(app: Flask, story: Story) -> None:
    with app.test_request_context(headers={"Accept-Language": "en"}):
        person = db.session.get(Person, story.person_id)
        caseworker = db.session.get(User, story.world.user_ids["caseworker"])
        update_person(
            person,
            {"vulnerability_notes": "Seen by the psychologist twice."},
            by=caseworker,
            expected_version=person.version,
        )
        db.session.commit()
        data = collect(person)
        pdf = pdf_text(to_pdf(data))

    newest = data["corrections"][-1]
    assert newest["fields"] == {"vulnerability_notes": None}
    assert "Seen by the psychologist" not in json.dumps(data["corrections"])
    assert NOTES not in json.dumps(data["corrections"])
    assert "texte non conservé" in pdf


def test_the_pdf_export_has_french_and_arabic_headings(app: Flask, story: Story) -> None:
    client = signed_in(app, story.world, "supervisor")

    response = client.post(url(story.person_id), data={"file_format": "pdf"})

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    content = response.get_data()
    assert content.startswith(b"%PDF-")
    text = pdf_text(content)
    for heading in ("Identité", "Dossiers", "Consentements", "Historique des rectifications",
                    "Journal d'audit"):  # fmt: skip
        assert heading in text, heading
    assert ARABIC.search(text)
    assert PASSPORT in text
    assert REFERRAL_PURPOSE in text
    assert exports_audited(app, story.person_id)[0].data["format"] == "pdf"


def test_an_unknown_format_is_refused_and_nothing_is_exported(app: Flask, story: Story) -> None:
    client = signed_in(app, story.world, "supervisor")

    response = client.post(url(story.person_id), data={"file_format": "xml"})

    assert response.status_code == 422
    assert exports_audited(app, story.person_id) == []


@pytest.mark.parametrize("role", ["caseworker", "ngo", "admin", "auditor"])
def test_only_supervisors_may_export(app: Flask, story: Story, role: str) -> None:
    client = signed_in(app, story.world, role)

    assert client.get(url(story.person_id)).status_code == 403
    assert client.post(url(story.person_id), data={"file_format": "json"}).status_code == 403
    assert exports_audited(app, story.person_id) == []


def test_a_regional_supervisor_cannot_export_a_person_of_another_region(
    app: Flask, world: World
) -> None:
    client = signed_in(app, world, "regional")  # Rabat-Salé-Kénitra
    tanger = world.people["tanger"]

    assert client.get(url(tanger)).status_code == 404
    assert client.post(url(tanger), data={"file_format": "json"}).status_code == 404
    assert client.get(url(world.people["rabat"])).status_code == 200
    assert client.get(url(999999)).status_code == 404
    assert exports_audited(app, tanger) == []


# --- The command line ----------------------------------------------------------------------------


def invoke(app: Flask, *args: str):
    return app.test_cli_runner().invoke(args=["subject-access", *args])


def test_the_command_writes_json_to_the_standard_output(app: Flask, story: Story) -> None:
    result = invoke(app, str(story.person_id))

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout_bytes)["identity"]["phone"] == NEW_PHONE
    [entry] = exports_audited(app, story.person_id)
    assert entry.user_id is None and entry.data["channel"] == "cli"


def test_the_command_writes_a_pdf_readable_by_its_owner_only(
    app: Flask, story: Story, tmp_path: Path
) -> None:
    output = tmp_path / "access.pdf"

    result = invoke(
        app, str(story.person_id), "--format", "pdf", "--output", str(output),
        "--by", story.world.users["supervisor"],
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert output.read_bytes().startswith(b"%PDF-")
    assert stat.S_IMODE(output.stat().st_mode) == 0o600
    [entry] = exports_audited(app, story.person_id)
    assert entry.user_id == story.world.user_ids["supervisor"]


def test_the_command_refuses_an_unknown_person_or_an_account_not_allowed(
    app: Flask, story: Story
) -> None:
    unknown = invoke(app, "999999")
    caseworker = invoke(app, str(story.person_id), "--by", story.world.users["caseworker"])
    out_of_region = invoke(app, str(story.world.people["tanger"]), "--by",
                           story.world.users["regional"])  # fmt: skip

    assert unknown.exit_code == 1 and "No person 999999" in unknown.output
    assert caseworker.exit_code == 1 and "may not" in caseworker.output
    assert out_of_region.exit_code == 1
    assert exports_audited(app, story.person_id) == []
