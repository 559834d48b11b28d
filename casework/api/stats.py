"""Statistics through the API: the dashboard's tables, counted by the database.

Rates are fractions at full precision (0.8353…), never rounded. A regional supervisor's
figures are limited to their region: asking for another region, or one of its offices, is
answered 403 and never with other figures. `publication=true` hides small counts (`<5`) and
the cells that would give them away (`x`), as the publication exports do.
"""

from __future__ import annotations

from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from casework.api.problems import abort_problem
from casework.audit.operations import record
from casework.cases.models import CaseKind
from casework.extensions import db
from casework.policy import can, requires
from casework.reports import filters, tables
from casework.reports.definitions import COUNTS
from casework.reports.exports import export_response
from casework.reports.queries import GROUPS, OutOfScope, StatsFilter
from casework.reports.suppression import suppress
from casework.reports.tables import RATE_NAMES, StatTable

PREFIX = "/stats"
blp = Blueprint("api_stats", __name__, description="Statistics for supervisors")
SECURITY = [{"bearerAuth": []}]


def _cell(description: str) -> fields.Raw:
    """A count or a rate, or the string `<5` / `x` when suppressed for publication."""
    return fields.Raw(allow_none=True, metadata={"description": description})


COUNT_DOC = "A count; `<5` or `x` when suppressed (publication=true)."
RATE_DOC = "A fraction at full precision, null when its denominator is 0; `x` when suppressed."


# --- Arguments ---------------------------------------------------------------------------------


class FilterArgsSchema(Schema):
    kind = fields.String(validate=validate.OneOf([k.value for k in CaseKind]))
    operation = fields.String(validate=validate.Length(max=20))
    date_from = fields.Date(data_key="from", metadata={"description": "Filed on or after."})
    date_to = fields.Date(data_key="to", metadata={"description": "Filed on or before."})
    region = fields.String(
        validate=validate.Length(max=4), metadata={"description": "Region code, e.g. 04."}
    )
    office = fields.String(
        validate=validate.Length(max=12), metadata={"description": "Office code, e.g. RAB."}
    )
    publication = fields.Boolean(
        load_default=False, metadata={"description": "Suppress small counts for publication."}
    )


class AcceptanceArgsSchema(FilterArgsSchema):
    group_by = fields.String(validate=validate.OneOf(GROUPS), load_default=None)
    format = fields.String(validate=validate.OneOf(["json", "csv", "xlsx"]), load_default="json")


class ProcessingArgsSchema(FilterArgsSchema):
    group_by = fields.String(validate=validate.OneOf(["office"]), load_default="office")


class ProgrammeArgsSchema(Schema):
    date_from = fields.Date(data_key="from")
    date_to = fields.Date(data_key="to")
    publication = fields.Boolean(load_default=False)


# --- Answers -----------------------------------------------------------------------------------


def _acceptance_fields() -> dict:
    values = {name: _cell(COUNT_DOC) for name in COUNTS}
    values.update({name: _cell(RATE_DOC) for name in RATE_NAMES})
    return values


AcceptanceTotalSchema = Schema.from_dict(_acceptance_fields(), name="AcceptanceTotal")
AcceptanceRowSchema = Schema.from_dict(
    {
        "key": fields.String(allow_none=True),
        "label": fields.String(),
        "code": fields.String(metadata={"description": "The office's code (group_by=office)."}),
        **_acceptance_fields(),
    },
    name="AcceptanceRow",
)


class AcceptanceSchema(Schema):
    total = fields.Nested(AcceptanceTotalSchema)
    rows = fields.List(fields.Nested(AcceptanceRowSchema))


class OfficeTimeSchema(Schema):
    key = fields.String()
    label = fields.String()
    decided = _cell(COUNT_DOC)
    median_days = _cell("Median days from filing to first-instance decision.")
    p90_days = _cell("90th percentile of the same.")


class BucketSchema(Schema):
    key = fields.String()
    count = _cell(COUNT_DOC)


class ProcessingSchema(Schema):
    by_office = fields.List(fields.Nested(OfficeTimeSchema))
    backlog_by_age = fields.List(fields.Nested(BucketSchema))
    backlog_by_state = fields.List(fields.Nested(BucketSchema))


class ProgrammeRowSchema(Schema):
    key = fields.String()
    label = fields.String()
    number = fields.Integer()
    sdg_targets = fields.List(fields.String())
    people_referred = _cell(COUNT_DOC)
    people_accepted = _cell(COUNT_DOC)
    people_served = _cell(COUNT_DOC)
    assistance_records = _cell(COUNT_DOC)


class TargetRowSchema(Schema):
    key = fields.String()
    label = fields.String()
    programmes = fields.List(fields.String())
    people_referred = _cell(COUNT_DOC)
    people_served = _cell(COUNT_DOC)
    assistance_records = _cell(COUNT_DOC)


class ProgrammesSchema(Schema):
    programmes = fields.List(fields.Nested(ProgrammeRowSchema))
    sdg_targets = fields.List(fields.Nested(TargetRowSchema))


# --- Handlers ----------------------------------------------------------------------------------


def _criteria(args: dict) -> StatsFilter:
    """The filter, checked: unknown codes 422, a period backwards 400, out of scope 403."""
    criteria = StatsFilter(
        kind=args.get("kind"), operation=args.get("operation"),
        date_from=args.get("date_from"), date_to=args.get("date_to"),
        region=args.get("region"), office=args.get("office"),
    )  # fmt: skip
    errors = filters.reference_errors(criteria)
    if errors.get("from") == "order":
        abort_problem(400, "Bad Request", "from: after 'to'.", errors={"from": ["After 'to'."]})
    if errors:
        messages = {name: [filters.API_MESSAGES[code]] for name, code in errors.items()}
        detail = "; ".join(f"{name}: {text[0]}" for name, text in messages.items())
        abort_problem(422, "Unprocessable Content", detail, errors=messages)
    try:
        filters.check_scope(current_user, criteria)
    except OutOfScope as error:
        parameter = str(error) or "region"
        abort_problem(403, "Forbidden",
                      f"{parameter}: outside your region; your figures are limited to it.",
                      errors={parameter: ["Outside your region."]})  # fmt: skip
    return criteria


def _suppressed(table: StatTable, publication: bool) -> tuple[list[dict], dict | None]:
    if not publication:
        return table.rows, table.total
    return suppress(table.rows, table.rules, table.total)


@blp.route("/acceptance")
@requires("stats.view")
@blp.arguments(AcceptanceArgsSchema, location="query")
@blp.response(200, AcceptanceSchema)
@blp.alt_response(403, description="A region or office outside the caller's region")
@blp.doc(security=SECURITY)
def acceptance(args: dict):
    """Filed, decided, accepted, rejected, pending and the rates, in total and by `group_by`
    (office, region, nationality, sex, age_band, category, month, quarter, year).
    `format=csv|xlsx` answers the table as a file (audited)."""
    criteria = _criteria(args)
    group_by = args.get("group_by") or ""
    table = tables.acceptance_table(current_user, criteria, group_by)
    if args["format"] != "json":
        if not can(current_user, "stats.export"):
            abort_problem(403, "Forbidden", "Your role may not export statistics.")
        record("stats.export", user=current_user, table="acceptance", group_by=group_by or None,
               format=args["format"], publication=args["publication"], channel="api",
               filters=filters.as_args(criteria))  # fmt: skip
        db.session.commit()
        return export_response(table, args["format"], args["publication"],
                               filters.as_args(criteria))  # fmt: skip
    rows, total = _suppressed(table, args["publication"])
    return {"total": total, "rows": rows}


@blp.route("/processing")
@requires("stats.view")
@blp.arguments(ProcessingArgsSchema, location="query")
@blp.response(200, ProcessingSchema)
@blp.alt_response(403, description="A region or office outside the caller's region")
@blp.doc(security=SECURITY)
def processing(args: dict):
    """Days from filing to the first-instance decision by office (median and 90th percentile,
    nearest rank), and the backlog of pending files by age and by state."""
    criteria = _criteria(args)
    timing = tables.processing_tables(current_user, criteria)
    publication = args["publication"]
    by_office, _ = _suppressed(timing["office"], publication)
    by_age, _ = _suppressed(timing["age"], publication)
    by_state, _ = _suppressed(timing["state"], publication)
    return {"by_office": by_office, "backlog_by_age": by_age, "backlog_by_state": by_state}


@blp.route("/programmes")
@requires("stats.view")
@blp.arguments(ProgrammeArgsSchema, location="query")
@blp.response(200, ProgrammesSchema)
@blp.doc(security=SECURITY)
def programme_indicators(args: dict):
    """People referred, accepted and served, and assistance records, per programme of the
    strategy and per SDG target (a regional supervisor: what their region's organisations
    sent or recorded)."""
    criteria = StatsFilter(date_from=args.get("date_from"), date_to=args.get("date_to"))
    if criteria.date_from and criteria.date_to and criteria.date_from > criteria.date_to:
        abort_problem(400, "Bad Request", "from: after 'to'.", errors={"from": ["After 'to'."]})
    result = tables.programme_tables(current_user, criteria)
    programme_rows, _ = _suppressed(result["programme"], args["publication"])
    target_rows, _ = _suppressed(result["sdg_target"], args["publication"])
    return {"programmes": programme_rows, "sdg_targets": target_rows}
