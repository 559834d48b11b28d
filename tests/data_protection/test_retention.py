"""Retention (law 09-08): who is due, what anonymising removes and keeps, the dry run, the
command, and the proof that the statistics do not move."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from flask import Flask
from sqlalchemy import func, select, update

from casework.admin.models import Organisation
from casework.audit.chain import verify
from casework.audit.models import AuditEntry
from casework.cases import documents
from casework.cases.models import Case, CaseDocument, CaseEvent
from casework.extensions import db
from casework.people.dp_models import PersonRevision
from casework.people.merge_models import PersonMerge
from casework.people.models import IdentityDocument, Person
from casework.people.queries import PeopleFilter, search_people
from casework.people.retention import (
    ANONYMISED,
    CLOSED_FILES,
    NO_FILE,
    RetentionPolicy,
    apply_retention,
    candidates,
    years_before,
)
from casework.reports.programmes import indicators
from casework.reports.queries import GROUPS, StatsFilter, acceptance, processing
from casework.services.models import AssistanceRecord, Consent, PersonEvent, Referral
from casework.services.operations import send_referral
from tests.cases.helpers import act, case_in, new_case, request_context, users
from tests.data_protection.conftest import (
    NEW_PHONE,
    NOTES,
    PASSPORT,
    REFERRAL_PURPOSE,
    TODAY,
    Story,
)
from tests.factories import World, make_person, user_by_key

POLICY = RetentionPolicy(closed_case_years=10, walk_in_years=5)
LATER = years_before(TODAY, -11)  # eleven years on: every file of the story is past 10 years
LONG_AGO = date(2012, 6, 1)
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def due(app: Flask, today: date) -> dict[int, str]:
    with app.app_context():
        return {c.person_id: c.rule for c in candidates(POLICY, today)}


def run(app: Flask, today: date, **options):
    with app.app_context():
        return apply_retention(POLICY, today=today, **options)


def age(app: Flask, person_ids: list[int], closed_on: date = LONG_AGO) -> None:
    """Move the people's records and files back in time (closing dates, changes, services)."""
    moment = datetime.combine(closed_on, datetime.min.time(), tzinfo=UTC)
    with app.app_context():
        for table, column, value in (
            (Person.__table__, "id", {"updated_at": moment}),
            (Referral.__table__, "person_id", {"updated_at": moment, "created_at": moment}),
            (AssistanceRecord.__table__, "person_id", {"given_on": closed_on}),
            (Consent.__table__, "person_id", {"given_on": closed_on, "withdrawn_on": None}),
            (PersonEvent.__table__, "person_id", {"at": moment}),
        ):
            db.session.execute(update(table).where(table.c[column].in_(person_ids)).values(**value))
        db.session.execute(
            update(Case.__table__)
            .where(Case.__table__.c.applicant_id.in_(person_ids))
            .where(Case.__table__.c.state.in_(("closed", "withdrawn")))
            .values(closed_on=closed_on)
        )
        db.session.commit()


# --- Who is due ----------------------------------------------------------------------------------


def test_nobody_is_due_before_the_periods_have_passed(app: Flask, story: Story) -> None:
    assert due(app, TODAY) == {}
    assert due(app, years_before(TODAY, -4)) == {}


def test_closed_files_are_kept_ten_years_and_people_without_files_five(
    app: Flask, story: Story
) -> None:
    people = story.world.people
    after_six_years = due(app, years_before(TODAY, -6))
    after_eleven_years = due(app, LATER)

    # Six years on: the people without files (unchanged for five years) are due, not rabat.
    assert after_six_years == {
        people["rabat_child"]: NO_FILE,
        people["tanger"]: NO_FILE,
        people["walk_in"]: NO_FILE,
    }
    assert after_eleven_years[story.person_id] == CLOSED_FILES


def test_an_open_file_or_an_open_referral_keeps_the_person(app: Flask, story: Story) -> None:
    world = story.world
    with app.app_context(), request_context(app):
        new_case(world, applicant="tanger", by="caseworker2")  # still filed
        send_referral(
            db.session.get(Person, world.people["walk_in"]), service_code="school_enrolment",
            provider=db.session.get(Organisation, world.orgs["NGO1"]), purpose="Orientation.",
            urgency="normal", due_date=None,
            consent={"given": True, "date": TODAY, "scope": "Orientation"},
            by=user_by_key(world, "caseworker"),
        )  # fmt: skip
        db.session.commit()

    later = due(app, LATER)

    assert world.people["tanger"] not in later  # a file still open
    assert world.people["walk_in"] not in later  # a referral still open
    assert story.person_id in later


def test_recent_services_keep_a_person_whose_files_closed_long_ago(
    app: Flask, story: Story
) -> None:
    with app.app_context():
        db.session.execute(
            update(Case.__table__)
            .where(Case.__table__.c.id == story.case_id)
            .values(closed_on=LONG_AGO)
        )
        db.session.commit()

    assert story.person_id not in due(app, TODAY)  # assistance given this year
    age(app, [story.person_id])
    assert due(app, TODAY) == {story.person_id: CLOSED_FILES}


# --- What anonymising does -----------------------------------------------------------------------


def test_anonymising_removes_identity_and_keeps_the_statistics_columns(
    app: Flask, story: Story
) -> None:
    with app.app_context():
        case = db.session.get(Case, story.case_id)
        kept_case = {
            name: getattr(case, name)
            for name in ("reference", "kind", "state", "filed_on", "decided_on", "closed_on",
                         "card_issued_on", "card_expires_on", "first_instance_outcome",
                         "region_code", "applicant_sex", "applicant_nationality",
                         "applicant_age_band", "processing_days", "office_id")
        }  # fmt: skip
        assert case.card_number
        case.medical_details = "Chronic asthma."
        db.session.commit()

    report = run(app, LATER)

    assert story.person_id in {done.person_id for done in report.done}
    with app.app_context():
        person = db.session.get(Person, story.person_id)
        assert person.family_name == ANONYMISED
        assert person.given_names == f"#{person.id}"
        assert person.family_name_ar is None and person.given_names_ar is None
        assert person.date_of_birth == date(1990, 1, 1) and person.date_of_birth_approximate
        assert person.phone is None and person.address is None
        assert person.vulnerability_notes is None and not person.serious_illness
        assert person.languages == []
        assert person.search_text == "" and person.match_family is None
        assert person.anonymised_at is not None
        assert (person.sex, person.nationality) == ("M", "SN")
        assert db.session.scalar(select(func.count(IdentityDocument.id)).where(
            IdentityDocument.person_id == person.id)) == 0  # fmt: skip
        assert db.session.scalar(select(func.count(PersonRevision.id)).where(
            PersonRevision.person_id == person.id)) == 0  # fmt: skip
        case = db.session.get(Case, story.case_id)
        assert {name: getattr(case, name) for name in kept_case} == kept_case
        assert case.card_number is None and case.decision_text is None
        assert case.medical_details is None and case.claim_narrative is None
        events = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id))
        assert all(e.comment is None and "card_number" not in (e.data or {}) for e in events)
        referral = db.session.get(Referral, story.referral_id)
        assert (referral.state, referral.service_code) == ("completed", "school_enrolment")
        assert referral.purpose == ANONYMISED and referral.outcome is None
        assistance = db.session.get(AssistanceRecord, story.assistance_id)
        assert (assistance.quantity, assistance.unit) == (Decimal("2.00"), "school kit")
        assert assistance.notes is None and assistance.place is None
        consent = db.session.get(Consent, story.consent_id)
        assert consent.given_on == TODAY and consent.purpose == ANONYMISED


def test_every_anonymisation_is_audited_without_personal_data(app: Flask, story: Story) -> None:
    run(app, LATER, by=None)

    with app.app_context():
        entries = list(db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "person.anonymise")
        ))  # fmt: skip
        mine = next(e for e in entries if e.record_id == story.person_id)
        text = str([e.data for e in entries])
        assert mine.record_type == "people"
        assert mine.data["rule"] == CLOSED_FILES and mine.data["years"] == 10
        assert mine.data["documents"] == 1 and mine.data["files"] == 1
        for personal in ("Diallo", "Mamadou", NEW_PHONE, PASSPORT, NOTES, REFERRAL_PURPOSE):
            assert personal not in text
        assert len(entries) == len({e.record_id for e in entries})  # once per person
        assert verify()[1] is None  # the audit chain is intact


def test_an_anonymised_person_is_no_longer_found_and_not_anonymised_twice(
    app: Flask, story: Story
) -> None:
    run(app, LATER)
    again = run(app, years_before(LATER, -1))

    assert story.person_id not in {done.person_id for done in again.done}
    with app.app_context():
        supervisor = user_by_key(story.world, "supervisor")
        found = db.session.scalars(search_people(supervisor, PeopleFilter(q="Diallo"))).all()
        assert story.person_id not in {p.id for p in found}


def test_records_merged_into_the_person_are_anonymised_with_it(app: Flask, story: Story) -> None:
    from casework.people.merge import merge_people

    with app.test_request_context():
        caseworker = user_by_key(story.world, "caseworker")
        duplicate = make_person(caseworker, given_names="Mamadou A.", phone="+212 655 444 333")
        merge_people(
            db.session.get(Person, story.person_id),
            duplicate,
            by=user_by_key(story.world, "supervisor"),
            reason="Same passport SN0099887.",
        )
        db.session.commit()
        duplicate_id = duplicate.id

    report = run(app, LATER)

    done = next(d for d in report.done if d.person_id == story.person_id)
    assert done.records == 2
    with app.app_context():
        duplicate = db.session.get(Person, duplicate_id)
        merge = db.session.scalar(select(PersonMerge).where(PersonMerge.merged_id == duplicate_id))
        assert duplicate.anonymised_at is not None and duplicate.phone is None
        assert duplicate.family_name == ANONYMISED
        assert merge.former_values == {"anonymised": True} and PASSPORT not in merge.reason


def test_the_scans_of_the_files_are_removed(app: Flask, story: Story) -> None:
    with app.app_context(), request_context(app):
        case = db.session.get(Case, story.case_id)
        document = documents.store_document(
            case, io.BytesIO(PDF), "passport.pdf", "other", user_by_key(story.world, "caseworker")
        )
        db.session.commit()
        path = documents.document_path(document)
        assert path.is_file()

    report = run(app, LATER)

    assert report.blobs_removed == 1
    assert not path.exists()
    with app.app_context():
        assert db.session.scalar(select(func.count(CaseDocument.id))) == 0


# --- The statistics do not move ------------------------------------------------------------------


def _statistics(app: Flask, world: World) -> dict:
    with app.app_context(), request_context(app):
        supervisor = user_by_key(world, "supervisor")
        regional = user_by_key(world, "regional")
        figures = {
            (user.email, group): acceptance(user, StatsFilter(), group)
            for user in (supervisor, regional)
            for group in (None, *GROUPS)
        }
        figures["processing"] = processing(supervisor, StatsFilter(), today=TODAY)
        figures["programmes"] = indicators(supervisor)
        return figures


def test_the_acceptance_figures_are_identical_before_and_after_retention(
    app: Flask, story: Story
) -> None:
    world = story.world
    with app.app_context(), request_context(app):
        who = users(world)
        caseworker = user_by_key(world, "caseworker")
        applicants = {
            "amina": {"family_name": "Sow", "given_names": "Amina", "sex": "F",
                      "date_of_birth": date(2010, 4, 1), "nationality": "GN"},
            "joseph": {"family_name": "Mbappe", "given_names": "Joseph", "sex": "M",
                       "date_of_birth": date(1970, 9, 9), "nationality": "CM"},
            "karim": {"family_name": "Haddad", "given_names": "Karim", "sex": "M",
                      "date_of_birth": date(1985, 1, 30), "nationality": "SY"},
        }  # fmt: skip
        for key, values in applicants.items():
            world.people[key] = make_person(caseworker, **values).id
        case_in(world, "regularisation", "closed", applicant="amina", who=who)  # rejected, closed
        withdrawn = new_case(world, applicant="joseph", who=who)
        act(withdrawn, "withdraw", who.caseworker, comment="Left for Spain.")
        case_in(world, "asylum", "withdrawn", applicant="karim", who=who)
        new_case(world, applicant="tanger", by="caseworker2", who=who)  # stays open
        db.session.commit()
    before = _statistics(app, world)
    assert before[(world.users["supervisor"], None)]["total"]["filed"] == 5

    report = run(app, LATER)

    anonymised = {done.person_id for done in report.done}
    assert {story.person_id, world.people["amina"], world.people["joseph"],
            world.people["karim"]} <= anonymised  # fmt: skip
    assert world.people["tanger"] not in anonymised
    assert _statistics(app, world) == before


# --- Dry run and the command ---------------------------------------------------------------------


def test_a_dry_run_lists_who_is_due_and_changes_nothing(app: Flask, story: Story) -> None:
    age(app, [story.person_id])
    with app.app_context():
        before = db.session.get(Person, story.person_id).version
        entries = db.session.scalar(select(func.count(AuditEntry.id)))

    result = app.test_cli_runner().invoke(args=["retention", "apply", "--dry-run"])

    assert result.exit_code == 0, result.output
    assert f"Would anonymise person {story.person_id} (held by RAB; 1 file(s) closed" in (
        result.output
    )
    assert "Dry run: 1 people would be anonymised. Nothing was changed." in result.output
    assert "Diallo" not in result.output
    with app.app_context():
        person = db.session.get(Person, story.person_id)
        assert person.family_name == "Diallo" and person.anonymised_at is None
        assert person.version == before
        assert db.session.scalar(select(func.count(AuditEntry.id))) == entries


def test_a_dry_run_may_look_ahead(app: Flask, story: Story) -> None:
    result = app.test_cli_runner().invoke(
        args=["retention", "apply", "--dry-run", "--as-of", LATER.isoformat()]
    )

    assert result.exit_code == 0, result.output
    assert f"Would anonymise person {story.person_id} " in result.output
    assert "Dry run: 4 people would be anonymised." in result.output


def test_the_command_anonymises_and_records_the_administrator(app: Flask, story: Story) -> None:
    age(app, [story.person_id])

    result = app.test_cli_runner().invoke(
        args=["retention", "apply", "--by", story.world.users["admin"]]
    )

    assert result.exit_code == 0, result.output
    assert f"Anonymised person {story.person_id} " in result.output
    assert "1 people anonymised" in result.output
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "person.anonymise"))
        assert entry.record_id == story.person_id
        assert entry.user_id == story.world.user_ids["admin"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--by", "caseworker@test.example"], "may not take the action retention.run"),
        (["--by", "nobody@test.example"], "No active account"),
        (["--as-of", "2099-01-01"], "only for --dry-run"),
    ],
)
def test_the_command_refuses(app: Flask, story: Story, args: list[str], message: str) -> None:
    age(app, [story.person_id])

    result = app.test_cli_runner().invoke(args=["retention", "apply", *args])

    assert result.exit_code == 1
    assert message in result.output
    with app.app_context():
        assert db.session.get(Person, story.person_id).anonymised_at is None


def test_the_policy_comes_from_the_settings(app: Flask, monkeypatch) -> None:
    from config import load_settings

    monkeypatch.setenv("RETENTION_CLOSED_CASE_YEARS", "12")
    monkeypatch.setenv("RETENTION_WALK_IN_YEARS", "3")
    policy = RetentionPolicy.from_config(load_settings("testing"))

    assert (policy.closed_case_years, policy.walk_in_years) == (12, 3)
    assert RetentionPolicy.from_config(app.config) == RetentionPolicy(10, 5)
    with pytest.raises(ValueError):
        RetentionPolicy.from_config({"RETENTION_CLOSED_CASE_YEARS": 0})
    result = app.test_cli_runner().invoke(args=["retention", "policy"])
    assert "10 years after their last file" in result.output


def test_years_before_handles_leap_days() -> None:
    assert years_before(date(2028, 2, 29), 10) == date(2018, 2, 28)
    assert years_before(date(2026, 11, 29), -11) == date(2037, 11, 29)
