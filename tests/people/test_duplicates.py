"""Duplicate detection: the matching key, the candidates and their scope, the warning on the
registration page, the API's 409, a person's possible duplicates, and the review queue."""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask
from sqlalchemy import func, select

from casework.audit.models import AuditEntry
from casework.extensions import db
from casework.people.duplicates import PROBABLE, find_candidates, probable
from casework.people.merge_models import DuplicatePair, PairStatus
from casework.people.models import Person
from casework.people.queries import PeopleFilter, search_people
from casework.people.transliteration import name_key, names_match
from tests.conftest import api_token, sign_in
from tests.factories import World, make_person, user_by_key

BORN = date(1988, 3, 4)
PROBLEM = "application/problem+json"


@pytest.mark.parametrize(
    "variants",
    [
        ["Mohamed", "Muhammad", "Mohammed", "Mohammad", "محمد"],
        ["Abdelkader", "Abd al-Qadir", "Abdulkadir", "عبد القادر", "Abdel Kader", "عبدالقادر"],
        ["Youssouf", "Yusuf", "Yousouf", "يوسف"],
        ["Diallo", "Dialo", "ديالو"],
        ["Al-Hassan", "El Hassan", "Elhassan", "الحسن", "Hassan"],
        ["Abdallah", "Abdullah", "Abdoulaye", "عبد الله"],
        ["Ouédraogo", "Ouedraogo", "ويدراوغو"],
        ["Chinedu", "Tchinedu", "تشينيدو"],
    ],
)
def test_spellings_of_one_name_share_a_key(variants: list[str]) -> None:
    assert len({name_key(v) for v in variants}) == 1, {v: name_key(v) for v in variants}


@pytest.mark.parametrize(
    ("first", "second"),
    [("Diallo", "Diop"), ("Mamadou", "Amadou"), ("Fatou", "Fatoumata"), ("Ousmane", "Moussa")],
)
def test_different_names_have_different_keys(first: str, second: str) -> None:
    assert name_key(first) != name_key(second)


def test_swapped_names_match_with_the_swap_noted() -> None:
    similarity, swapped, _arabic = names_match(["Mohamed"], ["Diallo"], ["Diallo"], ["Muhammad"])
    assert similarity > 0.95
    assert swapped


def test_arabic_script_matches_latin_with_the_script_noted() -> None:
    similarity, swapped, arabic = names_match(["ديالو"], ["محمد"], ["Diallo"], ["Mohamed"])
    assert similarity == 1.0
    assert arabic and not swapped


@pytest.fixture
def mohamed(app: Flask, world: World) -> int:
    """Mohamed Diallo, Senegalese, born 4 March 1988, held by the Rabat office."""
    with app.app_context():
        person = make_person(
            user_by_key(world, "caseworker"),
            family_name="Diallo",
            given_names="Mohamed",
            family_name_ar=None,
            given_names_ar=None,
            date_of_birth=BORN,
        )
        db.session.commit()
        return person.id


def values(**changes) -> dict:
    base = {
        "family_name": "Diallo",
        "given_names": "Muhammad",
        "sex": "M",
        "date_of_birth": BORN,
        "nationality": "SN",
    }
    return {**base, **changes}


def candidates_for(app: Flask, world: World, key: str, **changes):
    with app.app_context():
        return find_candidates(values(**changes), user_by_key(world, key))


def test_muhammad_is_a_probable_duplicate_of_mohamed(app, world, mohamed) -> None:
    found = candidates_for(app, world, "caseworker")

    assert found[0].person_id == mohamed
    assert found[0].score >= PROBABLE
    assert {"name", "date of birth exact", "same nationality"} <= set(found[0].reasons)


def test_the_name_in_arabic_script_matches(app, world, mohamed) -> None:
    found = candidates_for(app, world, "caseworker", family_name="ديالو", given_names="محمد")

    assert found[0].person_id == mohamed and found[0].score >= PROBABLE
    assert "Arabic name" in found[0].reasons


def test_swapped_names_match(app, world, mohamed) -> None:
    found = candidates_for(app, world, "caseworker", family_name="Muhammad", given_names="Diallo")

    assert found[0].person_id == mohamed and found[0].score >= PROBABLE
    assert "name swapped" in found[0].reasons


def test_an_approximate_date_within_a_year_matches(app, world, mohamed) -> None:
    found = candidates_for(
        app, world, "caseworker", date_of_birth=date(1987, 1, 1), date_of_birth_approximate=True
    )

    assert found[0].person_id == mohamed and found[0].score >= PROBABLE
    assert "date of birth within 1 year (approximate)" in found[0].reasons


def test_same_family_name_another_birth_year_is_not_a_duplicate(app, world, mohamed) -> None:
    found = candidates_for(
        app, world, "caseworker", given_names="Ibrahima", date_of_birth=date(1975, 6, 1)
    )

    assert probable(found) == []


def test_a_brother_born_the_same_year_is_not_a_duplicate(app, world, mohamed) -> None:
    found = candidates_for(
        app, world, "caseworker", given_names="Ousmane", date_of_birth=date(1988, 11, 20)
    )

    assert probable(found) == []


def test_the_same_document_number_is_a_strong_sign(app, world) -> None:
    with app.app_context():
        user = user_by_key(world, "caseworker")
        from casework.people.operations import register_person

        held = register_person(
            values(family_name="Sow", given_names="Aliou", date_of_birth=None),
            by=user,
            documents=[{"kind": "passport", "number": "A 1234567"}],
        )
        db.session.commit()
        found = find_candidates(
            values(
                family_name="Sow",
                given_names="Alioune",
                date_of_birth=None,
                documents=[{"number": "a1234567"}],
            ),
            user,
        )
        assert found[0].person_id == held.id and found[0].score >= PROBABLE
        assert "same document number" in found[0].reasons


def test_candidates_stay_within_the_callers_scope(app, world, mohamed) -> None:
    # Mohamed is held by Rabat: Tanger's caseworker and the NGO never get him back.
    assert candidates_for(app, world, "caseworker2") == []
    assert candidates_for(app, world, "ngo") == []
    assert [c.person_id for c in candidates_for(app, world, "supervisor")] == [mohamed]
    assert [c.person_id for c in candidates_for(app, world, "regional")] == [mohamed]


def test_merged_people_are_no_candidates_and_leave_searches(app, world, mohamed) -> None:
    with app.app_context():
        user = user_by_key(world, "caseworker")
        db.session.get(Person, mohamed).merged_into_id = world.people["rabat"]
        db.session.commit()
        assert find_candidates(values(), user) == []
        found = db.session.scalars(search_people(user, PeopleFilter(q="Mohamed"))).all()
        assert found == []


# --- Registration page --------------------------------------------------------------------


def form_data(**changes) -> dict:
    data = {
        "family_name": "Diallo",
        "given_names": "Muhammad",
        "sex": "M",
        "date_of_birth": BORN.isoformat(),
        "nationality": "SN",
        "doc-kind": "passport",
        "doc-number": "",
    }
    return {**data, **changes}


def person_count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Person.id)))


def test_registration_page_warns_before_saving_a_probable_duplicate(
    app, client, world, mohamed
) -> None:
    sign_in(client, world.users["caseworker"])
    before = person_count(app)

    response = client.post("/people/new", data=form_data())

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "This person may already be registered" in html
    assert f'href="/people/{mohamed}"' in html
    assert 'name="dup-save_anyway"' in html
    assert person_count(app) == before


def test_registration_page_saves_anyway_when_asked_and_queues_the_pair(
    app, client, world, mohamed
) -> None:
    sign_in(client, world.users["caseworker"])

    response = client.post("/people/new", data=form_data(**{"dup-save_anyway": "y"}))

    assert response.status_code == 302
    new_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        pair = db.session.scalar(select(DuplicatePair).where(DuplicatePair.other_id == new_id))
        assert (pair.person_id, pair.other_id) == (mohamed, new_id)
        assert pair.status == PairStatus.OPEN and pair.score >= PROBABLE


def test_registration_page_saves_a_different_person_at_once(app, client, world, mohamed) -> None:
    sign_in(client, world.users["caseworker"])

    response = client.post(
        "/people/new", data=form_data(given_names="Ibrahima", date_of_birth="1975-06-01")
    )

    assert response.status_code == 302


def test_registration_page_in_french_translates_the_warning(app, client, world, mohamed) -> None:
    sign_in(client, world.users["caseworker"])
    client.get("/language/fr")

    response = client.post("/people/new", data=form_data(), headers={"Accept-Language": "fr"})

    assert response.status_code == 200


# --- API ----------------------------------------------------------------------------------


def api_values(**changes) -> dict:
    body = {**values(**changes)}
    body["date_of_birth"] = body["date_of_birth"].isoformat() if body["date_of_birth"] else None
    return body


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"family_name": "ديالو", "given_names": "محمد"},
        {"family_name": "Muhammad", "given_names": "Diallo"},
    ],
    ids=["transliteration", "arabic", "swapped"],
)
def test_api_answers_409_with_the_candidates(app, client, world, mohamed, changes) -> None:
    headers = api_token(client, world.users["caseworker"])
    before = person_count(app)

    response = client.post(
        "/api/v1/people?check_duplicates=true", json=api_values(**changes), headers=headers
    )

    assert response.status_code == 409
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["candidates"][0]["id"] == mohamed
    assert body["candidates"][0]["score"] >= PROBABLE
    assert body["candidates"][0]["reasons"]
    assert person_count(app) == before


def test_api_registers_without_the_check_or_a_different_person(app, client, world, mohamed) -> None:
    headers = api_token(client, world.users["caseworker"])

    other = client.post(
        "/api/v1/people?check_duplicates=true",
        json=api_values(given_names="Ibrahima", date_of_birth=date(1975, 6, 1)),
        headers=headers,
    )
    anyway = client.post("/api/v1/people", json=api_values(), headers=headers)

    assert other.status_code == 201
    assert anyway.status_code == 201


def test_api_check_is_blind_outside_scope(app, client, world, mohamed) -> None:
    headers = api_token(client, world.users["caseworker2"])

    response = client.post(
        "/api/v1/people?check_duplicates=true", json=api_values(), headers=headers
    )

    assert response.status_code == 201


def test_api_lists_a_persons_duplicates(app, client, world, mohamed) -> None:
    with app.app_context():
        twin = make_person(
            user_by_key(world, "caseworker"),
            family_name="Diallo",
            given_names="Mouhamed",
            family_name_ar=None,
            given_names_ar=None,
            date_of_birth=BORN,
        )
        db.session.commit()
        twin_id = twin.id
    headers = api_token(client, world.users["caseworker"])

    response = client.get(f"/api/v1/people/{mohamed}/duplicates", headers=headers)

    assert response.status_code == 200
    items = response.get_json()["items"]
    assert items[0]["id"] == twin_id and items[0]["score"] >= PROBABLE
    outside = api_token(client, world.users["caseworker2"])
    assert client.get(f"/api/v1/people/{mohamed}/duplicates", headers=outside).status_code == 404
    ngo = api_token(client, world.users["ngo"])
    assert client.get(f"/api/v1/people/{mohamed}/duplicates", headers=ngo).status_code == 403


# --- Review queue -------------------------------------------------------------------------


@pytest.fixture
def pair(app: Flask, world: World, mohamed: int) -> int:
    """Muhammad Diallo registered anyway: an open pair with Mohamed."""
    with app.app_context():
        make_person(
            user_by_key(world, "caseworker"),
            family_name="Diallo",
            given_names="Muhammad",
            family_name_ar=None,
            given_names_ar=None,
            date_of_birth=BORN,
        )
        db.session.commit()
        return db.session.scalar(select(DuplicatePair.id))


def test_queue_lists_pairs_within_scope(app, client, world, pair) -> None:
    sign_in(client, world.users["caseworker"])
    html = client.get("/people/duplicates").get_data(as_text=True)
    assert f"/people/duplicates/{pair}/dismiss" in html
    assert f"/people/duplicates/{pair}/merge" not in html  # caseworkers do not merge

    other = app.test_client()
    sign_in(other, world.users["caseworker2"])
    assert f"/people/duplicates/{pair}/dismiss" not in other.get("/people/duplicates").get_data(
        as_text=True
    )
    assert other.post(f"/people/duplicates/{pair}/dismiss").status_code == 404

    supervisor = app.test_client()
    sign_in(supervisor, world.users["supervisor"])
    assert f"/people/duplicates/{pair}/merge" in supervisor.get("/people/duplicates").get_data(
        as_text=True
    )


def test_dismissing_a_pair_is_remembered(app, client, world, mohamed, pair) -> None:
    sign_in(client, world.users["caseworker"])

    response = client.post(f"/people/duplicates/{pair}/dismiss")

    assert response.status_code == 302
    with app.app_context():
        row = db.session.get(DuplicatePair, pair)
        assert row.status == PairStatus.DISMISSED
        assert row.decided_by_id == world.user_ids["caseworker"]
        user = user_by_key(world, "caseworker")
        assert find_candidates(db.session.get(Person, mohamed), user) == []
        assert db.session.scalar(
            select(AuditEntry.id).where(AuditEntry.action == "person.duplicate_dismiss")
        )
    assert f"/people/duplicates/{pair}/dismiss" not in client.get("/people/duplicates").get_data(
        as_text=True
    )


def test_person_page_lists_possible_duplicates(app, client, world, mohamed, pair) -> None:
    sign_in(client, world.users["caseworker"])

    html = client.get(f"/people/{mohamed}/duplicates").get_data(as_text=True)

    assert "Possible duplicates of" in html
    with app.app_context():
        other = db.session.get(DuplicatePair, pair).other_id
    assert f'href="/people/{other}"' in html


def test_a_candidate_is_sent_to_the_queue(app, client, world, mohamed) -> None:
    with app.app_context():
        # Too far apart to be queued on registration, close enough to be listed.
        cousin = make_person(
            user_by_key(world, "caseworker"),
            family_name="Diallo",
            given_names="Mohamed",
            family_name_ar=None,
            given_names_ar=None,
            date_of_birth=date(1988, 9, 4),
        )
        db.session.commit()
        cousin_id = cousin.id
        assert db.session.scalar(select(func.count(DuplicatePair.id))) == 0
    sign_in(client, world.users["caseworker"])

    response = client.post(f"/people/{mohamed}/duplicates", data={"other_id": cousin_id})

    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count(DuplicatePair.id))) == 1
