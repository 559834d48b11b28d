"""A record id past PostgreSQL's `integer` names no record: 404 on every route, never a 500
(the database would refuse the comparison, or SQLite's driver past 64 bits)."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from tests.conftest import sign_in
from tests.factories import World

TOO_LARGE = (2**31, 10**30)


def int_rules(app: Flask):
    for rule in app.url_map.iter_rules():
        converters = rule._converters  # the rule's own converters: which arguments are ints
        if any(type(c).__name__ == "RecordIdConverter" for c in converters.values()):
            yield rule


def test_every_int_argument_is_a_bounded_record_id(app: Flask) -> None:
    unbounded = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if "<int:" in rule.rule
        and not all(
            type(c).__name__ == "RecordIdConverter"
            for name, c in rule._converters.items()
            if f"<int:{name}>" in rule.rule
        )
    ]
    assert unbounded == []


@pytest.mark.parametrize("number", TOO_LARGE)
@pytest.mark.parametrize("role", ["caseworker", "supervisor"])
def test_too_large_ids_answer_404(app: Flask, world: World, role: str, number: int) -> None:
    client = app.test_client()
    sign_in(client, world.users[role])
    rules = list(int_rules(app))
    assert rules
    for rule in rules:
        if "GET" not in rule.methods or rule.rule.startswith("/api/"):
            continue
        url = re.sub(r"<(?:[^:<>]+:)?[a-z_]+>", str(number), rule.rule)
        response = client.get(url)
        assert response.status_code == 404, (rule.rule, response.status_code)
