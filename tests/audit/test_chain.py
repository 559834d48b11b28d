"""The tamper-evident audit trail: `casework audit verify` names the first entry that was
changed, removed or inserted (issue #7)."""

from __future__ import annotations

from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import text

from casework import create_app
from casework.audit.chain import verify
from casework.audit.operations import record
from casework.extensions import db


def _write_entries(app: Flask, count: int) -> None:
    with app.test_request_context():
        for number in range(count):
            record("test.entry", record_type="people", record_id=number, n=number)
        db.session.commit()


def _verify(app: Flask):
    with app.app_context():
        return verify(batch=3)  # small batches: the walk crosses batch boundaries


def _sql(app: Flask, statement: str) -> None:
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(text(statement))


def test_an_untouched_trail_verifies(app: Flask) -> None:
    _write_entries(app, 10)
    checked, problem = _verify(app)
    assert (checked, problem) == (10, None)


def test_a_changed_entry_is_named(app: Flask) -> None:
    _write_entries(app, 10)
    _sql(app, "UPDATE audit_entries SET action = 'test.other' WHERE sequence = 6")
    checked, problem = _verify(app)
    assert checked == 5
    assert problem.sequence == 6
    assert "changed" in problem.what


def test_a_changed_hash_is_caught_by_the_next_link(app: Flask) -> None:
    _write_entries(app, 5)
    _sql(app, "UPDATE audit_entries SET entry_hash = 'f' WHERE sequence = 2")
    _, problem = _verify(app)
    assert problem.sequence == 2


def test_a_removed_entry_is_named(app: Flask) -> None:
    _write_entries(app, 10)
    _sql(app, "DELETE FROM audit_entries WHERE sequence = 4")
    _, problem = _verify(app)
    assert problem.sequence == 4
    assert "removed" in problem.what


def test_removing_the_newest_entries_shows(app: Flask) -> None:
    _write_entries(app, 10)
    _sql(app, "DELETE FROM audit_entries WHERE sequence >= 9")
    checked, problem = _verify(app)
    assert checked == 8
    assert "last entries" in problem.what


def test_an_inserted_entry_is_named(app: Flask) -> None:
    _write_entries(app, 4)
    _sql(
        app,
        "INSERT INTO audit_entries (at, action, data) "
        "VALUES ('2026-01-01 00:00:00', 'forged', '{}')",
    )
    _, problem = _verify(app)
    assert "inserted" in problem.what


def test_an_entry_renumbered_into_the_chain_breaks_its_link(app: Flask) -> None:
    _write_entries(app, 6)
    _sql(app, "DELETE FROM audit_entries WHERE sequence = 3")
    _sql(app, "UPDATE audit_entries SET sequence = 3 WHERE sequence = 4")
    _, problem = _verify(app)
    assert problem.sequence == 3


def test_the_command_exits_non_zero_on_a_broken_trail(app: Flask) -> None:
    _write_entries(app, 3)
    runner = app.test_cli_runner()
    good = runner.invoke(args=["audit", "verify"])
    assert good.exit_code == 0 and "3 entries verified" in good.output
    _sql(app, "UPDATE audit_entries SET record_id = 99 WHERE sequence = 2")
    bad = runner.invoke(args=["audit", "verify"])
    assert bad.exit_code == 1
    assert "entry #2" in bad.output


def test_the_migration_chains_entries_written_before_it(tmp_path) -> None:
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/old.db"})
    with app.app_context():
        upgrade(revision="0006_person_matching")
        with db.engine.begin() as connection:
            for number in range(3):
                connection.execute(
                    text(
                        "INSERT INTO audit_entries (at, action, data, record_id) "
                        "VALUES (:at, 'old.entry', :data, :n)"
                    ),
                    {"at": f"2025-05-0{number + 1} 10:00:00.000000", "data": "{}", "n": number},
                )
        upgrade()
        assert verify() == (3, None)
        db.engine.dispose()
