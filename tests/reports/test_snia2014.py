"""Issue #5 item 5: `casework demo --scenario snia-2014` reproduces the 2014 regularisation.

The scenario is loaded once per database (SQLite, then PostgreSQL when a server answers) into a
fresh database of its own, through the command line, and the reports' own queries must give the
published figures exactly: 27,650 filed, 17,916 favourable at first instance, 5,180 appeals
granted, 23,096 accepted (83.53 %), 116 nationalities, the top four nationalities and old regions.
"""

from __future__ import annotations

import os
import random
import re
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from casework import create_app
from casework.admin.models import Organisation
from casework.auth.models import User
from casework.cases.models import Case, CaseEvent, ReferenceCounter, age_band
from casework.demo import snia2014
from casework.extensions import db
from casework.people.models import Person
from casework.people.normalise import fold
from casework.reference.loader import load_all, read_data
from casework.reference.models import LegacyRegion, Operation, Prefecture
from casework.reports.definitions import ACCEPTED, COUNTS
from casework.reports.queries import GROUPS, StatsFilter, acceptance
from casework.reports.summary import ProcessingCount, differences

PASSWORD = "snia 2014 demo passphrase"
POSTGRES_SERVER = os.environ.get(
    "TEST_POSTGRES_SERVER_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REGULARISATION = StatsFilter(kind="regularisation")


@dataclass
class Loaded:
    app: Flask
    output: str
    seconds: float


def _report(request: pytest.FixtureRequest, line: str) -> None:
    """Shown in the test run's output even with -q (the load time is part of the issue)."""
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if capture is None:
        print(line)
        return
    with capture.global_and_fixture_disabled():
        print(line)


def _sqlite_url(request: pytest.FixtureRequest) -> str:
    directory = request.getfixturevalue("tmp_path_factory").mktemp("snia")
    return f"sqlite:///{directory}/snia.db"


def _postgresql_url(request: pytest.FixtureRequest) -> str:
    """A throwaway database on the server, dropped after the module; skipped when unreachable."""
    server = create_engine(
        POSTGRES_SERVER, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
    )
    name = f"casework_snia_{uuid.uuid4().hex[:10]}"
    try:
        with server.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as error:
        server.dispose()
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        pytest.skip(f"PostgreSQL is unreachable at {POSTGRES_SERVER}: {reason}")

    def drop() -> None:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()

    request.addfinalizer(drop)
    return make_url(POSTGRES_SERVER).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def loaded(request: pytest.FixtureRequest) -> Iterator[Loaded]:
    """A new database (migrations and reference data), then the scenario through the CLI."""
    url = _sqlite_url(request) if request.param == "sqlite" else _postgresql_url(request)
    uploads = request.getfixturevalue("tmp_path_factory").mktemp("snia-uploads")
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url, "UPLOAD_DIR": str(uploads)})
    with app.app_context():
        upgrade()
        load_all()
        db.session.commit()
        db.session.remove()
    started = time.perf_counter()
    result = app.test_cli_runner().invoke(
        args=["demo", "--scenario", "snia-2014", "--password", PASSWORD]
    )
    seconds = time.perf_counter() - started
    assert result.exit_code == 0, result.output
    _report(request, f"\n[snia-2014] {request.param}: loaded through the CLI in {seconds:.1f} s")
    yield Loaded(app, result.output, seconds)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def ctx(loaded: Loaded) -> Iterator[Flask]:
    with loaded.app.app_context():
        yield loaded.app
        db.session.rollback()


def national_supervisor() -> User:
    return db.session.scalar(select(User).where(User.email == "supervisor@demo.test"))


def total() -> dict:
    return acceptance(national_supervisor(), REGULARISATION)["total"]


# --- The published figures ---------------------------------------------------------------------


def test_the_command_ends_with_the_summary_line(loaded: Loaded) -> None:
    summary = loaded.output.strip().splitlines()[-1]

    assert "27,650 files filed" in summary
    assert "23,096 accepted" in summary
    assert "17,916 favourable at first instance" in summary
    assert "5,180 appeals granted" in summary
    assert "83.53%" in summary


def test_the_acceptance_figures_are_the_published_ones(ctx: Flask) -> None:
    figures = total()

    assert figures["filed"] == 27_650
    assert figures["accepted"] == 23_096
    assert figures["first_instance_favourable"] == 17_916
    assert figures["appeals_granted"] == 5_180
    assert figures["appeals_dismissed"] == 4_554
    assert figures["appeals_lodged"] == 9_734
    assert figures["decided"] == 27_650
    assert figures["pending"] == figures["withdrawn"] == 0
    assert figures["acceptance_rate"] == figures["acceptance_rate_filed"] == 23_096 / 27_650
    assert round(figures["acceptance_rate"] * 100, 2) == 83.53


@pytest.mark.parametrize("group_by", GROUPS)
def test_every_breakdown_adds_up_to_the_total(ctx: Flask, group_by: str) -> None:
    table = acceptance(national_supervisor(), REGULARISATION, group_by)

    for name in COUNTS:
        assert sum(row[name] for row in table["rows"]) == table["total"][name], name


def test_116_nationalities_led_by_the_published_four(ctx: Flask) -> None:
    rows = acceptance(national_supervisor(), REGULARISATION, "nationality")["rows"]
    by_size = sorted(rows, key=lambda r: -r["filed"])

    assert len(rows) == 116
    assert {r["key"]: r["filed"] for r in by_size[:4]} == {
        "SN": 6_600,
        "SY": 5_250,
        "NG": 2_380,
        "CI": 2_281,
    }
    assert [r["key"] for r in by_size[:4]] == ["SN", "SY", "NG", "CI"]
    assert by_size[4]["filed"] < 2_281
    assert all(r["label"] != r["key"] for r in rows)  # every code is a known country


def test_the_old_regions_are_the_published_ones(ctx: Flask) -> None:
    """2014 figures use the old 16-region map: count through each office's prefecture."""
    rows = db.session.execute(
        select(Prefecture.legacy_region_code, func.count(Case.id))
        .join(Organisation, Organisation.id == Case.office_id)
        .join(Prefecture, Prefecture.code == Organisation.prefecture_code)
        .group_by(Prefecture.legacy_region_code)
        .order_by(func.count(Case.id).desc())
    ).all()
    names = dict(db.session.execute(select(LegacyRegion.code, LegacyRegion.name_fr)).all())

    assert sum(n for _, n in rows) == 27_650
    assert [(names[code], n) for code, n in rows[:4]] == [
        ("Rabat-Salé-Zemmour-Zaër", 8_198),
        ("Grand Casablanca", 6_363),
        ("Oriental", 2_730),
        ("Fès-Boulemane", 2_686),
    ]
    assert rows[4][1] < 2_686


def test_each_file_carries_the_region_of_its_office(ctx: Flask) -> None:
    mismatched = db.session.scalar(
        select(func.count(Case.id))
        .join(Organisation, Organisation.id == Case.office_id)
        .join(Prefecture, Prefecture.code == Organisation.prefecture_code)
        .where(
            (Case.region_code != Prefecture.region_code)
            | (Organisation.region_code != Prefecture.region_code)
            | (Organisation.kind != "foreigners_office")
        )
    )
    legacy = dict(
        db.session.execute(select(LegacyRegion.code, LegacyRegion.new_region_codes)).all()
    )
    pairs = db.session.execute(
        select(Prefecture.legacy_region_code, Case.region_code)
        .join(Organisation, Organisation.id == Case.office_id)
        .join(Prefecture, Prefecture.code == Organisation.prefecture_code)
        .distinct()
    ).all()

    assert mismatched == 0
    assert all(region in legacy[old] for old, region in pairs)
    # Rabat-Salé-Zemmour-Zaër's offices are in today's Rabat-Salé-Kénitra.
    assert {region for old, region in pairs if old == "L10"} == {"04"}


def test_all_women_and_children_are_accepted(ctx: Flask) -> None:
    protected = (Case.applicant_sex == "F") | (Case.applicant_age_band == "0-17")
    files = db.session.scalar(select(func.count(Case.id)).where(protected))
    refused = db.session.scalar(select(func.count(Case.id)).where(protected, ~ACCEPTED))
    on_appeal = db.session.scalar(
        select(func.count(Case.id)).where(protected, Case.appeal_outcome == "granted")
    )

    assert files == 10_178
    assert refused == 0
    assert on_appeal > 0  # some only on appeal, as the commission decided in 2014


def test_work_contracts_are_rarely_accepted(ctx: Flask) -> None:
    rows = acceptance(national_supervisor(), REGULARISATION, "category")["rows"]
    by_code = {r["key"]: r for r in rows}
    work = by_code["work_contract"]

    assert 0.02 <= work["accepted"] / work["filed"] <= 0.08
    assert max(rows, key=lambda r: r["filed"])["key"] == "residence_5_years"
    assert set(by_code) <= {c.code for c in db.session.get(Operation, "REG-2014").categories}


# --- The files themselves --------------------------------------------------------------------


def test_only_the_2014_files_were_loaded(ctx: Flask) -> None:
    kinds = db.session.execute(
        select(Case.kind, Case.operation_code, func.count()).group_by(
            Case.kind, Case.operation_code
        )
    ).all()
    referrals = db.session.scalar(text("SELECT count(*) FROM referrals"))
    people = db.session.scalar(select(func.count()).select_from(Person))

    assert kinds == [("regularisation", "REG-2014", 27_650)]
    assert referrals == 0
    assert people == 27_650
    assert db.session.scalar(select(func.count()).select_from(CaseEvent)) > 27_650 * 4


def test_the_files_are_consistent(ctx: Flask) -> None:
    columns = (
        Case.reference, Case.state, Case.filed_on, Case.decided_on, Case.notified_on,
        Case.appeal_lodged_on, Case.appeal_decided_on, Case.processing_days,
        Case.first_instance_outcome, Case.proposed_outcome, Case.proposed_reasons,
        Case.appeal_outcome, Case.card_number, Case.card_issued_on, Case.card_expires_on,
        Case.closed_on, Case.version, Case.applicant_sex, Case.applicant_nationality,
        Case.applicant_age_band, Person.sex, Person.nationality, Person.date_of_birth,
        Organisation.code,
    )  # fmt: skip
    rows = db.session.execute(
        select(*columns)
        .join(Person, Person.id == Case.applicant_id)
        .join(Organisation, Organisation.id == Case.office_id)
    ).all()
    numbers: dict[str, list[int]] = {}
    cards = []
    for r in rows:
        match = re.fullmatch(r"REG-2014-([A-Z]{3})-(\d{6})", r.reference)
        assert match and match.group(1) == r.code, r.reference
        numbers.setdefault(r.code, []).append(int(match.group(2)))
        assert date(2014, 1, 2) <= r.filed_on <= date(2014, 12, 31)
        assert r.filed_on < r.decided_on <= date(2015, 2, 28)
        assert r.processing_days == (r.decided_on - r.filed_on).days
        assert r.decided_on <= r.notified_on
        assert r.proposed_outcome == r.first_instance_outcome
        assert r.proposed_reasons and isinstance(r.proposed_reasons, list)
        assert r.version == 1
        assert (r.applicant_sex, r.applicant_nationality) == (r.sex, r.nationality)
        age = (
            r.filed_on.year
            - r.date_of_birth.year
            - ((r.filed_on.month, r.filed_on.day) < (r.date_of_birth.month, r.date_of_birth.day))
        )
        assert r.applicant_age_band == age_band(age)
        if r.first_instance_outcome == "favourable":
            assert r.appeal_lodged_on is None and r.appeal_outcome is None
            assert r.state in {"accepted", "card_issued", "closed"}
            assert r.proposed_reasons == ["meets_category_conditions"]
        else:
            assert r.notified_on < r.appeal_lodged_on <= r.notified_on + timedelta(days=30)
            assert r.appeal_decided_on.year == 2015
            assert r.appeal_lodged_on < r.appeal_decided_on
            expected = {"granted": {"appeal_granted", "card_issued"},
                        "dismissed": {"appeal_dismissed", "closed"}}  # fmt: skip
            assert r.state in expected[r.appeal_outcome]
        if r.state in {"card_issued"} or (r.state == "closed" and r.appeal_outcome is None):
            assert r.card_number and r.card_issued_on and r.card_expires_on
            assert r.card_expires_on == r.card_issued_on + timedelta(days=365)
            cards.append(r.card_number)
        else:
            assert r.card_number is None
        assert (r.closed_on is not None) == (r.state == "closed")
    counters = dict(
        db.session.execute(select(ReferenceCounter.prefix, ReferenceCounter.last_number)).all()
    )

    assert len(cards) == len(set(cards))
    for office, used in numbers.items():
        assert sorted(used) == list(range(1, len(used) + 1)), office
        assert counters[f"REG-2014-{office}"] == len(used)
    assert min(r.filed_on for r in rows) == date(2014, 1, 2)
    assert max(r.filed_on for r in rows) == date(2014, 12, 31)


def test_each_timeline_leads_to_the_files_state(ctx: Flask) -> None:
    last = (
        select(CaseEvent.case_id, func.max(CaseEvent.id).label("id"), func.count().label("n"))
        .group_by(CaseEvent.case_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Case.state, CaseEvent.to_state, last.c.n)
        .join(last, last.c.case_id == Case.id)
        .join(CaseEvent, CaseEvent.id == last.c.id)
    ).all()
    previous = func.lag(CaseEvent.at).over(partition_by=CaseEvent.case_id, order_by=CaseEvent.id)
    steps = select(CaseEvent.at.label("at"), previous.label("previous")).subquery()
    backwards = db.session.scalar(
        select(func.count()).select_from(steps).where(steps.c.at < steps.c.previous)
    )

    assert len(rows) == 27_650
    assert all(state == to_state and n >= 4 for state, to_state, n in rows)
    assert backwards == 0  # each timeline runs forward


def test_the_applicants_have_names_in_both_scripts(ctx: Flask) -> None:
    people = db.session.scalars(select(Person).order_by(Person.id).limit(2_000)).all()
    arabic = re.compile(r"[\u0600-\u06FF]")

    for person in people:
        assert person.family_name and person.given_names
        assert arabic.search(person.family_name_ar) and arabic.search(person.given_names_ar)
        names = (person.family_name, person.given_names, person.family_name_ar,
                 person.given_names_ar)  # fmt: skip
        assert person.search_text == fold(" ".join(names))[:600]
        assert person.languages


def test_a_second_load_is_refused(loaded: Loaded) -> None:
    result = loaded.app.test_cli_runner().invoke(
        args=["demo", "--scenario", "snia-2014", "--password", PASSWORD]
    )

    assert result.exit_code != 0
    assert "already holds 27,650 case files" in result.output
    assert "new database only" in result.output
    with loaded.app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Case)) == 27_650


# --- The plan, without a database --------------------------------------------------------------


def test_the_plan_is_deterministic_and_exact() -> None:
    def plan() -> list[tuple]:
        return [
            (f.nationality, f.office, f.sex, f.age, f.category, f.first, f.appeal, f.state,
             f.filed)
            for f in snia2014.Planner(random.Random(snia2014.SEED)).plan()
        ]  # fmt: skip

    first = plan()

    assert first == plan()
    assert Counter(f[5] for f in first)["favourable"] == 17_916
    assert Counter(f[6] for f in first)["granted"] == 5_180
    assert sum(snia2014.office_file_counts().values()) == 27_650
    assert sum(n for _, n, *_ in snia2014.NATIONALITIES) == 27_650


def test_every_office_is_in_its_old_region() -> None:
    legacy_of = {
        unit["code"]: unit["legacy_region_code"]
        for region in read_data("regions.json")
        for unit in region["prefectures"]
    }

    assert sorted(legacy_of) == sorted(c for w in snia2014.OFFICE_WEIGHTS.values() for c in w)
    for legacy, weights in snia2014.OFFICE_WEIGHTS.items():
        for code in weights:
            assert legacy_of[code] == legacy, code


def test_the_processing_summary_counts_every_decided_file(ctx: Flask) -> None:
    """The scenario writes its files through Core: it counts them into the summary table."""
    decided = db.session.scalar(select(func.count()).where(Case.processing_days.is_not(None)))
    assert db.session.scalar(select(func.sum(ProcessingCount.case_count))) == decided == 27_650
    assert differences(db.session.connection()) == []
