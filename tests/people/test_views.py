"""The people and household pages: registering, reading, editing without overwriting someone
else's change, and households; always within the caller's scope."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from sqlalchemy import func, select

from casework.audit.models import AuditEntry
from casework.extensions import db
from casework.people.models import Household, HouseholdMember, Person
from tests.conftest import sign_in
from tests.factories import World, make_person, user_by_key

REGISTRATION = {
    "family_name": "Keïta",
    "given_names": "Fatoumata",
    "family_name_ar": "كيتا",
    "given_names_ar": "فاطوماتا",
    "sex": "F",
    "date_of_birth": "1996-02-11",
    "nationality": "ML",
    "phone": "+212 622 333 444",
    # A browser always sends the select's chosen option, even with no document number typed.
    "doc-kind": "passport",
    "doc-number": "",
}


def signed_in(client, world: World, key: str):
    assert sign_in(client, world.users[key]).status_code == 302
    return client


def text(response) -> str:
    return response.get_data(as_text=True)


def field_error(html: str, field: str) -> str | None:
    """The error shown next to `field`, if any (see macros.html)."""
    match = re.search(rf'id="{field}-error">([^<]*)<', html)
    return match.group(1) if match else None


def hidden_version(html: str) -> int:
    return int(re.search(r'name="version" type="hidden" value="(\d+)"', html).group(1))


def person_count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Person.id)))


def stored(app: Flask, person_id: int) -> Person:
    with app.app_context():
        person = db.session.get(Person, person_id)
        db.session.expunge(person)
        return person


def edit_form(person: Person, **changes) -> dict:
    """What the edit page posts back: every field as shown, with `changes` typed over."""
    values = {
        "family_name": person.family_name,
        "given_names": person.given_names,
        "family_name_ar": person.family_name_ar or "",
        "given_names_ar": person.given_names_ar or "",
        "sex": person.sex,
        "date_of_birth": person.date_of_birth.isoformat() if person.date_of_birth else "",
        "nationality": person.nationality or "",
        "phone": person.phone or "",
        "address": person.address or "",
        "version": str(person.version),
    }
    return {**values, **changes}


def member_ids(app: Flask, household_id: int) -> dict[int, int]:
    """person id -> member id."""
    with app.app_context():
        rows = db.session.execute(
            select(HouseholdMember.person_id, HouseholdMember.id).where(
                HouseholdMember.household_id == household_id
            )
        ).all()
        return dict(rows)


def household_version(app: Flask, household_id: int) -> int:
    with app.app_context():
        return db.session.get(Household, household_id).version


def new_person(app: Flask, world: World, by: str, **values) -> int:
    with app.app_context():
        person_id = make_person(user_by_key(world, by), **values).id
        db.session.commit()
    return person_id


# --- Registering -----------------------------------------------------------------------------


def test_registration_page_shows_the_form(client, world: World) -> None:
    html = text(signed_in(client, world, "caseworker").get("/people/new"))
    assert 'name="family_name"' in html
    assert 'name="doc-number"' in html


def test_registration_without_family_name_shows_the_error_next_to_it(
    app: Flask, client, world: World
) -> None:
    signed_in(client, world, "caseworker")
    response = client.post("/people/new", data={**REGISTRATION, "family_name": ""})

    assert response.status_code == 200
    html = text(response)
    assert field_error(html, "family_name") == "This field is required."
    assert field_error(html, "given_names") is None
    assert "Please correct the fields marked below." in html
    assert person_count(app) == 4


def test_registration_with_an_error_keeps_what_was_typed(client, world: World) -> None:
    signed_in(client, world, "caseworker")
    html = text(
        client.post(
            "/people/new", data={**REGISTRATION, "family_name": "", "doc-number": "ML 998-877"}
        )
    )
    assert 'name="given_names" required type="text" value="Fatoumata"' in html
    assert 'value="فاطوماتا"' in html
    assert 'value="+212 622 333 444"' in html
    assert 'value="1996-02-11"' in html
    assert re.search(r'<option selected value="ML">', html)
    assert 'value="ML 998-877"' in html


def test_registration_with_a_future_birth_date_is_refused(app: Flask, client, world: World) -> None:
    signed_in(client, world, "caseworker")
    response = client.post("/people/new", data={**REGISTRATION, "date_of_birth": "2999-01-01"})
    assert response.status_code == 200
    assert field_error(text(response), "date_of_birth") == "This date is in the future."
    assert person_count(app) == 4


def test_registration_with_an_unknown_nationality_is_refused(
    app: Flask, client, world: World
) -> None:
    signed_in(client, world, "caseworker")
    response = client.post("/people/new", data={**REGISTRATION, "nationality": "ZZ"})
    assert response.status_code == 200
    assert field_error(text(response), "nationality")
    assert person_count(app) == 4


def test_successful_registration_leads_to_the_persons_page(
    app: Flask, client, world: World
) -> None:
    signed_in(client, world, "caseworker")
    response = client.post("/people/new", data={**REGISTRATION, "doc-number": "ML 998-877"})

    assert response.status_code == 302
    person_id = int(re.fullmatch(r"/people/(\d+)", response.headers["Location"]).group(1))
    person = stored(app, person_id)
    assert (person.family_name, person.organisation_id) == ("Keïta", world.orgs["RAB"])
    assert person.search_text == "keita fatoumata كيتا فاطوماتا"
    page = client.get(response.headers["Location"])
    assert "KEÏTA Fatoumata is registered." in text(page)
    assert "ML 998-877" in text(page)


def test_ngo_registers_a_walk_in_it_then_holds(app: Flask, client, world: World) -> None:
    signed_in(client, world, "ngo")
    response = client.post("/people/new", data=REGISTRATION)
    person_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert stored(app, person_id).organisation_id == world.orgs["NGO1"]


@pytest.mark.parametrize("role", ["supervisor", "auditor", "admin"])
def test_only_caseworkers_and_ngos_register_people(
    app: Flask, client, world: World, role: str
) -> None:
    signed_in(client, world, role)
    assert client.post("/people/new", data=REGISTRATION).status_code == 403
    assert person_count(app) == 4


def test_signed_out_visitor_is_sent_to_sign_in(client, world: World) -> None:
    response = client.get(f"/people/{world.people['rabat']}")
    assert response.status_code == 302
    assert "/sign-in" in response.headers["Location"]


# --- Reading ---------------------------------------------------------------------------------


def test_person_page_shows_names_in_both_scripts(client, world: World) -> None:
    html = text(signed_in(client, world, "caseworker").get(f"/people/{world.people['rabat']}"))
    assert "DIALLO Mamadou" in html
    assert "مامادو ديالو" in html


def test_opening_a_person_page_is_audited(app: Flask, client, world: World) -> None:
    signed_in(client, world, "caseworker").get(f"/people/{world.people['rabat']}")
    with app.app_context():
        entry = db.session.scalar(
            select(AuditEntry).where(
                AuditEntry.action == "person.view",
                AuditEntry.record_id == world.people["rabat"],
            )
        )
        assert entry.user_id == world.user_ids["caseworker"]
        assert entry.data == {"channel": "web"}


@pytest.mark.parametrize(
    ("role", "person"),
    [("caseworker2", "rabat"), ("caseworker", "tanger"), ("ngo", "rabat"), ("regional", "tanger")],
)
def test_another_offices_person_page_is_not_found(
    client, world: World, role: str, person: str
) -> None:
    signed_in(client, world, role)
    assert client.get(f"/people/{world.people[person]}").status_code == 404


def test_another_offices_edit_page_is_not_found(app: Flask, client, world: World) -> None:
    signed_in(client, world, "caseworker2")
    person = stored(app, world.people["rabat"])
    assert client.get(f"/people/{person.id}/edit").status_code == 404
    response = client.post(f"/people/{person.id}/edit", data=edit_form(person, phone="+212 6"))
    assert response.status_code == 404
    assert stored(app, person.id).phone is None


def test_regional_supervisor_opens_a_rabat_persons_page(client, world: World) -> None:
    signed_in(client, world, "regional")
    assert client.get(f"/people/{world.people['rabat']}").status_code == 200


# --- Editing ---------------------------------------------------------------------------------


def test_edit_page_carries_the_version_it_shows(client, world: World) -> None:
    html = text(signed_in(client, world, "caseworker").get(f"/people/{world.people['rabat']}/edit"))
    assert hidden_version(html) == 1
    assert 'value="Diallo"' in html


def test_edit_with_current_version_saves_and_bumps_it(app: Flask, client, world: World) -> None:
    signed_in(client, world, "caseworker")
    person = stored(app, world.people["rabat"])
    response = client.post(
        f"/people/{person.id}/edit", data=edit_form(person, address="Hay Riad, Rabat")
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/people/{person.id}"
    after = stored(app, person.id)
    assert (after.address, after.version) == ("Hay Riad, Rabat", 2)


def test_edit_with_stale_version_is_a_conflict_and_does_not_overwrite(
    app: Flask, client, world: World
) -> None:
    signed_in(client, world, "caseworker")
    person = stored(app, world.people["rabat"])
    # Someone else saves first, from the same version 1.
    first = client.post(f"/people/{person.id}/edit", data=edit_form(person, phone="+212 600 1"))
    assert first.status_code == 302
    client.get(first.headers["Location"])  # shows and clears the "Saved." message

    response = client.post(
        f"/people/{person.id}/edit",
        data=edit_form(person, phone="+212 600 2", family_name="Ndiaye"),
    )

    assert response.status_code == 409
    html = text(response)
    assert "Someone else changed this record while you were editing it." in html
    assert hidden_version(html) == 2, "the form must offer the current version to retry"
    after = stored(app, person.id)
    assert (after.family_name, after.phone, after.version) == ("Diallo", "+212 600 1", 2)


def test_edit_with_missing_family_name_shows_the_error_and_saves_nothing(
    app: Flask, client, world: World
) -> None:
    signed_in(client, world, "caseworker")
    person = stored(app, world.people["rabat"])
    response = client.post(
        f"/people/{person.id}/edit", data=edit_form(person, family_name="", phone="+212 6")
    )
    assert response.status_code == 200
    html = text(response)
    assert field_error(html, "family_name") == "This field is required."
    assert 'value="+212 6"' in html
    assert stored(app, person.id).phone is None


def test_supervisor_reads_but_does_not_edit(app: Flask, client, world: World) -> None:
    signed_in(client, world, "supervisor")
    person = stored(app, world.people["rabat"])
    assert client.get(f"/people/{person.id}").status_code == 200
    assert client.post(f"/people/{person.id}/edit", data=edit_form(person)).status_code == 403


def test_adding_a_document_from_the_persons_page(app: Flask, client, world: World) -> None:
    signed_in(client, world, "caseworker")
    person_id = world.people["rabat"]
    response = client.post(
        f"/people/{person_id}/documents",
        data={"doc-kind": "residence_card", "doc-number": "RC-55 44", "doc-issuing_country": ""},
    )
    assert response.status_code == 302
    assert "RC-55 44" in text(client.get(f"/people/{person_id}"))


def test_adding_a_document_without_number_shows_the_error(app: Flask, client, world: World):
    signed_in(client, world, "caseworker")
    response = client.post(
        f"/people/{world.people['rabat']}/documents", data={"doc-kind": "passport"}
    )
    assert response.status_code == 422
    assert field_error(text(response), "doc-number") == "This field is required."


# --- Households ------------------------------------------------------------------------------


def test_starting_a_household_makes_the_person_its_head(app: Flask, client, world: World) -> None:
    person_id = new_person(app, world, "caseworker", given_names="Oumar")
    signed_in(client, world, "caseworker")

    response = client.post(f"/people/{person_id}/household")

    assert response.status_code == 302
    household_id = int(re.fullmatch(r"/households/(\d+)", response.headers["Location"]).group(1))
    assert list(member_ids(app, household_id)) == [person_id]
    html = text(client.get(response.headers["Location"]))
    assert "Head: DIALLO Oumar" in html


def test_starting_a_second_household_for_a_member_is_refused(
    app: Flask, client, world: World
) -> None:
    signed_in(client, world, "caseworker")
    response = client.post(f"/people/{world.people['rabat_child']}/household")
    assert response.headers["Location"] == f"/people/{world.people['rabat_child']}"
    with app.app_context():
        assert db.session.scalar(select(func.count(Household.id))) == 1
    assert "already belongs to a household" in text(client.get(response.headers["Location"]))


def test_adding_a_member_by_person_number(app: Flask, client, world: World) -> None:
    household_id = world.households["rabat"]
    spouse = new_person(app, world, "caseworker", given_names="Aïssatou", sex="F")
    signed_in(client, world, "caseworker")

    response = client.post(
        f"/households/{household_id}/members",
        data={
            "person_id": spouse,
            "relationship": "spouse",
            "version": household_version(app, household_id),
        },
    )

    assert response.status_code == 303
    assert spouse in member_ids(app, household_id)
    household_page = text(client.get(response.headers["Location"]))
    assert "DIALLO Aïssatou added to the household." in household_page


def test_adding_a_person_outside_your_files_is_refused(app: Flask, client, world: World) -> None:
    household_id = world.households["rabat"]
    signed_in(client, world, "caseworker")
    for outsider in ("tanger", "walk_in"):
        response = client.post(
            f"/households/{household_id}/members",
            data={
                "person_id": world.people[outsider],
                "relationship": "other",
                "version": household_version(app, household_id),
            },
        )
        assert response.status_code == 422
        html = text(response)
        assert field_error(html, "person_id") == "No person with this number in your files."
        assert "OKAFOR" not in html
        assert "TRAOR" not in html
    assert set(member_ids(app, household_id)) == {
        world.people["rabat"],
        world.people["rabat_child"],
    }


def test_adding_someone_already_in_a_household_is_refused(app: Flask, client, world: World):
    other_head = new_person(app, world, "caseworker", given_names="Oumar")
    signed_in(client, world, "caseworker")
    household_id = int(
        client.post(f"/people/{other_head}/household").headers["Location"].rsplit("/", 1)[1]
    )
    response = client.post(
        f"/households/{household_id}/members",
        data={
            "person_id": world.people["rabat_child"],
            "relationship": "child",
            "version": household_version(app, household_id),
        },
    )
    assert response.status_code == 422
    assert "already belongs to a household" in field_error(text(response), "person_id")


def test_adding_a_member_with_a_stale_household_version_is_a_conflict(
    app: Flask, client, world: World
) -> None:
    household_id = world.households["rabat"]
    stale = household_version(app, household_id) - 1
    spouse = new_person(app, world, "caseworker", given_names="Aïssatou", sex="F")
    signed_in(client, world, "caseworker")
    response = client.post(
        f"/households/{household_id}/members",
        data={"person_id": spouse, "relationship": "spouse", "version": stale},
    )
    assert response.status_code == 409
    assert "Someone else changed this record" in text(response)
    assert spouse not in member_ids(app, household_id)


def test_removing_a_member(app: Flask, client, world: World) -> None:
    household_id = world.households["rabat"]
    child_member = member_ids(app, household_id)[world.people["rabat_child"]]
    signed_in(client, world, "caseworker")

    response = client.post(
        f"/households/{household_id}/members/{child_member}/remove",
        data={"version": household_version(app, household_id)},
    )

    assert response.status_code == 302
    assert list(member_ids(app, household_id)) == [world.people["rabat"]]
    html = text(client.get(f"/people/{world.people['rabat_child']}"))
    assert "Not part of a household." in html


def test_removing_a_member_with_a_stale_version_keeps_them(
    app: Flask, client, world: World
) -> None:
    household_id = world.households["rabat"]
    child_member = member_ids(app, household_id)[world.people["rabat_child"]]
    signed_in(client, world, "caseworker")
    response = client.post(
        f"/households/{household_id}/members/{child_member}/remove",
        data={"version": household_version(app, household_id) - 1},
        follow_redirects=True,
    )
    assert "Someone else changed this record" in text(response)
    assert world.people["rabat_child"] in member_ids(app, household_id)


def test_the_head_cannot_be_removed_before_the_others(app: Flask, client, world: World) -> None:
    household_id = world.households["rabat"]
    head_member = member_ids(app, household_id)[world.people["rabat"]]
    signed_in(client, world, "caseworker")
    response = client.post(
        f"/households/{household_id}/members/{head_member}/remove",
        data={"version": household_version(app, household_id)},
        follow_redirects=True,
    )
    assert "Remove the other members before the head of household." in text(response)
    assert len(member_ids(app, household_id)) == 2


def test_removing_a_member_of_another_household_is_not_found(
    app: Flask, client, world: World
) -> None:
    other_head = new_person(app, world, "caseworker", given_names="Oumar")
    signed_in(client, world, "caseworker")
    other_household = int(
        client.post(f"/people/{other_head}/household").headers["Location"].rsplit("/", 1)[1]
    )
    child_member = member_ids(app, world.households["rabat"])[world.people["rabat_child"]]
    response = client.post(
        f"/households/{other_household}/members/{child_member}/remove",
        data={"version": household_version(app, other_household)},
    )
    assert response.status_code == 404
    assert world.people["rabat_child"] in member_ids(app, world.households["rabat"])


def test_another_offices_household_is_not_found(app: Flask, client, world: World) -> None:
    household_id = world.households["rabat"]
    signed_in(client, world, "caseworker2")
    assert client.get(f"/households/{household_id}").status_code == 404
    response = client.post(
        f"/households/{household_id}/members",
        data={
            "person_id": world.people["tanger"],
            "relationship": "other",
            "version": household_version(app, household_id),
        },
    )
    assert response.status_code == 404
    assert world.people["tanger"] not in member_ids(app, household_id)


def test_ngo_does_not_manage_households(client, world: World) -> None:
    signed_in(client, world, "ngo")
    assert client.get(f"/households/{world.households['rabat']}").status_code == 403
    assert client.post(f"/people/{world.people['walk_in']}/household").status_code == 403


def test_regional_supervisor_views_but_does_not_change_a_household(
    app: Flask, client, world: World
) -> None:
    household_id = world.households["rabat"]
    signed_in(client, world, "regional")
    html = text(client.get(f"/households/{household_id}"))
    assert "DIALLO Awa" in html
    assert "Add a member" not in html
    child_member = member_ids(app, household_id)[world.people["rabat_child"]]
    response = client.post(
        f"/households/{household_id}/members/{child_member}/remove",
        data={"version": household_version(app, household_id)},
    )
    assert response.status_code == 403
