"""Small-cell suppression for publication: primary (`<5`), complementary (`x`), rates.

The rules are those of casework.reports.suppression; the tables are built by hand here (no
database) and by hypothesis, whose every table must come out with no count from 1 to 4, no
column or relation left with a single hidden cell it could be worked back from, and nothing
else changed.
"""

from __future__ import annotations

from copy import deepcopy

from hypothesis import given, settings
from hypothesis import strategies as st

from casework.reports.definitions import COUNTS, RATES, with_rates
from casework.reports.suppression import HIDDEN, SMALL, Rules, hidden_cells, suppress
from casework.reports.tables import ACCEPTANCE_RULES, PROGRAMME_RULES, TABLES

FILED = Rules(counts=("filed",))
EQUALITIES = (("decided", "accepted", "rejected"), ("filed", "decided", "pending", "withdrawn"))
BOUNDS = (("first_instance_decided", "first_instance_favourable"),
          ("appeals_lodged", "appeals_granted", "appeals_dismissed"))  # fmt: skip


def acceptance_row(key: str, *, accepted=0, rejected=0, pending=0, withdrawn=0,
                   first_decided=None, favourable=0, lodged=0, granted=0, dismissed=0,
                   cards=0) -> dict:  # fmt: skip
    """A row whose counts hold together as the database's would."""
    decided = accepted + rejected
    row = {
        "key": key, "label": f"Group {key}",
        "filed": decided + pending + withdrawn, "decided": decided, "accepted": accepted,
        "rejected": rejected, "pending": pending, "withdrawn": withdrawn,
        "first_instance_decided": decided if first_decided is None else first_decided,
        "first_instance_favourable": favourable, "appeals_lodged": lodged,
        "appeals_granted": granted, "appeals_dismissed": dismissed, "cards_issued": cards,
    }  # fmt: skip
    return with_rates(row)


def total_of(rows: list[dict]) -> dict:
    return with_rates({name: sum(row[name] for row in rows) for name in COUNTS})


def single_column(*values: int) -> tuple[list[dict], dict]:
    rows = [{"key": str(i), "label": f"Office {i}", "filed": v} for i, v in enumerate(values)]
    return rows, {"filed": sum(values)}


# --- primary suppression -----------------------------------------------------------------------


def test_counts_from_one_to_four_become_less_than_five() -> None:
    rows, total = single_column(0, 1, 2, 3, 4, 5, 60)

    shown, shown_total = suppress(rows, FILED, total)

    assert [r["filed"] for r in shown] == [0, SMALL, SMALL, SMALL, SMALL, 5, 60]
    assert shown_total == {"filed": 75}


def test_zeros_are_shown_and_never_hidden_to_protect_another_cell() -> None:
    rows, total = single_column(0, 0, 3, 0, 40)

    shown, shown_total = suppress(rows, FILED, total)

    assert [r["filed"] for r in shown] == [0, 0, SMALL, 0, HIDDEN]
    assert shown_total["filed"] == 43


def test_a_small_total_is_suppressed_too() -> None:
    rows, total = single_column(3, 0)

    shown, shown_total = suppress(rows, FILED, total)

    assert shown[0]["filed"] == SMALL
    assert shown_total["filed"] == SMALL
    assert shown[1]["filed"] == 0


# --- complementary suppression in columns ------------------------------------------------------


def test_a_single_small_cell_recoverable_from_the_total_gets_its_complement_hidden() -> None:
    # Tanger 3, Rabat 12, Fès 30, total 45: 45 - 12 - 30 would give Tanger's 3 back.
    rows, total = single_column(3, 12, 30)

    shown, shown_total = suppress(rows, FILED, total)

    assert shown[0]["filed"] == SMALL
    assert shown[1]["filed"] == HIDDEN  # the next smallest non-zero cell
    assert shown[2]["filed"] == 30
    assert shown_total["filed"] == 45


def test_two_small_cells_protect_each_other() -> None:
    rows, total = single_column(2, 3, 30)

    shown, _ = suppress(rows, FILED, total)

    assert [r["filed"] for r in shown] == [SMALL, SMALL, 30]


def test_ties_hide_the_first_of_the_smallest_cells() -> None:
    rows, total = single_column(1, 9, 9, 50)

    shown, _ = suppress(rows, FILED, total)

    assert [r["filed"] for r in shown] == [SMALL, HIDDEN, 9, 50]


# --- relations within a row --------------------------------------------------------------------


def test_accepted_plus_rejected_equals_decided_protects_a_small_rejected_count() -> None:
    row = acceptance_row("SN", accepted=7, rejected=2, pending=11)

    (shown,), _ = suppress([row], ACCEPTANCE_RULES)

    assert shown["rejected"] == SMALL
    assert shown["accepted"] == HIDDEN  # 7 < decided 9: the smallest other term
    assert shown["decided"] == 9
    assert shown["filed"] == 20 and shown["pending"] == 11


def test_decided_plus_pending_plus_withdrawn_equals_filed() -> None:
    row = acceptance_row("ML", accepted=10, rejected=6, pending=20, withdrawn=1)

    (shown,), _ = suppress([row], ACCEPTANCE_RULES)

    assert shown["withdrawn"] == SMALL
    assert shown["decided"] == HIDDEN  # 16 is the smallest non-zero other term
    # decided hidden alone in accepted + rejected = decided: one more goes
    assert shown["rejected"] == HIDDEN
    assert HIDDEN not in (shown["filed"], shown["pending"])


def test_bounds_are_relations_too() -> None:
    row = acceptance_row("CI", accepted=20, rejected=10, pending=10, favourable=3,
                         lodged=12, granted=2, dismissed=6)  # fmt: skip

    (shown,), _ = suppress([row], ACCEPTANCE_RULES)

    assert shown["first_instance_favourable"] == SMALL
    assert shown["first_instance_decided"] == HIDDEN
    assert shown["appeals_granted"] == SMALL
    assert shown["appeals_dismissed"] == HIDDEN  # 6 < lodged 12


def test_rates_of_a_hidden_count_are_hidden() -> None:
    row = acceptance_row("GN", accepted=3, rejected=8, pending=5)

    (shown,), _ = suppress([row], ACCEPTANCE_RULES)

    assert shown["accepted"] == SMALL
    assert shown["acceptance_rate"] == HIDDEN
    assert shown["acceptance_rate_filed"] == HIDDEN
    # first_instance_favourable is 0 and first_instance_decided 11: nothing to hide there.
    assert shown["first_instance_rate"] == 0.0


def test_a_rate_with_no_hidden_term_keeps_its_full_precision() -> None:
    row = acceptance_row("SN", accepted=71, rejected=14, pending=0, favourable=57)

    (shown,), _ = suppress([row], ACCEPTANCE_RULES)

    assert shown == row
    assert shown["acceptance_rate"] == 71 / 85


def test_derived_figures_follow_their_count() -> None:
    rules = TABLES["processing"].rules
    rows = [
        {"key": "1", "label": "Oujda", "decided": 3, "median_days": 12, "p90_days": 40},
        {"key": "2", "label": "Rabat", "decided": 30, "median_days": 20, "p90_days": 55},
    ]

    shown, _ = suppress(rows, rules)

    assert shown[0] == {"key": "1", "label": "Oujda", "decided": SMALL,
                        "median_days": HIDDEN, "p90_days": HIDDEN}  # fmt: skip
    assert shown[1]["decided"] == HIDDEN  # the column's complement
    assert shown[1]["median_days"] == HIDDEN


def test_repeats_until_stable_across_rows_and_columns() -> None:
    # Row a's small rejected count hides its accepted (6); column "accepted" then has one
    # hidden cell, so row b's accepted (8) goes; row b's relation then hides another of its
    # terms, and so on until every relation and column has none or at least two hidden.
    rows = [acceptance_row("a", accepted=6, rejected=2, pending=30),
            acceptance_row("b", accepted=8, rejected=9, pending=30),
            acceptance_row("c", accepted=50, rejected=40, pending=30)]  # fmt: skip
    total = total_of(rows)

    shown, shown_total = suppress(rows, ACCEPTANCE_RULES, total)

    assert shown[0]["rejected"] == SMALL
    assert shown[0]["accepted"] == HIDDEN
    assert shown[1]["accepted"] == HIDDEN
    assert_protected([*shown, shown_total], [*rows, total], ACCEPTANCE_RULES)


def test_nothing_is_hidden_when_every_count_is_zero_or_five_and_more() -> None:
    rows = [acceptance_row("a", accepted=6, rejected=5, pending=30, favourable=6),
            acceptance_row("b", accepted=0, rejected=0, pending=7)]  # fmt: skip
    total = total_of(rows)

    shown, shown_total = suppress(rows, ACCEPTANCE_RULES, total)

    assert shown == rows
    assert shown_total == total


def test_the_input_is_not_modified() -> None:
    rows = [acceptance_row("a", accepted=1, rejected=8, pending=3)]
    total = total_of(rows)
    before = deepcopy((rows, total))

    suppress(rows, ACCEPTANCE_RULES, total)

    assert (rows, total) == before


def test_programme_tables_keep_accepted_below_referred_protected() -> None:
    rows = [{"key": "health", "label": "Santé", "people_referred": 13, "people_accepted": 2,
             "people_served": 9, "assistance_records": 20}]  # fmt: skip

    (shown,), _ = suppress(rows, PROGRAMME_RULES)

    assert shown["people_accepted"] == SMALL
    assert shown["people_referred"] == HIDDEN
    assert shown["people_served"] == 9


# --- properties over random tables ------------------------------------------------------------


def assert_protected(shown: list[dict], original: list[dict], rules: Rules) -> None:
    """The guarantees of a publication table, `shown` against the `original` figures."""
    hidden = {(i, c) for i, row in enumerate(shown) for c in row if row[c] in (SMALL, HIDDEN)}
    for i, (out, row) in enumerate(zip(shown, original, strict=True)):
        assert out.keys() == row.keys()
        for column, value in row.items():
            if (i, column) in hidden:
                # `<5` only ever stands for 1 to 4; `x` never does (it would be `<5` already).
                if out[column] == SMALL:
                    assert isinstance(value, int) and 1 <= value <= 4, (column, value)
                elif column in rules.counts:
                    assert value >= 5, (column, value)
            else:
                assert out[column] == value  # nothing else changes
                if column in rules.counts:
                    assert not (isinstance(value, int) and 1 <= value <= 4), (column, value)
        for terms in rules.relations:
            present = [t for t in terms if t in row]
            hidden_terms = [t for t in present if (i, t) in hidden]
            others = [t for t in present if (i, t) not in hidden and row[t]]
            assert len(hidden_terms) != 1 or not others, (i, terms)
        for rate, numerator, denominator in rules.rates:
            if rate in row:
                assert ((i, rate) in hidden) == (
                    (i, numerator) in hidden or (i, denominator) in hidden
                )
    for column in rules.counts:
        members = [i for i, row in enumerate(original) if column in row]
        hidden_members = [i for i in members if (i, column) in hidden]
        others = [i for i in members if (i, column) not in hidden and original[i][column]]
        assert len(hidden_members) != 1 or not others, column


counts = st.integers(min_value=0, max_value=12)


@st.composite
def acceptance_rows(draw) -> dict:
    accepted, rejected, pending, withdrawn = (draw(counts) for _ in range(4))
    decided = accepted + rejected
    first_decided = draw(st.integers(min_value=0, max_value=decided + pending))
    favourable = draw(st.integers(min_value=0, max_value=first_decided))
    lodged = draw(st.integers(min_value=0, max_value=first_decided))
    granted = draw(st.integers(min_value=0, max_value=lodged))
    dismissed = draw(st.integers(min_value=0, max_value=lodged - granted))
    return acceptance_row(draw(st.uuids()).hex[:6], accepted=accepted, rejected=rejected,
                          pending=pending, withdrawn=withdrawn, first_decided=first_decided,
                          favourable=favourable, lodged=lodged, granted=granted,
                          dismissed=dismissed, cards=draw(counts))  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(acceptance_rows(), min_size=1, max_size=7), st.booleans())
def test_no_small_cell_survives_and_none_can_be_worked_out(rows, with_total) -> None:
    total = total_of(rows) if with_total else None

    shown, shown_total = suppress(rows, ACCEPTANCE_RULES, total)

    original = [*rows, *([total] if total else [])]
    assert_protected([*shown, *([shown_total] if total else [])], original, ACCEPTANCE_RULES)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=30), min_size=1, max_size=12))
def test_a_column_with_its_total_never_has_a_lone_hidden_cell(values) -> None:
    rows, total = single_column(*values)

    cells = hidden_cells([*rows, total], FILED)

    # One small cell alone would come back as the total minus the others.
    assert len(cells) != 1
    assert all([*values, sum(values)][index] >= 1 for index, _ in cells)


def test_the_relations_of_the_acceptance_table_are_those_of_the_definitions() -> None:
    assert set(ACCEPTANCE_RULES.relations) == {*EQUALITIES, *BOUNDS}
    assert ACCEPTANCE_RULES.rates == RATES
    assert set(ACCEPTANCE_RULES.counts) == set(COUNTS)
