"""Small-cell suppression for tables meant for publication.

A count from 1 to 4 could single out a person (the only Malian woman over 50 refused in
Oujda), so a published table shows it as `<5` (*primary* suppression). Hiding one cell is not
enough when the table also gives a total it adds up to: the cell would come back by
subtraction. So, repeatedly until nothing changes:

* **columns** — the cells of a count column (and the total row's cell, when the table has one)
  add up; if exactly one of them is hidden, the smallest other non-zero cell is hidden too;
* **rows** — within a row, terms tied by a relation (accepted + rejected = decided;
  decided + pending + withdrawn = filed; first-instance favourable ≤ first-instance decided;
  appeals granted + dismissed ≤ appeals lodged): if exactly one term is hidden, the smallest
  other non-zero term is hidden too;
* then a rate is hidden when its numerator or denominator is, and so is a figure derived from
  a hidden count (a median processing time over too few files).

Cells hidden to protect another one hold values of 5 or more, so they are marked `x`, never
`<5`: a published table must not state something false, and knowing that an `x` is at least 5
does not bring back the protected cell (the total still leaves it anywhere from 1 to 4).
Zeros are shown, and nothing else changes. The input is never modified.
"""

from __future__ import annotations

from collections.abc import Iterable
from copy import deepcopy
from dataclasses import dataclass

THRESHOLD = 5
SMALL = "<5"  # a count from 1 to 4
HIDDEN = "x"  # hidden so that a small count cannot be worked out (or a rate of one)


@dataclass(frozen=True)
class Rules:
    """What may be hidden in a table, and what ties its cells together."""

    counts: tuple[str, ...]
    # Terms of a row tied by a sum or a bound, e.g. ("decided", "accepted", "rejected").
    relations: tuple[tuple[str, ...], ...] = ()
    # (rate, numerator, denominator)
    rates: tuple[tuple[str, str, str], ...] = ()
    # (column, the counts it is computed from)
    derived: tuple[tuple[str, tuple[str, ...]], ...] = ()


def is_small(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < THRESHOLD


def _nonzero(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value != 0


def _hide_one_more(candidates: Iterable[tuple[object, int]], hidden: set, key) -> bool:
    """Hide the smallest non-zero candidate (value, order) not hidden yet."""
    choices = [(value, order, cell) for (value, order), cell in candidates if cell not in hidden]
    choices = [c for c in choices if _nonzero(c[0])]
    if not choices:
        return False
    _, _, cell = min(choices, key=lambda c: (c[0], c[1]))
    hidden.add(cell)
    key[cell] = HIDDEN
    return True


def hidden_cells(rows: list[dict], rules: Rules) -> dict[tuple[int, str], str]:
    """{(row index, column): marker} for every cell to hide in `rows` (the total row, if any,
    being one of them: the columns are taken to add up to it)."""
    marks: dict[tuple[int, str], str] = {}
    for index, row in enumerate(rows):
        for column in rules.counts:
            if is_small(row.get(column)):
                marks[(index, column)] = SMALL
    hidden = set(marks)
    changed = True
    while changed:
        changed = False
        for index, row in enumerate(rows):
            for terms in rules.relations:
                present = [t for t in terms if t in row]
                if sum((index, t) in hidden for t in present) == 1:
                    candidates = [((row[t], order), (index, t)) for order, t in enumerate(present)]
                    changed |= _hide_one_more(candidates, hidden, marks)
        for column in rules.counts:
            members = [index for index, row in enumerate(rows) if column in row]
            if sum((index, column) in hidden for index in members) == 1:
                candidates = [((rows[i][column], i), (i, column)) for i in members]
                changed |= _hide_one_more(candidates, hidden, marks)
    for index, row in enumerate(rows):
        for rate, numerator, denominator in rules.rates:
            if rate in row and ((index, numerator) in hidden or (index, denominator) in hidden):
                marks[(index, rate)] = HIDDEN
        for column, sources in rules.derived:
            if column in row and any((index, source) in hidden for source in sources):
                marks[(index, column)] = HIDDEN
    return marks


def suppress(
    rows: list[dict], rules: Rules, total: dict | None = None
) -> tuple[list[dict], dict | None]:
    """Copies of `rows` (and `total`) with the cells to hide replaced by `<5` or `x`."""
    cells = deepcopy([*rows, *([total] if total is not None else [])])
    for (index, column), marker in hidden_cells(cells, rules).items():
        cells[index][column] = marker
    if total is not None:
        return cells[:-1], cells[-1]
    return cells, None
