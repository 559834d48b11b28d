"""Schemas shared by every API resource: problems and list pages."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class ProblemSchema(Schema):
    """RFC 9457 problem details, as every API error is answered."""

    type = fields.String()
    status = fields.Integer(required=True)
    title = fields.String(required=True)
    detail = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.Raw())


# Records' ids are PostgreSQL `integer`s: a larger number names no record.
MAX_RECORD_ID = 2**31 - 1


class RecordId(fields.Integer):
    """A record's id in a request: documented and checked as a positive 32-bit integer, so that
    an id out of range is refused (422), not sent to the database to fail there (a 500)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(validate=validate.Range(min=1, max=MAX_RECORD_ID), **kwargs)


class ListArgsSchema(Schema):
    cursor = fields.String(load_default=None, metadata={"description": "From the last `next`."})
    limit = fields.Integer(load_default=25, validate=validate.Range(min=1, max=200))


def page_schema(item_schema: type[Schema], name: str) -> type[Schema]:
    """`{"items": [...], "next": <cursor or null>}` for `item_schema`."""
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema), required=True),
            "next": fields.String(allow_none=True, required=True),
        },
        name=name,
    )


class UtcDateTime(fields.DateTime):
    """Moments are stored in UTC; SQLite returns them without an offset: say it is UTC."""

    def _serialize(self, value, attr, obj, **kwargs):
        from casework.models_base import as_utc

        return super()._serialize(as_utc(value), attr, obj, **kwargs)
