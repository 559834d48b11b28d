"""Referrals and assistance for bench.generate's people: the rows the programme indicators
(`GET /api/v1/stats/programmes`) count.

bench.generate makes offices, people and case files only; without this step the programme
figures are all 0 and their benchmark only measures the fixed cost of a request. Added once to
a generated database (a no-op when `referrals` already has rows), deterministically (seeded):

* eight partner NGOs in six regions (Rabat's region and Casablanca's hold two each), each
  offering a subset of the active services (`provider_services`);
* 200,000 referrals of people drawn from a pool of 135,000 (104,333 distinct people at the
  default seed, about 1.9 referrals each), over the active services with
  unequal weights (legal aid, primary care, emergency aid, language courses... more often),
  sent by the foreigners' offices (85 %) or by another NGO, created 2015 to 2026-11-01 in id
  order; states sent 8 %, accepted 7 %, in progress 13 %, completed 45 %, declined 9 %,
  closed without service 11 %, cancelled 7 %, with the matching response and closing dates;
  one consent per referral (given to the provider the day it was sent);
* assistance records: one to four per completed referral, one or two per referral in
  progress, 45,000 walk-ins given by an NGO without a referral, and 2 % corrections (a new
  record pointing at the one it corrects, which the indicators then count once): 316,200 in
  all at the default seed (6,196 corrections), for 117,128 people.

Inserted like bench.generate inserts people and cases: Core `insert()` executemany (COPY on
PostgreSQL unless `--no-copy`), in batches, with PostgreSQL's foreign-key triggers off for the
session (rows consistent by construction), then the id sequences set and `ANALYZE`.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Connection, func, select, text

REFERRALS = 200_000
REFERRED_PEOPLE = 135_000
WALK_INS = 45_000
CORRECTED_SHARE = 0.02
BATCH = 20_000
FIRST_DAY = date(2015, 1, 1)
LAST_DAY = date(2026, 11, 1)

# Partner NGOs: code, name, prefecture (their region is the prefecture's).
NGOS = (
    ("NGO-RAB1", "Association d'aide aux migrants (Rabat)", "RAB"),
    ("NGO-RAB2", "Fondation Orient-Occident (Rabat, bench)", "RAB"),
    ("NGO-CAS1", "Caritas Casablanca (bench)", "CAS"),
    ("NGO-CAS2", "Association Solidarité Casablanca (bench)", "CAS"),
    ("NGO-TNG1", "Association Tanger Accueil (bench)", "TNG"),
    ("NGO-OUJ1", "Comité d'entraide Oujda (bench)", "OUJ"),
    ("NGO-FES1", "Association Fès Solidaire (bench)", "FES"),
    ("NGO-AGA1", "Association Souss Accueil (bench)", "AGA"),
)
# Services asked for more often than the others (weight; the rest weigh 1).
SERVICE_WEIGHTS = {
    "legal_aid": 8, "primary_care": 8, "emergency_humanitarian_aid": 7, "language_courses": 6,
    "school_enrolment": 5, "anapec_job_search": 4, "ofppt_training": 3, "ramed_enrolment": 3,
    "maternal_health": 3, "vaccination": 3, "emergency_shelter": 2, "intercultural_mediation": 2,
}  # fmt: skip
# state: (share, responded, closed)
STATES = {
    "sent": (8, False, False),
    "accepted": (7, True, False),
    "in_progress": (13, True, False),
    "completed": (45, True, True),
    "declined": (9, True, True),
    "closed_without_service": (11, True, True),
    "cancelled": (7, False, True),
}
UNITS = ("session", "kit", "consultation", "night", "MAD")

NGO_COLUMNS = ("id", "name", "code", "kind", "prefecture_code", "region_code", "active",
               "created_at", "updated_at")  # fmt: skip
OFFER_COLUMNS = ("organisation_id", "service_code", "region_codes", "capacity", "active")
CONSENT_COLUMNS = ("id", "person_id", "scope", "purpose", "given_on", "given_to_id",
                   "shared_vulnerabilities", "recorded_by_id", "recorded_at",
                   "withdrawn_on")  # fmt: skip
REFERRAL_COLUMNS = ("id", "person_id", "include_household", "service_code", "provider_id",
                    "sender_organisation_id", "sent_by_id", "consent_id", "purpose", "urgency",
                    "due_date", "state", "decline_reason", "outcome", "responded_at",
                    "closed_at", "version", "created_at", "updated_at")  # fmt: skip
RECORD_COLUMNS = ("id", "person_id", "referral_id", "provider_id", "service_code", "given_on",
                  "quantity", "unit", "place", "outcome", "notes", "recorded_by_id",
                  "recorded_at", "corrects_id", "batch")  # fmt: skip

Insert = Callable[[Connection, object, tuple, list[tuple]], None]


def _at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


class ProgrammeRows:
    """Makes the NGO, consent, referral and assistance rows from one seeded generator."""

    def __init__(self, seed: int, people: int, first_ngo: int, services: list[str],
                 offices: list[int], caseworkers: dict[int, list[int]]) -> None:  # fmt: skip
        self.rng = random.Random(seed * 7 + 5)
        self.people = people
        # The volumes above are for a million people; a smaller database gets its share (the
        # million-file bench is unchanged), so that the bench runs at any --cases.
        share = min(1.0, people / 1_000_000)
        self.total = max(1, round(REFERRALS * share))
        self.referred_people = min(people, max(1, round(REFERRED_PEOPLE * share)))
        self.walk_ins = round(WALK_INS * share)
        self.services = services
        self.offices = offices
        self.caseworkers = caseworkers
        self.ngo_ids = list(range(first_ngo, first_ngo + len(NGOS)))
        # Each NGO offers about half of the services; every service has a provider.
        self.offers: dict[str, list[int]] = {code: [] for code in services}
        for position, code in enumerate(services):
            for ngo in self.ngo_ids:
                if self.rng.random() < 0.5 or ngo == self.ngo_ids[position % len(self.ngo_ids)]:
                    self.offers[code].append(ngo)
        self.weights = [SERVICE_WEIGHTS.get(code, 1) for code in services]

    def offer_rows(self, regions: dict[int, str]) -> list[tuple]:
        return [
            (ngo, code, [regions[ngo]], None, True)
            for code, ngos in self.offers.items()
            for ngo in ngos
        ]

    def referrals(self, batch: int) -> Iterator[tuple[list[tuple], list[tuple], list[tuple]]]:
        """(consents, referrals, assistance records) per batch of `batch` referrals."""
        rng = self.rng
        referred = rng.sample(range(1, self.people + 1), self.referred_people)
        span = (LAST_DAY - FIRST_DAY).days
        # Sorted dates: ids grow with the day a referral was sent, as they would.
        days = sorted(rng.randrange(span) for _ in range(self.total))
        states = list(STATES)
        shares = [STATES[s][0] for s in states]
        record_id = 0
        consents: list[tuple] = []
        referrals: list[tuple] = []
        records: list[tuple] = []
        for number, offset in enumerate(days, start=1):
            person = rng.choice(referred)
            service = rng.choices(self.services, self.weights)[0]
            provider = rng.choice(self.offers[service])
            if rng.random() < 0.85:
                sender = rng.choice(self.offices)
                sent_by = rng.choice(self.caseworkers[sender])
            else:
                sender = rng.choice([n for n in self.ngo_ids if n != provider])
                sent_by = None
            sent_on = FIRST_DAY + timedelta(days=offset)
            state = rng.choices(states, shares)[0]
            _share, responded, closed = STATES[state]
            responded_on = sent_on + timedelta(days=rng.randint(1, 10)) if responded else None
            closed_on = (responded_on or sent_on) + timedelta(days=rng.randint(5, 120))
            closed_on = min(closed_on, LAST_DAY) if closed else None
            consents.append((number, person, "referral", f"Orientation: {service}", sent_on,
                             provider, [], sent_by, _at(sent_on, 9), None))  # fmt: skip
            referrals.append((
                number, person, rng.random() < 0.1, service, provider, sender, sent_by, number,
                f"Orientation: {service}", rng.choices(("low", "normal", "high", "emergency"),
                (10, 70, 15, 5))[0], sent_on + timedelta(days=30), state,
                "Capacité atteinte" if state == "declined" else None,
                "Service rendu" if state == "completed" else None,
                _at(responded_on) if responded_on else None,
                _at(closed_on, 16) if closed_on else None, 1, _at(sent_on),
                _at(closed_on or responded_on or sent_on, 16),
            ))  # fmt: skip
            given = {"completed": rng.randint(1, 4), "in_progress": rng.randint(1, 2)}
            start = responded_on or sent_on
            for _ in range(given.get(state, 0)):
                record_id += 1
                on = min(start + timedelta(days=rng.randint(0, 90)), LAST_DAY)
                records.append(self._record(record_id, person, number, provider, service, on))
            if number % batch == 0 or number == self.total:
                # The walk-ins (no referral) and corrections of this batch's records.
                for _ in range(self.walk_ins * len(referrals) // self.total):
                    record_id += 1
                    on = FIRST_DAY + timedelta(days=rng.randrange(span))
                    service = rng.choices(self.services, self.weights)[0]
                    provider = rng.choice(self.offers[service])
                    person = rng.randint(1, self.people)
                    records.append(self._record(record_id, person, None, provider, service, on))
                for corrected in rng.sample(records, int(len(records) * CORRECTED_SHARE)):
                    record_id += 1
                    row = list(corrected)
                    row[0], row[6], row[13] = record_id, Decimal(rng.randint(1, 5)), corrected[0]
                    records.append(tuple(row))
                yield consents, referrals, records
                consents, referrals, records = [], [], []

    def _record(self, record_id: int, person: int, referral: int | None, provider: int,
                service: str, on: date) -> tuple:  # fmt: skip
        rng = self.rng
        return (record_id, person, referral, provider, service, on,
                Decimal(rng.randint(1, 20)), rng.choice(UNITS), None, None, None, None,
                _at(on, 15), None, None)  # fmt: skip


def fill_programmes(engine, *, seed: int, insert: Insert, batch: int = BATCH) -> dict[str, int]:
    """Add the NGOs, consents, referrals and assistance records (a no-op when `referrals` has
    rows). Returns the number of rows added per table."""
    from bench.generate import _try_replica_role
    from casework.admin.models import Organisation
    from casework.auth.models import User
    from casework.people.models import Person
    from casework.reference.models import Prefecture, Service
    from casework.services.models import AssistanceRecord, Consent, ProviderService, Referral

    dialect = engine.dialect.name
    added = {"organisations": 0, "consents": 0, "referrals": 0, "assistance_records": 0}
    with engine.connect() as connection:
        if connection.scalar(select(func.count()).select_from(Referral.__table__)):
            return added
        started = time.perf_counter()
        if dialect == "postgresql":
            _try_replica_role(connection)
        else:
            connection.exec_driver_sql("PRAGMA synchronous=OFF")
        people = connection.scalar(select(func.max(Person.id)))
        first_ngo = connection.scalar(select(func.max(Organisation.id))) + 1
        services = list(connection.scalars(
            select(Service.code).where(Service.active.is_(True)).order_by(Service.code)
        ))  # fmt: skip
        offices = list(connection.scalars(
            select(Organisation.id).where(Organisation.kind == "foreigners_office")
            .order_by(Organisation.id)
        ))  # fmt: skip
        caseworkers: dict[int, list[int]] = {office: [] for office in offices}
        for user_id, office in connection.execute(
            select(User.id, User.organisation_id).where(User.role == "caseworker")
        ):
            caseworkers.setdefault(office, []).append(user_id)
        regions = dict(connection.execute(select(Prefecture.code, Prefecture.region_code)).all())
        rows = ProgrammeRows(seed, people, first_ngo, services, offices, caseworkers)
        now = _at(FIRST_DAY)
        ngos = [
            (ngo_id, name, code, "ngo", prefecture, regions[prefecture], True, now, now)
            for ngo_id, (code, name, prefecture) in zip(rows.ngo_ids, NGOS, strict=True)
        ]
        insert(connection, Organisation.__table__, NGO_COLUMNS, ngos)
        ngo_regions = {row[0]: row[5] for row in ngos}
        insert(connection, ProviderService.__table__, OFFER_COLUMNS, rows.offer_rows(ngo_regions))
        added["organisations"] = len(ngos)
        for consents, referrals, records in rows.referrals(batch):
            insert(connection, Consent.__table__, CONSENT_COLUMNS, consents)
            insert(connection, Referral.__table__, REFERRAL_COLUMNS, referrals)
            insert(connection, AssistanceRecord.__table__, RECORD_COLUMNS, records)
            connection.commit()
            added["consents"] += len(consents)
            added["referrals"] += len(referrals)
            added["assistance_records"] += len(records)
            print(f"  [{dialect}] {added['referrals']:>9,} referrals, "
                  f"{added['assistance_records']:>9,} assistance records "
                  f"{time.perf_counter() - started:6.1f} s", file=sys.stderr)  # fmt: skip
        if dialect == "postgresql":
            connection.exec_driver_sql("RESET session_replication_role")
            for table in ("organisations", "provider_services", "consents", "referrals",
                          "assistance_records"):  # fmt: skip
                connection.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                         f"(SELECT max(id) FROM {table}))")
                )  # fmt: skip
        connection.commit()
    # Written with Core: the programme reach table is recounted once, as the loaders do.
    from casework.reports import reach

    with engine.connect() as connection:
        reach.rebuild(connection)
        connection.commit()
    tables = ("organisations", "provider_services", "consents", "referrals", "assistance_records",
              "programme_reach")  # fmt: skip
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in tables:
            connection.exec_driver_sql(f"ANALYZE {table}")
    return added
