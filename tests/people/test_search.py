"""Finding people: folding of names in both scripts and of document numbers, the search query
called directly, and the search page (posted, so that names never travel in URLs)."""

from __future__ import annotations

import re
from datetime import date

import pytest
from flask import Flask
from sqlalchemy import select

from casework.extensions import db
from casework.people.models import Person
from casework.people.normalise import fold, fold_document_number
from casework.people.operations import add_document
from casework.people.queries import PeopleFilter, search_people
from tests.conftest import sign_in
from tests.factories import World, make_person, user_by_key


def found(world: World, key: str, **criteria) -> set[int]:
    query = search_people(user_by_key(world, key), PeopleFilter(**criteria))
    return set(db.session.scalars(query.with_only_columns(Person.id)))


# --- Folding ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "folded"),
    [
        ("Traoré", "traore"),
        ("  N'DIAYE-Sène ", "n diaye sene"),
        ("Ñúñez Çelik", "nunez celik"),
        ("Straße", "strasse"),
        ("أوكافور", "اوكافور"),
        ("إبراهيم", "ابراهيم"),
        ("آمنة", "امنه"),
        ("مُصْطَفَى", "مصطفي"),
        ("فاطمة", "فاطمه"),
        ("مـحـمـد", "محمد"),
        ("", ""),
        (None, ""),
    ],
)
def test_fold_ignores_accents_case_harakat_and_letter_variants(typed, folded: str) -> None:
    assert fold(typed) == folded


@pytest.mark.parametrize("typed", ["AB 123-456", "ab123456", "A-B-1 2 3 4 5 6", " ab.123/456 "])
def test_document_numbers_fold_to_letters_and_digits(typed: str) -> None:
    assert fold_document_number(typed) == "ab123456"


# --- The search query ------------------------------------------------------------------------


def test_no_criteria_finds_everyone_in_scope(ctx, world: World) -> None:
    assert found(world, "caseworker") == {world.people["rabat"], world.people["rabat_child"]}
    assert found(world, "caseworker2") == {world.people["tanger"]}
    assert found(world, "ngo") == {world.people["walk_in"]}
    # Agency supervisors do not see an NGO's walk-ins unless the person consented to share.
    assert found(world, "supervisor") == set(world.people.values()) - {world.people["walk_in"]}


@pytest.mark.parametrize("role", ["admin", "auditor"])
def test_administrators_and_auditors_find_nobody(ctx, world: World, role: str) -> None:
    assert found(world, role) == set()
    assert found(world, role, q="diallo") == set()


@pytest.mark.parametrize("q", ["traore", "TRAORÉ", "traoré", "Aminata", "amin"])
def test_latin_names_match_whatever_accents_and_case(ctx, world: World, q: str) -> None:
    assert found(world, "ngo", q=q) == {world.people["walk_in"]}


@pytest.mark.parametrize("q", ["ديالو", "ديالُو", "مامادو", "ديالو مامادو"])
def test_arabic_names_match_with_or_without_vowel_marks(ctx, world: World, q: str) -> None:
    assert world.people["rabat"] in found(world, "caseworker", q=q)


def test_arabic_name_written_with_or_without_hamza_matches(ctx, world: World) -> None:
    for q in ("أوكافور", "اوكافور", "إوكافور"):
        assert found(world, "caseworker2", q=q) == {world.people["tanger"]}, q


def test_every_word_must_match(ctx, world: World) -> None:
    assert found(world, "caseworker", q="diallo") == {
        world.people["rabat"],
        world.people["rabat_child"],
    }
    assert found(world, "caseworker", q="diallo awa") == {world.people["rabat_child"]}
    assert found(world, "caseworker", q="diallo chinedu") == set()


def test_a_name_is_never_found_outside_the_callers_scope(ctx, world: World) -> None:
    assert found(world, "caseworker2", q="diallo") == set()
    assert found(world, "caseworker", q="okafor") == set()
    assert found(world, "caseworker", q="traore") == set()
    assert found(world, "regional", q="okafor") == set()


def test_document_number_matches_however_it_is_typed(ctx, world: World) -> None:
    person = db.session.get(Person, world.people["rabat"])
    add_document(
        person, {"kind": "passport", "number": "A 0123-4567"}, by=user_by_key(world, "caseworker")
    )
    for q in ("A01234567", "a 0123 4567", "a-0123-4567"):
        assert found(world, "caseworker", q=q) == {person.id}, q
        assert found(world, "caseworker", document_number=q) == {person.id}, q
    assert found(world, "caseworker2", q="A01234567") == set()
    assert found(world, "caseworker", q="A0123") == set()


def test_filters_combine(ctx, world: World) -> None:
    assert found(world, "supervisor", q="diallo", sex="F") == {world.people["rabat_child"]}
    assert found(world, "supervisor", nationality="ng") == {world.people["tanger"]}
    assert found(world, "supervisor", date_of_birth=date(2015, 3, 2)) == {
        world.people["rabat_child"]
    }


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("q", ["", "   ", "--", "%", "ـ", "!?"])
def test_a_term_that_folds_to_nothing_filters_nothing(ctx, world: World, q: str) -> None:
    assert found(world, "caseworker", q=q) == {world.people["rabat"], world.people["rabat_child"]}


@pytest.mark.parametrize("q", ["_", "d_allo", "__"])
def test_like_wildcards_in_a_term_are_taken_literally(ctx, world: World, q: str) -> None:
    assert found(world, "caseworker", q=q) == set()


# --- The search page -------------------------------------------------------------------------


def page_text(response) -> str:
    return response.get_data(as_text=True)


def test_search_form_is_posted_so_names_stay_out_of_urls(client, world: World) -> None:
    sign_in(client, world.users["caseworker"])
    html = page_text(client.get("/people"))
    assert 'method="post" action="/people"' in html
    assert "?q=" not in html


def test_names_in_the_query_string_are_ignored(client, world: World) -> None:
    sign_in(client, world.users["caseworker"])
    html = page_text(client.get("/people", query_string={"q": "Awa"}))
    assert "DIALLO Mamadou" in html
    assert "DIALLO Awa" in html


@pytest.mark.parametrize("q", ["traore", "TRAORÉ", "aminata"])
def test_search_page_finds_latin_names_without_accents(client, world: World, q: str) -> None:
    sign_in(client, world.users["ngo"])
    response = client.post("/people", data={"q": q})
    assert response.status_code == 200
    assert "TRAORÉ Aminata" in page_text(response)


def test_search_page_finds_names_typed_in_arabic_script(client, world: World) -> None:
    sign_in(client, world.users["caseworker"])
    response = client.post("/people", data={"q": "عوا ديالو"})
    html = page_text(response)
    assert response.status_code == 200
    assert "DIALLO Awa" in html
    assert "DIALLO Mamadou" not in html


def test_search_page_says_when_nobody_matches(client, world: World) -> None:
    sign_in(client, world.users["caseworker2"])
    html = page_text(client.post("/people", data={"q": "diallo"}))
    assert "Nobody matches." in html
    assert "DIALLO" not in html


def test_search_page_never_shows_another_offices_people(client, world: World) -> None:
    sign_in(client, world.users["caseworker"])
    html = page_text(client.post("/people", data={"q": ""}))
    assert "DIALLO Mamadou" in html
    assert "OKAFOR" not in html
    assert "TRAOR" not in html


def test_search_page_next_page_carries_the_terms_in_the_post_body(
    app: Flask, client, world: World
) -> None:
    with app.app_context():
        user = user_by_key(world, "caseworker")
        for n in range(27):
            make_person(user, family_name="Benali", given_names=f"Youssef {n:02d}")
        db.session.commit()
        benali = set(db.session.scalars(select(Person.id).where(Person.family_name == "Benali")))
    sign_in(client, world.users["caseworker"])

    first = page_text(client.post("/people", data={"q": "benali"}))
    assert first.count("BENALI Youssef") == 25
    assert "DIALLO" not in first
    cursor = first.split('name="cursor" value="')[-1].split('"')[0]
    assert cursor

    second = page_text(client.post("/people", data={"q": "benali", "cursor": cursor}))
    assert second.count("BENALI Youssef") == 2
    assert "Next page" not in second
    shown = {int(n) for n in _person_links(first) + _person_links(second)}
    assert shown == benali


def _person_links(html: str) -> list[str]:
    return re.findall(r'href="/people/(\d+)"', html)


def test_search_page_with_a_forged_cursor_starts_again(client, world: World) -> None:
    sign_in(client, world.users["caseworker"])
    response = client.post("/people", data={"q": "", "cursor": "forged!"})
    assert response.status_code == 200
    assert "DIALLO Mamadou" in page_text(response)


@pytest.mark.parametrize("role", ["admin", "auditor"])
def test_administrators_and_auditors_have_no_search_page(client, world: World, role: str) -> None:
    sign_in(client, world.users[role])
    assert client.post("/people", data={"q": "diallo"}).status_code == 403
