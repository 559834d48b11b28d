"""Programme indicators: people referred, accepted and served, and assistance given, per
programme of the strategy and per SDG target."""

from __future__ import annotations

from datetime import date

from sqlalchemy import ColumnElement, and_, case, distinct, func, literal, select, true, union_all

from casework.admin.models import Organisation
from casework.auth.models import User
from casework.extensions import db
from casework.models_base import current_language
from casework.reference.models import Programme, SdgTarget, Service
from casework.reports.reach import ACCEPTED_STATES, ProgrammeReach
from casework.services.models import AssistanceRecord, Referral


def _region_filter(user: User, column) -> ColumnElement[bool]:
    """Regional supervisors count what organisations of their region sent or recorded."""
    if user.region_code is None:
        return true()
    in_region = select(Organisation.id).where(Organisation.region_code == user.region_code)
    return column.in_(in_region)


def _referral_counts(user: User, date_from, date_to):
    conditions = [_region_filter(user, Referral.sender_organisation_id)]
    if date_from:
        conditions.append(func.date(Referral.created_at) >= date_from)
    if date_to:
        conditions.append(func.date(Referral.created_at) <= date_to)
    return and_(*conditions)


def _assistance_conditions(user: User, date_from, date_to):
    superseded = select(AssistanceRecord.corrects_id).where(
        AssistanceRecord.corrects_id.is_not(None)
    )
    conditions = [
        _region_filter(user, AssistanceRecord.provider_id),
        AssistanceRecord.id.not_in(superseded),  # a corrected record counts once, as corrected
    ]
    if date_from:
        conditions.append(AssistanceRecord.given_on >= date_from)
    if date_to:
        conditions.append(AssistanceRecord.given_on <= date_to)
    return and_(*conditions)


def indicator_groups(programmes: list[Programme]) -> list[tuple[str, str, list[str]]]:
    """(kind, key, programme codes) per row of the answer: each programme, then each SDG
    target over the programmes that list it."""
    groups = [("programme", programme.code, [programme.code]) for programme in programmes]
    by_target: dict[str, list[str]] = {}
    for programme in programmes:
        for code in programme.sdg_targets:
            by_target.setdefault(code, []).append(programme.code)
    groups += [
        ("sdg_target", code, by_target[code]) for code in sorted(by_target, key=_target_order)
    ]
    return groups


def _group_table(groups: list[tuple[str, str, list[str]]]):
    """The groups as rows (number, programme_code) for the database to join: a programme's
    referrals then count towards its own row and towards each of its targets' rows."""
    pairs = [
        select(literal(number).label("number"), literal(code).label("programme_code"))
        for number, (_kind, _key, codes) in enumerate(groups)
        for code in codes
    ]
    return union_all(*pairs).cte("indicator_groups")


def indicators(user: User, date_from: date | None = None, date_to: date | None = None) -> dict:
    """`{"programmes": [...], "sdg_targets": [...]}`, each row with people_referred,
    people_accepted, people_served and assistance_records."""
    language = current_language()
    programmes = list(db.session.scalars(select(Programme).order_by(Programme.number)))
    groups = indicator_groups(programmes)
    if date_from is None and date_to is None:
        referred, served = _from_reach(user, groups)
    else:
        referred, served = exact_counts(user, groups, date_from, date_to)
    return _answer(groups, programmes, referred, served, language)


def exact_counts(user: User, groups, date_from=None, date_to=None) -> tuple[dict, dict]:
    """{group number: (people referred, people accepted)} and {group number: (people served,
    records)}, counted from the referrals and records themselves (any period)."""
    # One pass per table for every row: distinct people per target cannot be summed from the
    # programmes (one person may be in two), so each referral is joined to every group its
    # programme belongs to and the database counts distinct people per group.
    table = _group_table(groups)
    referral_rows = db.session.execute(
        select(
            table.c.number,
            func.count(distinct(Referral.person_id)),
            func.count(distinct(case((Referral.state.in_(ACCEPTED_STATES), Referral.person_id)))),
        )
        .join(Service, Service.code == Referral.service_code)
        .join(table, table.c.programme_code == Service.programme_code)
        .where(_referral_counts(user, date_from, date_to))
        .group_by(table.c.number)
    ).all()
    assistance_rows = db.session.execute(
        select(
            table.c.number,
            func.count(distinct(AssistanceRecord.person_id)),
            func.count(AssistanceRecord.id),
        )
        .join(Service, Service.code == AssistanceRecord.service_code)
        .join(table, table.c.programme_code == Service.programme_code)
        .where(_assistance_conditions(user, date_from, date_to))
        .group_by(table.c.number)
    ).all()
    referred = {int(number): (int(a), int(b)) for number, a, b in referral_rows}
    served = {int(number): (int(a), int(b)) for number, a, b in assistance_rows}
    return referred, served


def _from_reach(user: User, groups) -> tuple[dict, dict]:
    """The same figures over the whole history, from the reach table (`reports.reach`): the
    rows of the caller's scope, one per (group, person), counted without DISTINCT."""
    numbers = {(kind, key): number for number, (kind, key, _codes) in enumerate(groups)}
    reach = ProgrammeReach
    rows = db.session.execute(
        select(
            reach.group_kind,
            reach.group_key,
            func.sum(case((reach.referrals > 0, 1), else_=0)),
            func.sum(case((reach.accepted_referrals > 0, 1), else_=0)),
            func.sum(case((reach.records > 0, 1), else_=0)),
            func.sum(reach.records),
        )
        .where(reach.scope == (user.region_code or ""))
        .group_by(reach.group_kind, reach.group_key)
    ).all()
    referred, served = {}, {}
    for kind, key, people_referred, accepted, people_served, records in rows:
        number = numbers.get((kind, key))
        if number is not None:
            referred[number] = (int(people_referred or 0), int(accepted or 0))
            served[number] = (int(people_served or 0), int(records or 0))
    return referred, served


def _answer(groups, programmes, referred, served, language) -> dict:
    rows, target_rows = [], []
    by_code = {programme.code: programme for programme in programmes}
    targets = {t.code: t for t in db.session.scalars(select(SdgTarget))}
    for number, (kind, key, codes) in enumerate(groups):
        people_referred, people_accepted = referred.get(number, (0, 0))
        people_served, records = served.get(number, (0, 0))
        if kind == "programme":
            programme = by_code[key]
            rows.append({
                "key": key, "number": programme.number,
                "label": programme.name_in(language), "kind": programme.kind,
                "sdg_targets": programme.sdg_targets, "people_referred": people_referred,
                "people_accepted": people_accepted, "people_served": people_served,
                "assistance_records": records,
            })  # fmt: skip
        else:
            target = targets.get(key)
            target_rows.append({
                "key": key, "label": target.name_in(language) if target else key,
                "programmes": codes, "people_referred": people_referred,
                "people_served": people_served, "assistance_records": records,
            })  # fmt: skip
    return {"programmes": rows, "sdg_targets": target_rows}


def _target_order(code: str) -> tuple[int, int]:
    goal, _, target = code.partition(".")
    return int(goal), int(target) if target.isdigit() else 0
