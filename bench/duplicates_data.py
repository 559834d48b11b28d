"""Labelled test data for duplicate detection: pairs of records of one person, and pairs of
records of two different people who look alike.

    python -m bench.duplicates_data --pairs 2000 [--seed N]   # prints a sample and the mix

Names come from casework/demo/data/names.json (Latin and Arabic pairs by nationality, the
same the demo and bench.generate draw from), so the distinct people are as alike as a real
registry's: the same few family names per nationality, siblings, homonyms.

A **true duplicate** is a person registered a second time, with one to three of the changes a
second registration brings: a transliteration variant (Mohamed/Muhammad, Youssouf/Yusuf,
Abdelkader/Abd al-Qadir, al-/el-, ou/u, doubled letters…), family and given names swapped, the
names typed in Arabic script only, a typo, a middle name dropped or added, an approximate date
of birth (a year before, the same or the year after, flagged approximate), the day and month
swapped, a missing date of birth, nationality or Arabic name, the same document with another
formatting.

A **distinct pair** is two people of the same nationality who look alike: siblings (same
family name, another given name, born the same year or a few years apart), homonyms (the same
full name, born more than a year apart, or with no date of birth on one side), people with the
same family name born the same day, and people with the same given name and birth date.

Deterministic: the same seed gives the same pairs.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from importlib.resources import files
from typing import Any

SEED = 20261206
TODAY = date(2026, 11, 1)

# Spellings of one name, as registries write them (each group is one name).
VARIANTS = [
    ["Mohamed", "Muhammad", "Mohammed", "Mohammad", "Mouhamed", "Mohamad"],
    ["Mamadou", "Mamadu", "Mammadou"],
    ["Abdelkader", "Abd al-Qadir", "Abdulkadir", "Abdel Kader", "Abdelkadir"],
    ["Abdoulaye", "Abdullahi", "Abdallah", "Abdoullaye", "Abdulai"],
    ["Youssouf", "Yusuf", "Yousouf", "Youssef", "Yussuf"],
    ["Ousmane", "Usman", "Osman", "Ousman", "Othman"],
    ["Ibrahima", "Ibrahim", "Ebrahima", "Brahima"],
    ["Moussa", "Musa", "Mousa"],
    ["Souleymane", "Suleiman", "Sulaymane", "Souleimane"],
    ["Aminata", "Aminatou", "Amina"],
    ["Fatoumata", "Fatimata", "Fatouma"],
    ["Aissatou", "Aïssatou", "Aishatou", "Aysatou"],
    ["Hassan", "Hasan", "Hassane", "Al-Hassan", "El Hassan"],
    ["Ahmed", "Ahmad", "Ahmat", "Ahmet"],
    ["Abdou", "Abdu"],
    ["Cheikh", "Sheikh", "Cheick", "Shaykh"],
    ["Diallo", "Dialo", "Jallow", "Djallo"],
    ["Traoré", "Traore", "Trawre"],
    ["Coulibaly", "Kulibali", "Coulibali"],
    ["Ouédraogo", "Ouedraogo", "Wedraogo"],
    ["Keïta", "Keita", "Kéita"],
    ["Touré", "Toure", "Ture"],
    ["Ndiaye", "N'Diaye", "Ndiay"],
    ["Khalil", "Halil", "Kalil"],
    ["Omar", "Oumar", "Umar", "Omer"],
    ["Abdelaziz", "Abdul Aziz", "Abdoul Aziz", "Abd al-Aziz"],
    ["Abderrahmane", "Abdel Rahman", "Abdurrahman", "Abdul-Rahman"],
]
_VARIANTS_OF = {}
for _group in VARIANTS:
    for _name in _group:
        _VARIANTS_OF[_name.casefold()] = _group


@lru_cache(maxsize=1)
def nationalities() -> list[dict]:
    text = files("casework.demo").joinpath("data", "names.json").read_text("utf-8")
    return json.loads(text)["nationalities"]


@dataclass
class Record:
    family_name: str
    given_names: str
    family_name_ar: str | None
    given_names_ar: str | None
    sex: str
    date_of_birth: date | None
    date_of_birth_approximate: bool
    nationality: str | None
    documents: list[dict] = field(default_factory=list)

    def values(self) -> dict[str, Any]:
        return {
            "family_name": self.family_name,
            "given_names": self.given_names,
            "family_name_ar": self.family_name_ar,
            "given_names_ar": self.given_names_ar,
            "sex": self.sex,
            "date_of_birth": self.date_of_birth,
            "date_of_birth_approximate": self.date_of_birth_approximate,
            "nationality": self.nationality,
            "documents": self.documents,
        }


@dataclass
class Pair:
    first: Record  # already registered
    second: Record  # being registered
    same: bool  # the same person?
    kind: str  # what makes them alike, or what changed


class Maker:
    def __init__(self, seed: int = SEED) -> None:
        self.rng = random.Random(seed)
        self.origins = nationalities()
        self.weights = [n["weight"] for n in self.origins]
        self.documents = 0

    # --- people ------------------------------------------------------------------------------

    def origin(self) -> dict:
        return self.rng.choices(self.origins, weights=self.weights)[0]

    def person(self, origin: dict | None = None, sex: str | None = None) -> Record:
        rng = self.rng
        origin = origin or self.origin()
        sex = sex or ("F" if rng.random() < 0.42 else "M")
        family = rng.choice(origin["family"])
        given = rng.choice(origin["given_female" if sex == "F" else "given_male"])
        given_lat, given_ar = given
        if rng.random() < 0.15:  # a second given name
            second = rng.choice(origin["given_female" if sex == "F" else "given_male"])
            if second[0] != given_lat:
                given_lat, given_ar = f"{given_lat} {second[0]}", f"{given_ar} {second[1]}"
        age = 1 + int(rng.random() * 17) if rng.random() < 0.12 else 18 + int(rng.random() * 45)
        born = TODAY - timedelta(days=age * 365 + int(rng.random() * 365))
        approximate = rng.random() < 0.12
        if approximate:
            born = date(born.year, 1, 1)
        documents = []
        if rng.random() < 0.5:
            self.documents += 1
            documents = [
                {
                    "kind": "passport",
                    "number": f"{origin['code']}{7_000_000 + self.documents * 7919 % 2_999_999}",
                }
            ]
        return Record(
            family_name=family[0],
            given_names=given_lat,
            family_name_ar=family[1] if rng.random() < 0.85 else None,
            given_names_ar=given_ar if rng.random() < 0.85 else None,
            sex=sex,
            date_of_birth=born if rng.random() < 0.95 else None,
            date_of_birth_approximate=approximate,
            nationality=origin["code"],
            documents=documents,
        )

    # --- the same person, registered again ---------------------------------------------------

    def again(self, first: Record) -> tuple[Record, str]:
        rng = self.rng
        second = Record(**{**first.__dict__, "documents": [dict(d) for d in first.documents]})
        changes = rng.sample(CHANGES, k=rng.choices((1, 2, 3), weights=(50, 35, 15))[0])
        done = []
        for change in changes:
            if change(self, second):
                done.append(change.__name__.lstrip("_"))
        if not second.documents or rng.random() < 0.6:
            second.documents = []  # the document is not always shown again
        return second, "+".join(done) or "identical"

    # --- someone else, alike -----------------------------------------------------------------

    def other(self, first: Record) -> tuple[Record, str]:
        rng = self.rng
        origin = next(n for n in self.origins if n["code"] == first.nationality)
        second = self.person(origin)
        kind = rng.choices(
            ("sibling_same_year", "sibling", "homonym", "homonym_no_birth_date",
             "same_family_born_same_day", "same_given_born_same_day", "same_family_twin"),
            weights=(25, 15, 20, 5, 10, 10, 15),
        )[0]  # fmt: skip
        second.family_name, second.family_name_ar = first.family_name, first.family_name_ar
        born = first.date_of_birth or date(1990, 6, 15)
        if kind == "sibling_same_year":
            second.date_of_birth = date(
                born.year, 1 + int(rng.random() * 12), 1 + int(rng.random() * 28)
            )
            second.date_of_birth_approximate = False
        elif kind == "sibling":
            second.date_of_birth = born + timedelta(
                days=int(rng.choice((-1, 1)) * (500 + rng.random() * 3000))
            )
        elif kind in ("homonym", "homonym_no_birth_date"):
            second.given_names, second.given_names_ar = first.given_names, first.given_names_ar
            second.sex = first.sex
            if kind == "homonym":
                years = rng.choice((-1, 1)) * (2 + int(rng.random() * 20))
                second.date_of_birth = born + timedelta(days=365 * years + int(rng.random() * 300))
            else:
                second.date_of_birth = None
        elif kind == "same_family_born_same_day":
            second.date_of_birth = first.date_of_birth
            second.date_of_birth_approximate = first.date_of_birth_approximate
        elif kind == "same_given_born_same_day":
            second.family_name, second.family_name_ar = rng.choice(origin["family"])
            second.given_names, second.given_names_ar = first.given_names, first.given_names_ar
            second.sex = first.sex
            second.date_of_birth = first.date_of_birth
        elif kind == "same_family_twin":
            second.date_of_birth = first.date_of_birth
            second.date_of_birth_approximate = first.date_of_birth_approximate
        shared = set(second.given_names.split()) & set(first.given_names.split())
        if kind not in ("homonym", "homonym_no_birth_date", "same_given_born_same_day"):
            if shared:  # siblings are not given the same name: draw again
                return self.other(first)
        elif kind == "same_given_born_same_day" and second.family_name == first.family_name:
            return self.other(first)
        return second, kind

    def pairs(self, count: int, duplicates_share: float = 0.5) -> list[Pair]:
        made = []
        for i in range(count):
            first = self.person()
            if i < count * duplicates_share:
                second, kind = self.again(first)
                made.append(Pair(first, second, True, kind))
            else:
                second, kind = self.other(first)
                made.append(Pair(first, second, False, kind))
        return made


# --- the changes of a second registration (each returns whether it changed something) ------


def _variant(name: str, rng: random.Random) -> str | None:
    words = name.split(" ")
    for i, word in enumerate(words):
        group = _VARIANTS_OF.get(word.casefold())
        if group:
            choices = [w for w in group if w.casefold() != word.casefold()]
            words[i] = rng.choice(choices)
            return " ".join(words)
    return None


def _generic_variant(name: str, rng: random.Random) -> str:
    """A spelling rule: ou/u, a doubled letter, e/a, i/y, an accent dropped, al-/el-."""
    rules = [
        ("ou", "u"), ("u", "ou"), ("ss", "s"), ("s", "ss"), ("ll", "l"), ("l", "ll"),
        ("mm", "m"), ("e", "a"), ("a", "e"), ("i", "y"), ("y", "i"), ("é", "e"), ("ï", "i"),
        ("Al-", "El-"), ("El-", "Al-"), ("Al-", ""), ("k", "c"), ("c", "k"),
    ]  # fmt: skip
    rng.shuffle(rules)
    for old, new in rules:
        if old in name[1:]:
            at = name.index(old, 1)
            return name[:at] + new + name[at + len(old) :]
    return name


def _transliteration(maker: Maker, r: Record) -> bool:
    rng = maker.rng
    target = "given_names" if rng.random() < 0.6 else "family_name"
    name = getattr(r, target)
    changed = _variant(name, rng) or _generic_variant(name, rng)
    setattr(r, target, changed)
    return changed != name


def _swapped(maker: Maker, r: Record) -> bool:
    r.family_name, r.given_names = r.given_names, r.family_name
    r.family_name_ar, r.given_names_ar = r.given_names_ar, r.family_name_ar
    return True


def _arabic_only(maker: Maker, r: Record) -> bool:
    if not (r.family_name_ar and r.given_names_ar):
        return False
    r.family_name, r.given_names = r.family_name_ar, r.given_names_ar
    return True


def _typo(maker: Maker, r: Record) -> bool:
    rng = maker.rng
    target = "given_names" if rng.random() < 0.5 else "family_name"
    name = getattr(r, target)
    if len(name) < 4:
        return False
    at = 1 + int(rng.random() * (len(name) - 2))
    how = rng.choice(("delete", "swap", "replace", "insert"))
    if how == "delete":
        name = name[:at] + name[at + 1 :]
    elif how == "swap":
        name = name[:at] + name[at + 1] + name[at] + name[at + 2 :]
    elif how == "replace":
        name = name[:at] + rng.choice("aeioulnrst") + name[at + 1 :]
    else:
        name = name[:at] + rng.choice("aeioulnrst") + name[at:]
    setattr(r, target, name)
    return True


def _middle_name(maker: Maker, r: Record) -> bool:
    words = r.given_names.split(" ")
    if len(words) > 1:
        r.given_names = words[0]
        r.given_names_ar = r.given_names_ar.split(" ")[0] if r.given_names_ar else None
        return True
    return False


def _approximate_birth(maker: Maker, r: Record) -> bool:
    if r.date_of_birth is None:
        return False
    r.date_of_birth = date(r.date_of_birth.year + maker.rng.choice((-1, 0, 0, 1)), 1, 1)
    r.date_of_birth_approximate = True
    return True


def _day_month_swapped(maker: Maker, r: Record) -> bool:
    born = r.date_of_birth
    if born is None or born.day > 12 or born.day == born.month:
        return False
    r.date_of_birth = date(born.year, born.day, born.month)
    return True


def _no_birth_date(maker: Maker, r: Record) -> bool:
    r.date_of_birth, r.date_of_birth_approximate = None, False
    return True


def _no_nationality(maker: Maker, r: Record) -> bool:
    r.nationality = None
    return True


def _no_arabic(maker: Maker, r: Record) -> bool:
    r.family_name_ar = r.given_names_ar = None
    return True


def _document_reformatted(maker: Maker, r: Record) -> bool:
    if not r.documents:
        return False
    number = r.documents[0]["number"]
    r.documents = [{"kind": "passport", "number": f"{number[:2]} {number[2:5]}-{number[5:]}"}]
    return True


CHANGES = [
    _transliteration, _transliteration, _transliteration, _swapped, _arabic_only, _typo,
    _middle_name, _approximate_birth, _approximate_birth, _day_month_swapped, _no_birth_date,
    _no_nationality, _no_arabic, _document_reformatted,
]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.duplicates_data", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    pairs = Maker(args.seed).pairs(args.pairs)
    from collections import Counter

    print(Counter((p.same, p.kind.split("+")[0]) for p in pairs).most_common())
    for pair in pairs[:: max(1, len(pairs) // 12)]:
        a, b = pair.first, pair.second
        print(f"{'SAME' if pair.same else 'DIFF'} {pair.kind:32} {a.family_name} {a.given_names} "
              f"{a.date_of_birth} | {b.family_name} {b.given_names} {b.date_of_birth}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
