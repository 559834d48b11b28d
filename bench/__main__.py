"""`python -m bench`: list the benchmarks."""

from __future__ import annotations

import sys
import textwrap

from bench import BENCHMARKS


def main() -> int:
    print("Casework benchmarks (not part of the test suite; see bench/README.md):\n")
    for name, (description, usage) in BENCHMARKS.items():
        print(f"  {name}")
        print(textwrap.indent(textwrap.fill(description, 76), "      "))
        print(f"      $ {usage}\n")
    print("PostgreSQL: --database-url or BENCH_DATABASE_URL "
          "(default postgresql+psycopg://postgres@127.0.0.1:5432/casework_bench).")  # fmt: skip
    print("SQLite: --sqlite-path or BENCH_SQLITE_DIR (default /tmp/casework-bench).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
