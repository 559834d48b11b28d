"""The 2014 exceptional regularisation, as published: `casework demo --scenario snia-2014`.

Loads, into a new database (one without case files), the demo organisations and accounts, a
foreigners' office for every prefecture and province (the 2014 filing points), and the 27,650
files of operation REG-2014, and nothing else. The published figures come out exactly:

* 17,916 favourable at first instance; the 9,734 unfavourable files all appealed, 5,180 appeals
  granted and 4,554 dismissed: 23,096 accepted = 83.53 % of the files filed (all are decided);
* 116 nationalities, led by Senegal 6,600, Syria 5,250, Nigeria 2,380 and Côte d'Ivoire 2,281;
* on the old 16-region map (each office's prefecture keeps its `legacy_region_code`):
  Rabat-Salé-Zemmour-Zaër 8,198, Grand Casablanca 6,363, Oriental 2,730, Fès-Boulemane 2,686;
* every woman and child accepted (10,178 files), the work-contract category about 4 %.

The counts are quotas, not probabilities; who gets which outcome, name, date and office is drawn
from a seeded generator, so two runs give the same rows. Files are filed, decided, appealed and
issued cards on the operation's dates (filing through 2014, first-instance decisions by February
2015, appeals decided in 2015), with each file's timeline. Rows go in with SQLAlchemy Core bulk
inserts (no ORM object per file) in the caller's transaction.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from sqlalchemy import func, select, text

from casework.admin.models import Organisation, OrganisationKind
from casework.auth.models import User
from casework.cases.models import Case, CaseEvent, ReferenceCounter, age_band
from casework.demo.generator import ensure_accounts, ensure_organisations, load_names
from casework.extensions import db
from casework.people.models import Person
from casework.people.normalise import fold
from casework.reference.models import Operation, Prefecture
from casework.reports.definitions import COUNTS, with_rates
from casework.reports.summary import rebuild as rebuild_processing_summary

SCENARIO = "snia-2014"
OPERATION = "REG-2014"
SEED = 2014

# --- The published figures -------------------------------------------------------------------

FILED = 27_650
FIRST_INSTANCE_FAVOURABLE = 17_916
APPEALS_GRANTED = 5_180
APPEALS_DISMISSED = FILED - FIRST_INSTANCE_FAVOURABLE - APPEALS_GRANTED  # 4,554
# 23,096 accepted = 83.53 % of the files, all decided.
# The appeals commission accepted all women and children (about 10,178 files).
WOMEN_AND_CHILDREN = 10_178
CHILDREN = 2_350  # of which under 18 at filing (the rest: adult women)
# Share of the women and children already favourable at first instance (the rest on appeal).
PROTECTED_FIRST_INSTANCE_RATE = 0.72
WORK_CONTRACT_ACCEPTANCE = 0.04  # "only about 4 % accepted"

# Files by nationality: the published top four, then the others (116 in all). The source of
# names is the nationality itself in demo/data/names.json, else a neighbour's (the code after
# the count) or a regional fallback below; then the languages of the applicants.
NATIONALITIES: tuple[tuple[str, int, str | None, tuple[str, ...] | None], ...] = (
    ("SN", 6600, None, None), ("SY", 5250, None, None), ("NG", 2380, None, None),
    ("CI", 2281, None, None),
    ("ML", 1380, None, None), ("CM", 1210, None, None), ("GN", 1090, None, None),
    ("CD", 860, None, None), ("CG", 640, None, None), ("PH", 560, None, None),
    ("CN", 470, None, None), ("DZ", 430, None, None), ("GH", 380, None, None),
    ("LR", 260, None, None), ("SL", 230, None, None), ("BF", 210, None, None),
    ("GM", 190, None, None), ("NE", 170, "ML", ("fr", "ha")), ("TD", 160, None, None),
    ("SD", 150, None, None), ("BJ", 150, "CI", ("fr", "fon")), ("TG", 140, "CI", ("fr", "ee")),
    ("YE", 120, None, None), ("GA", 120, "CM", ("fr",)), ("IQ", 110, None, None),
    ("CF", 110, "CG", ("fr", "sg")), ("MR", 100, "SD", ("ar", "fr")), ("PS", 90, None, None),
    ("GW", 90, "GN", ("pt", "ff")), ("TN", 80, "DZ", ("ar", "fr")), ("EG", 70, "IQ", ("ar",)),
    ("BD", 60, "south_asia", ("bn", "en")),
    # The long tail, 1 to 50 files each.
    ("LY", 50, "DZ", ("ar",)), ("SO", 49, "SD", ("so", "ar")), ("ER", 48, "SD", ("ti", "ar")),
    ("ET", 47, "SD", ("am",)), ("RW", 46, "CD", ("rw", "fr")), ("BI", 44, "CD", ("rn", "fr")),
    ("AO", 43, "lusophone", ("pt",)), ("ES", 42, "hispanic", ("es",)), ("FR", 41, None, None),
    ("KM", 40, "YE", ("ar", "fr")), ("CV", 39, "lusophone", ("pt",)),
    ("GQ", 38, "CM", ("es", "fr")), ("DJ", 37, "YE", ("fr", "ar")), ("SS", 36, "SD", ("en", "ar")),
    ("KE", 35, "GH", ("sw", "en")), ("UG", 35, "GH", ("en",)), ("TZ", 34, "GH", ("sw", "en")),
    ("MG", 33, "CG", ("mg", "fr")), ("ZA", 32, "LR", ("en",)), ("ZW", 31, "LR", ("en", "sn")),
    ("ZM", 30, "LR", ("en",)), ("MW", 29, "LR", ("en", "ny")), ("MZ", 28, "lusophone", ("pt",)),
    ("ST", 27, "lusophone", ("pt",)), ("LB", 27, "SY", ("ar", "fr")), ("JO", 26, "PS", ("ar",)),
    ("TR", 25, "turkic_iranian", ("tr",)), ("IR", 24, "turkic_iranian", ("fa",)),
    ("AF", 23, "south_asia", ("fa", "ps")), ("PK", 23, "south_asia", ("ur", "en")),
    ("IN", 22, "south_asia", ("hi", "en")), ("LK", 21, "south_asia", ("si", "ta")),
    ("NP", 20, "south_asia", ("ne",)), ("SA", 20, "YE", ("ar",)), ("AE", 19, "YE", ("ar",)),
    ("QA", 18, "IQ", ("ar",)), ("KW", 18, "IQ", ("ar",)), ("OM", 17, "YE", ("ar",)),
    ("BH", 16, "IQ", ("ar",)), ("VN", 16, "east_asia", ("vi",)), ("TH", 15, "east_asia", ("th",)),
    ("ID", 14, "east_asia", ("id",)), ("MY", 14, "east_asia", ("ms",)),
    ("KR", 13, "east_asia", ("ko",)), ("JP", 13, "east_asia", ("ja",)),
    ("UA", 12, "european", ("uk", "ru")), ("RU", 12, "european", ("ru",)),
    ("RO", 11, "european", ("ro",)), ("BG", 11, "european", ("bg",)),
    ("MD", 10, "european", ("ro", "ru")), ("GE", 10, "european", ("ka",)),
    ("AM", 9, "european", ("hy",)), ("AZ", 9, "turkic_iranian", ("az",)),
    ("KZ", 8, "turkic_iranian", ("kk", "ru")), ("UZ", 8, "turkic_iranian", ("uz",)),
    ("PL", 7, "european", ("pl",)), ("IT", 7, "european", ("it",)),
    ("PT", 6, "lusophone", ("pt",)), ("BE", 6, "FR", ("fr", "nl")), ("NL", 6, "european", ("nl",)),
    ("DE", 5, "european", ("de",)), ("GB", 5, "european", ("en",)), ("CH", 5, "FR", ("fr", "de")),
    ("US", 4, "european", ("en",)), ("CA", 4, "FR", ("fr", "en")),
    ("BR", 4, "lusophone", ("pt",)), ("CO", 3, "hispanic", ("es",)), ("VE", 3, "hispanic", ("es",)),
    ("CU", 3, "hispanic", ("es",)), ("DO", 3, "hispanic", ("es",)), ("HT", 2, "FR", ("fr", "ht")),
    ("MX", 2, "hispanic", ("es",)), ("AR", 2, "hispanic", ("es",)), ("PE", 2, "hispanic", ("es",)),
    ("EC", 2, "hispanic", ("es",)), ("BO", 2, "hispanic", ("es",)), ("CL", 1, "hispanic", ("es",)),
    ("HN", 1, "hispanic", ("es",)), ("SV", 1, "hispanic", ("es",)), ("GT", 1, "hispanic", ("es",)),
    ("PY", 1, "hispanic", ("es",)), ("UY", 1, "hispanic", ("es",)),
    ("RS", 1, "european", ("sr",)), ("AL", 1, "european", ("sq",)),
)  # fmt: skip

# Files by region of the old 16-region map (published: the first four), then how each old
# region's files spread over its prefectures and provinces (weights; every unit has an office).
LEGACY_REGION_FILES = {
    "L10": 8198, "L09": 6363, "L08": 2730, "L14": 2686, "L16": 2550, "L07": 1150, "L04": 1050,
    "L13": 780, "L05": 580, "L06": 320, "L11": 300, "L02": 250, "L15": 210, "L03": 170,
    "L12": 163, "L01": 150,
}  # fmt: skip
OFFICE_WEIGHTS = {
    "L10": {"RAB": 52, "SAL": 26, "SKT": 18, "KHM": 4},
    "L09": {"CAS": 84, "MOH": 8, "NOU": 6, "MED": 2},
    "L08": {"OUJ": 104, "NAD": 66, "BRK": 16, "TAO": 8, "JER": 3, "FIG": 2, "DRI": 1},
    "L14": {"FES": 92, "SEF": 5, "MYA": 2, "BLM": 1},
    "L16": {"TNG": 72, "TET": 16, "MDF": 6, "LAR": 3, "CHF": 1, "FAH": 1, "OUZ": 1},
    "L07": {"MAR": 86, "ESS": 6, "KSR": 3, "HAO": 3, "CHI": 1, "REH": 1},
    "L04": {"AGA": 45, "INZ": 30, "OUA": 6, "TIZ": 5, "TRD": 5, "CHT": 4, "TIN": 2, "ZAG": 2,
            "SIF": 1},
    "L13": {"MEK": 75, "ERR": 9, "IFR": 6, "KHN": 4, "HAJ": 3, "MID": 3},
    "L05": {"KEN": 85, "SKA": 8, "SSL": 7},
    "L06": {"SET": 35, "BRR": 30, "KHO": 22, "BSL": 13},
    "L11": {"JAD": 50, "SAF": 40, "SBN": 5, "YSF": 5},
    "L02": {"LAA": 85, "BOJ": 10, "TRF": 5},
    "L15": {"TAZ": 40, "HOC": 30, "GRC": 15, "TAU": 15},
    "L03": {"GLM": 45, "TNT": 25, "SMA": 15, "ASZ": 8, "TAT": 7},
    "L12": {"BML": 80, "FBS": 13, "AZI": 7},
    "L01": {"OED": 90, "AOU": 10},
}  # fmt: skip

# --- How the files look ------------------------------------------------------------------------

# Nationalities with more families (women, children) or more lone men than the average.
PROTECTED_WEIGHT = {"SY": 2.4, "PH": 3.0, "CI": 1.4, "NG": 1.3, "CM": 1.2, "CD": 1.3, "CG": 1.2,
                    "SN": 0.6, "ML": 0.6, "GN": 0.8, "CN": 0.7, "GM": 0.6}  # fmt: skip
CHILD_WEIGHT = {"SY": 3.0, "IQ": 2.0, "PS": 2.0, "CD": 1.3, "PH": 0.3, "SN": 0.7, "ML": 0.7}
# Eligibility category by group (weights). Work contracts are men's files, nearly always.
CATEGORY_WEIGHTS = {
    "child": {"child_of_eligible": 80, "residence_5_years": 12, "serious_illness": 3,
              "recognised_refugee": 5},
    "woman": {"residence_5_years": 58, "spouse_of_resident": 16, "spouse_of_national": 10,
              "serious_illness": 6.7, "recognised_refugee": 3.5, "work_contract": 0.3},
    "man": {"residence_5_years": 72, "work_contract": 8.5, "spouse_of_national": 6,
            "spouse_of_resident": 5, "serious_illness": 4, "recognised_refugee": 3},
}  # fmt: skip
WORK_CONTRACT_NATIONALITIES = {"CN": 25, "PH": 20, "IN": 20, "TR": 15}  # % of their men
# How likely a file is to be favourable (at first instance, then on appeal), by category.
CATEGORY_STRENGTH = {"spouse_of_national": 2.5, "spouse_of_resident": 1.8,
                     "child_of_eligible": 1.8, "serious_illness": 1.6, "residence_5_years": 1.0,
                     "work_contract": 0.15, "recognised_refugee": 1.0}  # fmt: skip
NATIONALITY_STRENGTH = {"SY": 1.3, "PH": 1.5, "NG": 0.8}
UNFAVOURABLE_REASONS = {
    "residence_5_years": (("insufficient_proof_of_stay",), ("insufficient_proof_of_stay",),
                          ("conditions_not_met",), ("documents_missing",),
                          ("insufficient_proof_of_stay", "documents_missing")),
    "work_contract": (("conditions_not_met",), ("conditions_not_met",),
                      ("conditions_not_met", "documents_missing")),
    "child_of_eligible": (("documents_missing",), ("conditions_not_met",)),
}  # fmt: skip
OTHER_UNFAVOURABLE = (("conditions_not_met",), ("documents_missing",))
ADULT_AGES = ((18, 25, 22), (26, 35, 44), (36, 50, 28), (51, 68, 6))  # low, high, weight

# Dates: filing through 2014 on working days, more at the opening and before the deadline.
FILING_MONTH_WEIGHTS = (14, 11, 9, 8, 7, 6, 5, 6, 7, 7, 8, 12)
HOLIDAYS_2014 = {date(2014, 1, 1), date(2014, 1, 14), date(2014, 5, 1), date(2014, 7, 29),
                 date(2014, 7, 30), date(2014, 8, 14), date(2014, 8, 20), date(2014, 8, 21),
                 date(2014, 11, 6), date(2014, 11, 18)}  # fmt: skip
DECISIONS_BY = date(2015, 2, 27)  # "17,916 favourable ... by February 2015"
APPEALS_FROM, APPEALS_PEAK, APPEALS_TO = date(2015, 3, 2), date(2015, 7, 15), date(2015, 12, 15)
# Where each file stands now (shares): cards issued, files closed, cards never collected.
FAVOURABLE_STATES = (("closed", 55), ("card_issued", 42), ("accepted", 3))
GRANTED_STATES = (("card_issued", 90), ("appeal_granted", 10))
DISMISSED_STATES = (("closed", 60), ("appeal_dismissed", 40))

# Names for nationalities missing from demo/data/names.json (Latin and Arabic script).
FALLBACK_NAMES = {
    "south_asia": {
        "family": [["Khan", "خان"], ["Ahmed", "أحمد"], ["Hussain", "حسين"], ["Rahman", "رحمان"],
                   ["Chowdhury", "تشودري"], ["Sharma", "شارما"], ["Singh", "سينغ"],
                   ["Perera", "بيريرا"], ["Iqbal", "إقبال"], ["Malik", "مالك"]],
        "given_male": [["Muhammad", "محمد"], ["Imran", "عمران"], ["Bilal", "بلال"],
                       ["Rahul", "راهول"], ["Arjun", "أرجون"], ["Kamal", "كمال"],
                       ["Farhan", "فرحان"], ["Tariq", "طارق"]],
        "given_female": [["Fatima", "فاطمة"], ["Ayesha", "عائشة"], ["Priya", "بريا"],
                         ["Nasreen", "نسرين"], ["Sunita", "سونيتا"], ["Shabnam", "شبنم"]],
    },
    "turkic_iranian": {
        "family": [["Yılmaz", "يلماز"], ["Kaya", "كايا"], ["Demir", "دمير"],
                   ["Hosseini", "حسيني"], ["Ahmadi", "أحمدي"], ["Karimi", "كريمي"],
                   ["Aliyev", "علييف"], ["Karimov", "كريموف"], ["Rezaei", "رضائي"]],
        "given_male": [["Mehmet", "محمد"], ["Ahmet", "أحمد"], ["Reza", "رضا"], ["Ali", "علي"],
                       ["Mustafa", "مصطفى"], ["Rustam", "رستم"], ["Emre", "أمره"]],
        "given_female": [["Ayşe", "عائشة"], ["Zeynep", "زينب"], ["Maryam", "مريم"],
                         ["Elif", "أليف"], ["Leyla", "ليلى"], ["Shirin", "شيرين"]],
    },
    "east_asia": {
        "family": [["Nguyen", "نغوين"], ["Tran", "تران"], ["Pham", "فام"], ["Kim", "كيم"],
                   ["Park", "بارك"], ["Sato", "ساتو"], ["Suzuki", "سوزوكي"],
                   ["Wijaya", "ويجايا"], ["Tan", "تان"]],
        "given_male": [["Minh", "مينه"], ["Duc", "دوك"], ["Jun", "جون"], ["Hiroshi", "هيروشي"],
                       ["Budi", "بودي"], ["Somchai", "سومتشاي"]],
        "given_female": [["Lan", "لان"], ["Mai", "ماي"], ["Yuki", "يوكي"], ["Siti", "سيتي"],
                         ["Hana", "هانا"], ["Dewi", "ديوي"]],
    },
    "european": {
        "family": [["Müller", "مولر"], ["Smith", "سميث"], ["Rossi", "روسي"],
                   ["Kowalski", "كوفالسكي"], ["Ivanov", "إيفانوف"], ["Popescu", "بوبيسكو"],
                   ["Petrov", "بيتروف"], ["Jansen", "يانسن"], ["Horvat", "هورفات"]],
        "given_male": [["Thomas", "توماس"], ["Marco", "ماركو"], ["Piotr", "بيوتر"],
                       ["Andrei", "أندريه"], ["Ivan", "إيفان"], ["John", "جون"]],
        "given_female": [["Anna", "آنا"], ["Maria", "ماريا"], ["Elena", "إيلينا"],
                         ["Olga", "أولغا"], ["Sarah", "سارة"], ["Laura", "لورا"]],
    },
    "hispanic": {
        "family": [["García", "غارسيا"], ["Rodríguez", "رودريغيز"], ["Martínez", "مارتينيز"],
                   ["López", "لوبيز"], ["González", "غونزاليس"], ["Fernández", "فرنانديز"],
                   ["Gómez", "غوميز"], ["Pérez", "بيريز"]],
        "given_male": [["José", "خوسيه"], ["Carlos", "كارلوس"], ["Juan", "خوان"],
                       ["Luis", "لويس"], ["Miguel", "ميغيل"], ["Antonio", "أنطونيو"]],
        "given_female": [["María", "ماريا"], ["Ana", "آنا"], ["Carmen", "كارمن"],
                         ["Lucía", "لوسيا"], ["Isabel", "إيزابيل"], ["Rosa", "روزا"]],
    },
    "lusophone": {
        "family": [["Silva", "سيلفا"], ["Santos", "سانتوس"], ["Pereira", "بيريرا"],
                   ["Costa", "كوستا"], ["Fernandes", "فرنانديز"], ["Gomes", "غوميز"],
                   ["Lopes", "لوبيز"], ["Mendes", "منديز"]],
        "given_male": [["João", "جواو"], ["Pedro", "بيدرو"], ["António", "أنطونيو"],
                       ["Manuel", "مانويل"], ["Paulo", "باولو"], ["Domingos", "دومينغوس"]],
        "given_female": [["Ana", "آنا"], ["Maria", "ماريا"], ["Fernanda", "فرناندا"],
                         ["Isabel", "إيزابيل"], ["Joana", "جوانا"], ["Teresa", "تيريزا"]],
    },
}  # fmt: skip

SEQUENCE_RESETS = (
    "SELECT setval(pg_get_serial_sequence('people', 'id'), (SELECT max(id) FROM people))",
    "SELECT setval(pg_get_serial_sequence('cases', 'id'), (SELECT max(id) FROM cases))",
)
BATCH = 2_500  # files per insert batch (people, cases and their timeline events)


class ScenarioRefused(Exception):
    """The database is not a new one (it holds case files) or lacks the reference data."""


@dataclass
class ScenarioResult:
    organisations: int = 0
    offices: int = 0
    accounts: int = 0
    created_accounts: list[str] = field(default_factory=list)
    people: int = 0
    cases: int = 0
    events: int = 0
    totals: dict = field(default_factory=dict)  # the acceptance counts, read back
    seconds: float = 0.0

    def summary(self) -> str:
        t = self.totals
        return (
            f"{SCENARIO}: {t['filed']:,} files filed, {t['accepted']:,} accepted "
            f"({t['first_instance_favourable']:,} favourable at first instance, "
            f"{t['appeals_granted']:,} appeals granted): acceptance rate "
            f"{t['acceptance_rate']:.2%} of those decided, {t['acceptance_rate_filed']:.2%} "
            f"of those filed; loaded in {self.seconds:.1f} s."
        )


# --- Entry point ---------------------------------------------------------------------------------


def load_snia2014(
    password: str,
    *,
    seed: int = SEED,
    progress: Callable[[int], None] | None = None,
    batch: int = BATCH,
) -> ScenarioResult:
    """Load the scenario in the session's transaction; the caller commits.

    Raises ScenarioRefused, before changing anything, on a database that already holds case
    files or has no reference data. `progress(n)` is called after each batch of n files."""
    started = time.perf_counter()
    check_new_database()
    result = ScenarioResult()
    organisations = ensure_organisations()
    result.created_accounts = ensure_accounts(organisations, password)
    offices = ensure_offices()
    result.organisations = db.session.scalar(select(func.count()).select_from(Organisation))
    result.offices = len(offices)
    result.accounts = db.session.scalar(
        select(func.count()).select_from(User).where(User.email.like("%@demo.test"))
    )
    db.session.flush()
    staff = _Staff.load(offices)
    files = Planner(random.Random(seed)).plan()
    connection = db.session.connection()
    next_person = (connection.scalar(select(func.max(Person.id))) or 0) + 1
    next_case = (connection.scalar(select(func.max(Case.id))) or 0) + 1
    writer = _RowWriter(random.Random(seed + 1), staff, offices)
    for start in range(0, len(files), batch):
        chunk = files[start : start + batch]
        people, cases, events = [], [], []
        for offset, file in enumerate(chunk):
            writer.rows(file, next_person + start + offset, next_case + start + offset,
                        people, cases, events)  # fmt: skip
        connection.execute(Person.__table__.insert(), people)
        connection.execute(Case.__table__.insert(), cases)
        connection.execute(CaseEvent.__table__.insert(), events)
        result.people += len(people)
        result.cases += len(cases)
        result.events += len(events)
        if progress is not None:
            progress(len(chunk))
    _update_counters(connection, writer.counters)
    rebuild_processing_summary(connection)  # the rows went in through Core, not the ORM
    if connection.dialect.name == "postgresql":
        # Ids were given explicitly: move the sequences past them.
        for statement in SEQUENCE_RESETS:
            connection.execute(text(statement))
    result.totals = operation_totals()
    result.seconds = time.perf_counter() - started
    return result


def check_new_database() -> None:
    cases = db.session.scalar(select(func.count()).select_from(Case))
    if cases:
        raise ScenarioRefused(
            f"The database already holds {cases:,} case files: the {SCENARIO} scenario loads "
            "into a new database only (point DATABASE_URL at an empty one and run "
            "`casework setup` first)."
        )
    if db.session.get(Operation, OPERATION) is None:
        raise ScenarioRefused(
            f"The reference data are not loaded (operation {OPERATION} is missing): run "
            "`casework setup` first."
        )


def operation_totals() -> dict:
    """The acceptance counts of the operation, by the reports' own definitions."""
    columns = [expression.label(name) for name, expression in COUNTS.items()]
    row = (
        db.session.execute(
            select(*columns).where(Case.operation_code == OPERATION, Case.kind == "regularisation")
        )
        .mappings()
        .one()
    )
    return with_rates({name: int(row[name] or 0) for name in COUNTS})


# --- Offices ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Office:
    id: int
    code: str
    region_code: str
    legacy_region_code: str


def office_name(prefecture: Prefecture) -> str:
    unit = "Préfecture" if prefecture.kind == "prefecture" else "Province"
    name = prefecture.name_fr
    of = "d'" if name[:1].upper() in "AEIOUÉ" else "de "
    return f"Bureau des étrangers — {unit} {of}{name}"


def office_name_ar(prefecture: Prefecture) -> str:
    unit = "عمالة" if prefecture.kind == "prefecture" else "إقليم"
    return f"مكتب الأجانب — {unit} {prefecture.name_ar}"


def ensure_offices() -> dict[str, Office]:
    """A foreigners' office (code = prefecture code) for every unit the 2014 files are filed
    in; the demo's own offices (RAB, CAS, TNG, OUJ, FES) are reused."""
    prefectures = {p.code: p for p in db.session.scalars(select(Prefecture))}
    existing = {
        o.code: o
        for o in db.session.scalars(
            select(Organisation).where(Organisation.code.in_(list(prefectures)))
        )
    }
    offices = {}
    for legacy, weights in OFFICE_WEIGHTS.items():
        for code in weights:
            prefecture = prefectures.get(code)
            if prefecture is None or prefecture.legacy_region_code != legacy:
                raise ScenarioRefused(
                    f"The reference data do not place prefecture {code} in old region {legacy}."
                )
            org = existing.get(code)
            if org is None:
                org = Organisation(
                    code=code,
                    name=office_name(prefecture),
                    name_ar=office_name_ar(prefecture),
                    kind=OrganisationKind.FOREIGNERS_OFFICE.value,
                    prefecture_code=code,
                    region_code=prefecture.region_code,
                    active=True,
                )
                db.session.add(org)
            elif org.kind != OrganisationKind.FOREIGNERS_OFFICE.value:
                raise ScenarioRefused(
                    f"Organisation {code} exists and is not a foreigners' office."
                )
            offices[code] = org
    db.session.flush()
    return {
        code: Office(org.id, code, prefectures[code].region_code,
                     prefectures[code].legacy_region_code)
        for code, org in offices.items()
    }  # fmt: skip


def office_file_counts() -> dict[str, int]:
    """Files per office: each old region's published total split over its units."""
    counts: dict[str, int] = {}
    for legacy, total in LEGACY_REGION_FILES.items():
        counts.update(_split(total, OFFICE_WEIGHTS[legacy]))
    return counts


def _split(total: int, weights: dict[str, float]) -> dict[str, int]:
    """`total` in proportion to `weights`, in whole numbers (largest remainders), exactly."""
    whole = sum(weights.values())
    shares = {key: total * weight / whole for key, weight in weights.items()}
    counts = {key: int(share) for key, share in shares.items()}
    missing = total - sum(counts.values())
    for key in sorted(shares, key=lambda k: (counts[k] - shares[k], k))[:missing]:
        counts[key] += 1
    return counts


# --- The plan: who files where and when, and what becomes of the file -------------------------


class File:
    """One file of the plan (plain attributes; the rows are built from it)."""

    __slots__ = ("age", "appeal", "category", "child", "filed", "first", "nationality",
                 "office", "protected", "sex", "state")  # fmt: skip

    def __init__(self, nationality: str, office: str) -> None:
        self.nationality = nationality
        self.office = office
        self.protected = self.child = False
        self.sex = "M"
        self.age = 0
        self.category = ""
        self.first = self.appeal = self.state = None
        self.filed = 0  # date ordinal


class Planner:
    """Who files where and when, and what becomes of each file (no database needed)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def plan(self) -> list[File]:
        rng = self.rng
        nationalities = [code for code, count, *_ in NATIONALITIES for _ in range(count)]
        offices = [code for code, count in office_file_counts().items() for _ in range(count)]
        assert len(nationalities) == len(offices) == FILED
        rng.shuffle(nationalities)
        rng.shuffle(offices)
        files = [File(n, o) for n, o in zip(nationalities, offices, strict=True)]
        self._people(files)
        self._categories(files)
        self._outcomes(files)
        self._filing_dates(files)
        files.sort(key=lambda f: f.filed)  # stable: ids and references follow filing order
        return files

    def _pick(self, files: list[File], count: int, weight: Callable[[File], float]) -> list[File]:
        """`count` files drawn without replacement, in proportion to `weight` (A-ES keys)."""
        rng = self.rng
        keyed = sorted(files, key=lambda f: rng.random() ** (1.0 / weight(f)), reverse=True)
        return keyed[:count]

    def _people(self, files: list[File]) -> None:
        rng = self.rng
        protected = self._pick(files, WOMEN_AND_CHILDREN,
                               lambda f: PROTECTED_WEIGHT.get(f.nationality, 1.0))  # fmt: skip
        for f in protected:
            f.protected = True
        for f in self._pick(protected, CHILDREN, lambda f: CHILD_WEIGHT.get(f.nationality, 1.0)):
            f.child = True
        for f in files:
            if f.child:
                f.sex = "F" if rng.random() < 0.49 else "M"
                f.age = rng.randint(0, 17)
            else:
                f.sex = "F" if f.protected else "M"
                low, high, _ = rng.choices(ADULT_AGES, weights=[w for *_, w in ADULT_AGES])[0]
                f.age = rng.randint(low, high)

    def _categories(self, files: list[File]) -> None:
        rng = self.rng
        tables = {
            group: (list(weights), list(weights.values()))
            for group, weights in CATEGORY_WEIGHTS.items()
        }
        for f in files:
            group = "child" if f.child else "woman" if f.protected else "man"
            if group == "man" and rng.random() * 100 < WORK_CONTRACT_NATIONALITIES.get(
                f.nationality, 0
            ):
                f.category = "work_contract"
                continue
            codes, weights = tables[group]
            f.category = rng.choices(codes, weights=weights)[0]

    def _outcomes(self, files: list[File]) -> None:
        """Exact quotas: all women and children accepted (some on appeal), work contracts about
        4 % accepted, refugees favourable, the rest by category and nationality."""
        protected = [f for f in files if f.protected]
        men = [f for f in files if not f.protected]
        favourable_protected = round(len(protected) * PROTECTED_FIRST_INSTANCE_RATE)
        favourable_men = FIRST_INSTANCE_FAVOURABLE - favourable_protected
        granted_men = APPEALS_GRANTED - (len(protected) - favourable_protected)

        def strength(f: File) -> float:
            return CATEGORY_STRENGTH[f.category] * NATIONALITY_STRENGTH.get(f.nationality, 1.0)

        # Women and children: favourable at first instance or granted on appeal.
        refugees = [f for f in protected if f.category == "recognised_refugee"]
        others = [f for f in protected if f.category != "recognised_refugee"]
        chosen = {id(f) for f in self._pick(others, favourable_protected - len(refugees), strength)}
        for f in protected:
            if f.category == "recognised_refugee" or id(f) in chosen:
                f.first = "favourable"
            else:
                f.first, f.appeal = "unfavourable", "granted"

        # Men's work-contract files: the category's acceptance comes to about 4 %.
        work = [f for f in men if f.category == "work_contract"]
        work_total = len(work) + sum(f.category == "work_contract" for f in protected)
        work_accepted = max(
            0, round(work_total * WORK_CONTRACT_ACCEPTANCE) - (work_total - len(work))
        )
        accepted = self._pick(work, work_accepted, lambda f: 1.0)
        work_favourable = accepted[: work_accepted // 3]
        work_granted = accepted[work_accepted // 3 :]
        for f in work:
            f.first, f.appeal = "unfavourable", "dismissed"
        for f in work_favourable:
            f.first, f.appeal = "favourable", None
        for f in work_granted:
            f.appeal = "granted"

        # The other men: refugees favourable; the rest by strength, then appeals by strength.
        refugees = [f for f in men if f.category == "recognised_refugee"]
        rest = [f for f in men if f.category not in {"work_contract", "recognised_refugee"}]
        for f in refugees:
            f.first = "favourable"
        favourable = self._pick(rest, favourable_men - len(refugees) - len(work_favourable),
                                strength)  # fmt: skip
        chosen = {id(f) for f in favourable}
        unfavourable = [f for f in rest if id(f) not in chosen]
        for f in favourable:
            f.first = "favourable"
        granted = {id(f) for f in self._pick(unfavourable, granted_men - len(work_granted),
                                             strength)}  # fmt: skip
        for f in unfavourable:
            f.first = "unfavourable"
            f.appeal = "granted" if id(f) in granted else "dismissed"

        assert sum(f.first == "favourable" for f in files) == FIRST_INSTANCE_FAVOURABLE
        assert sum(f.appeal == "granted" for f in files) == APPEALS_GRANTED
        assert sum(f.appeal == "dismissed" for f in files) == APPEALS_DISMISSED

        # Where each file stands now.
        rng = self.rng
        for f in files:
            states = (
                FAVOURABLE_STATES if f.first == "favourable"
                else GRANTED_STATES if f.appeal == "granted" else DISMISSED_STATES
            )  # fmt: skip
            f.state = rng.choices([s for s, _ in states], weights=[w for _, w in states])[0]

    def _filing_dates(self, files: list[File]) -> None:
        rng = self.rng
        days_by_month = [[] for _ in range(12)]
        day = date(2014, 1, 1)
        while day.year == 2014:
            if day.weekday() < 5 and day not in HOLIDAYS_2014:
                days_by_month[day.month - 1].append(day.toordinal())
            day += timedelta(days=1)
        months = rng.choices(range(12), weights=FILING_MONTH_WEIGHTS, k=len(files))
        for f, month in zip(files, months, strict=True):
            f.filed = rng.choice(days_by_month[month])
        # The operation's first and last days saw files too.
        files[0].filed = date(2014, 1, 2).toordinal()
        files[-1].filed = date(2014, 12, 31).toordinal()


# --- Rows ------------------------------------------------------------------------------------


@dataclass
class _Staff:
    """Who acts on the files: the office's demo caseworker (where it has one), the national
    supervisor who approves decisions, and the appeals commission."""

    caseworkers: dict[int, int]  # office id -> user id
    approver: int | None
    commission: int | None

    @classmethod
    def load(cls, offices: dict[str, Office]) -> _Staff:
        ids = {o.id for o in offices.values()}
        users = db.session.scalars(select(User).where(User.email.like("%@demo.test"))).all()
        caseworkers: dict[int, int] = {}
        for user in sorted(users, key=lambda u: u.id):
            if user.role == "caseworker" and user.organisation_id in ids:
                caseworkers.setdefault(user.organisation_id, user.id)
        by_email = {u.email: u.id for u in users}
        return cls(caseworkers, by_email.get("supervisor@demo.test"),
                   by_email.get("commission@demo.test"))  # fmt: skip


def _origins() -> dict[str, dict]:
    """Names and languages of each nationality of the scenario."""
    names = {n["code"]: n for n in load_names()}
    origins = {}
    for code, _count, source, languages in NATIONALITIES:
        base = names.get(code) or names.get(source or "") or FALLBACK_NAMES[source or ""]
        origins[code] = {
            "given_male": base["given_male"],
            "given_female": base["given_female"],
            "family": base["family"],
            "languages": list(languages or base["languages"]),
        }
    return origins


def _search_text(*names: str) -> str:
    """`Person.refresh_search_text`: folding works word by word, so each name is folded once."""
    return " ".join(_folded(n) for n in names if n)[:600]


@lru_cache(maxsize=4096)
def _folded(name: str) -> str:
    return fold(name)


def _age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _same_day(day: date, year: int) -> date:
    """The same day and month in `year` (29 February becomes the 28th)."""
    return (
        day.replace(year=year, day=28)
        if (day.month, day.day) == (2, 29)
        else day.replace(year=year)
    )


def _is_workday(day: date) -> bool:
    return day.weekday() < 5 and day not in HOLIDAYS_2014


class _RowWriter:
    """Builds the rows of one file: its applicant, the case and the case's timeline.

    Columns that stay empty on every file (deadlines, interviews, notes) are left out of the
    rows: they are NULL, and SQLAlchemy has fewer values to process."""

    def __init__(self, rng: random.Random, staff: _Staff, offices: dict[str, Office]) -> None:
        self.random = rng.random
        self.choice = rng.choice
        self.triangular = rng.triangular
        self.staff = staff
        self.offices = offices
        self.origins = _origins()
        self.counters: Counter[str] = Counter()
        self.cards: Counter[str] = Counter()
        self._days: dict[int, date] = {}
        self._mornings: dict[int, datetime] = {}
        self._workdays: dict[int, int] = {}
        self._minutes = [timedelta(hours=8, minutes=m) for m in range(30, 511)]

    def _between(self, low: int, high: int) -> int:
        return low + int(self.random() * (high - low + 1))

    def _day(self, ordinal: int) -> date:
        day = self._days.get(ordinal)
        if day is None:
            day = self._days[ordinal] = date.fromordinal(ordinal)
        return day

    def _moment(self, ordinal: int) -> datetime:
        """A moment of office hours on that day (UTC, as every stored moment)."""
        morning = self._mornings.get(ordinal)
        if morning is None:
            morning = self._mornings[ordinal] = datetime.fromordinal(ordinal).replace(tzinfo=UTC)
        return morning + self._minutes[int(self.random() * len(self._minutes))]

    def _workday(self, ordinal: int) -> int:
        """The day itself, or the next working day."""
        found = self._workdays.get(ordinal)
        if found is None:
            found = ordinal
            while not _is_workday(self._day(found)):
                found += 1
            self._workdays[ordinal] = found
        return found

    def rows(self, f: File, person_id: int, case_id: int, people: list, cases: list,
             events: list) -> None:  # fmt: skip
        random_, between, day_of = self.random, self._between, self._day
        office = self.offices[f.office]
        clerk = self.staff.caseworkers.get(office.id)
        approver, commission = self.staff.approver, self.staff.commission
        filed = day_of(f.filed)
        filed_at = self._moment(f.filed)

        # The applicant.
        origin = self.origins[f.nationality]
        family = self.choice(origin["family"])
        given = self.choice(origin["given_female" if f.sex == "F" else "given_male"])
        born = _same_day(filed, filed.year - f.age) - timedelta(days=int(random_() * 365))
        approximate = random_() < 0.12  # only the year is known: 1 January
        if approximate and (_age_on(date(born.year, 1, 1), filed) < 18) == (f.age < 18):
            born = date(born.year, 1, 1)
        else:
            approximate = False
        age = _age_on(born, filed)
        languages = origin["languages"]
        people.append({
            "id": person_id, "family_name": family[0], "given_names": given[0],
            "family_name_ar": family[1], "given_names_ar": given[1], "sex": f.sex,
            "date_of_birth": born, "date_of_birth_approximate": approximate,
            "nationality": f.nationality,
            "languages": languages[: between(1, len(languages))],
            "phone": f"+2126{between(10**7, 10**8 - 1)}" if random_() < 0.7 else None,
            "prefecture_code": f.office,
            "unaccompanied_minor": 14 <= age < 18 and random_() < 0.15,
            "pregnant": f.sex == "F" and 18 <= age <= 40 and random_() < 0.04,
            "serious_illness": f.category == "serious_illness" or random_() < 0.01,
            "disability": random_() < 0.015, "trafficking_victim": random_() < 0.005,
            "organisation_id": office.id, "created_by_id": clerk,
            "search_text": _search_text(family[0], given[0], family[1], given[1]),
            "version": 1, "created_at": filed_at, "updated_at": filed_at,
        })  # fmt: skip

        # The first instance: reviewed, proposed, approved by February 2015.
        high = min(240, DECISIONS_BY.toordinal() - f.filed)
        decided = f.filed + int(self.triangular(min(20, high), high, min(75, high)))
        while not _is_workday(day_of(decided)):
            decided -= 1
        notified = min(self._workday(decided + between(0, 7)), decided + 10)
        proposed = decided - between(1, min(10, decided - f.filed - 1))
        while not _is_workday(day_of(proposed)):
            proposed -= 1
        reviewed = self._workday(f.filed + between(1, max(1, (proposed - f.filed) // 3)))
        favourable = f.first == "favourable"
        reasons = (
            ["meets_category_conditions"] if favourable
            else list(self.choice(UNFAVOURABLE_REASONS.get(f.category, OTHER_UNFAVOURABLE)))
        )  # fmt: skip
        proposed_at = self._moment(proposed)
        prefix = f"REG-2014-{f.office}"
        self.counters[prefix] += 1
        row = {
            "id": case_id, "reference": f"{prefix}-{self.counters[prefix]:06d}",
            "kind": "regularisation", "operation_code": OPERATION, "category_code": f.category,
            "applicant_id": person_id, "office_id": office.id, "assigned_to_id": clerk,
            "state": f.state, "filed_on": filed, "proposed_at": proposed_at,
            "decided_on": day_of(decided), "notified_on": day_of(notified),
            "appeal_lodged_on": None, "appeal_decided_on": None, "card_number": None,
            "card_issued_on": None, "card_expires_on": None, "closed_on": None,
            "proposed_outcome": f.first, "proposed_reasons": reasons, "proposed_by_id": clerk,
            "first_instance_outcome": f.first, "decided_by_id": approver,
            "appeal_outcome": f.appeal, "appeal_decided_by_id": None,
            "region_code": office.region_code, "applicant_sex": f.sex,
            "applicant_nationality": f.nationality, "applicant_age_band": age_band(age),
            "processing_days": decided - f.filed, "version": 1, "created_at": filed_at,
            "updated_at": None,
        }  # fmt: skip

        def event(at, user, action, from_state, to_state, data) -> datetime:
            if events and events[-1]["case_id"] == case_id:
                at = max(at, events[-1]["at"])  # two steps on one day: keep their order
            events.append({
                "case_id": case_id, "at": at, "user_id": user, "kind": "transition",
                "action": action, "from_state": from_state, "to_state": to_state, "data": data,
            })  # fmt: skip
            return at

        event(filed_at, clerk, None, None, "filed", {"members": 0})
        events[-1]["kind"] = "created"
        event(self._moment(reviewed), clerk, "start_review", "filed", "under_review", {})
        row["proposed_at"] = event(proposed_at, clerk, "propose_decision", "under_review",
                                   "decision_proposed", {"outcome": f.first, "reasons": reasons})  # fmt: skip
        state = "accepted" if favourable else "rejected"
        approval = {"notified_on": day_of(notified).isoformat()} if notified != decided else {}
        last = event(self._moment(decided), approver, "approve_decision", "decision_proposed",
                     state, approval)  # fmt: skip
        since = notified  # the day the current step started

        # The appeal: lodged within the window, decided by the national commission in 2015.
        if not favourable:
            lodged = self._workday(notified + between(1, 25))
            ruled = int(self.triangular(APPEALS_FROM.toordinal(), APPEALS_TO.toordinal(),
                                        APPEALS_PEAK.toordinal()))  # fmt: skip
            ruled = self._workday(max(ruled, lodged + 30))
            row["appeal_lodged_on"] = day_of(lodged)
            row["appeal_decided_on"] = day_of(ruled)
            row["appeal_decided_by_id"] = commission
            event(self._moment(lodged), clerk, "lodge_appeal", "rejected", "appeal_lodged", {})
            state = "appeal_granted" if f.appeal == "granted" else "appeal_dismissed"
            last = event(self._moment(ruled), commission, "decide_appeal", "appeal_lodged",
                         state, {"outcome": f.appeal})  # fmt: skip
            since = ruled

        # The card (valid 1 year), then the file closed.
        if f.state in {"card_issued", "closed"} and state in {"accepted", "appeal_granted"}:
            issued = self._workday(since + between(10, 75))
            self.cards[f.office] += 1
            number = f"IMM14-{f.office}-{self.cards[f.office]:06d}"
            row["card_number"] = number
            row["card_issued_on"] = day_of(issued)
            row["card_expires_on"] = day_of(issued + 365)
            last = event(self._moment(issued), clerk, "issue_card", state, "card_issued",
                         {"card_number": number})  # fmt: skip
            state, since = "card_issued", issued
        if f.state == "closed":
            closed = self._workday(since + between(5, 90))
            row["closed_on"] = day_of(closed)
            last = event(self._moment(closed), clerk, "close", state, "closed", {})
            state = "closed"
        assert state == f.state, (state, f.state)
        row["updated_at"] = last
        cases.append(row)


def _update_counters(connection, counters: Counter[str]) -> None:
    table = ReferenceCounter.__table__
    existing = dict(
        connection.execute(
            select(table.c.prefix, table.c.last_number).where(table.c.prefix.in_(list(counters)))
        ).all()
    )
    new = [{"prefix": p, "last_number": n} for p, n in counters.items() if p not in existing]
    if new:
        connection.execute(table.insert(), new)
    for prefix, number in counters.items():
        if prefix in existing:
            connection.execute(
                table.update()
                .where(table.c.prefix == prefix)
                .values(last_number=max(number, existing[prefix]))
            )
