"""The person's page under law 09-08: the purpose of each processing, the consents given, and
the history of corrections (old and new values) kept by every `update_person`."""

from __future__ import annotations

from html import unescape

from flask import Flask
from sqlalchemy import select

from casework.audit.models import AuditEntry
from casework.extensions import db
from casework.people.dp_models import PersonRevision
from casework.people.models import Person
from casework.people.operations import update_person
from tests.data_protection.conftest import (
    CONSENT_PURPOSE,
    NEW_ADDRESS,
    NEW_PHONE,
    OLD_ADDRESS,
    OLD_PHONE,
    REFERRAL_PURPOSE,
    SHARE_PURPOSE,
    Story,
    signed_in,
)
from tests.factories import World, user_by_key


def page(app: Flask, world: World, key: str, person_id: int) -> str:
    response = signed_in(app, world, key).get(
        f"/people/{person_id}", headers={"Accept-Language": "en"}
    )
    assert response.status_code == 200
    return unescape(response.get_data(as_text=True))


def section(html: str) -> str:
    start = html.index('id="personal-data"')
    return html[start : html.index("</section>", start)]


# --- Rectification history -----------------------------------------------------------------------


def test_a_correction_keeps_the_old_and_new_values(app: Flask, story: Story) -> None:
    with app.app_context():
        revisions = list(
            db.session.scalars(
                select(PersonRevision).where(PersonRevision.person_id == story.person_id)
            )
        )
        audit = db.session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "person.update", AuditEntry.record_id == story.person_id
            )
        ).one()

        assert len(revisions) == 1
        revision = revisions[0]
        assert revision.fields == {
            "address": [OLD_ADDRESS, NEW_ADDRESS],
            "phone": [OLD_PHONE, NEW_PHONE],
        }
        assert revision.changed_by_id == story.world.user_ids["caseworker"]
        # The audit entry still names the fields only, never the values.
        assert audit.data == {"fields": ["address", "phone"]}
        assert OLD_PHONE not in str(audit.data)


def test_dates_and_lists_are_kept_as_json_and_nothing_is_written_without_a_change(
    app: Flask, world: World
) -> None:
    from datetime import date

    with app.test_request_context():
        person = db.session.get(Person, world.people["tanger"])
        caseworker = user_by_key(world, "caseworker2")
        update_person(
            person,
            {"date_of_birth": date(1991, 1, 2), "languages": ["fr", "en"], "pregnant": True},
            by=caseworker,
            expected_version=person.version,
        )
        unchanged = update_person(
            person, {"languages": ["fr", "en"]}, by=caseworker, expected_version=person.version
        )
        db.session.commit()
        rows = list(
            db.session.scalars(select(PersonRevision).where(PersonRevision.person_id == person.id))
        )

    assert unchanged == []
    assert len(rows) == 1
    assert rows[0].fields == {
        "date_of_birth": ["1990-05-17", "1991-01-02"],
        "languages": [[], ["fr", "en"]],
        "pregnant": [False, True],
    }


def test_the_history_of_corrections_is_shown_to_caseworkers_and_supervisors(
    app: Flask, story: Story
) -> None:
    for key in ("caseworker", "supervisor"):
        html = section(page(app, story.world, key, story.person_id))

        assert "History of corrections" in html
        assert OLD_PHONE in html and NEW_PHONE in html
        assert "Phone" in html and "Address" in html


def test_an_ngo_sees_purposes_of_its_walk_in_but_no_history_of_corrections(
    app: Flask, world: World
) -> None:
    with app.test_request_context():
        walk_in = db.session.get(Person, world.people["walk_in"])
        update_person(
            walk_in, {"phone": "+212 677 000 111"}, by=user_by_key(world, "ngo"),
            expected_version=walk_in.version,
        )  # fmt: skip
        db.session.commit()

    html = section(page(app, world, "ngo", world.people["walk_in"]))

    assert "Social and humanitarian assistance given by the partner organisation" in html
    assert "History of corrections" not in html
    assert "+212 677 000 111" not in html


# --- Purposes and consents -----------------------------------------------------------------------


def test_the_page_lists_each_purpose_and_each_consent(app: Flask, story: Story) -> None:
    html = section(page(app, story.world, "caseworker", story.person_id))

    assert "Purposes of processing" in html
    assert "Examination of a regularisation or asylum file" in html
    assert "Organisation RAB" in html  # who processes it for the registration
    assert REFERRAL_PURPOSE in html
    assert "Organisation NGO1" in html  # the referral's provider
    assert "Consents given" in html
    assert CONSENT_PURPOSE in html
    assert SHARE_PURPOSE in html
    assert "withdrawn on" in html
    assert "Organisation TNG" in html  # to whom


def test_only_supervisors_are_offered_the_subject_access_export(app: Flask, story: Story) -> None:
    link = f"/people/{story.person_id}/subject-access"

    assert link in page(app, story.world, "supervisor", story.person_id)
    assert link not in page(app, story.world, "caseworker", story.person_id)
