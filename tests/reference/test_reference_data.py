"""The shipped reference data: Morocco's geography (2015 map and the 2014 one), countries,
procedures with their eligibility categories, and the strategy's programmes."""

from __future__ import annotations

import html
import re

import pytest
from flask import Flask
from sqlalchemy import func, select

from casework.extensions import db
from casework.reference.loader import load_all, read_data
from casework.reference.models import (
    Country,
    EligibilityCategory,
    LegacyRegion,
    Operation,
    Prefecture,
    Programme,
    Region,
    SdgTarget,
    Service,
)
from tests.conftest import sign_in
from tests.factories import World

ARABIC = re.compile(r"[\u0600-\u06FF]")
REFERENCE_MODELS = (
    Region,
    LegacyRegion,
    Prefecture,
    Country,
    Operation,
    EligibilityCategory,
    SdgTarget,
    Programme,
    Service,
)
REG_2014_CATEGORIES = [
    "spouse_of_national",
    "spouse_of_resident",
    "child_of_eligible",
    "work_contract",
    "residence_5_years",
    "serious_illness",
    "recognised_refugee",
]


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def all_rows(model) -> list:
    return db.session.scalars(select(model)).all()


# --- geography -------------------------------------------------------------------------------


def test_there_are_twelve_regions_numbered_01_to_12(ctx: Flask) -> None:
    codes = sorted(r.code for r in all_rows(Region))

    assert codes == [f"{n:02d}" for n in range(1, 13)]


def test_there_are_75_prefectures_and_provinces(ctx: Flask) -> None:
    units = all_rows(Prefecture)

    assert len(units) == 75
    assert {u.kind for u in units} == {"prefecture", "province"}
    assert len({u.code for u in units}) == 75


def test_every_region_has_prefectures_or_provinces(ctx: Flask) -> None:
    for region in all_rows(Region):
        assert region.prefectures, region.code


@pytest.mark.parametrize(
    ("code", "region"),
    [("RAB", "04"), ("CAS", "06"), ("TNG", "01"), ("OUJ", "02"), ("FES", "03")],
)
def test_the_prefectures_of_the_main_foreigners_offices_exist(
    ctx: Flask, code: str, region: str
) -> None:
    prefecture = db.session.get(Prefecture, code)

    assert prefecture is not None
    assert prefecture.region_code == region
    assert prefecture.region.code == region


def test_there_are_sixteen_legacy_regions(ctx: Flask) -> None:
    assert count(LegacyRegion) == 16


def test_the_legacy_regions_map_onto_all_twelve_new_regions(ctx: Flask) -> None:
    regions = {r.code for r in all_rows(Region)}
    mapped = set()
    for legacy in all_rows(LegacyRegion):
        assert legacy.new_region_codes, legacy.code
        assert set(legacy.new_region_codes) <= regions, legacy.code
        mapped |= set(legacy.new_region_codes)

    assert mapped == regions


def test_prefectures_point_to_existing_legacy_regions_consistent_with_the_mapping(
    ctx: Flask,
) -> None:
    legacy = {lr.code: lr for lr in all_rows(LegacyRegion)}
    for prefecture in all_rows(Prefecture):
        if prefecture.legacy_region_code is None:
            continue
        assert prefecture.legacy_region_code in legacy, prefecture.code
        new_regions = legacy[prefecture.legacy_region_code].new_region_codes
        assert prefecture.region_code in new_regions, prefecture.code


# --- countries -------------------------------------------------------------------------------


def test_about_249_countries_are_loaded(ctx: Flask) -> None:
    assert 245 <= count(Country) <= 255


def test_every_country_has_its_three_names_and_codes(ctx: Flask) -> None:
    for country in all_rows(Country):
        assert re.fullmatch(r"[A-Z]{2}", country.alpha2)
        assert re.fullmatch(r"[A-Z]{3}", country.alpha3)
        assert country.name_fr.strip(), country.alpha2
        assert country.name_en.strip(), country.alpha2
        assert country.name_ar.strip(), country.alpha2


def test_arabic_country_names_are_in_arabic_script(ctx: Flask) -> None:
    not_arabic = [c.alpha2 for c in all_rows(Country) if not ARABIC.search(c.name_ar)]

    assert not_arabic == []


@pytest.mark.parametrize(
    ("alpha2", "fr", "en"),
    [
        ("SN", "Sénégal", "Senegal"),
        ("MA", "Maroc", "Morocco"),
        ("SY", "Syrie", "Syria"),
        ("CI", "Côte d’Ivoire", "Côte d’Ivoire"),
    ],
)
def test_countries_carry_their_everyday_names(ctx: Flask, alpha2: str, fr: str, en: str) -> None:
    country = db.session.get(Country, alpha2)

    assert country.name_fr == fr
    assert country.name_en == en
    assert ARABIC.search(country.name_ar)


def test_senegal_in_arabic(ctx: Flask) -> None:
    assert db.session.get(Country, "SN").name_ar == "السنغال"


# --- operations and eligibility --------------------------------------------------------------


def test_the_procedures_are_loaded(ctx: Flask) -> None:
    operations = {o.code: o for o in all_rows(Operation)}

    assert set(operations) >= {"REG-2014", "REG-2017", "REG-2026", "ASYLUM"}
    assert operations["ASYLUM"].kind == "asylum"
    for code in ("REG-2014", "REG-2017", "REG-2026"):
        assert operations[code].kind == "regularisation"


def test_operations_open_and_close_on_their_dates(ctx: Flask) -> None:
    from datetime import date

    reg_2014 = db.session.get(Operation, "REG-2014")
    reg_2026 = db.session.get(Operation, "REG-2026")

    assert reg_2014.is_open_on(date(2014, 6, 1))
    assert not reg_2014.is_open_on(date(2015, 6, 1))
    assert reg_2026.closes_on is None or reg_2026.closes_on > reg_2026.opens_on
    for operation in all_rows(Operation):
        assert operation.closes_on is None or operation.closes_on >= operation.opens_on


def test_reg_2014_has_its_seven_categories_in_order(ctx: Flask) -> None:
    operation = db.session.get(Operation, "REG-2014")

    assert [c.code for c in operation.categories] == REG_2014_CATEGORIES
    assert [c.position for c in operation.categories] == list(range(7))


def test_every_reg_2014_category_lists_its_required_documents(ctx: Flask) -> None:
    for category in db.session.get(Operation, "REG-2014").categories:
        assert category.required_documents, category.code
        for document in category.required_documents:
            assert document["code"], category.code
            for language in ("fr", "en", "ar"):
                assert document[f"name_{language}"].strip(), (category.code, document["code"])


def test_categories_are_named_in_the_three_languages(ctx: Flask) -> None:
    for category in all_rows(EligibilityCategory):
        assert category.name_fr and category.name_en and category.name_ar, category.code
        assert ARABIC.search(category.name_ar), category.code


# --- programmes ------------------------------------------------------------------------------


def test_there_are_eleven_programmes_numbered_1_to_11(ctx: Flask) -> None:
    numbers = sorted(p.number for p in all_rows(Programme))

    assert numbers == list(range(1, 12))
    assert {p.kind for p in all_rows(Programme)} <= {"sectoral", "transversal"}


def test_programmes_refer_only_to_existing_sdg_targets(ctx: Flask) -> None:
    targets = {t.code for t in all_rows(SdgTarget)}
    referred = set()
    for programme in all_rows(Programme):
        assert set(programme.sdg_targets) <= targets, programme.code
        referred |= set(programme.sdg_targets)

    assert referred, "no programme refers to an SDG target"


def test_most_programmes_carry_sdg_targets(ctx: Flask) -> None:
    with_targets = [p for p in all_rows(Programme) if p.sdg_targets]

    assert len(with_targets) >= 10


def test_sdg_target_codes_look_like_sdg_targets(ctx: Flask) -> None:
    for target in all_rows(SdgTarget):
        assert re.fullmatch(r"\d{1,2}\.[0-9a-z]{1,2}", target.code), target.code


def test_services_belong_to_programmes(ctx: Flask) -> None:
    programmes = {p.code for p in all_rows(Programme)}
    for service in all_rows(Service):
        assert service.programme_code in programmes, service.code


# --- every row, every language ---------------------------------------------------------------


@pytest.mark.parametrize("model", REFERENCE_MODELS, ids=lambda m: m.__tablename__)
def test_reference_rows_are_named_in_french_english_and_arabic(ctx: Flask, model) -> None:
    rows = all_rows(model)

    assert rows
    for row in rows:
        assert row.name_fr.strip()
        assert row.name_en.strip()
        assert row.name_ar.strip()
        assert ARABIC.search(row.name_ar), (model.__tablename__, row.name_ar)


def test_the_data_files_and_the_database_agree(ctx: Flask) -> None:
    assert count(Region) == len(read_data("regions.json"))
    assert count(LegacyRegion) == len(read_data("legacy_regions_2014.json"))
    assert count(SdgTarget) == len(read_data("sdg_targets.json"))
    assert count(Programme) == len(read_data("programmes.json"))
    assert count(Operation) == len(read_data("operations.json"))


# --- loading ---------------------------------------------------------------------------------


def counts_by_table() -> dict[str, int]:
    return {model.__tablename__: count(model) for model in REFERENCE_MODELS}


def test_loading_twice_changes_nothing(ctx: Flask) -> None:
    before = counts_by_table()

    first = load_all()
    db.session.flush()
    after_first = counts_by_table()
    second = load_all()
    db.session.flush()
    after_second = counts_by_table()

    assert (
        first
        == second
        == {
            "prefectures": 75,
            "countries": count(Country),
            "operations": count(Operation),
            "programmes": 11,
        }
    )
    assert before == after_first == after_second


def test_loading_puts_back_an_edited_name(ctx: Flask) -> None:
    region = db.session.get(Region, "04")
    original = region.name_fr
    region.name_fr = "Changed by hand"
    db.session.flush()

    load_all()
    db.session.flush()
    db.session.expire_all()

    assert db.session.get(Region, "04").name_fr == original


def test_loading_keeps_a_service_name_an_admin_edited(ctx: Flask) -> None:
    service = db.session.get(Service, "vaccination")
    service.name_fr = "Vaccination (centre de santé de quartier)"
    db.session.flush()

    load_all()
    db.session.flush()
    db.session.expire_all()

    assert db.session.get(Service, "vaccination").name_fr == (
        "Vaccination (centre de santé de quartier)"
    )


def test_loading_puts_back_a_deleted_category(ctx: Flask) -> None:
    category = db.session.scalar(
        select(EligibilityCategory).filter_by(operation_code="REG-2014", code="work_contract")
    )
    db.session.delete(category)
    db.session.flush()

    load_all()
    db.session.flush()
    db.session.expire_all()

    codes = [c.code for c in db.session.get(Operation, "REG-2014").categories]
    assert codes == REG_2014_CATEGORIES


# --- pages -----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["caseworker", "auditor", "admin"])
def test_every_role_reads_the_reference_pages(app: Flask, world: World, role: str) -> None:
    client = app.test_client()
    sign_in(client, world.users[role])

    overview = client.get("/reference")
    programmes = client.get("/reference/programmes")

    assert overview.status_code == programmes.status_code == 200
    page = overview.get_data(as_text=True)
    for code in ("REG-2014", "REG-2017", "REG-2026", "ASYLUM", "work_contract"):
        assert code in page
    for prefecture in ("RAB", "CAS", "TNG", "OUJ", "FES"):
        assert f"<code>{prefecture}</code>" in page
    with app.app_context():
        names = [p.name_en for p in db.session.scalars(select(Programme))]
    listing = programmes.get_data(as_text=True)
    assert all(html.escape(name) in listing for name in names)  # the test users read English
