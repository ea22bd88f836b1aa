"""Pages for readers: no cookie, a rendered-page cache that is never older than the last write, HTTP caching."""

from __future__ import annotations

import pytest

from tests.conftest import new_reply, new_topic

READING_PAGES = ["/", "/c/{slug}", "/t/{id}/{topic_slug}", "/t/{id}", "/p/{post}", "/search", "/search?q=svar",
                 "/u/{username}", "/t/999999999/nothing", "/no/such/page"]


async def _pages(participant, category) -> list[str]:
    topic = await new_topic(participant, category.slug)
    reply = await new_reply(participant, topic["id"])
    values = {"slug": category.slug, "id": topic["id"], "topic_slug": topic["slug"], "post": reply["id"],
              "username": participant.user["username"]}
    return [page.format(**values) for page in READING_PAGES]


async def test_a_reading_visitor_gets_no_cookie_on_any_page(anon, participant, category):
    for page in await _pages(participant, category):
        for headers in ({}, {"accept-language": "en"}, {"cookie": "forum_lang=en"}):
            response = await anon.get(page, headers=headers, follow_redirects=True)
            assert response.status_code in (200, 404), page
            assert "set-cookie" not in response.headers, page
            assert all(not r.headers.get("set-cookie") for r in response.history), page
    assert not anon.cookies


@pytest.mark.parametrize("page", ["/login", "/register", "/password/forgot"])
async def test_the_forms_that_need_it_still_set_the_anonymous_cookie(anon, page):
    response = await anon.get(page)
    assert response.status_code == 200
    assert "forum_anon=" in response.headers["set-cookie"]
    assert 'name="csrf_token"' in response.text


async def test_a_visitor_switches_language_without_a_cookie_but_not_from_another_site(anon):
    page = await anon.get("/search")
    assert 'name="csrf_token"' not in page.text  # the switch on a reading page carries no token
    foreign = await anon.post("/language", data={"locale": "en", "next": "/search"},
                              headers={"origin": "https://evil.example", "sec-fetch-site": "cross-site"})
    assert foreign.status_code == 403
    assert "set-cookie" not in foreign.headers
    switched = await anon.post("/language", data={"locale": "en", "next": "/search"},
                               headers={"origin": "http://testserver", "sec-fetch-site": "same-origin"})
    assert switched.status_code == 303 and switched.headers["location"] == "/search"
    assert anon.cookies.get("forum_lang") == "en"
    assert 'lang="en"' in (await anon.get("/search")).text
