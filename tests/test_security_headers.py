"""HTTP security headers and a page markup a strict Content-Security-Policy can serve:
no inline script, no inline style, nothing fetched from another host."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import api_token, sign_in
from tests.factories import World

CASEWORK = Path(__file__).resolve().parent.parent / "casework"

INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc\s*=)[^>]*>", re.I)
STYLE_ATTRIBUTE = re.compile(r"<[^>]+\sstyle\s*=", re.I)
STYLE_ELEMENT = re.compile(r"<style\b", re.I)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
LINKED = re.compile(r"\b(?:src|href|action|formaction)\s*=\s*\"([^\"]*)\"", re.I)
ABSOLUTE_URL = re.compile(r"(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}[^\s\"'<>)]*")
HTTP_URL = re.compile(r"https?://[^\s\"'<>)]+", re.I)
# XML namespace names look like URLs but are identifiers: nothing is ever fetched from them.
XML_NAMESPACE = re.compile(r"xmlns(?::\w+)?\s*=\s*[\"']https?://[^\"']+[\"']", re.I)


def csp(response) -> dict[str, list[str]]:
    header = response.headers["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


def signed_in(app: Flask, world: World, role: str) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, world.users[role]).status_code == 302
    return client


# --- headers ---------------------------------------------------------------------------------


@pytest.fixture
def answers(app: Flask, world: World) -> dict[str, object]:
    """A page, an error page, an API answer and an API error."""
    client = signed_in(app, world, "caseworker")
    headers = api_token(app.test_client(), world.users["caseworker"])
    return {
        "sign-in page": app.test_client().get("/sign-in"),
        "home page": client.get("/home"),
        "person page": client.get(f"/people/{world.people['rabat']}"),
        "missing page": client.get("/no-such-page"),
        "api answer": app.test_client().get("/api/v1/me", headers=headers),
        "api list": app.test_client().get("/api/v1/people", headers=headers),
        "api error": app.test_client().get("/api/v1/me"),
    }


def test_every_answer_carries_a_strict_content_security_policy(answers) -> None:
    for name, response in answers.items():
        policy = csp(response)
        assert policy["default-src"] == ["'self'"], name
        assert policy["object-src"] == ["'none'"], name
        assert policy["base-uri"] == ["'none'"], name
        assert policy["frame-ancestors"] == ["'none'"], name
        assert policy.get("form-action") == ["'self'"], name


def test_the_policy_allows_no_inline_or_evaluated_code(answers) -> None:
    for name, response in answers.items():
        header = response.headers["Content-Security-Policy"]
        assert "'unsafe-inline'" not in header, name
        assert "'unsafe-eval'" not in header, name
        assert "*" not in header, name
        for directive in ("script-src", "style-src", "connect-src"):
            assert csp(response).get(directive, ["'self'"]) == ["'self'"], (name, directive)


def test_every_answer_forbids_sniffing_framing_and_leaking_referrers(answers) -> None:
    for name, response in answers.items():
        assert response.headers["X-Content-Type-Options"] == "nosniff", name
        assert response.headers["X-Frame-Options"] == "DENY", name
        assert response.headers["Referrer-Policy"] == "same-origin", name


def test_pages_and_api_answers_are_never_stored(answers) -> None:
    for name, response in answers.items():
        assert response.headers["Cache-Control"] == "no-store", name


def test_a_token_answer_is_never_stored(app: Flask, world: World) -> None:
    response = app.test_client().post(
        "/api/v1/auth/token",
        json={"email": world.users["caseworker"], "password": "correct horse battery staple"},
    )

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_static_assets_may_be_cached(app: Flask) -> None:
    response = app.test_client().get("/static/css/casework.css")

    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")


def test_every_answer_carries_a_request_id(app: Flask) -> None:
    response = app.test_client().get("/sign-in", headers={"X-Request-Id": "<script>x</script>"})

    assert re.fullmatch(r"[0-9a-f]{16}", response.headers["X-Request-Id"])
    relayed = app.test_client().get("/sign-in", headers={"X-Request-Id": "abcd-1234-ef56"})
    assert relayed.headers["X-Request-Id"] == "abcd-1234-ef56"


# --- rendered pages ----------------------------------------------------------------------------


def rendered_pages(app: Flask, world: World) -> dict[str, str]:
    caseworker = signed_in(app, world, "caseworker")
    admin = signed_in(app, world, "admin")
    auditor = signed_in(app, world, "auditor")
    person = world.people["rabat"]
    responses = {
        "sign-in": app.test_client().get("/sign-in"),
        "sign-in with an error": app.test_client().post(
            "/sign-in", data={"email": "x@test.example", "password": "wrong password!"}
        ),
        "home": caseworker.get("/home"),
        "person page": caseworker.get(f"/people/{person}"),
        "person form": caseworker.get("/people/new"),
        "person form with errors": caseworker.post("/people/new", data={"family_name": ""}),
        "person edit form": caseworker.get(f"/people/{person}/edit"),
        "search": caseworker.post("/people", data={"q": "Diallo"}),
        "household": caseworker.get(f"/households/{world.households['rabat']}"),
        "account": caseworker.get("/account"),
        "reference": caseworker.get("/reference"),
        "programmes": caseworker.get("/reference/programmes"),
        "accounts": admin.get("/admin/users"),
        "account form": admin.get("/admin/users/new"),
        "organisations": admin.get("/admin/organisations"),
        "organisation form": admin.get("/admin/organisations/new"),
        "audit trail": auditor.get("/audit"),
        "api reference": app.test_client().get("/api/v1/docs"),
        "not found": caseworker.get("/no-such-page"),
        "forbidden": auditor.get("/people/new"),
    }
    expected_status = {"not found": 404, "forbidden": 403}
    pages = {}
    for name, response in responses.items():
        assert response.status_code == expected_status.get(name, 200), name
        assert response.mimetype == "text/html", name
        pages[name] = response.get_data(as_text=True)
    return pages


@pytest.fixture
def pages(app: Flask, world: World) -> dict[str, str]:
    return rendered_pages(app, world)


def test_pages_have_no_inline_script(pages) -> None:
    for name, page in pages.items():
        assert INLINE_SCRIPT.findall(page) == [], name


def test_pages_have_no_inline_style(pages) -> None:
    for name, page in pages.items():
        assert STYLE_ATTRIBUTE.findall(page) == [], name
        assert STYLE_ELEMENT.findall(page) == [], name


def test_pages_have_no_inline_event_handlers_or_javascript_urls(pages) -> None:
    for name, page in pages.items():
        assert EVENT_HANDLER.findall(page) == [], name
        assert "javascript:" not in page.lower(), name


def test_pages_load_and_link_only_this_site(pages) -> None:
    for name, page in pages.items():
        foreign = [url for url in LINKED.findall(page) if ABSOLUTE_URL.match(url)]
        assert foreign == [], name


def test_pages_load_their_scripts_and_styles_from_this_site(pages) -> None:
    page = pages["home"]

    scripts = re.findall(r"<script\b[^>]*\bsrc=\"([^\"]+)\"", page)
    styles = re.findall(r"<link rel=\"stylesheet\" href=\"([^\"]+)\"", page)
    assert scripts and styles
    for url in scripts + styles:
        assert url.startswith("/") and not url.startswith("//"), url


# --- templates and static files ----------------------------------------------------------------


def shipped_files() -> list[Path]:
    """Every file under a `templates` or `static` folder of the casework package."""
    files = []
    for folder in [*CASEWORK.rglob("templates"), *CASEWORK.rglob("static")]:
        files.extend(path for path in folder.rglob("*") if path.is_file())
    return sorted(set(files))


def test_templates_and_static_files_are_found() -> None:
    names = {path.name for path in shipped_files()}

    assert {"base.html", "sign_in.html", "casework.css", "rtl.css"} <= names


def test_no_template_or_static_file_refers_to_another_host() -> None:
    offenders = {}
    for path in shipped_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        text = XML_NAMESPACE.sub("", text)
        urls = HTTP_URL.findall(text) + re.findall(
            r"(?:src|href|url\()\s*=?\s*[\"']?(//[^\"')\s]+)", text
        )
        if urls:
            offenders[str(path.relative_to(CASEWORK))] = urls

    assert offenders == {}


def test_no_template_writes_inline_script_or_style() -> None:
    for path in CASEWORK.rglob("templates/**/*.html"):
        text = path.read_text(encoding="utf-8")
        assert INLINE_SCRIPT.findall(text) == [], path.name
        assert STYLE_ATTRIBUTE.findall(text) == [], path.name
        assert STYLE_ELEMENT.findall(text) == [], path.name
