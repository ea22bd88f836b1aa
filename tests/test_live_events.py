"""The event hub behind the live views: events leave only on commit, wake waiters without polling, reach the
notification stream, and (on PostgreSQL) arrive from other connections through LISTEN/NOTIFY."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from forum import db
from forum.hub import CHANNEL, hub, publish, topic_key, user_key
from forum.services import live
from tests.conftest import new_reply, new_topic


@pytest.fixture
def no_polling(monkeypatch):
    """Waiters would re-read only every minute: anything quicker came through the hub."""
    monkeypatch.setattr(live, "POLL_SECONDS", 60.0)
    monkeypatch.setattr(live, "LISTENING_POLL_SECONDS", 60.0)


@pytest.fixture
def quick(monkeypatch):
    monkeypatch.setattr(live, "KEEPALIVE_SECONDS", 0.3)
    monkeypatch.setattr(live, "STREAM_SECONDS", 0.8)


def postgres(settings) -> bool:
    return not settings.sqlite


async def test_an_event_is_delivered_after_commit_and_never_for_a_rollback(app):
    key = topic_key(987_000_001)
    with hub.subscribe(key) as subscription:
        with pytest.raises(RuntimeError):
            async with db.write_transaction() as conn:
                await publish(key, conn)
                raise RuntimeError("the write fails")
        assert await subscription.wait(0.5) is False
        async with db.write_transaction() as conn:
            await publish(key, conn)
            assert await subscription.wait(0.2) is False  # not before the commit
        assert await subscription.wait(5) is True


async def test_a_reply_wakes_a_waiter_at_once_without_polling(participant, make_user, category, no_polling):
    topic = await new_topic(participant, category.slug)
    other = await make_user()
    loop = asyncio.get_running_loop()
    started = loop.time()

    async def reply_soon():
        await asyncio.sleep(0.2)
        await new_reply(other, topic["id"], "Svar som vekker")

    number, _ = await asyncio.gather(live.wait_for_new_posts(topic["id"], 1, within=20), reply_soon())
    assert number == 2
    assert loop.time() - started < 5
    assert hub.waiting() == 0


async def test_deleting_a_topic_wakes_its_waiters(participant, category, no_polling):
    from forum.errors import NotFound

    topic = await new_topic(participant, category.slug)

    async def delete_soon():
        await asyncio.sleep(0.2)
        assert (await participant.api("DELETE", f"/api/v1/posts/{topic['first_post_id']}")).status_code == 200

    with pytest.raises(NotFound):
        await asyncio.wait_for(asyncio.gather(live.wait_for_new_posts(topic["id"], 1, within=20), delete_soon()), 5)


async def test_a_new_notification_wakes_the_unread_count(participant, make_user, category, no_polling):
    topic = await new_topic(participant, category.slug)
    other = await make_user()
    before = await live.unread_count(participant.user["id"])

    async def reply_soon():
        await asyncio.sleep(0.2)
        await new_reply(other, topic["id"], "Et svar du får varsel om")

    count, _ = await asyncio.wait_for(asyncio.gather(
        live.wait_for_unread_change(participant.user["id"], before, within=20), reply_soon()), 5)
    assert count == before + 1


async def test_notification_stream_needs_a_signed_in_user(anon):
    response = await anon.get("/notifications/_events")
    assert response.status_code == 303 and "/login" in response.headers["location"]
    assert "text/event-stream" not in response.headers.get("content-type", "")


async def test_notification_stream_sends_the_count_and_its_changes(participant, make_user, category, quick):
    topic = await new_topic(participant, category.slug)
    other = await make_user()

    async def reply_soon():
        await asyncio.sleep(0.25)
        await new_reply(other, topic["id"], "Nytt svar til deg")

    response, _ = await asyncio.gather(participant.get("/notifications/_events"), reply_soon())
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["x-accel-buffering"] == "no"
    assert 'event: unread\ndata: {"count": 0, "label": "uleste"}' in response.text
    assert 'event: unread\ndata: {"count": 1, "label": "uleste"}' in response.text
    assert live.open_streams() == 0


async def test_reading_notifications_updates_the_count_live(participant, make_user, category, quick):
    topic = await new_topic(participant, category.slug)
    other = await make_user()
    await new_reply(other, topic["id"], "Et svar")

    async def read_soon():
        await asyncio.sleep(0.25)
        await participant.post_form("/notifications/read", token_from="/notifications")

    response, _ = await asyncio.gather(participant.get("/notifications/_events"), read_soon())
    assert '"count": 1' in response.text and '"count": 0' in response.text


async def test_moderation_queue_announcement_wakes_its_waiters(app, no_polling):
    from moderation import queue

    known = await queue.open_cases()

    async def announce_soon():
        await asyncio.sleep(0.2)
        async with db.write_transaction() as conn:
            await queue.queue_changed(conn)

    count, _ = await asyncio.wait_for(asyncio.gather(queue.wait_for_queue_change(known, within=20),
                                                     announce_soon()), 5)
    assert count == known


async def test_postgres_events_from_another_connection_reach_this_process(app, settings, participant, category,
                                                                          no_polling):
    """Another app process is just another connection: its committed NOTIFY wakes our waiters."""
    if not postgres(settings):
        pytest.skip("LISTEN/NOTIFY is the PostgreSQL path; SQLite polls across processes")
    assert hub.listening
    topic = await new_topic(participant, category.slug)
    other = await asyncpg.connect(settings.database_url.replace("postgres://", "postgresql://", 1))
    try:
        async def write_elsewhere():
            await asyncio.sleep(0.2)
            async with other.transaction():
                await other.execute("UPDATE topic SET last_number = last_number + 1 WHERE id = $1", topic["id"])
                await other.execute("SELECT pg_notify($1, $2)", CHANNEL, topic_key(topic["id"]))

        number, _ = await asyncio.wait_for(asyncio.gather(live.wait_for_new_posts(topic["id"], 1, within=20),
                                                          write_elsewhere()), 5)
        assert number == 2
    finally:
        await other.execute("UPDATE topic SET last_number = 1 WHERE id = $1", topic["id"])
        await other.close()


async def test_postgres_listener_comes_back_after_its_connection_is_killed(app, settings):
    if not postgres(settings):
        pytest.skip("only PostgreSQL has a LISTEN connection")
    admin = await asyncpg.connect(settings.database_url.replace("postgres://", "postgresql://", 1))
    try:
        with hub.subscribe(user_key(987_000_002)) as subscription:
            killed = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = 'forum-listener' AND datname = current_database() "
                "AND pid <> pg_backend_pid()")
            assert killed >= 1
            assert await subscription.wait(5) is True  # waiters are told to re-read: events may have been missed
        for _ in range(100):
            if hub.listening:
                break
            await asyncio.sleep(0.1)
        assert hub.listening
        with hub.subscribe(user_key(987_000_003)) as subscription:
            await admin.execute("SELECT pg_notify($1, $2)", CHANNEL, user_key(987_000_003))
            assert await subscription.wait(5) is True
    finally:
        await admin.close()


async def test_an_unreachable_listener_database_falls_back_to_polling():
    """The hub never blocks start-up: it logs, polls, and keeps trying in the background."""
    from forum.hub import Hub

    other = Hub()
    await asyncio.wait_for(other.start("postgres://nobody@127.0.0.1:1/none"), 15)
    assert not other.listening
    with other.subscribe("t:1") as subscription:
        await other.stop()
        assert await subscription.wait(0.1) is True  # stopping wakes every waiter


def test_many_keys_go_in_few_payloads_under_postgresqls_limit():
    from forum.hub import PAYLOAD_BYTES, keys_of, payloads

    keys = [user_key(9_000_000 + n) for n in range(3000)] + [topic_key(5), "mail:queued", "c:review_queue"]
    sent = payloads(keys)
    assert all(len(p.encode()) <= PAYLOAD_BYTES < 8000 for p in sent)
    assert 2 <= len(sent) <= 4  # 3,000 seven-digit ids folded, not one NOTIFY each
    assert [k for p in sent for k in keys_of(p)] == keys
    assert payloads([user_key(3)]) == ["u:3"] and keys_of("u:3") == ["u:3"]  # one key reads as before


async def test_a_reply_to_many_watchers_sends_one_notify_and_every_badge_wakes_in_another_process(
        app, settings, make_user, participant, category, no_polling):
    """Issue 21: a reply sent one pg_notify per notified member. Now one per payload of keys, which another
    process's listener (here a second hub on its own LISTEN connection) fans out to every recipient's badge."""
    if not postgres(settings):
        pytest.skip("LISTEN/NOTIFY is the PostgreSQL path; SQLite wakes this process after the commit")
    from forum.hub import Hub, publish_many
    from tests.conftest import QueryCounter

    topic = await new_topic(participant, category.slug)
    watchers = [await make_user() for _ in range(25)]
    for member in watchers:
        token = await member.form_token(f"/c/{category.slug}")
        assert (await member.post(f"/t/{topic['id']}/watch", data={"csrf_token": token, "watch": "1"})
                ).status_code in (200, 303)
    elsewhere = Hub()
    await elsewhere.start(settings.database_url)
    try:
        assert elsewhere.listening
        subscriptions = [elsewhere.subscribe(user_key(m.user["id"])) for m in watchers]
        badges = [s.__enter__() for s in subscriptions]
        replier = await make_user()
        with QueryCounter() as queries:
            await new_reply(replier, topic["id"], "Et svar til alle som følger")
        notifies = [q for q in queries.queries if "pg_notify" in q]
        assert len(notifies) <= 3, notifies  # the topic, the members (one payload), the mail workers
        woken = await asyncio.wait_for(asyncio.gather(*[b.wait(5) for b in badges]), 10)
        assert all(woken)
        # more members than one payload holds: several NOTIFYs, each under the limit, and all of them arrive
        many = [9_100_000 + n for n in range(2500)]
        with elsewhere.subscribe(*[user_key(u) for u in many]) as anyone:
            async with db.write_transaction() as conn:
                await publish_many([user_key(u) for u in many], conn)
            assert await anyone.wait(5)
        delivered = elsewhere.delivered
        assert delivered >= 2500 + 25
        for sub in subscriptions:
            sub.__exit__(None, None, None)
    finally:
        await elsewhere.stop()
