"""The live topic view: the post fragment route, the server-sent events route, and the waiting behind them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from forum.errors import NotFound
from forum.models import Topic
from forum.services import live
from tests.conftest import new_category, new_reply, new_topic


@pytest.fixture
def quick(monkeypatch):
    """Short polls and short streams, so a whole stream fits in a test (ASGITransport returns at its end)."""
    monkeypatch.setattr(live, "POLL_SECONDS", 0.05)
    monkeypatch.setattr(live, "KEEPALIVE_SECONDS", 0.3)
    monkeypatch.setattr(live, "STREAM_SECONDS", 0.8)


async def test_wait_returns_at_once_when_newer_posts_exist(participant, category):
    topic = await new_topic(participant, category.slug)
    await new_reply(participant, topic["id"])
    assert await live.wait_for_new_posts(topic["id"], 1, within=5) == 2


async def test_wait_times_out_with_nothing_new(participant, category, quick):
    topic = await new_topic(participant, category.slug)
    started = asyncio.get_running_loop().time()
    assert await live.wait_for_new_posts(topic["id"], 1, within=0.2) is None
    assert 0.15 < asyncio.get_running_loop().time() - started < 2


async def test_wait_sees_a_reply_posted_while_waiting(participant, make_user, category, quick):
    topic = await new_topic(participant, category.slug)
    other = await make_user()

    async def reply_soon():
        await asyncio.sleep(0.2)
        await new_reply(other, topic["id"], "Svar mens du venter")

    number, _ = await asyncio.gather(live.wait_for_new_posts(topic["id"], 1, within=5), reply_soon())
    assert number == 2


async def test_wait_ends_when_the_topic_is_gone(participant, category):
    with pytest.raises(NotFound):
        await live.wait_for_new_posts(987_654_321, 0, within=1)
    topic = await new_topic(participant, category.slug)
    await Topic.filter(id=topic["id"]).update(deleted_at=datetime(2026, 11, 25, tzinfo=UTC))
    with pytest.raises(NotFound):
        await live.wait_for_new_posts(topic["id"], 0, within=1)


async def test_fragment_has_only_the_posts_after_the_number(participant, anon, category):
    topic = await new_topic(participant, category.slug, body="Første innlegg")
    await new_reply(participant, topic["id"], "Andre innlegg")
    await new_reply(participant, topic["id"], "Tredje innlegg")
    response = await anon.get(f"/t/{topic['id']}/_posts?after=1")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert 'id="post-2"' in response.text and 'id="post-3"' in response.text
    assert "Første innlegg" not in response.text and "<html" not in response.text
    assert (await anon.get(f"/t/{topic['id']}/_posts?after=3")).text.strip() == ""


async def test_fragment_carries_the_viewers_actions(participant, make_user, category):
    topic = await new_topic(participant, category.slug)
    other = await make_user()
    answer = await new_reply(other, topic["id"], "Et svar")
    html = (await participant.get(f"/t/{topic['id']}/_posts?after=1")).text
    # the asker may accept: a button of the topic page's one form (its token is there, not in each post)
    assert f'formaction="/p/{answer["id"]}/accept"' in html and 'form="post-actions"' in html
    assert f'/p/{answer["id"]}/accept' not in (await other.get(f"/t/{topic['id']}/_posts?after=1")).text


async def test_fragment_marks_the_posts_read(participant, make_user, category):
    from forum.models import TopicRead

    topic = await new_topic(participant, category.slug)
    other = await make_user()
    await participant.get(f"/t/{topic['id']}")
    await new_reply(other, topic["id"], "Nytt svar")
    await participant.get(f"/t/{topic['id']}/_posts?after=1")
    read = await TopicRead.get(user_id=participant.user["id"], topic_id=topic["id"])
    assert read.last_read_number == 2


async def test_fragment_and_events_hide_staff_topics(staff, anon, participant):
    staff_only = await new_category(read="staff", start_topics="staff")
    topic = await new_topic(staff, staff_only.slug, kind="training")
    for client in (anon, participant):
        assert (await client.get(f"/t/{topic['id']}/_posts?after=0")).status_code == 404
        assert (await client.get(f"/t/{topic['id']}/_events")).status_code == 404
    assert (await staff.get(f"/t/{topic['id']}/_posts?after=0")).status_code == 200


@pytest.mark.parametrize("after", ["-1", "abc", "1" * 12, "1.5"])
async def test_fragment_refuses_bad_numbers(anon, participant, category, after):
    topic = await new_topic(participant, category.slug)
    assert (await anon.get(f"/t/{topic['id']}/_posts", params={"after": after})).status_code == 404


async def test_events_report_posts_newer_than_the_client_has(participant, anon, category, quick):
    topic = await new_topic(participant, category.slug)
    await new_reply(participant, topic["id"])
    response = await anon.get(f"/t/{topic['id']}/_events?after=1")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"].startswith("no-cache")
    assert "retry: " in response.text
    assert 'id: 2\nevent: posts\ndata: {"last_number": 2}\n\n' in response.text


async def test_events_resume_from_last_event_id(participant, anon, category, quick):
    topic = await new_topic(participant, category.slug)
    await new_reply(participant, topic["id"])
    await new_reply(participant, topic["id"])
    response = await anon.get(f"/t/{topic['id']}/_events?after=1", headers={"Last-Event-ID": "3"})
    assert "event: posts" not in response.text and ": keepalive" in response.text


async def test_events_announce_a_reply_made_during_the_stream(participant, make_user, anon, category, quick):
    topic = await new_topic(participant, category.slug)
    other = await make_user()

    async def reply_soon():
        await asyncio.sleep(0.25)
        await new_reply(other, topic["id"], "Live svar")

    response, _ = await asyncio.gather(anon.get(f"/t/{topic['id']}/_events"), reply_soon())
    assert 'event: posts\ndata: {"last_number": 2}' in response.text
    assert live.open_streams() == 0


async def test_events_refuse_new_streams_when_full(anon, participant, category, monkeypatch):
    topic = await new_topic(participant, category.slug)
    monkeypatch.setattr(live, "MAX_STREAMS", 0)
    response = await anon.get(f"/t/{topic['id']}/_events")
    assert response.status_code == 503


async def test_events_say_gone_when_the_topic_is_deleted(participant, anon, category, quick):
    topic = await new_topic(participant, category.slug)

    async def delete_soon():
        await asyncio.sleep(0.2)
        assert (await participant.api("DELETE", f"/api/v1/posts/{topic['first_post_id']}")).status_code == 200

    response, _ = await asyncio.gather(anon.get(f"/t/{topic['id']}/_events"), delete_soon())
    assert "event: gone" in response.text


async def test_stream_ends_when_the_client_disconnects(app, participant, category, monkeypatch):
    """Called as a server would: after the first chunk the client goes away, and the stream must stop
    (long before its lifetime) and give its slot back."""
    monkeypatch.setattr(live, "POLL_SECONDS", 0.05)
    topic = await new_topic(participant, category.slug)
    sent: list[dict] = []
    first_chunk = asyncio.Event()

    async def send(message):
        sent.append(message)
        if message["type"] == "http.response.body" and message.get("body"):
            first_chunk.set()

    async def receive():
        await first_chunk.wait()
        return {"type": "http.disconnect"}

    scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
             "method": "GET", "scheme": "http", "path": f"/t/{topic['id']}/_events", "raw_path": b"",
             "query_string": b"", "root_path": "", "headers": [(b"host", b"testserver")],
             "client": ("127.0.0.1", 5000), "server": ("testserver", 80)}
    await asyncio.wait_for(app.state.asgi(scope, receive, send), timeout=5)
    assert sent[0]["status"] == 200
    assert live.open_streams() == 0
