"""CSRF, security headers, locale choice, error pages, OpenAPI, health, settings: the app's frame."""

from __future__ import annotations

import os
import re

import pytest

from forum.api.openapi import build_document
from forum.models import Session, User
from forum.settings import load_secret_key, load_settings
from tests.conftest import PASSWORD, unique


async def test_form_post_without_csrf_token_is_refused_and_changes_nothing(member, anon):
    response = await anon.post("/login", data={"email": member.user["email"], "password": PASSWORD})
    assert response.status_code == 403
    assert "forum_session" not in anon.cookies
    name = unique("nocsrf")
    response = await anon.post("/register", data={"username": name, "email": f"{name}@example.test",
                                                  "password": PASSWORD, "csrf_token": "forged"})
    assert response.status_code == 403
    assert not await User.filter(email=f"{name}@example.test").exists()


async def test_json_write_without_csrf_header_is_refused(member):
    before = await Session.filter(user_id=member.user["id"]).count()
    response = await member.request("DELETE", "/api/v1/sessions", headers={"content-type": "application/json"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"
    assert await Session.filter(user_id=member.user["id"]).count() == before
    forged = await member.request("DELETE", "/api/v1/sessions",
                                  headers={"content-type": "application/json", "X-CSRF-Token": "x" * 43})
    assert forged.status_code == 403


async def test_csrf_token_of_one_session_does_not_work_for_another(make_user):
    first, second = await make_user(), await make_user()
    response = await second.request("PATCH", "/api/v1/me", json={"locale": "en"},
                                     headers={"X-CSRF-Token": first.csrf})
    assert response.status_code == 403


async def test_cross_origin_json_sign_in_is_refused(member, anon):
    response = await anon.post("/api/v1/session", json={"email": member.user["email"], "password": PASSWORD},
                               headers={"Origin": "https://evil.example"})
    assert response.status_code == 403


async def test_json_api_insists_on_json(anon):
    response = await anon.post("/api/v1/users", content=b"username=x", headers={"content-type": "text/plain"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unsupported_media_type"
    broken = await anon.post("/api/v1/users", content=b"{not json", headers={"content-type": "application/json"})
    assert broken.json()["error"]["code"] == "invalid_json"
    wrong_type = await anon.api("POST", "/api/v1/users", {"username": 5, "email": [], "password": None})
    assert wrong_type.status_code == 400 and set(wrong_type.json()["error"]["fields"]) == {"username", "email",
                                                                                            "password"}


@pytest.mark.parametrize("path", ["/", "/login", "/api/openapi.json", "/api/v1/me", "/no-such-page",
                                  "/static/forum.css", "/healthz"])
async def test_security_headers_on_every_response(anon, path):
    response = await anon.get(path)
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"


async def test_no_inline_script_in_pages(anon):
    page = (await anon.get("/register")).text
    assert "<script>" not in page and "onclick" not in page
    assert re.search(r'<script src="/static/forum\.[0-9a-f]{12}\.js"', page)  # content-hashed (issue 20)


async def test_locale_from_accept_language_then_cookie_then_user_setting(anon, member):
    english = await anon.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="en">' in english.text and ">Sign in<" in english.text
    norwegian = await anon.get("/login", headers={"Accept-Language": "nn-NO, en;q=0.5"})
    assert '<html lang="nb">' in norwegian.text and ">Logg inn<" in norwegian.text
    default = await anon.get("/login")
    assert '<html lang="nb">' in default.text
    switch = await anon.post_form("/language", {"locale": "en", "next": "/login"})
    assert switch.status_code == 303 and switch.headers["location"] == "/login"
    assert '<html lang="en">' in (await anon.get("/login", headers={"Accept-Language": "nb"})).text
    await member.api("PATCH", "/api/v1/me", {"locale": "en"})
    page = await member.get("/settings", headers={"Accept-Language": "nb"})
    assert '<html lang="en">' in page.text


async def test_api_errors_are_translated(anon):
    english = await anon.get("/api/v1/me", headers={"Accept-Language": "en"})
    norwegian = await anon.get("/api/v1/me", headers={"Accept-Language": "nb"})
    assert english.status_code == norwegian.status_code == 401
    assert english.json()["error"]["code"] == norwegian.json()["error"]["code"] == "not_authenticated"
    assert english.json()["error"]["message"] != norwegian.json()["error"]["message"]


@pytest.mark.parametrize("lang,text", [("nb", "Fant ikke siden"), ("en", "We could not find that page")])
async def test_404_page_in_both_languages(anon, lang, text):
    response = await anon.get("/nowhere/at/all", headers={"Accept-Language": lang})
    assert response.status_code == 404
    assert text in response.text
    assert response.headers["content-type"].startswith("text/html")


async def test_api_404_is_json(anon):
    response = await anon.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_server_error_shows_no_trace(app, anon):
    from starlette.routing import Route

    async def boom(request):
        raise RuntimeError("secret internals /work/main")

    app.router.routes.append(Route("/__boom", boom))
    try:
        response = await anon.get("/__boom", headers={"Accept-Language": "en"})
    finally:
        app.router.routes.pop()
    assert response.status_code == 500
    assert "Traceback" not in response.text and "secret internals" not in response.text
    assert "Something went wrong" in response.text


async def test_oversized_body_is_refused_with_413(anon):
    response = await anon.post("/api/v1/users", content=b"x" * 1_100_000, headers={"content-type": "application/json"})
    assert response.status_code == 413


async def test_healthz(anon):
    response = await anon.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_openapi_covers_every_api_route(app, anon):
    document = (await anon.get("/api/openapi.json")).json()
    assert document["openapi"].startswith("3.")
    documented = {(path, method) for path, ops in document["paths"].items() for method in ops}
    for route in app.routes:
        path = getattr(route, "path", "")
        if not path.startswith("/api/v1"):
            continue
        for method in route.methods - {"HEAD"}:
            assert (path.replace(":int", ""), method.lower()) in documented, f"{method} {path} undocumented"


def test_openapi_document_is_deterministic(app):
    assert build_document(app.routes) == build_document(app.routes)


def test_secret_key_is_generated_once_and_reused(tmp_path, monkeypatch):
    monkeypatch.delenv("FORUM_SECRET_KEY", raising=False)
    url = f"sqlite://{tmp_path / 'f.sqlite3'}"
    first = load_secret_key(url)
    assert len(first) >= 32
    assert load_secret_key(url) == first
    assert oct(os.stat(tmp_path / "f.sqlite3.secret").st_mode)[-3:] == "600"


def test_bad_settings_are_refused(monkeypatch, tmp_path):
    from forum.settings import SettingsError

    monkeypatch.setenv("FORUM_DEFAULT_LOCALE", "de")
    with pytest.raises(SettingsError):
        load_settings(database_url=f"sqlite://{tmp_path}/x.sqlite3", secret_key="k" * 40)


def test_every_setting_is_documented_in_the_readme():
    import re
    from pathlib import Path

    root = Path(__file__).parent.parent
    used = set(re.findall(r"FORUM_[A-Z_]+", (root / "forum" / "settings.py").read_text()))
    readme = (root / "README.md").read_text()
    assert used and all(name in readme for name in used), used - set(re.findall(r"FORUM_[A-Z_]+", readme))
