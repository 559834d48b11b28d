"""The people operations called directly: registering, editing, documents, households, and the
optimistic locking that keeps two clerks from overwriting each other."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from casework.audit.models import AuditEntry
from casework.conflicts import EditConflict
from casework.extensions import db
from casework.people.models import Household, Person
from casework.people.operations import (
    HouseholdError,
    PersonError,
    add_document,
    add_member,
    create_household,
    record_view,
    register_person,
    remove_member,
    update_person,
)
from tests.factories import World, make_person, user_by_key

VALUES = {
    "family_name": "  Traoré ",
    "given_names": "Ibrahima",
    "family_name_ar": "تراوري",
    "given_names_ar": "إبراهيما",
    "sex": "M",
    "date_of_birth": date(1988, 1, 9),
    "nationality": "ml",
    "languages": ["bm", "fr", "bm"],
    "phone": "",
}


@contextmanager
def refused(app: Flask) -> Iterator[pytest.ExceptionInfo[PersonError]]:
    """Expect a PersonError. Its message is translated, and casework.i18n picks the language
    from the request, so refusals are looked at inside a request context (as in production)."""
    with app.test_request_context(), pytest.raises(PersonError) as error:
        yield error


def audit(action: str, record_id: int) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == action, AuditEntry.record_id == record_id)
            .order_by(AuditEntry.id)
        )
    )


# --- Registering -----------------------------------------------------------------------------


def test_register_person_folds_names_of_both_scripts_into_search_text(ctx, world: World) -> None:
    person = register_person(VALUES, by=user_by_key(world, "caseworker"))
    assert person.search_text == "traore ibrahima تراوري ابراهيما"


def test_register_person_is_held_by_the_registering_office(ctx, world: World) -> None:
    person = register_person(VALUES, by=user_by_key(world, "caseworker2"))
    assert person.organisation_id == world.orgs["TNG"]
    assert person.created_by_id == world.user_ids["caseworker2"]
    assert person.version == 1


def test_register_person_tidies_what_was_typed(ctx, world: World) -> None:
    person = register_person(VALUES, by=user_by_key(world, "caseworker"))
    assert person.family_name == "Traoré"
    assert person.nationality == "ML"
    assert person.languages == ["bm", "fr"]
    assert person.phone is None
    assert person.date_of_birth_approximate is False


def test_register_person_is_audited_without_personal_data(ctx, world: World) -> None:
    person = register_person(VALUES, by=user_by_key(world, "caseworker"))
    [entry] = audit("person.create", person.id)
    assert entry.user_id == world.user_ids["caseworker"]
    assert "Traor" not in str(entry.data)
    assert "Ibrahima" not in str(entry.data)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("family_name", "   "),
        ("given_names", ""),
        ("date_of_birth", date.today() + timedelta(days=1)),
        ("organisation_id", 2),
        ("search_text", "x"),
    ],
)
def test_register_person_refuses_and_names_the_field(ctx, world: World, field: str, value) -> None:
    with refused(ctx) as error:
        register_person({**VALUES, field: value}, by=user_by_key(world, "caseworker"))
    assert error.value.field == field


def test_register_person_with_a_document_folds_its_number(ctx, world: World) -> None:
    person = register_person(
        VALUES,
        by=user_by_key(world, "caseworker"),
        documents=[{"kind": "passport", "number": "B-12 345 678", "issuing_country": "ML"}],
    )
    assert [doc.number_folded for doc in person.documents] == ["b12345678"]
    assert person.documents[0].number == "B-12 345 678"


def test_add_document_is_audited_by_kind_not_number(ctx, world: World) -> None:
    person = db.session.get(Person, world.people["rabat"])
    add_document(
        person,
        {"kind": "consular_card", "number": "SN-998877"},
        by=user_by_key(world, "caseworker"),
    )
    [entry] = audit("person.document_add", person.id)
    assert entry.data == {"kind": "consular_card"}


def test_record_view_notes_who_looked_and_through_which_channel(ctx, world: World) -> None:
    person = db.session.get(Person, world.people["rabat"])
    record_view(person, by=user_by_key(world, "regional"), channel="web")
    [entry] = audit("person.view", person.id)
    assert entry.user_id == world.user_ids["regional"]
    assert entry.data == {"channel": "web"}


# --- Editing ---------------------------------------------------------------------------------


def test_update_person_returns_the_changed_field_names(ctx, world: World) -> None:
    person = db.session.get(Person, world.people["rabat"])
    changed = update_person(
        person,
        {"family_name": "Diallo", "phone": "+212 600 1", "address": "Salé"},
        by=user_by_key(world, "caseworker"),
        expected_version=1,
    )
    assert sorted(changed) == ["address", "phone"]
    assert person.version == 2


def test_update_person_audits_field_names_never_values(ctx, world: World) -> None:
    person = db.session.get(Person, world.people["rabat"])
    update_person(
        person,
        {"vulnerability_notes": "Survivor of violence", "phone": "+212 600 1"},
        by=user_by_key(world, "caseworker"),
        expected_version=1,
    )
    [entry] = audit("person.update", person.id)
    assert entry.data == {"fields": ["phone", "vulnerability_notes"]}


def test_update_person_that_changes_nothing_writes_nothing(ctx, world: World) -> None:
    person = db.session.get(Person, world.people["rabat"])
    changed = update_person(
        person, {"family_name": "Diallo"}, by=user_by_key(world, "caseworker"), expected_version=1
    )
    db.session.flush()
    assert changed == []
    assert person.version == 1
    assert audit("person.update", person.id) == []


def test_update_person_refolds_search_text_on_rename(ctx, world: World) -> None:
    person = db.session.get(Person, world.people["rabat"])
    update_person(
        person,
        {"family_name": "Ndiayé", "family_name_ar": "نجاي"},
        by=user_by_key(world, "caseworker"),
        expected_version=1,
    )
    assert person.search_text == "ndiaye mamadou نجاي مامادو"


def test_update_person_raises_edit_conflict_on_stale_version(ctx, world: World) -> None:
    person = db.session.get(Person, world.people["rabat"])
    user = user_by_key(world, "caseworker")
    update_person(person, {"phone": "+212 600 1"}, by=user, expected_version=1)

    with pytest.raises(EditConflict) as conflict:
        update_person(person, {"phone": "+212 600 2"}, by=user, expected_version=1)

    assert (conflict.value.expected, conflict.value.current) == (1, 2)
    assert person.phone == "+212 600 1"
    assert len(audit("person.update", person.id)) == 1


def test_update_person_refuses_a_field_the_server_owns(ctx, world: World) -> None:
    person = db.session.get(Person, world.people["rabat"])
    with refused(ctx) as error:
        update_person(
            person,
            {"organisation_id": world.orgs["TNG"]},
            by=user_by_key(world, "caseworker"),
            expected_version=1,
        )
    assert error.value.field == "organisation_id"
    assert person.organisation_id == world.orgs["RAB"]


def test_version_column_catches_a_concurrent_update_from_another_session(ctx, world: World) -> None:
    """Both clerks read version 1; the check passes for both; the database refuses the second."""
    person_id = world.people["rabat"]
    mine = db.session.get(Person, person_id)
    user = user_by_key(world, "caseworker")
    assert mine.version == 1

    with Session(db.engine) as other_clerk:
        theirs = other_clerk.get(Person, person_id)
        theirs.phone = "+212 600 000 001"
        other_clerk.commit()

    with pytest.raises(StaleDataError):
        update_person(mine, {"phone": "+212 600 000 002"}, by=user, expected_version=1)
    db.session.rollback()

    stored = db.session.get(Person, person_id)
    assert (stored.phone, stored.version) == ("+212 600 000 001", 2)
    assert audit("person.update", person_id) == []


# --- Households ------------------------------------------------------------------------------


def test_create_household_makes_the_person_its_head(ctx, world: World) -> None:
    user = user_by_key(world, "caseworker")
    person = make_person(user, given_names="Fanta")
    household = create_household(person, by=user)
    assert household.head is person
    assert household.organisation_id == world.orgs["RAB"]
    assert [m.relationship_to_head for m in household.members] == ["head"]


def test_a_person_belongs_to_one_household_at_a_time(ctx, world: World) -> None:
    user = user_by_key(world, "caseworker")
    child = db.session.get(Person, world.people["rabat_child"])
    with pytest.raises(HouseholdError):
        create_household(child, by=user)
    other = create_household(make_person(user, given_names="Fanta"), by=user)
    with pytest.raises(HouseholdError):
        add_member(other, child, "child", by=user)


def test_a_household_has_one_head(ctx, world: World) -> None:
    user = user_by_key(world, "caseworker")
    household = db.session.get(Household, world.households["rabat"])
    with pytest.raises(HouseholdError):
        add_member(household, make_person(user, given_names="Fanta"), "head", by=user)


@pytest.mark.filterwarnings("error::sqlalchemy.exc.SAWarning")
def test_adding_a_member_bumps_the_household_version(ctx, world: World) -> None:
    user = user_by_key(world, "caseworker")
    household = db.session.get(Household, world.households["rabat"])
    before = household.version
    add_member(household, make_person(user, given_names="Fanta"), "spouse", by=user)
    assert household.version == before + 1
    assert len(household.members) == 3


def test_adding_a_member_with_a_stale_household_version_is_refused(ctx, world: World) -> None:
    user = user_by_key(world, "caseworker")
    household = db.session.get(Household, world.households["rabat"])
    stale = household.version - 1
    with pytest.raises(EditConflict):
        add_member(
            household,
            make_person(user, given_names="Fanta"),
            "spouse",
            by=user,
            expected_version=stale,
        )
    assert len(household.members) == 2


def test_head_is_removed_last(ctx, world: World) -> None:
    user = user_by_key(world, "caseworker")
    household = db.session.get(Household, world.households["rabat"])
    head, child = sorted(household.members, key=lambda m: m.relationship_to_head != "head")
    with pytest.raises(HouseholdError):
        remove_member(household, head, by=user, expected_version=household.version)

    remove_member(household, child, by=user, expected_version=household.version)
    remove_member(household, head, by=user, expected_version=household.version)
    assert household.members == []
    assert db.session.get(Person, world.people["rabat_child"]).membership is None


def test_removing_a_member_is_audited_by_person_number(ctx, world: World) -> None:
    user = user_by_key(world, "caseworker")
    household = db.session.get(Household, world.households["rabat"])
    child = next(m for m in household.members if m.relationship_to_head == "child")
    remove_member(household, child, by=user, expected_version=household.version)
    [entry] = audit("household.remove_member", household.id)
    assert entry.data == {"person_id": world.people["rabat_child"]}
