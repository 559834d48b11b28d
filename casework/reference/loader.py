"""Load the reference data shipped in `reference/data/` (and pycountry) into the database.

Idempotent: rows are keyed by their published codes and updated in place, so the command can
run on every start and after each release.
"""

from __future__ import annotations

import gettext
import json
from datetime import date
from importlib.resources import files
from typing import Any

import pycountry
from babel import Locale

from casework.extensions import db
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

NAMES = ("name_fr", "name_en", "name_ar")


def read_data(name: str) -> Any:
    return json.loads(files("casework.reference").joinpath("data", name).read_text("utf-8"))


def _names(item: dict) -> dict[str, str]:
    return {key: item[key] for key in NAMES}


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def load_geography() -> int:
    for item in read_data("legacy_regions_2014.json"):
        db.session.merge(
            LegacyRegion(
                code=item["code"], new_region_codes=item["new_region_codes"], **_names(item)
            )
        )
    count = 0
    for region in read_data("regions.json"):
        db.session.merge(Region(code=region["code"], **_names(region)))
        for unit in region["prefectures"]:
            db.session.merge(
                Prefecture(
                    code=unit["code"],
                    kind=unit["kind"],
                    region_code=region["code"],
                    legacy_region_code=unit.get("legacy_region_code"),
                    **_names(unit),
                )
            )
            count += 1
    return count


def load_countries() -> int:
    """Countries from pycountry (ISO 3166-1). Names come from CLDR through Babel where it has
    them (the everyday "Syrie", not the ISO "Syrienne, République arabe"), else from
    pycountry's own ISO translations."""
    iso_names = {
        language: gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[language])
        for language in ("fr", "ar")
    }
    cldr = {language: Locale.parse(language).territories for language in ("fr", "en", "ar")}
    count = 0
    for country in pycountry.countries:
        iso_english = getattr(country, "common_name", None) or country.name
        names = {
            "name_en": cldr["en"].get(country.alpha_2) or iso_english,
            "name_fr": cldr["fr"].get(country.alpha_2) or iso_names["fr"].gettext(country.name),
            "name_ar": cldr["ar"].get(country.alpha_2) or iso_names["ar"].gettext(country.name),
        }
        db.session.merge(Country(alpha2=country.alpha_2, alpha3=country.alpha_3, **names))
        count += 1
    return count


def load_operations() -> int:
    count = 0
    for item in read_data("operations.json"):
        db.session.merge(
            Operation(
                code=item["code"],
                kind=item["kind"],
                opens_on=_day(item["opens_on"]),
                closes_on=_day(item.get("closes_on")),
                appeal_window_days=item.get("appeal_window_days", 30),
                first_card_validity_days=item.get("first_card_validity_days"),
                renewal_card_validity_days=item.get("renewal_card_validity_days"),
                rules=item.get("rules", []),
                **_names(item),
            )
        )
        db.session.flush()
        for position, category in enumerate(item.get("categories", [])):
            existing = db.session.scalar(
                db.select(EligibilityCategory).filter_by(
                    operation_code=item["code"], code=category["code"]
                )
            )
            row = existing or EligibilityCategory(
                operation_code=item["code"], code=category["code"]
            )
            row.position = position
            for key in (*NAMES, "description_fr", "description_en", "description_ar"):
                setattr(row, key, category.get(key, ""))
            row.required_documents = category.get("required_documents", [])
            db.session.add(row)
        count += 1
    return count


def load_programmes() -> int:
    for target in read_data("sdg_targets.json"):
        db.session.merge(SdgTarget(code=target["code"], **_names(target)))
    count = 0
    for item in read_data("programmes.json"):
        db.session.merge(
            Programme(
                code=item["code"],
                number=item["number"],
                kind=item["kind"],
                action_count=item["action_count"],
                sdg_targets=item["sdg_targets"],
                **_names(item),
            )
        )
        for position, service in enumerate(item.get("services", [])):
            _load_service(service, item["code"], position)
        count += 1
    return count


def _load_service(item: dict, programme_code: str, position: int) -> None:
    """Services are the admins' catalogue once loaded (casework.services.catalogue): a release
    adds the services it ships and places them, but never puts back a name an admin edited."""
    service = db.session.get(Service, item["code"])
    if service is None:
        service = Service(code=item["code"], **_names(item))
        db.session.add(service)
    service.programme_code = programme_code
    service.position = position


def load_all() -> dict[str, int]:
    """Load everything; the caller commits."""
    counts = {
        "prefectures": load_geography(),
        "countries": load_countries(),
        "operations": load_operations(),
        "programmes": load_programmes(),
    }
    db.session.flush()
    return counts
