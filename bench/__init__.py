"""Benchmarks of Casework at scale. Not part of the test suite: `python -m bench` lists them.

See bench/README.md for how to run them and the figures measured.
"""

# name -> (what it does, how to run it)
BENCHMARKS = {
    "generate": (
        "Build a database by the migrations and fill it with N synthetic cases and applicants "
        "(Core bulk inserts; COPY on PostgreSQL), deterministic, timed.",
        "python -m bench.generate --cases 1000000 --database sqlite|postgresql|both [--reuse]",
    ),
    "queue": (
        "The caseworker queue page (queue_page: first page and a deep page ~50,000 rows in) "
        "against the same query in raw SQL, same run: p50/p95 and the app/raw ratio, plus the "
        "query plans.",
        "python -m bench.queue --cases 1000000 --database sqlite|postgresql|both [--reuse]",
    ),
    "imports": (
        "casework import on generated registers: the 27,650 files of 2014 (people, then case "
        "files, then both again: idempotent) and a million people; time and the import "
        "process's peak RSS.",
        "python -m bench.imports [--rows 27650 --rows 1000000] [--database sqlite|postgresql]",
    ),
    "duplicates": (
        "Duplicate detection: precision and recall at the threshold on labelled pairs "
        "(bench.duplicates_data), and find_candidates against the raw blocking query at a "
        "million people: p50/p95 and the ratio.",
        "python -m bench.duplicates --people 1000000 --database sqlite|postgresql|both [--reuse]",
    ),
    "stats": (
        "The statistics endpoints (/api/v1/stats/acceptance by office, nationality and month, "
        "/processing, /programmes) through the test client with a national supervisor's token, "
        "against the same GROUP BY / window-function SQL in raw text(), same run: p50/p95 and "
        "the ratio, plus the query plans.",
        "python -m bench.stats --cases 1000000 --database sqlite|postgresql|both [--reuse]",
    ),
}
