"""The audit trail for auditors: search by user, record, action and period."""

from __future__ import annotations

from datetime import UTC, datetime, time

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from casework.api.problems import abort_problem
from casework.audit.models import AuditEntry
from casework.auth.models import User
from casework.pagination import BadCursor, page_by_id_desc
from casework.policy import requires
from casework.schemas import ListArgsSchema, RecordId, UtcDateTime, page_schema

PREFIX = "/audit"
blp = Blueprint("api_audit", __name__, description="The audit trail (auditors)")


class AuditArgsSchema(ListArgsSchema):
    user = fields.String(metadata={"description": "Email of the acting user (exact)."})
    user_id = RecordId()
    action = fields.String(
        validate=validate.Length(max=60),
        metadata={"description": "An action, or its prefix (person.)."},
    )
    record_type = fields.String(validate=validate.Length(max=40))
    record_id = RecordId()
    date_from = fields.Date(data_key="from")
    date_to = fields.Date(data_key="to")


class AuditEntrySchema(Schema):
    id = fields.Integer()
    at = UtcDateTime()
    user_id = fields.Integer(allow_none=True)
    action = fields.String()
    record_type = fields.String(allow_none=True)
    record_id = fields.Integer(allow_none=True)
    client_address = fields.String(allow_none=True)
    data = fields.Dict()


@blp.route("")
@requires("audit.view")
@blp.arguments(AuditArgsSchema, location="query")
@blp.response(200, page_schema(AuditEntrySchema, "AuditPage"))
@blp.doc(security=[{"bearerAuth": []}])
def search_audit(args: dict):
    """Entries newest first, filtered; `next` pages further back."""
    query = select(AuditEntry)
    if args.get("user"):
        query = query.where(
            AuditEntry.user_id.in_(select(User.id).where(User.email == args["user"].lower()))
        )
    if args.get("user_id") is not None:
        query = query.where(AuditEntry.user_id == args["user_id"])
    if args.get("action"):
        query = query.where(AuditEntry.action.startswith(args["action"], autoescape=True))
    if args.get("record_type"):
        query = query.where(AuditEntry.record_type == args["record_type"])
    if args.get("record_id") is not None:
        query = query.where(AuditEntry.record_id == args["record_id"])
    if args.get("date_from") and args.get("date_to") and args["date_from"] > args["date_to"]:
        abort_problem(400, "Bad Request", "`from` is after `to`.", errors={"from": ["After to."]})
    if args.get("date_from"):
        query = query.where(AuditEntry.at >= datetime.combine(args["date_from"], time.min, UTC))
    if args.get("date_to"):
        query = query.where(AuditEntry.at <= datetime.combine(args["date_to"], time.max, UTC))
    try:
        page = page_by_id_desc(query, AuditEntry.id, args["cursor"], args["limit"])
    except BadCursor:
        abort_problem(400, "Bad Request", "Unknown cursor.", errors={"cursor": ["Unknown cursor."]})
    return {"items": page.items, "next": page.next_cursor}
