"""The composer's Markdown preview: same cooking and sanitiser as a saved post, nothing stored."""

from __future__ import annotations

import pytest

from forum.models import Post
from tests.conftest import new_category, new_topic


async def test_preview_renders_markdown_like_a_saved_post(participant):
    response = await participant.api("POST", "/api/v1/preview", {"source": "**fet** og `kode`\n\n- punkt"})
    assert response.status_code == 200, response.text
    html = response.json()["html"]
    assert "<strong>fet</strong>" in html and "<code>kode</code>" in html and "<li>punkt</li>" in html


async def test_preview_goes_through_the_sanitiser(participant):
    source = "<script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)> https://example.com"
    html = (await participant.api("POST", "/api/v1/preview", {"source": source})).json()["html"]
    assert "<script" not in html and 'href="javascript' not in html and "<img" not in html
    assert "&lt;script&gt;" in html  # raw HTML in a post is shown as text, never parsed
    assert 'href="https://example.com"' in html and 'rel="nofollow ugc noopener"' in html


async def test_preview_matches_what_is_stored_on_posting(participant):
    category = await new_category()
    source = "Hei @nobody, se [lenken](https://example.com/a?b=1) og ~~gammelt~~"
    preview = (await participant.api("POST", "/api/v1/preview", {"source": source})).json()["html"]
    created = await new_topic(participant, category.slug, body=source)
    assert (await Post.get(id=created["first_post_id"])).cooked == preview


async def test_preview_stores_nothing(participant):
    before = await Post.all().count()
    assert (await participant.api("POST", "/api/v1/preview", {"source": "bare en test"})).status_code == 200
    assert await Post.all().count() == before


async def test_preview_needs_consent_like_posting(member, anon):
    """Cooking is the costly part of a post: a preview passes the same gate (issue 18)."""
    without = await member.api("POST", "/api/v1/preview", {"source": "lest av et medlem"})
    assert without.status_code == 403 and without.json()["error"]["code"] == "consent_required"
    refused = await anon.api("POST", "/api/v1/preview", {"source": "anonym"})
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "not_authenticated"


async def test_preview_needs_the_csrf_header(participant):
    participant.csrf = None
    response = await participant.api("POST", "/api/v1/preview", {"source": "uten token"})
    assert response.status_code == 403 and response.json()["error"]["code"] == "csrf_failed"


@pytest.mark.parametrize("body", [{}, {"source": ""}, {"source": "   "}, {"source": 5}, {"source": "x" * 50_001},
                                  {"source": ">" * 5000 + " dypt"}, {"source": "a\x00b"}])
async def test_bad_preview_input_is_a_clean_400(participant, body):
    response = await participant.api("POST", "/api/v1/preview", body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"]


async def test_preview_refuses_other_content_types(participant):
    response = await participant.post("/api/v1/preview", content=b"source=x", headers={
        "content-type": "application/x-www-form-urlencoded", "X-CSRF-Token": participant.csrf})
    assert response.status_code == 400


async def test_preview_is_in_the_openapi_document(anon):
    document = (await anon.get("/api/openapi.json")).json()
    operation = document["paths"]["/api/v1/preview"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"]["properties"]["source"]
    assert "html" in operation["responses"]["200"]["content"]["application/json"]["schema"]["properties"]


async def test_the_issues_fifty_kilobyte_preview_is_refused_as_too_complex(participant):
    """50 KB of "# a" lines took 1.1 s to cook under one global lock (issue 18); now a quick 400."""
    response = await participant.api("POST", "/api/v1/preview", {"source": "# a\n" * 12_500})
    assert response.status_code == 400
    assert "too many lines" in response.json()["error"]["fields"]["body"].lower() or \
        "for mange linjer" in response.json()["error"]["fields"]["body"].lower()


async def test_parallel_previews_of_one_account_all_come_back_right(participant):
    """One account's cooks take turns (forum/cook_pool.py); none is lost or mixed up with another's."""
    import asyncio

    sources = [f"**utkast {n}** med `kode`" for n in range(8)]
    answers = await asyncio.gather(*[participant.api("POST", "/api/v1/preview", {"source": s}) for s in sources])
    assert [r.status_code for r in answers] == [200] * 8
    assert [f"<strong>utkast {n}</strong>" in r.json()["html"] for n, r in enumerate(answers)] == [True] * 8
