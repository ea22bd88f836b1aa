"""Bad input gets a clean 4xx in the documented shape: regressions found by fuzzing, then property tests."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from forum.models import Category, Post, Profile, Topic
from tests.conftest import new_category, new_topic, unique


def assert_error_shape(response, status: int | None = None) -> None:
    """The documented error shape: `{"error": {"code", "message"[, "fields"]}}` under /api, a page elsewhere."""
    assert response.status_code < 500, (response.status_code, response.text[:300])
    if status is not None:
        assert response.status_code == status, response.text[:300]
    if response.request.url.path.startswith("/api/"):
        assert response.headers["content-type"].startswith("application/json")
        error = response.json()["error"]
        assert isinstance(error["code"], str) and error["code"]
        assert isinstance(error["message"], str) and error["message"]
        assert set(error) <= {"code", "message", "fields"}
        if "fields" in error:
            assert all(isinstance(k, str) and isinstance(v, str) for k, v in error["fields"].items())
    else:
        assert response.headers["content-type"].startswith("text/html")
        assert "Traceback" not in response.text


async def test_an_id_beyond_32_bits_is_not_found_rather_than_a_server_error(anon):
    # found by schemathesis: overflowed the integer column (500)
    for path in ("/api/v1/topics/1607508137320139194368?page=7565", "/api/v1/topics/0",
                 "/api/v1/posts/2147483648/revisions", "/t/99999999999999999999999/x", "/p/18446744073709551616"):
        response = await anon.get(path)
        assert response.status_code == 404, (path, response.status_code)
        assert "Traceback" not in response.text


async def test_a_long_slug_is_not_cut_short_to_name_another_category(admin):
    # found by schemathesis: /categories/<slug + 200 more characters> edited the category `slug`
    category = await new_category()
    long_slug = category.slug + "0" * 200
    assert (await admin.get(f"/c/{long_slug}")).status_code == 404
    response = await admin.api("PATCH", f"/api/v1/categories/{long_slug}", {"name": "Renamed"})
    assert_error_shape(response, 404)
    assert (await Category.get(id=category.id)).name != "Renamed"


async def test_writes_without_a_body_need_no_content_type_but_a_body_must_be_json(participant, category):
    topic = await new_topic(participant, category.slug)
    liked = await participant.request("POST", f"/api/v1/posts/{topic['first_post_id']}/like",
                                      headers={"X-CSRF-Token": participant.csrf})
    assert liked.status_code in (200, 403), liked.text  # 403: one may not like one's own post
    assert liked.json().get("error", {}).get("code") != "unsupported_media_type"
    as_text = await participant.request("POST", f"/api/v1/topics/{topic['id']}/posts", content=b'{"body": "x"}',
                                        headers={"X-CSRF-Token": participant.csrf, "content-type": "text/plain"})
    assert_error_shape(as_text, 400)
    assert as_text.json()["error"]["code"] == "unsupported_media_type"


async def test_query_parameters_are_checked_against_the_document(anon):
    for path, name in (("/api/v1/consent?locale=xx", "locale"), ("/api/v1/search?solved=maybe", "solved"),
                       ("/api/v1/search?q=" + "a" * 201, "q")):
        response = await anon.get(path)
        assert_error_shape(response, 400)
        assert name in response.json()["error"]["fields"]


async def test_a_csrf_token_with_non_ascii_characters_is_refused_not_a_server_error(member, anon):
    # found by tests/test_fuzz_routes.py: hmac.compare_digest raises TypeError on non-ASCII text
    for client in (member, anon):
        response = await client.request("DELETE", "/api/v1/session", headers={"x-csrf-token": b"\xff"})
        assert_error_shape(response, 403)
    form = await anon.post("/login", data={"csrf_token": "ø" * 10, "email": "a@b.no", "password": "x"})
    assert_error_shape(form, 403)


async def test_oversized_bodies_get_413_in_the_documented_shape(participant, category):
    topic = await new_topic(participant, category.slug)
    big = "x" * 1_100_000
    as_json = await participant.api("POST", f"/api/v1/topics/{topic['id']}/posts", {"body": big})
    assert_error_shape(as_json, 413)
    as_form = await participant.post_form(f"/t/{topic['id']}/reply", {"body": big}, token_from="/")
    assert_error_shape(as_form, 413)

    async def chunks():  # no Content-Length: the limit must count what actually arrives
        for _ in range(30):
            yield b"y" * 50_000

    chunked = await participant.request("POST", f"/api/v1/topics/{topic['id']}/posts", content=chunks(),
                                        headers={"X-CSRF-Token": participant.csrf, "content-type": "application/json"})
    assert_error_shape(chunked, 413)
    assert not await Post.filter(topic_id=topic["id"], number__gt=1).exists()


async def test_a_body_that_trickles_in_too_slowly_gets_408(app, participant, category, monkeypatch):
    import asyncio

    import httpx

    from forum import limits

    monkeypatch.setattr(limits, "BODY_TIMEOUT_SECONDS", 0.3)
    topic = await new_topic(participant, category.slug)

    async def trickle():
        yield b'{"body": "'
        await asyncio.sleep(1.0)
        yield b'slow"}'

    response = await participant.request("POST", f"/api/v1/topics/{topic['id']}/posts", content=trickle(),
                                         headers={"X-CSRF-Token": participant.csrf, "content-type": "application/json"})
    assert_error_shape(response, 408)
    form_token = await participant.form_token("/")

    async def trickle_form():
        yield f"csrf_token={form_token}&body=".encode()
        await asyncio.sleep(1.0)
        yield b"slow"

    page = await participant.request("POST", f"/t/{topic['id']}/reply", content=trickle_form(),
                                     headers={"content-type": "application/x-www-form-urlencoded"})
    assert_error_shape(page, 408)
    assert not await Post.filter(topic_id=topic["id"], source="slow").exists()
    # a prompt body is unaffected
    assert (await participant.api("POST", f"/api/v1/topics/{topic['id']}/posts", {"body": "prompt"})).status_code \
        == 201
    assert isinstance(app.state.asgi, object) and httpx  # the same app and transport as every other test


def raw_json(**fields: str) -> bytes:
    """A JSON object whose values are put in verbatim, so escapes like \\ud800 reach the server as sent."""
    return ("{" + ", ".join(f'"{k}": "{v}"' for k, v in fields.items()) + "}").encode()


UNICODE_EDGES = {
    "null byte": "ola\\u0000nordmann",
    "lone high surrogate": "ola\\ud800",
    "lone low surrogate": "\\udc00ola",
    "reversed surrogates": "ola\\udc00\\ud800",
    "rtl override": "ola\\u202egnp.exe",
    "zero-width space": "ola\\u200bnordmann",
    "zero-width joiner": "ola\\u200dnordmann",
    "byte order mark": "\\ufeffolanordmann",
    "noncharacter": "ola\\uffffx",
}


@pytest.mark.parametrize("case", sorted(UNICODE_EDGES))
async def test_unicode_edge_cases_in_handles_are_refused_cleanly(anon, case):
    name = UNICODE_EDGES[case]
    raw = raw_json(username=name, email=f"u{unique()}@example.test", password="correct horse battery")
    response = await anon.request("POST", "/api/v1/users", content=raw,
                                  headers={"content-type": "application/json"})
    assert_error_shape(response, 400)
    assert "username" in response.json()["error"]["fields"]
    decoded = json.loads(f'"{name}"')
    form = await anon.post_form("/register", {"username": decoded.encode("utf-8", "surrogatepass"),
                                              "email": f"{unique()}@example.test", "password": "correct horse battery"},
                                token_from="/register")
    assert_error_shape(form, 400)
    assert await Profile.filter(username__startswith="ola", username__endswith="nordmann").count() == 0


@pytest.mark.parametrize("case", sorted(UNICODE_EDGES))
async def test_unicode_edge_cases_in_titles_bodies_profiles_and_search_never_break_anything(
        participant, category, case):
    value = UNICODE_EDGES[case]
    raw_topic = raw_json(category=category.slug, title=f"Emne {value}", body=f"Tekst {value}", kind="discussion")
    topic = await participant.request("POST", "/api/v1/topics", content=raw_topic,
                                      headers={"content-type": "application/json", "X-CSRF-Token": participant.csrf})
    profile = await participant.request("PATCH", "/api/v1/me/profile",
                                        content=raw_json(display_name=f"Ola {value}", bio=f"Om meg {value}"),
                                        headers={"content-type": "application/json", "X-CSRF-Token": participant.csrf})
    decoded = json.loads(f'"{value}"')
    q = quote(decoded.encode("utf-8", "surrogatepass"))
    for response in (topic, profile, await participant.get(f"/api/v1/search?q={q}"),
                     await participant.get(f"/search?q={q}")):
        if response.status_code >= 400:
            assert_error_shape(response, 400)
        else:
            assert response.status_code in (200, 201)
    stored = await Topic.filter(category_id=category.id).values_list("title", flat=True)
    for title in stored:  # whatever was accepted is valid text
        assert "\x00" not in title
        title.encode("utf-8")
    if case in ("null byte", "lone high surrogate", "lone low surrogate", "reversed surrogates"):
        assert topic.status_code == 400 and profile.status_code == 400
    if case in ("rtl override", "zero-width space", "byte order mark"):
        assert profile.status_code == 400  # invisible or reordering characters would let a name impersonate
