"""Encryption at rest of the sensitive fields (issue #7 item 5): what the database holds, what the
application reads back, key rotation, and the refusals (changed or misplaced ciphertext, bad keys).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import bindparam, select, text, update

from casework import create_app
from casework.cases.models import Case
from casework.extensions import db
from casework.field_encryption import (
    DecryptionError,
    Keyring,
    KeyringError,
    keyring_in_use,
    new_key_entry,
)
from casework.key_rotation import encrypted_columns, status
from casework.people.models import Person
from casework.people.subject_access import collect
from tests.cases.helpers import new_case, request_context
from tests.data_protection.conftest import NOTES, Story
from tests.factories import World

KEY_A = new_key_entry("a")
KEY_B = new_key_entry("b")
NARRATIVE = "Fled after the attack on the village; two brothers missing."
MEDICAL = "Dialysis three times a week at Ibn Sina hospital."
PEOPLE = Person.__table__


@pytest.fixture
def encrypted(app: Flask) -> Iterator[None]:
    """The session's app with key `a` for the length of one test."""
    with keyring_in_use(app, Keyring.parse(KEY_A)):
        yield


def keys(app: Flask, spec: str):
    return keyring_in_use(app, Keyring.parse(spec))


def stored(table: str, column: str, row_id: int) -> str | None:
    """The value as the database holds it, bypassing the column type."""
    query = text(f"SELECT {column} FROM {table} WHERE id = :id")
    return db.session.execute(query, {"id": row_id}).scalar_one()


def set_notes(world: World, value: str, key: str = "rabat") -> int:
    person = db.session.get(Person, world.people[key])
    person.vulnerability_notes = value
    db.session.commit()
    return person.id


def read_notes(person_id: int) -> str | None:
    db.session.expire_all()
    return db.session.get(Person, person_id).vulnerability_notes


def make_case(app: Flask, world: World) -> int:
    with request_context(app):
        case = new_case(world)
        case.claim_narrative, case.medical_details = NARRATIVE, MEDICAL
        db.session.commit()
        return case.id


def run(app: Flask, *args: str):
    return app.test_cli_runner().invoke(args=["keys", *args])


# --- What is stored -------------------------------------------------------------------------


def test_without_a_key_the_fields_are_stored_in_clear(ctx: Flask, world: World) -> None:
    person_id = set_notes(world, NOTES)

    assert stored("people", "vulnerability_notes", person_id) == NOTES
    assert read_notes(person_id) == NOTES


def test_with_a_key_the_database_holds_only_ciphertext(
    app: Flask, world: World, encrypted: None
) -> None:
    case_id = make_case(app, world)
    with app.app_context():
        person_id = set_notes(world, NOTES)

        for table, column, row_id, plain in (
            ("people", "vulnerability_notes", person_id, NOTES),
            ("cases", "claim_narrative", case_id, NARRATIVE),
            ("cases", "medical_details", case_id, MEDICAL),
        ):
            raw = stored(table, column, row_id)
            assert raw.startswith("enc:v1:a:")
            assert plain not in raw and "Dialysis" not in raw and "Follow-up" not in raw
        assert read_notes(person_id) == NOTES
        case = db.session.get(Case, case_id)
        assert (case.claim_narrative, case.medical_details) == (NARRATIVE, MEDICAL)


def test_the_same_text_twice_gives_two_different_ciphertexts(
    ctx: Flask, world: World, encrypted: None
) -> None:
    first = set_notes(world, NOTES, "rabat")
    second = set_notes(world, NOTES, "tanger")

    assert stored("people", "vulnerability_notes", first) != stored(
        "people", "vulnerability_notes", second
    )


def test_text_in_clear_stays_readable_after_encryption_is_turned_on(
    app: Flask, world: World
) -> None:
    with app.app_context():
        person_id = set_notes(world, NOTES)
    with keys(app, KEY_A), app.app_context():
        assert read_notes(person_id) == NOTES
        assert stored("people", "vulnerability_notes", person_id) == NOTES


def test_text_that_looks_like_a_ciphertext_is_kept_as_typed(ctx: Flask, world: World) -> None:
    typed = "enc:v1:a:not really"
    person_id = set_notes(world, typed)

    assert read_notes(person_id) == typed
    assert stored("people", "vulnerability_notes", person_id) == "plain:" + typed


def test_core_inserts_and_updates_are_encrypted_too(
    ctx: Flask, world: World, encrypted: None
) -> None:
    # The import and demo loaders write people with Core executemany, not the ORM.
    row = dict(
        db.session.execute(select(PEOPLE).where(PEOPLE.c.id == world.people["rabat"]))
        .mappings()
        .one()
    )
    row.pop("id")
    row.update(external_ref="BULK-1", vulnerability_notes=NOTES)
    db.session.execute(PEOPLE.insert(), [row])
    bulk_id = db.session.scalar(select(PEOPLE.c.id).where(PEOPLE.c.external_ref == "BULK-1"))
    db.session.execute(
        update(PEOPLE)
        .where(PEOPLE.c.id == bindparam("b_id"))
        .values(vulnerability_notes=bindparam("b_notes")),
        [{"b_id": world.people["tanger"], "b_notes": "Updated in bulk."}],
    )
    db.session.commit()

    assert stored("people", "vulnerability_notes", bulk_id).startswith("enc:v1:a:")
    assert stored("people", "vulnerability_notes", world.people["tanger"]).startswith("enc:v1:a:")
    assert read_notes(bulk_id) == NOTES
    assert db.session.scalar(
        select(PEOPLE.c.vulnerability_notes).where(PEOPLE.c.id == world.people["tanger"])
    ) == ("Updated in bulk.")


def test_the_subject_access_export_shows_the_text_in_clear(
    app: Flask, encrypted: None, story: Story
) -> None:
    with app.app_context():
        assert stored("people", "vulnerability_notes", story.person_id).startswith("enc:v1:")
        data = collect(db.session.get(Person, story.person_id))

    assert data["identity"]["vulnerability_notes"] == NOTES


# --- Refusals ---------------------------------------------------------------------------------


def test_a_changed_ciphertext_is_refused(ctx: Flask, world: World, encrypted: None) -> None:
    person_id = set_notes(world, NOTES)
    raw = stored("people", "vulnerability_notes", person_id)
    flipped = raw[:-3] + ("A" if raw[-3] != "A" else "B") + raw[-2:]
    db.session.execute(
        text("UPDATE people SET vulnerability_notes = :v WHERE id = :id"),
        {"v": flipped, "id": person_id},
    )
    db.session.commit()

    with pytest.raises(DecryptionError, match="integrity"):
        read_notes(person_id)


def test_a_ciphertext_copied_into_another_column_is_refused(
    app: Flask, world: World, encrypted: None
) -> None:
    case_id = make_case(app, world)
    with app.app_context():
        person_id = set_notes(world, NOTES)
        db.session.execute(
            text("UPDATE cases SET claim_narrative = :v WHERE id = :id"),
            {"v": stored("people", "vulnerability_notes", person_id), "id": case_id},
        )
        db.session.commit()

        with pytest.raises(DecryptionError, match=r"cases\.claim_narrative"):
            db.session.get(Case, case_id)


def test_a_value_under_a_key_no_longer_configured_is_refused(app: Flask, world: World) -> None:
    with keys(app, KEY_A), app.app_context():
        person_id = set_notes(world, NOTES)
    with keys(app, KEY_B), app.app_context(), pytest.raises(DecryptionError, match="'a'"):
        read_notes(person_id)


# --- Status and rotation ----------------------------------------------------------------------


def test_every_encrypted_column_is_found_by_its_type(app: Flask) -> None:
    with app.app_context():
        labels = {column.label for column in encrypted_columns()}

    assert labels == {
        "cases.claim_narrative",
        "cases.medical_details",
        "people.vulnerability_notes",
    }


def test_status_counts_values_in_clear_and_per_key(app: Flask, world: World) -> None:
    with app.app_context():
        set_notes(world, "in clear", "rabat")
    with keys(app, KEY_A), app.app_context():
        set_notes(world, "under a", "tanger")
    with keys(app, f"{KEY_B},{KEY_A}"), app.app_context():
        set_notes(world, "under b", "walk_in")
        people = {column.label: column for column in status()}["people.vulnerability_notes"]
        result = run(app, "status")

    assert (people.plaintext, people.by_key, people.unknown_key) == (1, {"b": 1, "a": 1}, 0)
    assert people.empty == 1  # rabat_child
    assert result.exit_code == 0, result.output
    assert "people.vulnerability_notes: 1 in clear, 1 under b, 1 under a (1 empty)" in result.output
    assert "under clear" not in result.output and "under b" not in NOTES


def test_rotation_moves_everything_to_the_new_key_without_touching_the_rows(
    app: Flask, world: World
) -> None:
    case_id = make_case(app, world)  # in clear: encryption was off then
    with keys(app, KEY_A), app.app_context():
        rabat = set_notes(world, "under a", "rabat")
        tanger = set_notes(world, "also under a", "tanger")
        before = db.session.execute(
            text("SELECT id, version, updated_at FROM people ORDER BY id")
        ).all()
        case_version = stored("cases", "version", case_id)

    with keys(app, f"{KEY_B},{KEY_A}"):
        dry = run(app, "rotate", "--dry-run")
        result = run(app, "rotate", "--batch-size", "1")
        again = run(app, "rotate")

    assert dry.exit_code == 0, dry.output
    assert "people.vulnerability_notes: would re-encrypt 2 values under b." in dry.output
    assert result.exit_code == 0, result.output
    assert "people.vulnerability_notes: re-encrypted 2 values under b." in result.output
    assert "cases.claim_narrative: re-encrypted 1 values under b." in result.output
    assert "Done: re-encrypted 4 values." in result.output
    assert "under a" not in result.output and NARRATIVE not in result.output
    assert "Nothing to re-encrypt." in again.output
    with keys(app, KEY_B), app.app_context():  # key a removed
        assert read_notes(rabat) == "under a" and read_notes(tanger) == "also under a"
        case = db.session.get(Case, case_id)
        assert (case.claim_narrative, case.medical_details) == (NARRATIVE, MEDICAL)
        assert stored("cases", "medical_details", case_id).startswith("enc:v1:b:")
        after = db.session.execute(
            text("SELECT id, version, updated_at FROM people ORDER BY id")
        ).all()
        assert after == before
        assert stored("cases", "version", case_id) == case_version


def test_rotation_needs_a_key(app: Flask) -> None:
    result = run(app, "rotate")

    assert result.exit_code != 0 and "FIELD_ENCRYPTION_KEYS" in result.output


def test_generate_prints_a_usable_entry(app: Flask) -> None:
    result = run(app, "generate", "--key-id", "k2027")

    assert result.exit_code == 0, result.output
    entry = result.output.strip()
    assert Keyring.parse(entry).current_id == "k2027"
    assert run(app, "generate", "--key-id", "K 1").exit_code != 0


# --- Configuration --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("a", "keyid:key"),
        ("a:c2hvcnQ", "32 bytes"),
        ("a:!!!notbase64!!!", "base64url"),
        (f"{KEY_A},{KEY_A}", "twice"),
        ("Key A:" + KEY_A.split(":")[1], "lower-case"),
    ],
)
def test_malformed_keys_are_refused_with_a_clear_message(spec: str, message: str) -> None:
    with pytest.raises(KeyringError, match=message):
        Keyring.parse(spec)


def test_the_app_refuses_to_start_with_a_bad_key_or_without_a_required_one() -> None:
    with pytest.raises(KeyringError, match="32 bytes"):
        create_app("testing", {"FIELD_ENCRYPTION_KEYS": "a:c2hvcnQ"})
    with pytest.raises(KeyringError, match="FIELD_ENCRYPTION_REQUIRED"):
        create_app("testing", {"FIELD_ENCRYPTION_REQUIRED": True})


def test_the_keys_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from config import load_settings

    monkeypatch.setenv("FIELD_ENCRYPTION_KEYS", KEY_A)
    monkeypatch.setenv("FIELD_ENCRYPTION_REQUIRED", "1")
    settings = load_settings("testing")

    assert settings["FIELD_ENCRYPTION_KEYS"] == KEY_A
    assert settings["FIELD_ENCRYPTION_REQUIRED"] is True
    assert load_settings("development")["FIELD_ENCRYPTION_KEYS"] == KEY_A


def test_an_encrypted_column_is_not_written_outside_an_app_context(app: Flask) -> None:
    with pytest.raises(RuntimeError, match="app context"):
        Person.__table__.c.vulnerability_notes.type.process_bind_param("x", None)
