"""Generate N synthetic case files (default 1,000,000) with their applicants, fast.

    python -m bench.generate --cases 1000000 --database sqlite|postgresql|both

The database is built by the project's migrations (`flask_migrate.upgrade()`) and loaded with
the reference data (`casework.reference.loader.load_all()`); then five foreigners' offices (RAB,
CAS, TNG, OUJ, FES), a dozen caseworkers and two supervisors are added, and the cases and people
are inserted with SQLAlchemy Core bulk inserts (`connection.execute(table.insert(), rows)`, in
batches) or, on PostgreSQL, with COPY through psycopg. No ORM object is built.

Deterministic: the same seed and count give the same rows on every machine and database.
The spread is meant to look like a real registry: regularisation files in the windows of the
three exceptional operations (2014, 2017, 2026), asylum files growing year on year, renewals
of issued cards from 2015; old files mostly decided or closed, recent ones open; most files
assigned to one of their office's caseworkers.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from importlib.resources import files

from flask import Flask
from sqlalchemy import Connection, func, select, text

from bench.databases import (
    DATABASES,
    Unreachable,
    create_bench_app,
    database_url,
    ensure_postgres_database,
    safe_url,
    sqlite_file,
)

DEFAULT_CASES = 1_000_000
DEFAULT_BATCH = 20_000
SEED = 20261101
TODAY = date(2026, 11, 1)  # fixed, so that the data does not drift between runs

# Offices: code, share of the files.
OFFICES = (("RAB", 30), ("CAS", 23), ("TNG", 17), ("OUJ", 15), ("FES", 15))
OFFICE_NAMES = {
    "RAB": "Bureau des étrangers — Préfecture de Rabat",
    "CAS": "Bureau des étrangers — Préfecture de Casablanca",
    "TNG": "Bureau des étrangers — Préfecture de Tanger-Assilah",
    "OUJ": "Bureau des étrangers — Préfecture d'Oujda-Angad",
    "FES": "Bureau des étrangers — Préfecture de Fès",
}
# Caseworkers: office, login, share of the office's assigned files.
CASEWORKERS = (
    ("RAB", "karima", 45), ("RAB", "hamza", 35), ("RAB", "salma", 20),
    ("CAS", "youssef", 40), ("CAS", "imane", 35), ("CAS", "reda", 25),
    ("TNG", "nabil", 60), ("TNG", "sara", 40),
    ("OUJ", "omar", 55), ("OUJ", "houda", 45),
    ("FES", "adil", 50), ("FES", "laila", 50),
)  # fmt: skip
EMAIL_DOMAIN = "bench.test"
# The accounts the queue benchmark signs in as.
BENCH_CASEWORKER = f"karima.rab@{EMAIL_DOMAIN}"
NATIONAL_SUPERVISOR = f"supervisor.national@{EMAIL_DOMAIN}"
REGIONAL_SUPERVISOR = f"supervisor.rab@{EMAIL_DOMAIN}"  # the region of the Rabat office

KINDS = ("regularisation", "asylum", "renewal")
KIND_WEIGHTS = (50, 30, 20)
KIND_PREFIX = {"regularisation": "REG", "asylum": "ASY", "renewal": "REN"}
RENEWALS_FROM = date(2015, 1, 1)

# States by kind, for files filed within the last year (open) and before (mostly settled).
RECENT_STATES = {
    "regularisation": {
        "filed": 18, "under_review": 25, "information_requested": 12, "decision_proposed": 8,
        "accepted": 7, "rejected": 6, "appeal_lodged": 4, "appeal_granted": 1,
        "appeal_dismissed": 2, "card_issued": 12, "closed": 2, "withdrawn": 3,
    },
    "asylum": {
        "registered": 15, "pre_screening": 15, "certificate_issued": 20,
        "interview_scheduled": 12, "interviewed": 10, "decision_proposed": 6, "recognised": 4,
        "rejected": 5, "appeal_lodged": 4, "referred_to_bra": 3, "pending_bra": 3, "withdrawn": 3,
    },
    "renewal": {
        "filed": 20, "under_review": 25, "information_requested": 10, "decision_proposed": 8,
        "accepted": 7, "rejected": 4, "card_issued": 20, "closed": 3, "withdrawn": 3,
    },
}  # fmt: skip
SETTLED_STATES = {
    "regularisation": {
        "closed": 50, "card_issued": 25, "rejected": 8, "appeal_dismissed": 7, "withdrawn": 6,
        "appeal_granted": 1, "accepted": 1, "under_review": 1, "information_requested": 1,
    },
    "asylum": {
        "closed": 30, "card_issued": 20, "rejected": 12, "appeal_dismissed": 10,
        "withdrawn": 10, "certificate_issued": 5, "pending_bra": 5, "recognised": 3,
        "referred_to_bra": 3, "interviewed": 2,
    },
    "renewal": {"closed": 45, "card_issued": 40, "rejected": 5, "withdrawn": 8, "under_review": 2},
}  # fmt: skip
DECIDED = {
    "accepted", "rejected", "appeal_lodged", "appeal_granted", "appeal_dismissed", "card_issued",
    "closed", "recognised", "referred_to_bra", "pending_bra",
}  # fmt: skip
WITH_CARD = {"card_issued", "closed"}
UNFAVOURABLE = {"rejected", "appeal_lodged", "appeal_dismissed"}
NEW_STATES = {"filed", "registered"}

PERSON_COLUMNS = (
    "id", "family_name", "given_names", "family_name_ar", "given_names_ar", "sex",
    "date_of_birth", "date_of_birth_approximate", "nationality", "languages", "phone",
    "prefecture_code", "unaccompanied_minor", "pregnant", "serious_illness", "disability",
    "trafficking_victim", "organisation_id", "search_text", "version", "created_at", "updated_at",
)  # fmt: skip
CASE_COLUMNS = (
    "id", "reference", "kind", "operation_code", "category_code", "applicant_id", "office_id",
    "assigned_to_id", "state", "deadline_on", "deadline_kind", "filed_on", "decided_on",
    "notified_on", "card_number", "card_issued_on", "card_expires_on", "closed_on",
    "proposed_outcome", "proposed_reasons", "proposed_by_id", "first_instance_outcome",
    "renewal_of_id", "version", "created_at", "updated_at",
)  # fmt: skip
# Statistics dimensions fixed at filing (migration 0004), filled when the model has them.
STATS_COLUMNS = (
    "region_code", "applicant_sex", "applicant_nationality", "applicant_age_band",
    "processing_days",
)  # fmt: skip
# Written as JSON text by COPY (bench.programmes_data's tables have the last two).
JSON_COLUMNS = {"languages", "proposed_reasons", "region_codes", "shared_vulnerabilities"}


def check_columns() -> None:
    """Refuse to start when the model has a NOT NULL column the generator does not fill: the
    schema moved on and the generator must learn it (nullable ones are left NULL)."""
    from casework.cases.models import Case
    from casework.people.models import Person

    for table, filled in ((Case.__table__, case_columns()), (Person.__table__, PERSON_COLUMNS)):
        missing = [
            column.name
            for column in table.columns
            if not column.nullable and column.server_default is None and column.name not in filled
        ]
        if missing:
            raise SystemExit(f"bench.generate does not fill {table.name}.{', '.join(missing)}")


def case_columns() -> tuple[str, ...]:
    """The columns the generator fills: the base ones, plus those of the statistics
    dimensions the current model has (the schema moves; the generator follows)."""
    from casework.cases.models import Case

    present = set(Case.__table__.columns.keys())
    return CASE_COLUMNS + tuple(name for name in STATS_COLUMNS if name in present)


@dataclass
class Report:
    database: str
    cases: int = 0
    people: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(self.seconds.values())

    def describe(self) -> str:
        phases = ", ".join(f"{name} {secs:.1f} s" for name, secs in self.seconds.items())
        rate = self.cases / self.total if self.total else 0
        return (
            f"[{self.database}] generated {self.cases:,} cases and {self.people:,} people in "
            f"{self.total:.1f} s ({rate:,.0f} cases/s): {phases}"
        )


# --- Reference material -------------------------------------------------------------------


def _operations() -> list[dict]:
    from casework.reference.loader import read_data

    return read_data("operations.json")


def _names() -> list[dict]:
    text_ = files("casework.demo").joinpath("data", "names.json").read_text("utf-8")
    return json.loads(text_)["nationalities"]


@lru_cache(maxsize=200_000)
def _search_text(family: str, given: str, family_ar: str, given_ar: str) -> str:
    from casework.people.normalise import fold

    return fold(f"{family} {given} {family_ar} {given_ar}")[:600]


# --- Schema, organisations and accounts ---------------------------------------------------


def reset_database(app: Flask) -> None:
    """An empty database migrated to head, with the reference data."""
    from flask_migrate import upgrade

    from casework.extensions import db
    from casework.reference.loader import load_all

    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
        upgrade()
        load_all()
        db.session.commit()
        db.session.remove()


def _insert_staff(connection: Connection) -> tuple[dict, dict, dict]:
    """Offices, caseworkers and supervisors. Returns office ids, caseworkers by office and the
    offices' regions."""
    from casework.admin.models import Organisation, OrganisationKind
    from casework.auth.models import User
    from casework.reference.models import Prefecture

    now = datetime(2013, 12, 1, tzinfo=UTC)
    regions = dict(connection.execute(select(Prefecture.code, Prefecture.region_code)).all())
    organisations = [
        {
            "id": 1, "name": "Administration centrale (bench)", "code": "ADM",
            "kind": OrganisationKind.PUBLIC_SERVICE.value, "prefecture_code": None,
            "region_code": None, "active": True, "created_at": now, "updated_at": now,
        }
    ]  # fmt: skip
    office_ids = {}
    for number, (code, _share) in enumerate(OFFICES, start=2):
        office_ids[code] = number
        organisations.append(
            {
                "id": number, "name": OFFICE_NAMES[code], "code": code,
                "kind": OrganisationKind.FOREIGNERS_OFFICE.value, "prefecture_code": code,
                "region_code": regions[code], "active": True, "created_at": now,
                "updated_at": now,
            }
        )  # fmt: skip
    connection.execute(Organisation.__table__.insert(), organisations)

    def account(user_id, email, name, role, organisation_id, region=None):
        return {
            "id": user_id, "email": email, "name": name, "role": role,
            "organisation_id": organisation_id, "region_code": region, "active": True,
            # Not a hash of anything: nobody signs in to the benchmark database.
            "password_hash": "!bench-no-sign-in", "failed_signins": 0,
            "preferred_language": "fr", "session_version": 1, "created_at": now,
            "updated_at": now,
        }  # fmt: skip

    users = [
        account(1, NATIONAL_SUPERVISOR, "National supervisor", "supervisor", 1),
        account(2, REGIONAL_SUPERVISOR, "Regional supervisor", "supervisor", 1, regions["RAB"]),
    ]
    caseworkers: dict[str, list[tuple]] = {code: [] for code, _ in OFFICES}
    for user_id, (office, login, share) in enumerate(CASEWORKERS, start=3):
        email = f"{login}.{office.lower()}@{EMAIL_DOMAIN}"
        users.append(account(user_id, email, login.title(), "caseworker", office_ids[office]))
        caseworkers[office].append((user_id, share))
    connection.execute(User.__table__.insert(), users)
    return office_ids, caseworkers, {code: regions[code] for code, _ in OFFICES}


# --- The rows -----------------------------------------------------------------------------


class Generator:
    """Makes the people and case rows, in filing order (ids grow with the filing date)."""

    def __init__(
        self, cases: int, seed: int, office_ids: dict, caseworkers: dict, regions: dict
    ) -> None:
        self.n = cases
        self.regions = regions
        self.stats = len(case_columns()) - len(CASE_COLUMNS)
        self.age_band = _age_band_function()
        self.rng = random.Random(seed)
        self.office_codes = [code for code, _ in OFFICES]
        self.office_ids = office_ids
        self.caseworkers = {
            code: ([uid for uid, _ in staff], [share for _, share in staff])
            for code, staff in caseworkers.items()
        }
        self.nationalities = _names()
        operations = _operations()
        self.regularisations = [
            (
                op["code"],
                date.fromisoformat(op["opens_on"]).toordinal(),
                date.fromisoformat(op["closes_on"] or TODAY.isoformat()).toordinal(),
                [c["code"] for c in op.get("categories", [])],
            )
            for op in operations
            if op["kind"] == "regularisation"
        ]
        self.asylum_operation = next(op["code"] for op in operations if op["kind"] == "asylum")
        self.counters: dict[str, int] = {}
        # Issued cards not yet renewed: (case id, applicant, office code, operation, category)
        # where applicant is (person id, sex, nationality, born ordinal)
        self.cards: list[tuple] = []
        self.people = 0

    def _filing_plan(self) -> list[int]:
        """(filed_on ordinal, kind, operation) of every file, packed in ints, sorted by date."""
        rng = self.rng
        first, last = date(2014, 1, 1).toordinal(), TODAY.toordinal()
        renewals_from = RENEWALS_FROM.toordinal()
        kinds = rng.choices(range(len(KINDS)), weights=KIND_WEIGHTS, k=self.n)
        plan = []
        for kind in kinds:
            operation = 0
            if kind == 0:  # regularisation, inside one operation's window
                operation = int(rng.random() * len(self.regularisations))
                _, opens, closes, _ = self.regularisations[operation]
                day = opens + int(rng.random() * (closes - opens + 1))
            elif kind == 1:  # asylum, growing year on year
                u = rng.random() if rng.random() < 0.5 else rng.random() ** 0.5
                day = first + int(u * (last - first + 1))
            else:  # renewal of a card
                day = renewals_from + int(rng.random() * (last - renewals_from + 1))
            plan.append((min(day, last) << 8) | (kind << 4) | operation)
        plan.sort()
        return plan

    def batches(self, size: int) -> Iterator[tuple[list[tuple], list[tuple]]]:
        """Yield (people rows, case rows) per batch of `size` cases, in column order."""
        rng = self.rng
        plan = self._filing_plan()
        offices = rng.choices(self.office_codes, weights=[w for _, w in OFFICES], k=self.n)
        origins = rng.choices(
            self.nationalities, weights=[n["weight"] for n in self.nationalities], k=self.n
        )
        today = TODAY.toordinal()
        people: list[tuple] = []
        cases: list[tuple] = []
        for case_id, packed in enumerate(plan, start=1):
            filed = packed >> 8
            kind = KINDS[(packed >> 4) & 0xF]
            operation = packed & 0xF
            office = offices[case_id - 1]
            renewal_of = None
            applicant = None
            category = None
            if kind == "renewal" and self.cards:
                index = int(rng.random() * len(self.cards))
                self.cards[index], self.cards[-1] = self.cards[-1], self.cards[index]
                renewal_of, applicant, office, operation_code, category = self.cards.pop()
            elif kind == "asylum":
                operation_code = self.asylum_operation
            else:
                operation_code, _, _, categories = self.regularisations[operation]
                category = categories[int(rng.random() * len(categories))]
            if applicant is None:
                applicant = self._person(people, origins[case_id - 1], office, filed)
            # applicant: (person id, sex, nationality, born ordinal)
            cases.append(
                self._case(case_id, kind, operation_code, category, applicant, office, filed,
                           today, renewal_of)
            )  # fmt: skip
            if len(cases) >= size:
                yield people, cases
                people, cases = [], []
        if cases:
            yield people, cases

    def _person(self, rows: list, origin: dict, office: str, filed: int) -> tuple:
        rng = self.rng
        self.people += 1
        person_id = self.people
        sex = "F" if rng.random() < 0.42 else "M"
        # Mostly young adults; some children.
        if rng.random() < 0.12:
            age = 1 + int(rng.random() * 17)
        else:
            age = 18 + int(rng.random() ** 1.7 * 45)
        given = rng.choice(origin["given_female" if sex == "F" else "given_male"])
        family = rng.choice(origin["family"])
        born = date.fromordinal(filed - age * 365 - int(rng.random() * 365))
        approximate = rng.random() < 0.12
        if approximate:
            born = date(born.year, 1, 1)
        languages = origin["languages"][: 1 + int(rng.random() * len(origin["languages"]))]
        phone = (
            f"+2126{10_000_000 + int(rng.random() * 89_999_999)}" if rng.random() < 0.8 else None
        )
        at = datetime.fromordinal(filed).replace(tzinfo=UTC) + timedelta(
            minutes=480 + int(rng.random() * 540)
        )
        rows.append(
            (
                person_id, family[0], given[0], family[1], given[1], sex, born, approximate,
                origin["code"], languages, phone, office, age < 18 and rng.random() < 0.3,
                sex == "F" and 18 <= age <= 40 and rng.random() < 0.06, rng.random() < 0.03,
                rng.random() < 0.02, rng.random() < 0.01, self.office_ids[office],
                _search_text(family[0], given[0], family[1], given[1]), 1, at, at,
            )
        )  # fmt: skip
        return person_id, sex, origin["code"], born.toordinal()

    def _state(self, kind: str, age: int) -> str:
        table = RECENT_STATES[kind] if age <= 365 else SETTLED_STATES[kind]
        return _pick(self.rng.random(), *_cumulative(kind, age <= 365, table))

    def _case(self, case_id, kind, operation_code, category, applicant, office, filed, today,
              renewal_of) -> tuple:  # fmt: skip
        rng = self.rng
        state = self._state(kind, today - filed)
        filed_on = date.fromordinal(filed)
        prefix = f"{KIND_PREFIX[kind]}-{filed_on.year}-{office}"
        number = self.counters.get(prefix, 0) + 1
        self.counters[prefix] = number
        staff, shares = self.caseworkers[office]
        assigned = None
        if rng.random() < (0.3 if state in NEW_STATES else 0.85):
            assigned = rng.choices(staff, weights=shares)[0]
        deadline_on = deadline_kind = decided_on = notified_on = None
        card_number = card_issued_on = card_expires_on = closed_on = None
        proposed_outcome = proposed_by = first_outcome = None
        reasons: list[str] = []
        room = max(today - filed, 1)
        if state in DECIDED:
            decided = filed + min(room, 30 + int(rng.random() * 240))
            decided_on = date.fromordinal(decided)
            notified_on = date.fromordinal(min(decided + 7, today))
            first_outcome = "unfavourable" if state in UNFAVOURABLE else "favourable"
            if state == "rejected":
                deadline_on, deadline_kind = decided_on + timedelta(days=30), "appeal_window"
            if state in WITH_CARD and (kind != "asylum" or rng.random() < 0.5):
                card_issued_on = date.fromordinal(min(decided + 20, today))
                validity = 1095 if kind == "renewal" else 365
                card_expires_on = card_issued_on + timedelta(days=validity)
                card_number = f"{office}{case_id:09d}"
                if kind != "asylum":
                    self.cards.append((case_id, applicant, office, operation_code, category))
            if state == "closed":
                closed_on = date.fromordinal(min(decided + 30 + int(rng.random() * 400), today))
        elif state == "information_requested":
            deadline_on = date.fromordinal(filed + min(room, 30) + int(rng.random() * 60))
            deadline_kind = "information"
        elif state == "decision_proposed":
            proposed_outcome = "favourable" if rng.random() < 0.7 else "unfavourable"
            reasons = ["meets_category_conditions" if proposed_outcome == "favourable"
                       else "conditions_not_met"]  # fmt: skip
            proposed_by = assigned
        elif state == "withdrawn":
            closed_on = date.fromordinal(filed + min(room, int(rng.random() * 200)))
        at = datetime.fromordinal(filed).replace(tzinfo=UTC) + timedelta(
            minutes=480 + int(rng.random() * 540)
        )
        person_id, sex, nationality, born = applicant
        row = (
            case_id, f"{prefix}-{number:06d}", kind, operation_code, category, person_id,
            self.office_ids[office], assigned, state, deadline_on, deadline_kind, filed_on,
            decided_on, notified_on, card_number, card_issued_on, card_expires_on, closed_on,
            proposed_outcome, reasons, proposed_by, first_outcome, renewal_of, 1, at, at,
        )  # fmt: skip
        if not self.stats:
            return row
        born_on = date.fromordinal(born)
        age = filed_on.year - born_on.year - ((filed_on.month, filed_on.day) <
                                              (born_on.month, born_on.day))  # fmt: skip
        processing = (decided_on - filed_on).days if decided_on else None
        stats = (self.regions[office], sex, nationality, self.age_band(age), processing)
        return row + stats[: self.stats]


_CUMULATIVE: dict[tuple[str, bool], tuple[list[str], list[float]]] = {}


def _age_band_function():
    try:
        from casework.cases.models import age_band
    except ImportError:  # an older model: no statistics dimensions
        return lambda _age: None
    return age_band


def _cumulative(kind: str, recent: bool, table: dict[str, int]) -> tuple[list[str], list[float]]:
    key = (kind, recent)
    if key not in _CUMULATIVE:
        total = sum(table.values())
        running, bounds = 0, []
        for weight in table.values():
            running += weight
            bounds.append(running / total)
        _CUMULATIVE[key] = (list(table), bounds)
    return _CUMULATIVE[key]


def _pick(u: float, names: list[str], bounds: list[float]) -> str:
    for name, bound in zip(names, bounds, strict=True):
        if u < bound:
            return name
    return names[-1]


# --- Inserting ----------------------------------------------------------------------------


def _insert_core(connection: Connection, table, columns: tuple, rows: list[tuple]) -> None:
    connection.execute(table.insert(), [dict(zip(columns, row, strict=True)) for row in rows])


def _insert_copy(connection: Connection, table, columns: tuple, rows: list[tuple]) -> None:
    json_at = [i for i, name in enumerate(columns) if name in JSON_COLUMNS]
    cursor = connection.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            if json_at:
                row = list(row)
                for i in json_at:
                    row[i] = json.dumps(row[i])
            copy.write_row(row)
    cursor.close()


def generate(
    app: Flask, cases: int = DEFAULT_CASES, *, seed: int = SEED, batch: int = DEFAULT_BATCH,
    use_copy: bool = True, checked: bool = False, progress: bool = True,
) -> Report:  # fmt: skip
    """Rebuild the app's database from the migrations and fill it with `cases` files.

    `checked`: keep the indexes and foreign-key checks in place during the load (slower)."""
    from casework.cases.models import Case, ReferenceCounter
    from casework.extensions import db
    from casework.people.models import Person
    from casework.reports.summary import rebuild as rebuild_processing_summary

    check_columns()
    with app.app_context():
        engine = db.engine
    dialect = engine.dialect.name
    report = Report(database=dialect)
    started = time.perf_counter()
    reset_database(app)
    report.seconds["schema"] = time.perf_counter() - started

    copy = use_copy and dialect == "postgresql"
    insert = _insert_copy if copy else _insert_core
    started = time.perf_counter()
    with app.app_context(), engine.connect() as connection:
        if dialect == "sqlite":
            connection.exec_driver_sql("PRAGMA synchronous=OFF")
            connection.exec_driver_sql("PRAGMA cache_size=-262144")
        indexes = [] if checked else _secondary_indexes(connection)
        if not checked:
            # The classic bulk load: drop the secondary indexes, load, build them once.
            for name, _definition in indexes:
                connection.exec_driver_sql(f"DROP INDEX {name}")
            if dialect == "postgresql":
                # Foreign-key triggers off for this session (superuser only; rows are
                # consistent by construction, see --checked).
                _try_replica_role(connection)
        office_ids, caseworkers, regions = _insert_staff(connection)
        generator = Generator(cases, seed, office_ids, caseworkers, regions)
        columns = case_columns()
        done = 0
        for people, rows in generator.batches(batch):
            insert(connection, Person.__table__, PERSON_COLUMNS, people)
            insert(connection, Case.__table__, columns, rows)
            connection.commit()
            done += len(rows)
            if progress and (done % (batch * 10) == 0 or done == cases):
                elapsed = time.perf_counter() - started
                print(f"  [{dialect}] {done:>9,} cases  {elapsed:6.1f} s", file=sys.stderr)
        counters = [{"prefix": p, "last_number": n} for p, n in generator.counters.items()]
        connection.execute(ReferenceCounter.__table__.insert(), counters)
        if dialect == "postgresql":
            for table in ("organisations", "users", "people", "cases"):
                connection.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                         f"(SELECT max(id) FROM {table}))")
                )  # fmt: skip
        connection.commit()
        report.people = generator.people
        report.seconds["insert" + (" (COPY)" if copy else " (Core)")] = (
            time.perf_counter() - started
        )
        started = time.perf_counter()
        for _name, definition in indexes:
            connection.exec_driver_sql(definition)
        if dialect == "postgresql" and not checked:
            connection.exec_driver_sql("RESET session_replication_role")
        connection.commit()
        if indexes:
            report.seconds["indexes"] = time.perf_counter() - started
        # The processing summary (casework.reports.summary) is kept by the ORM's flushes; rows
        # loaded through Core are counted into it here, as the app's bulk loaders do.
        started = time.perf_counter()
        rebuild_processing_summary(connection)
        connection.commit()
        report.seconds["summary"] = time.perf_counter() - started
        report.cases = connection.scalar(select(func.count()).select_from(Case.__table__))

    started = time.perf_counter()
    analyse(engine)
    report.seconds["analyze"] = time.perf_counter() - started
    return report


def _secondary_indexes(connection: Connection) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of the migrations' non-unique-constraint indexes on the
    two big tables, read back from the database so that they are rebuilt exactly."""
    if connection.dialect.name == "sqlite":
        query = (
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
            "AND tbl_name IN ('cases', 'people') AND sql IS NOT NULL ORDER BY name"
        )
    else:
        query = (
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename IN ('cases', 'people') "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint) ORDER BY indexname"
        )
    return [(name, definition) for name, definition in connection.exec_driver_sql(query)]


def _try_replica_role(connection: Connection) -> None:
    from sqlalchemy.exc import DBAPIError

    try:
        with connection.begin_nested():
            connection.exec_driver_sql("SET session_replication_role = replica")
    except DBAPIError:
        print("  (not a superuser: foreign keys are checked during the load)", file=sys.stderr)


def analyse(engine) -> None:
    """Planner statistics, as a maintained database has them (autovacuum; `ANALYZE`)."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    else:
        with engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            connection.commit()


def database_state(app: Flask) -> tuple[int | None, str | None, str]:
    """(cases held or None when there is no cases table, the database's migration revision,
    the migrations' head)."""
    from alembic.script import ScriptDirectory
    from sqlalchemy import inspect

    from casework.extensions import db

    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        head = ScriptDirectory.from_config(config).get_current_head()
        tables = inspect(db.engine)
        if not (tables.has_table("alembic_version") and tables.has_table("cases")):
            return None, None, head
        with db.engine.connect() as connection:
            revision = connection.scalar(text("SELECT version_num FROM alembic_version"))
            count = connection.scalar(text("SELECT count(*) FROM cases"))
        return count, revision, head


def upgrade_in_place(app: Flask) -> None:
    """Bring a reused database to the migrations' head, as a deployment would."""
    from flask_migrate import upgrade

    from casework.extensions import db

    with app.app_context():
        upgrade()
        db.session.remove()
        analyse(db.engine)


def prepare(
    kind: str, cases: int, *, reuse: bool, sqlite_path: str | None = None,
    postgres: str | None = None, seed: int = SEED, batch: int = DEFAULT_BATCH,
    use_copy: bool = True, checked: bool = False,
) -> tuple[Flask, Report | None]:  # fmt: skip
    """An app on a database of `cases` files: with `reuse`, the existing one when its count is
    right (upgraded by the migrations when they moved on), else a freshly generated one.
    Raises Unreachable for a PostgreSQL that is down."""
    url = database_url(kind, cases, sqlite_path=sqlite_path, postgres=postgres)
    if kind == "postgresql":
        ensure_postgres_database(url)
    elif not reuse:
        _remove_sqlite(url)
    app = create_bench_app(url)
    if reuse:
        existing, revision, head = database_state(app)
        if existing == cases and revision != head and kind == "postgresql":
            print(f"[{kind}] upgrading {safe_url(url)} from {revision} to {head}")
            started = time.perf_counter()
            upgrade_in_place(app)
            print(f"[{kind}] upgraded in {time.perf_counter() - started:.1f} s")
            revision = head
        if existing == cases and revision == head:
            print(f"[{kind}] reusing {safe_url(url)} ({existing:,} cases)")
            return app, None
        if existing == cases:
            # SQLite's batch migrations copy whole tables: on a million files, regenerating
            # is much faster than upgrading in place.
            why = f"at revision {revision}, not {head}"
        else:
            why = "no usable database" if existing is None else f"{existing:,} cases"
        print(f"[{kind}] {safe_url(url)}: {why}: regenerating")
        if kind == "sqlite":
            with app.app_context():
                from casework.extensions import db

                db.engine.dispose()
            _remove_sqlite(url)
            app = create_bench_app(url)
    print(f"[{kind}] generating {cases:,} cases into {safe_url(url)}")
    report = generate(app, cases, seed=seed, batch=batch, use_copy=use_copy, checked=checked)
    print(report.describe())
    return app, report


def _remove_sqlite(url: str) -> None:
    path = sqlite_file(url)
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def add_database_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cases", type=int, default=DEFAULT_CASES, help="number of case files")
    parser.add_argument("--database", choices=(*DATABASES, "both"), default="both")
    parser.add_argument(
        "--sqlite-path", help="SQLite file (default /tmp/casework-bench/casework-bench-N.db)"
    )
    parser.add_argument(
        "--database-url",
        help="PostgreSQL URL (default $BENCH_DATABASE_URL or "
        "postgresql+psycopg://postgres@127.0.0.1:5432/casework_bench)",
    )
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--batch", type=int, default=DEFAULT_BATCH, help="rows per insert")
    parser.add_argument(
        "--no-copy", action="store_true", help="PostgreSQL: Core inserts instead of COPY"
    )
    parser.add_argument(
        "--checked",
        action="store_true",
        help="load with the indexes and foreign-key checks in place (slower)",
    )


def selected(database: str) -> tuple[str, ...]:
    return DATABASES if database == "both" else (database,)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.generate", description=__doc__.split("\n")[0]
    )
    add_database_arguments(parser)
    parser.add_argument("--reuse", action="store_true", help="keep a database of the right size")
    args = parser.parse_args(argv)
    for kind in selected(args.database):
        try:
            prepare(
                kind, args.cases, reuse=args.reuse, sqlite_path=args.sqlite_path,
                postgres=args.database_url, seed=args.seed, batch=args.batch,
                use_copy=not args.no_copy, checked=args.checked,
            )  # fmt: skip
        except Unreachable as error:
            print(f"[{kind}] skipped: {error}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
