"""Waiting for what the live views show: new posts in a topic, a user's unread count, the moderation queue.

Writers announce changes through `forum.hub` inside their transaction (PostgreSQL: `pg_notify`, delivered on
commit to every app process; SQLite: woken in this process after the commit). Waiters subscribe first, then
read the database, then sleep until woken or until the poll interval passes: the poll is what carries changes
between processes on SQLite, and the safety net on PostgreSQL while the LISTEN connection is down.

Streams are bounded twice: at most MAX_STREAMS open per process, and each ends after STREAM_SECONDS (the
browser's EventSource reconnects on its own, sending Last-Event-ID).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from forum import db, events
from forum.errors import N_, DomainError, NotFound
from forum.hub import MOD_QUEUE_KEY, hub, publish, topic_key, user_key

POLL_SECONDS = 2.0            # between re-reads when no event can reach us (SQLite across processes)
LISTENING_POLL_SECONDS = 30.0  # safety-net re-read while PostgreSQL notifications are flowing
KEEPALIVE_SECONDS = 15.0
STREAM_SECONDS = 300.0
MAX_STREAMS = 200
RETRY_MS = 3000

_open_streams = 0  # this process's open streams: a bound on held connections, not shared state


class Busy(DomainError):
    status = 503
    code = "busy"
    default_message = N_("Too many live connections right now. The page still works; reload it to see new replies.")


# -- announcing (inside the write's transaction) -------------------------------------------------------------

async def topic_changed(topic_id: int, conn=None) -> None:
    """A topic got a post, or disappeared."""
    await publish(topic_key(topic_id), conn)


async def notifications_changed(user_ids: Iterable[int | None], conn=None) -> None:
    """These users' unread notifications changed (new ones, or read)."""
    for user_id in sorted({u for u in user_ids if u is not None}):
        await publish(user_key(user_id), conn)


async def moderation_queue_changed(conn=None) -> None:
    """The review queue changed (a case opened, was decided, or an appeal came in); moderation calls this
    inside the transaction that changed it."""
    await publish(MOD_QUEUE_KEY, conn)


async def _on_post_created(event: events.PostEvent) -> None:
    await topic_changed(event.topic_id, event.conn)


def install() -> None:
    """Subscribes to the forum's write events (called by the app factory)."""
    events.subscribe(events.POST_CREATED, _on_post_created)


# -- waiting --------------------------------------------------------------------------------------------------

def poll_seconds() -> float:
    return LISTENING_POLL_SECONDS if hub.listening else POLL_SECONDS


async def _wait_until(key: str, read, changed, within: float):
    """Re-reads `read()` whenever `key` is announced (or the poll interval passes) until `changed(value)`;
    the value then, or None when `within` seconds pass first."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    with hub.subscribe(key) as subscription:
        while True:
            value = await read()
            if changed(value):
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            await subscription.wait(min(poll_seconds(), remaining))


async def last_number(topic_id: int) -> int:
    """The highest post number handed out in the topic; NotFound when the topic is gone or deleted."""
    row = await db.fetch_one("SELECT last_number, deleted_at FROM topic WHERE id = ?", [topic_id])
    if row is None or row["deleted_at"] is not None:
        raise NotFound()
    return int(row["last_number"])


async def wait_for_new_posts(topic_id: int, after: int, *, within: float) -> int | None:
    """The topic's newest post number as soon as it passes `after`; None if `within` seconds pass first.
    Raises NotFound when the topic disappears while waiting."""
    return await _wait_until(topic_key(topic_id), lambda: last_number(topic_id), lambda n: n > after, within)


async def unread_count(user_id: int) -> int:
    from forum.services.notifications import unread_count  # it imports this module

    return await unread_count(user_id)


async def wait_for_unread_change(user_id: int, known: int, *, within: float) -> int | None:
    """The user's unread notification count as soon as it differs from `known`; None after `within` seconds."""
    return await _wait_until(user_key(user_id), lambda: unread_count(user_id), lambda n: n != known, within)


async def open_cases() -> int:
    row = await db.fetch_one("SELECT COUNT(*) AS n FROM mod_case WHERE status = 'open'")
    return int(row["n"]) if row else 0


async def wait_for_queue_change(known: int, *, within: float) -> int | None:
    """The number of open review cases as soon as it differs from `known`, or the queue was announced as
    changed; None after `within` seconds. For moderation's live queue."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    with hub.subscribe(MOD_QUEUE_KEY) as subscription:
        while True:
            count = await open_cases()
            if count != known:
                return count
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            if await subscription.wait(min(poll_seconds(), remaining)):
                return await open_cases()  # announced: something in the queue changed, even if not its size


# -- stream slots ---------------------------------------------------------------------------------------------

def open_streams() -> int:
    return _open_streams


def check_capacity() -> None:
    """Refuse a new stream up front when this process already holds its share."""
    if _open_streams >= MAX_STREAMS:
        raise Busy()


@contextmanager
def stream_slot() -> Iterator[bool]:
    """Holds one of the MAX_STREAMS slots while the stream runs; yields False when none was free."""
    global _open_streams
    if _open_streams >= MAX_STREAMS:
        yield False
        return
    _open_streams += 1
    try:
        yield True
    finally:
        _open_streams -= 1
