"""Moderators' live queue: /mod/_events announces changes to the number of open cases."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from forum.services import live
from moderation import queue
from tests.conftest import new_topic


@pytest.fixture
def quick(monkeypatch):
    monkeypatch.setattr(live, "KEEPALIVE_SECONDS", 0.3)
    monkeypatch.setattr(live, "STREAM_SECONDS", 1.0)


async def test_only_moderators_reach_the_queue_stream(member, staff, anon):
    assert (await member.get("/mod/_events")).status_code == 404
    assert (await staff.get("/mod/_events")).status_code == 404
    assert (await anon.get("/mod/_events")).status_code in (303, 404)


async def test_a_new_case_reaches_the_moderators_open_stream(moderator, participant, make_user, category, quick):
    topic = await new_topic(participant, category.slug, body="Noe som blir rapportert")
    before = await queue.open_cases()
    flagger = await make_user()

    async def flag_soon():
        await asyncio.sleep(0.2)
        response = await flagger.api("POST", f"/api/v1/posts/{topic['first_post_id']}/flags", {"reason": "spam"})
        assert response.status_code == 201, response.text

    response, _ = await asyncio.gather(moderator.get("/mod/_events"), flag_soon())
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    assert f'event: queue\ndata: {{"open": {before}}}' in response.text
    assert f'event: queue\ndata: {{"open": {before + 1}}}' in response.text
    assert live.open_streams() == 0
    page = (await moderator.get("/mod")).text
    assert f'data-live-queue="{before + 1}"' in page
    # the page names its stream and the page to reload; forum.js knows neither
    assert 'data-events="/mod/_events"' in page and 'data-reload="/mod"' in page
    assert "/mod/_events" not in (Path(__file__).parent.parent / "forum" / "static" / "forum.js").read_text()
