"""Imports at scale: time and peak memory of `casework import` on generated registers.

    python -m bench.imports [--rows 27650 --rows 1000000] [--database sqlite|postgresql|both]

For each size, a people CSV (the French template's columns, synthetic names in Latin and
Arabic script from the demo's name lists) is generated, deterministic, into
BENCH_SQLITE_DIR (default /tmp/casework-bench); a fresh database is built by the migrations
with the reference data and one office (RAB). The import then runs in a child process of its
own, so that its peak resident memory (getrusage's ru_maxrss, what `/usr/bin/time -v` calls
"Maximum resident set size") is the import's alone. For the 2014 register's size (27,650,
the default) the case files are imported too, then both files again (idempotent: nothing
created, nothing updated).

The aims (issue #6): the 27,650-row register in under 30 s on SQLite; a million people with
bounded memory (under 300 MB).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

from bench.databases import (
    DATABASES,
    DEFAULT_SQLITE_DIR,
    Unreachable,
    create_bench_app,
    ensure_postgres_database,
    postgres_url,
    safe_url,
)

REGISTER_2014 = 27_650
SEED = 20140101
FRENCH_PEOPLE = [
    "référence externe", "nom", "prénoms", "nom (arabe)", "prénoms (arabe)", "sexe",
    "date de naissance", "nationalité", "téléphone", "préfecture",
]  # fmt: skip
FRENCH_CASES = [
    "référence externe", "référence de la personne", "type de dossier", "opération",
    "catégorie", "bureau", "date de dépôt", "état",
]  # fmt: skip
CATEGORIES_2014 = ("work_contract", "residence_5_years", "spouse_of_national",
                   "spouse_of_resident", "child_of_eligible", "serious_illness")  # fmt: skip
STATES_2014 = ("closed", "card_issued", "rejected", "appeal_dismissed", "withdrawn")
PREFECTURES = ("RAB", "CAS", "TNG", "OUJ", "FES", "SAL", "KEN", "MAR")


def names() -> list[dict]:
    from bench.generate import _names

    return _names()


def write_people(path: Path, rows: int, seed: int = SEED) -> Path:
    """A people register: `rows` persons P-0000001..., ~2% of the phone cells empty."""
    rng = random.Random(seed)
    origins = names()
    weights = [origin["weight"] for origin in origins]
    start = date(1950, 1, 1).toordinal()
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream, delimiter=";")
        writer.writerow(FRENCH_PEOPLE)
        for number in range(1, rows + 1):
            origin = rng.choices(origins, weights)[0]
            sex = "F" if rng.random() < 0.42 else "M"
            family = rng.choice(origin["family"])
            given = rng.choice(origin["given_female" if sex == "F" else "given_male"])
            born = date.fromordinal(start + int(rng.random() * 20_000)).strftime("%d/%m/%Y")
            phone = (
                f"+2126{10_000_000 + int(rng.random() * 89_999_999)}" if rng.random() < 0.98 else ""
            )
            writer.writerow([
                f"P-{number:07d}", family[0], given[0], family[1], given[1], sex, born,
                origin["code"], phone, rng.choice(PREFECTURES),
            ])  # fmt: skip
    return path


def write_cases(path: Path, rows: int, seed: int = SEED) -> Path:
    """One 2014 regularisation file per person of the people register."""
    rng = random.Random(seed + 1)
    first = date(2014, 1, 2).toordinal()
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(FRENCH_CASES)
        for number in range(1, rows + 1):
            filed = date.fromordinal(first + int(rng.random() * 360)).isoformat()
            writer.writerow([
                f"R14-{number:07d}", f"P-{number:07d}", "régularisation", "REG-2014",
                rng.choice(CATEGORIES_2014), "RAB", filed, rng.choice(STATES_2014),
            ])  # fmt: skip
    return path


# --- The database -------------------------------------------------------------------------------


def prepare_database(kind: str, rows: int, postgres: str | None) -> str:
    """A fresh database by the migrations, with the reference data and the RAB office."""
    from bench.generate import reset_database

    if kind == "sqlite":
        path = DEFAULT_SQLITE_DIR / f"casework-imports-{rows}.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    else:
        # Its own database: reset_database empties it, and the queue benchmark's million
        # cases live in the default one.
        url = postgres or "postgresql+psycopg://postgres@127.0.0.1:5432/casework_bench_imports"
        url = postgres_url(url)
        ensure_postgres_database(url)
    app = create_bench_app(url)
    reset_database(app)
    with app.app_context():
        from casework.admin.models import Organisation
        from casework.extensions import db

        now = datetime(2014, 1, 1, tzinfo=UTC)
        with db.engine.begin() as connection:
            connection.execute(
                Organisation.__table__.insert(),
                [{"name": "Bureau des étrangers — Préfecture de Rabat", "code": "RAB",
                  "kind": "foreigners_office", "prefecture_code": "RAB", "region_code": "04",
                  "active": True, "created_at": now, "updated_at": now}],
            )  # fmt: skip
        db.engine.dispose()
    return url


# --- One measured import, in a child process ------------------------------------------------------


def run_child(url: str, file: Path, kind: str) -> dict:
    """Run one import in a process of its own; its time and peak RSS, and the job's counts."""
    command = [sys.executable, "-m", "bench.imports", "--child", url, str(file), kind]
    environment = {**os.environ, "UPLOAD_DIR": str(DEFAULT_SQLITE_DIR / "uploads")}
    output = subprocess.run(
        command, check=True, capture_output=True, text=True, env=environment
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def child(url: str, file: str, kind: str) -> None:
    from casework.extensions import db
    from casework.imports.operations import create_job, run_import

    app = create_bench_app(url)
    with app.app_context():
        from casework.admin.models import Organisation

        office = db.session.scalar(db.select(Organisation).where(Organisation.code == "RAB"))
        job = create_job(
            kind=kind, filename=Path(file).name, source_path=file, by=None,
            organisation=office, dry_run=False, valid_only=False, language="en",
        )  # fmt: skip
        db.session.commit()
        baseline = resident_mb()  # the app loaded, before the import reads a row
        started = time.perf_counter()
        job = run_import(job.id)
        seconds = time.perf_counter() - started
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
        print(json.dumps({
            "seconds": seconds, "peak_mb": peak_kb / 1024, "baseline_mb": baseline,
            "state": job.state,
            "rows": job.rows_done, "created": job.rows_created, "updated": job.rows_updated,
            "unchanged": job.rows_unchanged, "invalid": job.rows_invalid, "error": job.error,
        }))  # fmt: skip


def resident_mb() -> float:
    """This process's resident memory now (VmRSS), in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def describe(database: str, label: str, result: dict) -> str:
    rate = result["rows"] / result["seconds"] if result["seconds"] else 0
    return (
        f"[{database}] {label:<28} {result['rows']:>9,} rows  {result['seconds']:7.1f} s "
        f"({rate:,.0f} rows/s)  peak RSS {result['peak_mb']:4.0f} MB (app before the "
        f"import {result['baseline_mb']:3.0f} MB)  created "
        f"{result['created']:,} updated {result['updated']:,} unchanged {result['unchanged']:,}"
        + (f"  FAILED: {result['error']}" if result["state"] != "done" else "")
        + (f"  INVALID ROWS: {result['invalid']:,}" if result["invalid"] else "")
    )


def bench(database: str, rows: int, postgres: str | None) -> None:
    folder = DEFAULT_SQLITE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    people = write_people(folder / f"people-{rows}.csv", rows)
    cases = write_cases(folder / f"cases-{rows}.csv", rows) if rows <= REGISTER_2014 else None
    size = people.stat().st_size / 1024 / 1024
    print(f"[{database}] generated {rows:,} rows ({size:.0f} MB) in "
          f"{time.perf_counter() - started:.1f} s")  # fmt: skip
    url = prepare_database(database, rows, postgres)
    print(f"[{database}] database {safe_url(url)}")
    print(describe(database, "people: import", run_child(url, people, "people")))
    if cases is not None:
        print(describe(database, "cases: import", run_child(url, cases, "cases")))
        print(describe(database, "people: same file again", run_child(url, people, "people")))
        print(describe(database, "cases: same file again", run_child(url, cases, "cases")))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        child(*argv[1:4])
        return 0
    parser = argparse.ArgumentParser(
        prog="python -m bench.imports", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--rows",
        type=int,
        action="append",
        help=f"rows (default {REGISTER_2014:,}); repeat for several sizes",
    )
    parser.add_argument("--database", choices=(*DATABASES, "both"), default="sqlite")
    parser.add_argument("--database-url", help="PostgreSQL URL (default $BENCH_DATABASE_URL)")
    args = parser.parse_args(argv)
    databases = DATABASES if args.database == "both" else (args.database,)
    for database in databases:
        for rows in args.rows or [REGISTER_2014]:
            try:
                bench(database, rows, args.database_url)
            except Unreachable as error:
                print(f"[{database}] skipped: {error}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
