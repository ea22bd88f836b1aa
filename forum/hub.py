"""Live events across app processes, behind one interface: `publish` inside a write, `subscribe` to wait.

An event is only a wake-up call naming what changed (a topic, a user's notifications, the moderation queue);
whoever wakes re-reads the database, which stays the only source of truth. So a lost, doubled or early event
costs at most one cheap query, never a wrong page.

- PostgreSQL: `publish` runs `pg_notify` inside the write's transaction, so the event leaves only on commit
  and never for a rolled-back write. `publish_many` packs many keys into one payload (under PostgreSQL's 8000
  bytes; more keys, more payloads), so a reply that notifies 1,000 members sends one or two, not 1,000.
  Each app process holds ONE dedicated asyncpg connection that LISTENs (started and stopped in the app's
  lifespan) and fans the events out to the streams waiting in that process.
  When that connection drops, every waiter is woken (so it re-reads) and the hub reconnects with back-off;
  until it is back, waiters fall back to polling.
- SQLite: `publish` queues the event on the transaction and `forum.db.write_transaction` delivers it in this
  process after the commit. Other processes on the same file learn of it by the waiters' cheap poll.

The per-process table of waiters is the only state kept in a process, by design: it holds open connections,
not data.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from forum import db

log = logging.getLogger("forum.hub")

CHANNEL = "forum_events"
RECONNECT_MAX_SECONDS = 30.0


def topic_key(topic_id: int) -> str:
    return f"t:{int(topic_id)}"


def user_key(user_id: int) -> str:
    return f"u:{int(user_id)}"


def counter_key(name: str) -> str:
    """A counter another package keeps and announces (moderation: its review queue)."""
    return f"c:{name}"


class Subscription:
    """Woken whenever one of its keys is published; `wait` returns True if woken, False when the time ran out."""

    __slots__ = ("keys", "_event")

    def __init__(self, keys: tuple[str, ...]) -> None:
        self.keys = keys
        self._event = asyncio.Event()

    def wake(self) -> None:
        self._event.set()

    async def wait(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self._event.wait(), seconds)
        except TimeoutError:
            return False
        finally:
            self._event.clear()
        return True


class Hub:
    """This process's fan-out: keys → the subscriptions waiting on them, and the LISTEN connection if any."""

    def __init__(self) -> None:
        self._waiting: dict[str, set[Subscription]] = {}
        self._listener = None          # asyncpg connection while LISTENing
        self._task: asyncio.Task | None = None
        self._stopping = False
        self.delivered = 0             # events fanned out in this process (for tests and the health of the hub)

    @property
    def listening(self) -> bool:
        """True while this process receives PostgreSQL notifications (waiters may then poll rarely)."""
        return self._listener is not None and not self._listener.is_closed()

    # -- waiting ------------------------------------------------------------------------------------------

    @contextmanager
    def subscribe(self, *keys: str) -> Iterator[Subscription]:
        """Subscribe BEFORE reading the state you wait on, so a change in between still wakes you."""
        sub = Subscription(keys)
        for key in keys:
            self._waiting.setdefault(key, set()).add(sub)
        try:
            yield sub
        finally:
            for key in keys:
                waiting = self._waiting.get(key)
                if waiting is not None:
                    waiting.discard(sub)
                    if not waiting:
                        del self._waiting[key]

    def deliver(self, key: str) -> None:
        self.delivered += 1
        for sub in list(self._waiting.get(key, ())):
            sub.wake()

    def wake_all(self) -> None:
        for subs in list(self._waiting.values()):
            for sub in list(subs):
                sub.wake()

    def waiting(self) -> int:
        return sum(len(s) for s in self._waiting.values())

    # -- the LISTEN connection (PostgreSQL) -----------------------------------------------------------------

    async def start(self, database_url: str) -> None:
        """Starts listening on PostgreSQL (returns once the first attempt is done); nothing to do on SQLite."""
        if database_url.startswith("sqlite:"):
            return
        self._stopping = False
        first = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._run(database_url, first), name="forum-hub-listener")
        await first

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        await self._close_listener()
        self.wake_all()

    async def _close_listener(self) -> None:
        conn, self._listener = self._listener, None
        if conn is not None and not conn.is_closed():
            try:
                await asyncio.wait_for(conn.close(), 5)
            except Exception:  # closing a broken connection may fail in many ways; then just drop it
                conn.terminate()

    async def _run(self, database_url: str, first: asyncio.Future) -> None:
        import asyncpg

        delay = 0.5
        while not self._stopping:
            lost = asyncio.Event()
            try:
                conn = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1),
                                             timeout=10, server_settings={"application_name": "forum-listener"})
                conn.add_termination_listener(lambda _conn, lost=lost: lost.set())
                await conn.add_listener(CHANNEL, self._on_notify)
                self._listener = conn
                delay = 0.5
                log.info("listening for live events on PostgreSQL")
                self.wake_all()  # events may have been missed while we were not listening: everyone re-reads
            except Exception as exc:  # any failure to connect: poll, and try again later
                log.warning("live events: cannot LISTEN (%r); polling until it works", exc)
                lost.set()
            if not first.done():
                first.set_result(None)
            await lost.wait()
            await self._close_listener()
            self.wake_all()
            if self._stopping:
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_MAX_SECONDS)

    def _on_notify(self, _conn, _pid, _channel, payload: str) -> None:
        for key in keys_of(payload):
            self.deliver(key)


hub = Hub()


PAYLOAD_BYTES = 7900  # PostgreSQL refuses a NOTIFY payload of 8000 bytes or more


def payloads(keys, limit: int = PAYLOAD_BYTES) -> list[str]:
    """Keys in as few NOTIFY payloads as fit under `limit`: space-separated, and keys of one kind with numeric
    ids folded into one (`u:3,17,42`), so a reply that notifies 1,000 members sends one payload, not 1,000."""
    out: list[str] = []
    current, open_prefix = "", None
    for key in dict.fromkeys(keys):  # once each, in order
        prefix, sep, rest = key.rpartition(":")
        folds = bool(sep) and rest.isdigit()
        if folds and open_prefix == prefix:
            piece = "," + rest
        else:
            piece = (" " if current else "") + key
        if current and len((current + piece).encode()) > limit:
            out.append(current)
            current, piece = "", key
        current += piece
        open_prefix = prefix if folds else None
    if current:
        out.append(current)
    return out


def keys_of(payload: str) -> list[str]:
    """The keys a payload of `payloads` names (a single key, as older processes send, is one)."""
    keys = []
    for token in payload.split():
        prefix, sep, rest = token.rpartition(":")
        if sep and rest and all(part.isdigit() for part in rest.split(",")):
            keys += [f"{prefix}:{part}" for part in rest.split(",")]
        else:
            keys.append(token)
    return keys


async def publish(key: str, conn=None) -> None:
    """Announce that `key` changed. Call it inside the write's transaction (pass its connection): the event
    is delivered only if and when that transaction commits. Outside a transaction it goes at once."""
    await publish_many([key], conn)


async def publish_many(keys, conn=None) -> None:
    """Announce many keys at once: on PostgreSQL one `pg_notify` per payload of about 8 KB (`payloads`), however
    many keys; every process's listener fans them out to its waiters."""
    keys = list(keys)
    if not keys:
        return
    conn = conn or db.connection()
    if db.dialect(conn) == "postgres":
        for payload in payloads(keys):
            await conn.execute_query("SELECT pg_notify($1, $2)", [CHANNEL, payload])
    else:
        db.after_commit(conn, lambda: [hub.deliver(key) for key in dict.fromkeys(keys)])
