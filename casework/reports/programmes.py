"""Programme indicators: people referred, accepted and served, and assistance given, per
programme of the strategy and per SDG target."""

from __future__ import annotations

from datetime import date

from sqlalchemy import ColumnElement, and_, case, distinct, func, select, true

from casework.admin.models import Organisation
from casework.auth.models import User
from casework.extensions import db
from casework.models_base import current_language
from casework.reference.models import Programme, SdgTarget, Service
from casework.services.models import AssistanceRecord, Referral

ACCEPTED_STATES = ("accepted", "in_progress", "completed", "closed_without_service")


def _region_filter(user: User, column) -> ColumnElement[bool]:
    """Regional supervisors count what organisations of their region sent or recorded."""
    if user.region_code is None:
        return true()
    in_region = select(Organisation.id).where(Organisation.region_code == user.region_code)
    return column.in_(in_region)


def _referral_counts(user: User, programmes: list[str] | None, date_from, date_to):
    conditions = [_region_filter(user, Referral.sender_organisation_id)]
    if programmes is not None:
        conditions.append(Service.programme_code.in_(programmes))
    if date_from:
        conditions.append(func.date(Referral.created_at) >= date_from)
    if date_to:
        conditions.append(func.date(Referral.created_at) <= date_to)
    return and_(*conditions)


def _assistance_conditions(user: User, programmes, date_from, date_to):
    superseded = select(AssistanceRecord.corrects_id).where(
        AssistanceRecord.corrects_id.is_not(None)
    )
    conditions = [
        _region_filter(user, AssistanceRecord.provider_id),
        AssistanceRecord.id.not_in(superseded),  # a corrected record counts once, as corrected
    ]
    if programmes is not None:
        conditions.append(Service.programme_code.in_(programmes))
    if date_from:
        conditions.append(AssistanceRecord.given_on >= date_from)
    if date_to:
        conditions.append(AssistanceRecord.given_on <= date_to)
    return and_(*conditions)


def indicators(user: User, date_from: date | None = None, date_to: date | None = None) -> dict:
    """`{"programmes": [...], "sdg_targets": [...]}`, each row with people_referred,
    people_accepted, people_served and assistance_records."""
    language = current_language()
    referral_rows = db.session.execute(
        select(
            Service.programme_code,
            func.count(distinct(Referral.person_id)),
            func.count(distinct(case((Referral.state.in_(ACCEPTED_STATES), Referral.person_id)))),
        )
        .join(Service, Service.code == Referral.service_code)
        .where(_referral_counts(user, None, date_from, date_to))
        .group_by(Service.programme_code)
    ).all()
    assistance_rows = db.session.execute(
        select(
            Service.programme_code,
            func.count(distinct(AssistanceRecord.person_id)),
            func.count(AssistanceRecord.id),
        )
        .join(Service, Service.code == AssistanceRecord.service_code)
        .where(_assistance_conditions(user, None, date_from, date_to))
        .group_by(Service.programme_code)
    ).all()
    referred = {code: (int(a), int(b)) for code, a, b in referral_rows}
    served = {code: (int(a), int(b)) for code, a, b in assistance_rows}
    programmes = list(db.session.scalars(select(Programme).order_by(Programme.number)))
    rows = []
    for programme in programmes:
        people_referred, people_accepted = referred.get(programme.code, (0, 0))
        people_served, records = served.get(programme.code, (0, 0))
        rows.append({
            "key": programme.code, "number": programme.number,
            "label": programme.name_in(language), "kind": programme.kind,
            "sdg_targets": programme.sdg_targets, "people_referred": people_referred,
            "people_accepted": people_accepted, "people_served": people_served,
            "assistance_records": records,
        })  # fmt: skip
    return {"programmes": rows, "sdg_targets": _by_target(user, programmes, date_from, date_to)}


def _by_target(user, programmes, date_from, date_to) -> list[dict]:
    """Distinct people per target cannot be summed from programmes (one person may be in two),
    so each target is counted by the database over its programmes' services."""
    language = current_language()
    targets = {t.code: t for t in db.session.scalars(select(SdgTarget))}
    by_target: dict[str, list[str]] = {}
    for programme in programmes:
        for code in programme.sdg_targets:
            by_target.setdefault(code, []).append(programme.code)
    rows = []
    for code in sorted(by_target, key=_target_order):
        codes = by_target[code]
        referred = db.session.scalar(
            select(func.count(distinct(Referral.person_id)))
            .join(Service, Service.code == Referral.service_code)
            .where(_referral_counts(user, codes, date_from, date_to))
        )
        served, records = db.session.execute(
            select(
                func.count(distinct(AssistanceRecord.person_id)), func.count(AssistanceRecord.id)
            )
            .join(Service, Service.code == AssistanceRecord.service_code)
            .where(_assistance_conditions(user, codes, date_from, date_to))
        ).one()
        target = targets.get(code)
        rows.append({
            "key": code, "label": target.name_in(language) if target else code,
            "programmes": codes, "people_referred": int(referred or 0),
            "people_served": int(served or 0), "assistance_records": int(records or 0),
        })  # fmt: skip
    return rows


def _target_order(code: str) -> tuple[int, int]:
    goal, _, target = code.partition(".")
    return int(goal), int(target) if target.isdigit() else 0
