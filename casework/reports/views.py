"""Statistics pages for supervisors: the dashboard, its exports and the definitions.

Every figure comes from `casework.reports.queries` / `programmes` (the database counts, and
limits a regional supervisor to their region); these views only lay the tables out, draw their
charts (`charts.py`) and write the files (`exports.py`).
"""

from __future__ import annotations

from babel.numbers import format_percent as babel_percent
from flask import Blueprint, abort, render_template, request
from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from casework.audit.operations import record
from casework.extensions import db
from casework.i18n import text_direction
from casework.models_base import current_language
from casework.policy import requires
from casework.reference.models import Region
from casework.reports import filters, tables
from casework.reports.charts import Series, bar_chart
from casework.reports.definitions import COUNTS, DEFINITIONS, with_rates
from casework.reports.exports import FORMATS, export_response
from casework.reports.queries import OutOfScope, StatsFilter
from casework.reports.suppression import HIDDEN, SMALL
from casework.reports.tables import GROUP_LABELS, RATE_NAMES, TABLES, StatTable, column_labels

bp = Blueprint("reports", __name__, url_prefix="/reports")

TOP_NATIONALITIES = 15
ACCEPTANCE_SHOWN = ("filed", "decided", "accepted", "rejected", "pending",
                    "first_instance_rate", "acceptance_rate", "acceptance_rate_filed")  # fmt: skip
RATE_SERIES = (
    ("first_instance_rate", _l("First instance"), "cw-s1"),
    ("acceptance_rate", _l("After appeal"), "cw-s2"),
)
ACCEPTANCE_SECTIONS = (
    ("office", _l("Acceptance by office")),
    ("region", _l("Acceptance by region")),
    ("nationality", _l("Acceptance by nationality")),
    ("sex", _l("Acceptance by sex")),
    ("age_band", _l("Acceptance by age band")),
    ("category", _l("Acceptance by eligibility category")),
)
PUBLICATION_VALUES = {"0": False, "false": False, "no": False, "1": True, "true": True, "yes": True}


# --- Formatting --------------------------------------------------------------------------------


def format_percent(value) -> str:
    """A rate (a fraction at full precision) as a percentage rounded to 0.1 for display."""
    if value is None:
        return "—"
    if isinstance(value, str):  # suppressed
        return value
    return babel_percent(round(value, 3), locale=get_locale(), decimal_quantization=False)


def format_count(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return format_decimal(value)


def format_cell(column: str, value) -> str:
    return format_percent(value) if column in RATE_NAMES else format_count(value)


# --- Sections of the dashboard -----------------------------------------------------------------


def _chart(rows, series, chart_id, title, *, rates=False) -> dict | None:
    """The SVG and its legend (when there is more than one series)."""
    if not rows:
        return None
    series = [Series(key, str(label), css) for key, label, css in series]
    svg = bar_chart(
        rows,
        series,
        chart_id=chart_id,
        title=str(title),
        fmt=format_percent if rates else format_count,
        maximum=1.0 if rates else None,
        rtl=text_direction(current_language()) == "rtl",
    )
    return {"svg": svg, "legend": series if len(series) > 1 else []}


def _section(id_, title, table: StatTable, columns, *, chart=None, rows=None, definition=None,
             note=None, wide=None) -> dict:  # fmt: skip
    """A table of the dashboard; `wide` ones show their chart above the table, others beside."""
    return {
        "wide": len(columns) > 4 if wide is None else wide,
        "id": id_,
        "title": title,
        "chart": chart,
        "table": table,
        "rows": table.rows if rows is None else rows,
        "total": table.total,
        "columns": columns,
        "export": (table.name, table.group_by),
        "definition": definition,
        "note": note,
    }


def _top_nationalities(rows: list[dict]) -> list[dict]:
    """The 15 nationalities with most files, then the others together (exports have all)."""
    if len(rows) <= TOP_NATIONALITIES + 1:
        return rows
    others = dict.fromkeys(COUNTS, 0)
    for row in rows[TOP_NATIONALITIES:]:
        for name in COUNTS:
            others[name] += row[name]
    label = _("Other nationalities (%(n)s)", n=len(rows) - TOP_NATIONALITIES)
    return [*rows[:TOP_NATIONALITIES], {"key": "others", "label": label, **with_rates(others)}]


def _acceptance_sections(user, criteria: StatsFilter, period: str) -> tuple[list[dict], dict]:
    sections = []
    by_group = {}
    for group_by, title in (*ACCEPTANCE_SECTIONS, (period, _l("Acceptance by period"))):
        table = tables.acceptance_table(user, criteria, group_by)
        by_group[group_by] = table
        rows = table.rows
        note = None
        if group_by == "nationality":
            rows = _top_nationalities(rows)
            if len(rows) < len(table.rows):
                note = _("The exports list every nationality.")
        chart = _chart(rows, RATE_SERIES, f"chart-{group_by}", title, rates=True)
        sections.append(
            _section(
                f"acceptance-{group_by}",
                title,
                table,
                ACCEPTANCE_SHOWN,
                chart=chart,
                rows=rows,
                definition="acceptance_rate",
                note=note,
            )
        )
    return sections, by_group


def _dashboard(user, criteria: StatsFilter, period: str) -> dict:
    labels = column_labels()
    acceptance, by_group = _acceptance_sections(user, criteria, period)
    headline = by_group["office"].total
    cards = tables.cards_table(user, criteria)
    timing = tables.processing_tables(user, criteria)
    programme = tables.programme_tables(user, criteria)
    by_office = by_group["office"]
    appeals_table = StatTable("appeals", "office", tables.APPEALS_COLUMNS, by_office.rows,
                              by_office.total)  # fmt: skip
    appeal_bars = [
        {"label": labels[name], "value": headline[name]} for name in tables.APPEALS_COLUMNS
    ]
    processing = timing["office"]
    other = [
        _section(
            "processing", _("Processing time by office"), processing, processing.columns,
            chart=_chart(processing.rows, (("median_days", _l("Median"), "cw-s1"),
                                           ("p90_days", _l("90th percentile"), "cw-s3")),
                         "chart-processing", _("Processing time by office (days)")),
            definition="processing_time",
        ),
        _section(
            "backlog-age", _("Backlog by age"), timing["age"], ("count",),
            chart=_chart(timing["age"].rows, (("count", labels["count"], "cw-s4"),),
                         "chart-backlog-age", _("Backlog by age")),
            definition="backlog",
        ),
        _section(
            "backlog-state", _("Backlog by state"), timing["state"], ("count",),
            chart=_chart(timing["state"].rows, (("count", labels["count"], "cw-s4"),),
                         "chart-backlog-state", _("Backlog by state")),
            definition="backlog",
        ),
        _section(
            "appeals", _("Appeals lodged and their outcomes, by office"), appeals_table,
            tables.APPEALS_COLUMNS,
            chart=_chart(appeal_bars, (("value", _l("Appeals"), "cw-s2"),), "chart-appeals",
                         _("Appeals lodged and their outcomes")),
            definition="appeals_lodged",
        ),
        _section("cards", _("Residence cards"), cards, cards.columns, definition="cards_issued"),
        _section(
            "programmes", _("Programme indicators"), programme["programme"],
            programme["programme"].columns,
            chart=_chart(programme["programme"].rows,
                         (("people_referred", labels["people_referred"], "cw-s1"),
                          ("people_accepted", labels["people_accepted"], "cw-s2"),
                          ("people_served", labels["people_served"], "cw-s3")),
                         "chart-programmes", _("Programme indicators")),
            definition="people_referred",
            wide=True,
        ),
        _section(
            "sdg", _("Indicators per SDG target"), programme["sdg_target"],
            programme["sdg_target"].columns,
            chart=_chart([{**row, "label": f"{row['key']} · {row['label']}"}
                          for row in programme["sdg_target"].rows],
                         (("people_referred", labels["people_referred"], "cw-s1"),
                          ("people_served", labels["people_served"], "cw-s3")),
                         "chart-sdg", _("Indicators per SDG target")),
            definition="people_served",
            wide=True,
        ),
    ]  # fmt: skip
    return {"headline": headline, "cards": cards.total, "acceptance": acceptance, "other": other}


# --- Pages -------------------------------------------------------------------------------------


def _form_context(criteria: StatsFilter, period: str, errors: dict[str, str]) -> dict:
    return {
        "criteria": criteria,
        "period": period,
        "periods": filters.PERIODS,
        "errors": {name: str(filters.MESSAGES[code]) for name, code in errors.items()},
        "regions": filters.regions_for(current_user),
        "offices": filters.offices_for(current_user),
        "operations": filters.operations(),
        "filter_args": filters.as_args(criteria) if not errors else {},
        "scope_region": _scope_region(),
        "column_labels": column_labels(),
        "group_labels": GROUP_LABELS,
        "format_cell": format_cell,
    }


def _scope_region() -> Region | None:
    code = current_user.region_code
    return db.session.get(Region, code) if code else None


def _out_of_scope():
    """403: a regional supervisor asked for another region (or one of its offices)."""
    return render_template("reports/out_of_scope.html", scope_region=_scope_region()), 403


@bp.route("")
@requires("stats.view")
def dashboard():
    criteria, errors = filters.parse(request.args)
    period = request.args.get("period") or "quarter"
    if period not in filters.PERIODS:
        errors["period"] = "period"
        period = "quarter"
    context = _form_context(criteria, period, errors)
    if errors:
        return render_template("reports/dashboard.html", data=None, **context), 400
    try:
        filters.check_scope(current_user, criteria)
    except OutOfScope:
        return _out_of_scope()
    data = _dashboard(current_user, criteria, period)
    return render_template("reports/dashboard.html", data=data, **context)


@bp.route("/export")
@requires("stats.export")
def export():
    """`?table=acceptance&group_by=office&format=csv|xlsx&publication=0|1` and the filters;
    with no parameters, the headline figures as CSV. Every export is audited."""
    name = request.args.get("table") or "acceptance"
    if name not in TABLES:
        abort(400)
    groups = TABLES[name].groups
    group_by = request.args.get("group_by") or ("" if "" in groups else groups[0])
    fmt = request.args.get("format") or "csv"
    publication = PUBLICATION_VALUES.get((request.args.get("publication") or "0").lower())
    if group_by not in groups or fmt not in FORMATS or publication is None:
        abort(400)
    criteria, errors = filters.parse(request.args)
    if errors:
        abort(400)
    try:
        filters.check_scope(current_user, criteria)
    except OutOfScope:
        return _out_of_scope()
    table = tables.build(name, group_by, current_user, criteria)
    chosen = filters.as_args(criteria)
    record("stats.export", user=current_user, table=name, group_by=group_by or None,
           format=fmt, publication=publication, channel="page", filters=chosen)  # fmt: skip
    db.session.commit()
    return export_response(table, fmt, publication, chosen)


@bp.route("/definitions")
@requires("stats.view")
def definitions():
    labels = column_labels()
    terms = [(key, labels.get(key, key), text) for key, text in DEFINITIONS.items()]
    return render_template(
        "reports/definitions.html", terms=terms, small=SMALL, hidden=HIDDEN,
        backlog_labels=tables.BACKLOG_LABELS,
    )  # fmt: skip
