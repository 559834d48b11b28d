"""The dashboard's filters (period, kind, operation, region, office), read and checked once
for the pages, the exports and the API.

Errors are given as {parameter: code}; pages translate the codes, the API answers them in
problem+json. Scope (a regional supervisor asking for another region or one of its offices)
is checked by `queries.scope_condition`, the same rule the queries apply.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from casework.admin.models import Organisation, OrganisationKind
from casework.auth.models import User
from casework.cases.models import CaseKind
from casework.extensions import db
from casework.reference.models import Operation, Region
from casework.reports.queries import StatsFilter, scope_condition

FILTER_ARGS = ("from", "to", "kind", "operation", "region", "office")
PERIODS = ("month", "quarter", "year")
OFFICE_KINDS = (OrganisationKind.FOREIGNERS_OFFICE.value, OrganisationKind.ASYLUM_OFFICE.value)

MESSAGES = {
    "date": _l("Give a date as YYYY-MM-DD."),
    "order": _l("The start of the period is after its end."),
    "kind": _l("Unknown kind of file."),
    "operation": _l("Unknown operation."),
    "region": _l("Unknown region."),
    "office": _l("Unknown office."),
    "period": _l("Choose month, quarter or year."),
}
API_MESSAGES = {
    "date": "Not a valid date (YYYY-MM-DD).",
    "order": "'from' is after 'to'.",
    "kind": "Unknown kind of file.",
    "operation": "Unknown operation.",
    "region": "Unknown region.",
    "office": "Unknown office.",
}


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def parse(args: Mapping[str, str]) -> tuple[StatsFilter, dict[str, str]]:
    """The filter given by query parameters, and what is wrong with it."""
    errors: dict[str, str] = {}
    days: dict[str, date | None] = {}
    for name in ("from", "to"):
        try:
            days[name] = _day((args.get(name) or "").strip() or None)
        except ValueError:
            errors[name] = "date"
            days[name] = None
    kind = (args.get("kind") or "").strip() or None
    if kind and kind not in {k.value for k in CaseKind}:
        errors["kind"] = "kind"
    criteria = StatsFilter(
        kind=kind,
        operation=(args.get("operation") or "").strip() or None,
        date_from=days["from"],
        date_to=days["to"],
        region=(args.get("region") or "").strip() or None,
        office=(args.get("office") or "").strip() or None,
    )
    return criteria, {**errors, **reference_errors(criteria)}


def reference_errors(criteria: StatsFilter) -> dict[str, str]:
    """Codes that name nothing, and a period that ends before it starts."""
    errors: dict[str, str] = {}
    if criteria.date_from and criteria.date_to and criteria.date_from > criteria.date_to:
        errors["from"] = "order"
    if criteria.operation and db.session.get(Operation, criteria.operation) is None:
        errors["operation"] = "operation"
    if criteria.region and db.session.get(Region, criteria.region) is None:
        errors["region"] = "region"
    if criteria.office and (
        db.session.scalar(select(Organisation.id).where(Organisation.code == criteria.office))
        is None
    ):
        errors["office"] = "office"
    return errors


def check_scope(user: User, criteria: StatsFilter) -> None:
    """Raise `queries.OutOfScope` when the filter reaches outside the user's region."""
    scope_condition(user, criteria)


def regions_for(user: User) -> list[Region]:
    query = select(Region).order_by(Region.code)
    if user.region_code is not None:
        query = query.where(Region.code == user.region_code)
    return list(db.session.scalars(query))


def offices_for(user: User) -> list[Organisation]:
    """The offices files are filed at, within the user's region."""
    query = select(Organisation).where(Organisation.kind.in_(OFFICE_KINDS))
    if user.region_code is not None:
        query = query.where(Organisation.region_code == user.region_code)
    return list(db.session.scalars(query.order_by(Organisation.name)))


def operations() -> list[Operation]:
    return list(db.session.scalars(select(Operation).order_by(Operation.opens_on.desc())))


def as_args(criteria: StatsFilter) -> dict[str, str]:
    """The filter as query parameters (for export links and audit entries)."""
    values = {
        "from": criteria.date_from.isoformat() if criteria.date_from else None,
        "to": criteria.date_to.isoformat() if criteria.date_to else None,
        "kind": criteria.kind,
        "operation": criteria.operation,
        "region": criteria.region,
        "office": criteria.office,
    }
    return {name: value for name, value in values.items() if value}
