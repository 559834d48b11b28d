"""Every registered route, for every role: deny by default, and exactly the policy's answer.

The expected answer comes from the action each view declares and `casework.policy.PERMISSIONS`:
a role the policy allows never gets 401/403, a role it does not allow always gets 403, and an
anonymous caller is sent to sign in (pages) or gets 401 (API). A route that declares nothing is
a failure here, so a new route cannot ship without a decision.
"""

from __future__ import annotations

import re

import pytest
from flask import Flask

from casework.policy import PERMISSIONS, PUBLIC, Role, declared_action
from tests.conftest import api_token, sign_in
from tests.factories import World

ROLES = ["admin", "supervisor", "caseworker", "ngo", "auditor"]
SKIPPED_ENDPOINTS = {"static", "bootstrap.static"}


def sample_url(rule, world: World) -> str:
    """Fill a rule's variables with ids of records in the caller-independent test world."""
    values = {
        "person_id": world.people["rabat"],
        "household_id": world.households["rabat"],
        "user_id": world.user_ids["caseworker"],
        "organisation_id": world.orgs["RAB"],
        "member_id": 1,
        "case_id": 1,
        "action": "start_review",
        "referral_id": 1,
        "document_id": 1,
        "token": "x",
        "filename": "css/casework.css",
        "record_id": 1,
        "service_code": "vaccination",
        "pair_id": 1,
        "merge_id": 1,
        "import_id": 1,
        "dataset": "people",
        "file_format": "csv",
        "template_language": "fr",
    }
    url = rule.rule
    for name in rule.arguments:
        url = re.sub(rf"<(?:[^:<>]+:)?{name}>", str(values[name]), url)
    return url


def all_routes(app: Flask):
    # Signing out ends the session the other calls use: take it last.
    rules = sorted(app.url_map.iter_rules(), key=lambda rule: rule.endpoint == "auth.sign_out_view")
    for rule in rules:
        if rule.endpoint in SKIPPED_ENDPOINTS:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def test_every_route_declares_its_action(app: Flask) -> None:
    with app.test_request_context():
        undeclared = [
            rule.endpoint for rule, _ in all_routes(app) if declared_action(rule.endpoint) is None
        ]
    assert undeclared == []


def test_every_declared_action_is_in_the_policy(app: Flask) -> None:
    with app.test_request_context():
        actions = {declared_action(rule.endpoint) for rule, _ in all_routes(app)}
    assert actions - {PUBLIC} <= set(PERMISSIONS)


def _call(client, method: str, url: str, headers=None):
    kwargs = {"headers": headers or {}}
    if method in {"POST", "PATCH", "PUT"}:
        kwargs["json" if url.startswith("/api/") else "data"] = {}
    return client.open(url, method=method, **kwargs)


@pytest.mark.parametrize("role", [None, *ROLES])
def test_route_by_role_matrix(app: Flask, world: World, role: str | None) -> None:
    client = app.test_client()
    headers = {}
    if role is not None:
        assert sign_in(client, world.users[role]).status_code == 302
        headers = api_token(app.test_client(), world.users[role])
    with app.test_request_context():
        routes = [
            (rule, method, declared_action(rule.endpoint)) for rule, method in all_routes(app)
        ]
    checked = 0
    for rule, method, action in routes:
        url = sample_url(rule, world)
        is_api = url.startswith("/api/")
        response = _call(client, method, url, headers if is_api else None)
        where = f"{method} {url} as {role}"
        assert response.status_code < 500, where
        if action == PUBLIC:
            assert response.status_code not in (401, 403), where
        elif role is None:
            expected = 401 if is_api else 302
            assert response.status_code == expected, where
            if not is_api:
                assert "/sign-in" in response.headers["Location"], where
        elif Role(role) in PERMISSIONS[action]:
            assert response.status_code not in (401, 403), where
        else:
            assert response.status_code == 403, where
        checked += 1
    assert checked == len(routes)


def test_api_ignores_session_cookies(app: Flask, world: World) -> None:
    """A browser's ambient cookie must not authenticate API calls (no CSRF on the API)."""
    client = app.test_client()
    sign_in(client, world.users["caseworker"])
    assert client.get("/api/v1/me").status_code == 401
