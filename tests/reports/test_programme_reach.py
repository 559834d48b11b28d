"""The programme reach table (casework.reports.reach) kept in step by the referral and
assistance operations: after sends, accepts, declines, completions, cancellations, records and
corrections (with a referral and walk-in), the table equals a rebuild, and the unfiltered
indicators read from it equal the exact count(DISTINCT) query, nationally and regionally."""

from __future__ import annotations

from datetime import date

from flask import Flask
from sqlalchemy import delete, select

from casework.admin.models import Organisation
from casework.auth.models import User
from casework.extensions import db
from casework.models_base import current_language
from casework.people.models import Person
from casework.reference.models import Programme
from casework.reports.programmes import (
    _answer,
    exact_counts,
    indicator_groups,
    indicators,
)
from casework.reports.reach import COLUMNS, REACH, ProgrammeReach, differences, rebuild
from casework.services import operations
from casework.services.models import AssistanceRecord, Referral
from tests.cases.helpers import request_context
from tests.factories import World, user_by_key
from tests.services.test_api import build_partners

TODAY = date.today()


def _table() -> set[tuple]:
    return set(db.session.execute(select(*(REACH.c[name] for name in COLUMNS))).all())


def assert_in_step() -> None:
    db.session.flush()
    kept = _table()
    assert differences(db.session.connection()) == []
    rebuild(db.session.connection())
    assert _table() == kept


def _exact(user: User) -> dict:
    programmes = list(db.session.scalars(select(Programme).order_by(Programme.number)))
    groups = indicator_groups(programmes)
    referred, served = exact_counts(user, groups)
    return _answer(groups, programmes, referred, served, current_language())


def assert_indicators_exact(users: list[User]) -> None:
    for user in users:
        assert indicators(user) == _exact(user), user.email


def _send(people, key, service, provider, by):
    return operations.send_referral(
        people[key],
        service_code=service,
        provider=provider,
        purpose="Help",
        urgency="normal",
        due_date=None,
        by=by,
        consent={"given": True, "date": TODAY, "shared_vulnerabilities": []},
    )


def _act(referral, action, by):
    operations.act_on_referral(
        referral, action, by=by, expected_version=None, reason="full", outcome="ok"
    )


def _give(referral, service, by, quantity=1):
    values = {"date": TODAY, "service_code": service, "quantity": quantity, "unit": "kit"}
    return operations.record_assistance(referral, values, by=by)


def test_referral_and_assistance_operations_keep_the_reach_in_step(
    app: Flask, world: World
) -> None:
    with app.app_context(), request_context(app):
        partners = build_partners(world)
        db.session.flush()
        user = {key: user_by_key(world, key) for key in ("caseworker", "caseworker2", "ngo")}
        user["ngo2"] = db.session.scalar(select(User).where(User.email == partners.users["ngo2"]))
        orgs = {key: db.session.get(Organisation, partners.orgs[key]) for key in ("NGO1", "NGO2")}
        people = {key: db.session.get(Person, pid) for key, pid in partners.people.items()}
        readers = [user_by_key(world, "supervisor"), user_by_key(world, "regional")]
        assert_in_step()

        # Sent, then accepted, started and completed with records; a correction on it.
        done = _send(people, "rabat", "school_enrolment", orgs["NGO1"], user["caseworker"])
        assert_in_step()
        _act(done, "accept", user["ngo"])
        first = _give(done, "school_enrolment", user["ngo"])
        _act(done, "start", user["ngo"])
        second = _give(done, "school_enrolment", user["ngo"], quantity=2)
        _act(done, "complete", user["ngo"])
        assert_in_step()
        operations.correct_assistance(first, {"quantity": 3}, by=user["ngo"])
        assert_in_step()
        assert_indicators_exact(readers)

        # Declined, cancelled, accepted then closed: in and out of the accepted states.
        declined = _send(people, "tanger", "school_enrolment", orgs["NGO2"], user["caseworker2"])
        _act(declined, "decline", user["ngo2"])
        cancelled = _send(people, "rabat_child", "legal_aid", orgs["NGO1"], user["caseworker"])
        _act(cancelled, "cancel", user["caseworker"])
        closed = _send(people, "tanger", "emergency_shelter", orgs["NGO2"], user["caseworker2"])
        _act(closed, "accept", user["ngo2"])
        shelter = _give(closed, "emergency_shelter", user["ngo2"])
        _act(closed, "close", user["ngo2"])
        # The same person twice under one programme, from two senders' regions.
        again = _send(people, "rabat", "legal_aid", orgs["NGO1"], user["caseworker2"])
        _act(again, "accept", user["ngo"])
        assert_in_step()
        assert_indicators_exact(readers)

        # A walk-in's record corrected (the correction's link is set after its own flush),
        # and a correction of a correction.
        walk_values = {"date": TODAY, "service_code": "legal_aid", "quantity": 1, "unit": "kit"}
        walk = operations.record_walk_in_assistance(people["walk_in"], walk_values, by=user["ngo"])
        fixed = operations.correct_assistance(walk, {"quantity": 2}, by=user["ngo"])
        operations.correct_assistance(fixed, {"quantity": 4}, by=user["ngo"])
        operations.correct_assistance(shelter, {"quantity": 5}, by=user["ngo2"])
        assert_in_step()
        assert_indicators_exact(readers)

        # ORM edits and deletions outside the operations.
        second_row = db.session.get(AssistanceRecord, second.id)
        db.session.delete(second_row)
        db.session.flush()
        assert_in_step()
        moved = db.session.get(Referral, declined.id)
        moved.person_id = people["walk_in2"].id
        db.session.flush()
        assert_in_step()
        for record in db.session.scalars(
            select(AssistanceRecord).where(AssistanceRecord.referral_id == closed.id)
        ):
            record.referral_id = None
        db.session.flush()
        db.session.delete(db.session.get(Referral, closed.id))
        db.session.flush()
        assert_in_step()
        assert_indicators_exact(readers)

        # A programme's targets and an organisation's region change: rebuilt.
        programme = next(p for p in db.session.scalars(select(Programme)) if p.sdg_targets)
        programme.sdg_targets = [*programme.sdg_targets[1:]]
        orgs["NGO2"].region_code = orgs["NGO1"].region_code
        db.session.flush()
        assert_in_step()
        assert_indicators_exact(readers)
        figures = indicators(readers[0])["programmes"]
        assert sum(row["people_referred"] for row in figures) > 0
        assert sum(row["assistance_records"] for row in figures) > 0
        db.session.rollback()


def test_check_and_rebuild_commands_cover_the_reach(app: Flask, world: World) -> None:
    runner = app.test_cli_runner()
    with app.app_context(), request_context(app):
        partners = build_partners(world)
        db.session.flush()
        caseworker = user_by_key(world, "caseworker")
        ngo = user_by_key(world, "ngo")
        person = db.session.get(Person, partners.people["rabat"])
        provider = db.session.get(Organisation, partners.orgs["NGO1"])
        referral = _send({"p": person}, "p", "legal_aid", provider, caseworker)
        _act(referral, "accept", ngo)
        _give(referral, "legal_aid", ngo)
        db.session.commit()
    ok = runner.invoke(args=["stats", "check"])
    assert ok.exit_code == 0 and "Programme reach matches" in ok.output, ok.output

    with app.app_context():
        db.session.execute(delete(ProgrammeReach).where(ProgrammeReach.scope == ""))
        db.session.commit()
    broken = runner.invoke(args=["stats", "check"])
    assert broken.exit_code == 1 and "programme reach" in broken.output, broken.output

    rebuilt = runner.invoke(args=["stats", "rebuild"])
    assert rebuilt.exit_code == 0 and "Programme reach rebuilt" in rebuilt.output, rebuilt.output
    assert runner.invoke(args=["stats", "check"]).exit_code == 0
