"""The audit trail (issue #2): sign-ins, changes to people and every view of a person are
recorded with who, when and from where; personal data stays out of the trail and the logs; the
auditors' page filters the trail and is closed to everyone else."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from casework.audit.models import AuditEntry
from casework.auth.models import User
from casework.extensions import db
from tests.conftest import api_token, sign_in
from tests.factories import PASSWORD, World

CLIENT_ADDRESS = "192.0.2.41"  # TEST-NET-1: an address that is nobody's
WRONG_PASSWORD = "not the right password at all"

NEW_PERSON = {
    "family_name": "Benkirane-Ouedraogo",
    "given_names": "Zoubida Salimata",
    "family_name_ar": "بنكيران",
    "given_names_ar": "زبيدة",
    "sex": "F",
    "date_of_birth": "1988-07-14",
    "nationality": "BF",
    "phone": "+212600112233",
    "address": "12 rue des Orangers, Rabat",
    "vulnerability_notes": "Suivi médical régulier",
    "doc-kind": "passport",
    "doc-number": "",
}


# --- helpers ---------------------------------------------------------------------------------


def client_from(app: Flask, address: str = CLIENT_ADDRESS) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def entries(app: Flask, action: str | None = None) -> list[AuditEntry]:
    with app.app_context():
        query = select(AuditEntry).order_by(AuditEntry.id)
        if action is not None:
            query = query.where(AuditEntry.action == action)
        rows = db.session.scalars(query).all()
        db.session.expunge_all()
        return rows


def user_id(app: Flask, email: str) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.email == email))


def register(client: FlaskClient, **changes) -> int:
    response = client.post("/people/new", data={**NEW_PERSON, **changes})
    assert response.status_code == 302, response.get_data(as_text=True)
    match = re.search(r"/people/(\d+)$", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def edit(client: FlaskClient, person_id: int, **changes):
    form = client.get(f"/people/{person_id}/edit").get_data(as_text=True)
    version = re.search(r'name="version" type="hidden" value="(\d+)"', form) or re.search(
        r'id="version" name="version" type="hidden" value="(\d+)"', form
    )
    data = {k: v for k, v in NEW_PERSON.items() if not k.startswith("doc-")}
    data.update(changes)
    if version:
        data["version"] = version.group(1)
    return client.post(f"/people/{person_id}/edit", data=data)


# --- sign-ins ----------------------------------------------------------------------------------


def test_a_successful_web_sign_in_is_recorded_with_its_client_address(
    app: Flask, world: World
) -> None:
    sign_in(client_from(app), world.users["caseworker"])

    [entry] = entries(app, "auth.signin")
    assert entry.user_id == world.user_ids["caseworker"]
    assert entry.record_type == "users"
    assert entry.record_id == world.user_ids["caseworker"]
    assert entry.client_address == CLIENT_ADDRESS
    assert entry.data == {"channel": "web"}
    assert entry.at is not None


def test_an_api_sign_in_is_recorded_with_its_channel(app: Flask, world: World) -> None:
    response = client_from(app).post(
        "/api/v1/auth/token", json={"email": world.users["ngo"], "password": PASSWORD}
    )
    assert response.status_code == 200

    [entry] = entries(app, "auth.signin")
    assert entry.user_id == world.user_ids["ngo"]
    assert entry.client_address == CLIENT_ADDRESS
    assert entry.data == {"channel": "api"}
    assert [e.user_id for e in entries(app, "auth.token_issued")] == [world.user_ids["ngo"]]


def test_a_failed_sign_in_is_recorded_against_the_account(app: Flask, world: World) -> None:
    sign_in(client_from(app), world.users["caseworker"], WRONG_PASSWORD)

    assert entries(app, "auth.signin") == []
    [entry] = entries(app, "auth.signin_failed")
    assert entry.user_id == world.user_ids["caseworker"]
    assert (entry.record_type, entry.record_id) == ("users", world.user_ids["caseworker"])
    assert entry.client_address == CLIENT_ADDRESS
    assert entry.data == {"channel": "web"}


def test_a_failed_sign_in_with_an_unknown_email_is_recorded_without_a_user(
    app: Flask, world: World
) -> None:
    sign_in(client_from(app), "nobody@test.example", WRONG_PASSWORD)

    [entry] = entries(app, "auth.signin_failed")
    assert entry.user_id is None
    assert entry.record_type is None
    assert entry.record_id is None
    assert entry.client_address == CLIENT_ADDRESS
    # The typed email is not kept: it may be someone's address mistyped, or a password.
    assert "nobody" not in repr(entry.data)


def test_locking_and_refusals_while_locked_are_recorded(app: Flask, world: World) -> None:
    client = client_from(app)
    for _ in range(app.config["LOCKOUT_THRESHOLD"]):
        sign_in(client, world.users["caseworker"], WRONG_PASSWORD)
    sign_in(client, world.users["caseworker"], PASSWORD)

    caseworker = world.user_ids["caseworker"]
    assert len(entries(app, "auth.signin_failed")) == app.config["LOCKOUT_THRESHOLD"]
    assert [e.user_id for e in entries(app, "auth.account_locked")] == [caseworker]
    [refused] = entries(app, "auth.signin_refused_locked")
    assert refused.user_id == caseworker
    assert refused.client_address == CLIENT_ADDRESS
    assert entries(app, "auth.signin") == []


def test_sign_out_is_recorded(app: Flask, world: World) -> None:
    client = client_from(app)
    sign_in(client, world.users["caseworker"])
    client.post("/sign-out")

    [entry] = entries(app, "auth.signout")
    assert entry.user_id == world.user_ids["caseworker"]
    assert entry.client_address == CLIENT_ADDRESS


def test_no_password_ever_reaches_the_trail(app: Flask, world: World) -> None:
    client = client_from(app)
    sign_in(client, world.users["caseworker"], WRONG_PASSWORD)
    sign_in(client, world.users["caseworker"])

    dump = repr([(e.action, e.data) for e in entries(app)])
    assert WRONG_PASSWORD not in dump
    assert PASSWORD not in dump


# --- people ----------------------------------------------------------------------------------


def test_registering_a_person_is_recorded(app: Flask, world: World) -> None:
    client = client_from(app)
    sign_in(client, world.users["caseworker"])

    person_id = register(client)

    [entry] = [e for e in entries(app, "person.create") if e.record_id == person_id]
    assert entry.user_id == world.user_ids["caseworker"]
    assert (entry.record_type, entry.record_id) == ("people", person_id)
    assert entry.client_address == CLIENT_ADDRESS


def test_editing_a_person_records_the_changed_fields_but_not_their_values(
    app: Flask, world: World
) -> None:
    client = client_from(app)
    sign_in(client, world.users["caseworker"])
    person_id = register(client)

    response = edit(client, person_id, family_name="Benkirane-Traore", phone="+212611223344")
    assert response.status_code == 302, response.get_data(as_text=True)

    [entry] = entries(app, "person.update")
    assert entry.user_id == world.user_ids["caseworker"]
    assert (entry.record_type, entry.record_id) == ("people", person_id)
    assert entry.client_address == CLIENT_ADDRESS
    assert entry.data["fields"] == ["family_name", "phone"]
    dump = repr(entry.data)
    assert "Traore" not in dump
    assert "611223344" not in dump


def test_saving_a_person_unchanged_records_no_update(app: Flask, world: World) -> None:
    client = client_from(app)
    sign_in(client, world.users["caseworker"])
    person_id = register(client)

    assert edit(client, person_id).status_code == 302

    assert entries(app, "person.update") == []


def test_every_view_of_a_person_is_recorded(app: Flask, world: World) -> None:
    client = client_from(app)
    sign_in(client, world.users["caseworker"])
    person_id = world.people["rabat"]

    assert client.get(f"/people/{person_id}").status_code == 200
    assert client.get(f"/people/{person_id}").status_code == 200
    headers = api_token(app.test_client(), world.users["caseworker"])
    assert client.get(f"/api/v1/people/{person_id}", headers=headers).status_code == 200

    views = entries(app, "person.view")
    assert [(e.record_type, e.record_id) for e in views] == [("people", person_id)] * 3
    assert {e.user_id for e in views} == {world.user_ids["caseworker"]}
    assert [e.data["channel"] for e in views] == ["web", "web", "api"]
    assert views[0].client_address == CLIENT_ADDRESS


def test_a_refused_view_of_a_person_out_of_scope_records_no_view(app: Flask, world: World) -> None:
    client = client_from(app)
    sign_in(client, world.users["caseworker"])

    assert client.get(f"/people/{world.people['tanger']}").status_code == 404

    assert entries(app, "person.view") == []


def test_the_trail_holds_no_personal_data_of_the_people(app: Flask, world: World) -> None:
    client = client_from(app)
    sign_in(client, world.users["caseworker"])
    person_id = register(client)
    edit(client, person_id, given_names="Zoubida Mariam", address="3 avenue Hassan II")
    client.get(f"/people/{person_id}")
    client.post("/people", data={"q": "Benkirane"})

    dump = repr([(e.action, e.record_type, e.data) for e in entries(app)])
    for value in ("Benkirane", "Zoubida", "Mariam", "بنكيران", "Hassan", "600112233", "1988"):
        assert value not in dump


# --- application logs ------------------------------------------------------------------------


@pytest.fixture
def app_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every record of the `casework` logger (which does not propagate) and of werkzeug."""
    loggers = [logging.getLogger("casework"), logging.getLogger("werkzeug")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(caplog.handler)
        logger.setLevel(logging.DEBUG)
    caplog.handler.setLevel(logging.DEBUG)
    try:
        yield caplog
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(caplog.handler)
            logger.setLevel(level)


PERSONAL_VALUES = ("Benkirane", "Ouedraogo", "Zoubida", "Salimata", "بنكيران", "زبيدة", "Orangers")


def test_no_personal_data_reaches_the_application_logs(
    app: Flask, world: World, app_logs: pytest.LogCaptureFixture
) -> None:
    logging.getLogger("casework.tests").debug("log capture is on")
    client = client_from(app)
    sign_in(client, world.users["caseworker"], WRONG_PASSWORD)
    sign_in(client, world.users["caseworker"])
    person_id = register(client)
    client.get(f"/people/{person_id}")
    edit(client, person_id, family_name="Benkirane-Ouedraogo", given_names="Zoubida")
    client.post("/people", data={"q": "Benkirane Zoubida"})
    client.post("/people", data={"q": "بنكيران"})
    headers = api_token(app.test_client(), world.users["caseworker"])
    client.get("/api/v1/people", query_string={"q": "Benkirane"}, headers=headers)
    client.get(f"/api/v1/people/{person_id}", headers=headers)
    client.get("/people/999999")  # a miss is logged, if at all, without the name

    assert "log capture is on" in app_logs.text
    logged = app_logs.text + repr([(r.getMessage(), r.args) for r in app_logs.records])
    for value in PERSONAL_VALUES:
        assert value not in logged
    assert PASSWORD not in logged
    assert WRONG_PASSWORD not in logged


def test_werkzeug_request_lines_lose_their_query_string(
    app_logs: pytest.LogCaptureFixture,
) -> None:
    """The development server writes one line per request; a search in the URL must not show."""
    logging.getLogger("werkzeug").info(
        '%s - - [%s] "%s" %s %s',
        "127.0.0.1",
        "29/Nov/2026 10:00:00",
        "GET /api/v1/people?q=Benkirane+Zoubida HTTP/1.1",
        "200",
        "-",
    )

    assert "GET /api/v1/people?" in app_logs.text
    assert "HTTP/1.1" in app_logs.text
    assert "Benkirane" not in app_logs.text
    assert "Zoubida" not in app_logs.text


# --- the auditors' page ----------------------------------------------------------------------


def listed(response) -> list[tuple[str, str]]:
    """(who, action) of each row of the audit page."""
    page = response.get_data(as_text=True)
    rows = re.findall(r"<tr>\s*<td>\d+</td>(.*?)</tr>", page, re.S)
    result = []
    for row in rows:
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        action = re.search(r"<code>(.*?)</code>", row).group(1)
        result.append((cells[1].strip(), action))
    return result


@pytest.fixture
def busy_trail(app: Flask, world: World) -> FlaskClient:
    """Some activity by a caseworker and an NGO worker; returns a signed-in auditor."""
    caseworker = client_from(app)
    sign_in(caseworker, world.users["caseworker"])
    caseworker.get(f"/people/{world.people['rabat']}")
    register(caseworker)
    ngo = client_from(app, "198.51.100.7")
    sign_in(ngo, world.users["ngo"], WRONG_PASSWORD)
    sign_in(ngo, world.users["ngo"])
    ngo.get(f"/people/{world.people['walk_in']}")
    auditor = client_from(app)
    sign_in(auditor, world.users["auditor"])
    return auditor


def test_the_auditor_sees_the_whole_trail(app: Flask, world: World, busy_trail) -> None:
    response = busy_trail.get("/audit")

    assert response.status_code == 200
    rows = listed(response)
    assert (world.users["caseworker"], "person.create") in rows
    assert (world.users["ngo"], "auth.signin_failed") in rows
    assert (world.users["auditor"], "auth.signin") in rows
    assert "198.51.100.7" in response.get_data(as_text=True)


def test_the_auditor_filters_by_action(app: Flask, world: World, busy_trail) -> None:
    rows = listed(busy_trail.get("/audit", query_string={"action": "person.view"}))

    assert sorted(rows) == sorted(
        [(world.users["caseworker"], "person.view"), (world.users["ngo"], "person.view")]
    )


def test_an_action_filter_matches_the_family_of_actions(
    app: Flask, world: World, busy_trail
) -> None:
    rows = listed(busy_trail.get("/audit", query_string={"action": "auth.signin"}))

    assert {action for _, action in rows} == {"auth.signin", "auth.signin_failed"}


def test_the_auditor_filters_by_user(app: Flask, world: World, busy_trail) -> None:
    rows = listed(busy_trail.get("/audit", query_string={"user": world.users["ngo"]}))

    assert {who for who, _ in rows} == {world.users["ngo"]}
    # The test world's walk-in was registered by the NGO worker.
    assert {action for _, action in rows} == {
        "person.create",
        "auth.signin_failed",
        "auth.signin",
        "person.view",
    }


def test_the_auditor_combines_user_and_action_filters(app: Flask, world: World, busy_trail) -> None:
    rows = listed(
        busy_trail.get(
            "/audit", query_string={"user": world.users["caseworker"], "action": "person."}
        )
    )

    assert {who for who, _ in rows} == {world.users["caseworker"]}
    assert {action for _, action in rows} == {"person.view", "person.create"}
    # The test world's two people of Rabat, the one registered here, and one view.
    assert len(rows) == 4


def test_a_filter_that_matches_nothing_shows_an_empty_trail(
    app: Flask, world: World, busy_trail
) -> None:
    assert listed(busy_trail.get("/audit", query_string={"user": "nobody@nowhere"})) == []


def test_the_audit_page_shows_no_person_names(app: Flask, world: World, busy_trail) -> None:
    page = busy_trail.get("/audit").get_data(as_text=True)

    for value in ("Diallo", "Mamadou", "Traoré", "Benkirane", "Zoubida"):
        assert value not in page


@pytest.mark.parametrize("role", ["admin", "supervisor", "caseworker", "ngo"])
def test_only_auditors_see_the_audit_trail(app: Flask, world: World, role: str) -> None:
    client = app.test_client()
    sign_in(client, world.users[role])

    assert client.get("/audit").status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in_from_the_audit_trail(
    app: Flask, world: World
) -> None:
    response = app.test_client().get("/audit")

    assert response.status_code == 302
    assert "/sign-in" in response.headers["Location"]
