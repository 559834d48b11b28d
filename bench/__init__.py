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
}
