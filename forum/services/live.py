"""Waiting for what the live views show: new posts in a topic, a user's unread count, and named counters that
other packages keep (moderation counts its review queue; the forum knows neither the table nor the name).

Writers announce changes through `forum.hub` inside their transaction (PostgreSQL: `pg_notify`, delivered on
commit to every app process; SQLite: woken in this process after the commit). Waiters subscribe first, then
read the database, then sleep until woken or until the poll interval passes: the poll is what carries changes
between processes on SQLite, and the safety net on PostgreSQL while the LISTEN connection is down.

Streams are bounded three times: at most MAX_STREAMS open per process, at most MAX_STREAMS_PER_CLIENT of them
for one client (a signed-in account, else an address: 429 `too_many_streams`), and each ends after
STREAM_SECONDS (the browser's EventSource reconnects on its own, sending Last-Event-ID). One client can so hold
at most a quarter of a process's streams.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager

from forum import db, events
from forum.errors import N_, DomainError, NotFound, RateLimited
from forum.hub import counter_key, hub, publish, publish_many, topic_key, user_key
from forum.services import unread_notifications

POLL_SECONDS = 2.0            # between re-reads when no event can reach us (SQLite across processes)
LISTENING_POLL_SECONDS = 30.0  # safety-net re-read while PostgreSQL notifications are flowing
KEEPALIVE_SECONDS = 15.0
STREAM_SECONDS = 300.0
MAX_STREAMS = 200
MAX_STREAMS_PER_CLIENT = 50  # a person with many tabs open needs a handful; a browser itself keeps to 6 over HTTP/1.1
RETRY_MS = 3000

_open_streams = 0  # this process's open streams: a bound on held connections, not shared state
_client_streams: dict[str, int] = {}  # the same, per client key


class Busy(DomainError):
    status = 503
    code = "busy"
    default_message = N_("Too many live connections right now. The page still works; reload it to see new replies.")


class TooManyStreams(RateLimited):
    code = "too_many_streams"
    default_message = N_("You have too many live views open. Close some pages; this one still works without.")
    retry_after = 60


# -- announcing (inside the write's transaction) -------------------------------------------------------------

async def topic_changed(topic_id: int, conn=None) -> None:
    """A topic got a post, or disappeared."""
    await publish(topic_key(topic_id), conn)


async def notifications_changed(user_ids: Iterable[int | None], conn=None) -> None:
    """These users' unread notifications changed (new ones, or read)."""
    await publish_many([user_key(u) for u in sorted({u for u in user_ids if u is not None})], conn)


async def counter_changed(name: str, conn=None) -> None:
    """What the counter `name` counts changed (its owner calls this inside the transaction that changed it)."""
    await publish(counter_key(name), conn)


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
    return await unread_notifications.unread_count(user_id)


async def wait_for_unread_change(user_id: int, known: int, *, within: float) -> int | None:
    """The user's unread notification count as soon as it differs from `known`; None after `within` seconds."""
    return await _wait_until(user_key(user_id), lambda: unread_count(user_id), lambda n: n != known, within)


async def wait_for_count_change(name: str, count: Callable[[], Awaitable[int]], known: int, *,
                                within: float) -> int | None:
    """`count()` as soon as it differs from `known`, or the counter `name` was announced as changed (then even if
    its value did not: what it counts changed); None after `within` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    with hub.subscribe(counter_key(name)) as subscription:
        while True:
            value = await count()
            if value != known:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            if await subscription.wait(min(poll_seconds(), remaining)):
                return await count()


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


class StreamSlot:
    """One stream's hold on the process's and its client's slots; released once, however the stream ends."""

    __slots__ = ("client", "released", "__weakref__")

    def __init__(self, client: str | None) -> None:
        self.client = client
        self.released = False

    def release(self) -> None:
        global _open_streams
        if self.released:
            return
        self.released = True
        _open_streams -= 1
        if self.client is not None:
            left = _client_streams.get(self.client, 1) - 1
            if left > 0:
                _client_streams[self.client] = left
            else:
                _client_streams.pop(self.client, None)


def take_stream_slot(client: str | None) -> StreamSlot:
    """Takes a slot now, before the answer starts, so a refusal is a status: TooManyStreams (429) when this
    client already holds MAX_STREAMS_PER_CLIENT here, Busy (503) when the process is full. No await between the
    check and the count, so parallel requests cannot all pass. `client`: "u:<id>" or "a:<address>"."""
    global _open_streams
    if client is not None and _client_streams.get(client, 0) >= MAX_STREAMS_PER_CLIENT:
        raise TooManyStreams()
    if _open_streams >= MAX_STREAMS:
        raise Busy()
    _open_streams += 1
    if client is not None:
        _client_streams[client] = _client_streams.get(client, 0) + 1
    return StreamSlot(client)


def held_by(slot: StreamSlot, stream: AsyncIterator[str]) -> AsyncIterator[str]:
    """`stream`, giving the slot back when it ends, fails, is closed, or is dropped without ever starting."""

    async def run() -> AsyncIterator[str]:
        try:
            async for chunk in stream:
                yield chunk
        finally:
            slot.release()

    wrapped = run()
    weakref.finalize(wrapped, slot.release)
    return wrapped
