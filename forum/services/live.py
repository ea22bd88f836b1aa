"""Waiting for new posts in a topic, for the live topic view (server-sent events).

`wait_for_new_posts` is the one seam: today it polls `topic.last_number` (one indexed primary-key read every
POLL_SECONDS per open stream, in this process); a PostgreSQL LISTEN/NOTIFY implementation can replace its body
without changing its signature or any caller. Streams are bounded twice: at most MAX_STREAMS open per process,
and each ends after STREAM_SECONDS (the browser's EventSource reconnects on its own, sending Last-Event-ID).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from forum import db
from forum.errors import N_, DomainError, NotFound

POLL_SECONDS = 2.0
KEEPALIVE_SECONDS = 15.0
STREAM_SECONDS = 300.0
MAX_STREAMS = 200
RETRY_MS = 3000

_open_streams = 0


class Busy(DomainError):
    status = 503
    code = "busy"
    default_message = N_("Too many live connections right now. The page still works; reload it to see new replies.")


async def last_number(topic_id: int) -> int:
    """The highest post number handed out in the topic; NotFound when the topic is gone or deleted."""
    row = await db.fetch_one("SELECT last_number, deleted_at FROM topic WHERE id = ?", [topic_id])
    if row is None or row["deleted_at"] is not None:
        raise NotFound()
    return int(row["last_number"])


async def wait_for_new_posts(topic_id: int, after: int, *, within: float) -> int | None:
    """The topic's newest post number as soon as it passes `after`; None if `within` seconds pass first.
    Raises NotFound when the topic disappears while waiting."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        number = await last_number(topic_id)
        if number > after:
            return number
        remaining = deadline - loop.time()
        if remaining <= 0:
            return None
        await asyncio.sleep(min(POLL_SECONDS, remaining))


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
