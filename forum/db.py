"""Tortoise ORM configuration, shared by the app, the CLI and the `tortoise` developer command."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from contextlib import asynccontextmanager

from tortoise.backends.base import client as _base_client
from tortoise.backends.sqlite import client as _sqlite_client
from tortoise.transactions import in_transaction

from forum.settings import DEFAULT_DATABASE_URL, Settings, is_sqlite, sqlite_path

MODEL_MODULES = ["forum.models", "moderation.models"]
# Long enough to ride out a checkpoint or a burst of writers from other processes.
SQLITE_BUSY_TIMEOUT_MS = 10_000


# PostgreSQL: a transaction left open by a stuck request is ended by the server after this long (ms)
IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000


def postgres_connection(database_url: str, settings: Settings | None) -> dict:
    """The asyncpg pool per app process: its size and the server-side limits every session gets.

    Without settings (the CLI: migrations, purge, seeding) the pool is small and statements have no time limit,
    since building an index on a large table may rightly take minutes."""
    from tortoise.backends.base.config_generator import expand_db_url

    connection = expand_db_url(database_url)
    credentials = connection["credentials"]
    server_settings = dict(credentials.get("server_settings") or {})
    server_settings.setdefault("application_name", "forum")
    if settings is not None:
        credentials["minsize"] = settings.db_pool_min
        credentials["maxsize"] = settings.db_pool_max
        if settings.db_statement_timeout:
            server_settings["statement_timeout"] = str(int(settings.db_statement_timeout * 1000))
        server_settings["idle_in_transaction_session_timeout"] = str(IDLE_IN_TRANSACTION_TIMEOUT_MS)
    credentials["server_settings"] = server_settings
    return connection


def tortoise_config(database_url: str, settings: Settings | None = None) -> dict:
    if is_sqlite(database_url):
        connection = {
            "engine": "tortoise.backends.sqlite",
            "credentials": {
                "file_path": str(sqlite_path(database_url)),
                "journal_mode": "WAL",
                "busy_timeout": SQLITE_BUSY_TIMEOUT_MS,
                "foreign_keys": "ON",
                "secure_delete": "ON",
                "synchronous": "NORMAL",
            },
        }
    else:
        connection = postgres_connection(database_url, settings)
    return {
        "connections": {"default": connection},
        "apps": {"models": {"models": MODEL_MODULES, "migrations": "forum.migrations",
                            "default_connection": "default"}},
        "use_tz": True,
        "timezone": "UTC",
    }


async def _begin_immediate(self) -> None:
    """SQLite write transactions take the write lock up front (BEGIN IMMEDIATE).

    A deferred BEGIN that reads and then writes fails at once with SQLITE_BUSY when another process wrote in
    between, and busy_timeout cannot help it; IMMEDIATE waits its turn instead. Every transaction in this app
    writes, so this is the right default for all of them.
    """
    import asyncio
    import sqlite3

    from tortoise.exceptions import TransactionManagementError

    await self._connection.commit()
    for attempt in range(BEGIN_ATTEMPTS):
        try:
            await self._connection.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            # busy_timeout already waited; nothing has run yet, so trying again a few times is safe
            if not _is_busy_message(str(exc)) or attempt == BEGIN_ATTEMPTS - 1:
                raise TransactionManagementError(exc) from exc
            await asyncio.sleep(0.05 * 2**attempt)


_sqlite_client.SqliteTransactionWrapper.begin = _begin_immediate


async def _enter_transaction(self):
    """Tortoise's own __aenter__, but a BEGIN that fails gives the connection lock back.

    Tortoise 1.1.9 takes the process's one SQLite connection lock and then calls begin(); when begin raises
    (the database stayed busy), __aexit__ never runs, the lock is never released, and every later query of
    the process waits forever. Found by tests/test_busy.py.
    """
    from tortoise.connection import get_connections

    await self._trxlock.acquire()
    try:
        await self.ensure_connection()
        self.token = get_connections().set(self.connection_name, self.connection)
        try:
            await self.connection.begin()
        except BaseException:
            get_connections().reset(self.token)
            raise
    except BaseException:
        self._trxlock.release()
        raise
    return self.connection


_sqlite_client.SqliteTransactionContext.__aenter__ = _enter_transaction


async def _enter_pooled_transaction(self):
    """The same for PostgreSQL: a BEGIN that fails (a dropped connection) gives the pooled connection back.

    Unpatched, each such failure keeps one connection of the pool forever, until the pool is empty and every
    request waits.
    """
    from tortoise.connection import get_connections

    await self.ensure_connection()
    self.client._connection = await self.client._parent._pool.acquire()
    try:
        self.token = get_connections().set(self.connection_name, self.client)
        try:
            await self.client.begin()
        except BaseException:
            get_connections().reset(self.token)
            raise
    except BaseException:
        await self.client._parent._pool.release(self.client._connection)
        raise
    return self.client


_base_client.TransactionContextPooled.__aenter__ = _enter_pooled_transaction

# A write that still finds the database busy after busy_timeout and these attempts is answered 503 (never 500).
BEGIN_ATTEMPTS = 3


def _is_busy_message(text: str) -> bool:
    text = text.lower()
    return "database is locked" in text or "database is busy" in text or "database table is locked" in text


def _chain(exc: BaseException | None, limit: int = 10):
    """The exception and its causes: Tortoise wraps the driver's errors in its own."""
    while exc is not None and limit > 0:
        yield exc
        exc = exc.__cause__ or exc.__context__
        limit -= 1


def is_unstorable_text(exc: BaseException | None) -> bool:
    """PostgreSQL refuses text it cannot store (a NUL character, say, from `/u/%00`): bad input, not a bug."""
    import asyncpg

    return any(isinstance(e, asyncpg.exceptions.CharacterNotInRepertoireError
                          | asyncpg.exceptions.UntranslatableCharacterError) for e in _chain(exc))


def is_transient(exc: BaseException | None) -> bool:
    """A failure that says "try again" (SQLite busy, PostgreSQL deadlock, serialisation or a statement that ran
    past FORUM_DB_STATEMENT_TIMEOUT), not a bug."""
    import sqlite3

    import asyncpg

    for e in _chain(exc):
        if isinstance(e, sqlite3.OperationalError) and _is_busy_message(str(e)):
            return True
        if isinstance(e, asyncpg.exceptions.DeadlockDetectedError | asyncpg.exceptions.SerializationError
                      | asyncpg.exceptions.LockNotAvailableError | asyncpg.exceptions.QueryCanceledError):
            return True
        if type(e).__module__.startswith("tortoise") and _is_busy_message(str(e)):
            return True
    return False


@asynccontextmanager
async def write_transaction():
    """One unit of work: everything inside commits together or not at all.

    Callbacks registered with `after_commit` run once it has committed (never after a rollback)."""
    async with in_transaction() as conn:
        yield conn
    for callback in getattr(conn, "_forum_after_commit", ()):
        callback()


def after_commit(conn, callback: Callable[[], None]) -> None:
    """Runs `callback` after the outermost `write_transaction` that `conn` belongs to commits; at once when
    `conn` is not in a transaction (autocommit: the write is already durable)."""
    from tortoise.backends.base.client import TransactionalDBClient

    root = conn
    while isinstance(getattr(root, "_parent", None), TransactionalDBClient):
        root = root._parent
    if not isinstance(root, TransactionalDBClient):
        callback()
        return
    if not hasattr(root, "_forum_after_commit"):
        root._forum_after_commit = []
    root._forum_after_commit.append(callback)


# For the `tortoise -c forum.db.TORTOISE_ORM …` developer commands.
TORTOISE_ORM = tortoise_config(os.environ.get("FORUM_DATABASE_URL") or DEFAULT_DATABASE_URL)


# -- hand-written SQL for the few hot reads (TOOLCHAIN §11): one helper that speaks both dialects ----------

def connection():
    from tortoise import connections

    return connections.get("default")


def dialect() -> str:
    return connection().capabilities.dialect


def _placeholders(query: str, dialect_name: str) -> str:
    """Queries are written with `?`; asyncpg wants `$1, $2, …`."""
    if dialect_name == "sqlite":
        return query
    parts = query.split("?")
    out = [parts[0]]
    for n, part in enumerate(parts[1:], start=1):
        out.append(f"${n}{part}")
    return "".join(out)


async def fetch_all(query: str, params: list | tuple = (), conn=None) -> list[dict]:
    conn = conn or connection()
    return await conn.execute_query_dict(_placeholders(query, conn.capabilities.dialect), list(params))


async def fetch_one(query: str, params: list | tuple = (), conn=None) -> dict | None:
    rows = await fetch_all(query, params, conn)
    return rows[0] if rows else None


# -- reads by key on the loop's thread (SQLite) --------------------------------------------------------------------
# aiosqlite runs every statement on its own thread: handing a statement over and the answer back costs more CPU
# (about 0.1 ms) than a read of a few rows by key, and all of this process's statements queue behind one lock
# while a write transaction holds it. `fetch_quick` and `fetch_point` answer such reads from a second
# connection of this process, on the event loop's thread: in WAL mode a reader sees every committed write and
# never waits for writers. It runs outside any transaction (inside one the read belongs to it), only for reads
# by key that take microseconds (it blocks the loop while it runs), and falls back to the ordinary path when
# SQLite is busy or the connection cannot be opened. PostgreSQL goes the ordinary way.

_STATEMENT_LOG = logging.getLogger("tortoise.db_client")


def _point_reader(conn):
    """The reading connection that belongs to `conn` (Tortoise's SQLite client, not a transaction of it), made on
    first use, closed once the client closed or reconnected; None where there is none to have."""
    import sqlite3

    if type(conn) is not _sqlite_client.SqliteClient or conn.filename == ":memory:":
        return None
    reader = getattr(conn, "_forum_point_reader", None)
    if reader is not None and reader[0] is conn._connection:
        return reader[1]
    if reader is not None:  # closed, or reconnected: a new file may be behind the same name
        reader[1].close()
        del conn._forum_point_reader
    if conn._connection is None:
        return None
    try:
        reading = sqlite3.connect(conn.filename, isolation_level=None, check_same_thread=False)
        reading.execute("PRAGMA busy_timeout=0")  # busy: the ordinary path waits instead of the loop
        reading.execute("PRAGMA query_only=ON")
    except sqlite3.Error:
        return None
    reading.row_factory = sqlite3.Row
    conn._forum_point_reader = (conn._connection, reading)
    return reading


async def fetch_quick(query: str, params: list | tuple = ()) -> list[dict]:
    """`fetch_all` for a read by key of a few rows (a session, a page's validator, a page of posts): see above."""
    import sqlite3

    conn = connection()
    reader = _point_reader(conn)
    if reader is not None:
        try:
            rows = reader.execute(query, list(params)).fetchall()  # fetched to the end: no snapshot is kept
        except sqlite3.OperationalError:
            pass
        else:
            _STATEMENT_LOG.debug("%s: %s", query, params)  # counted like Tortoise's statements (tests, bench)
            return list(map(dict, rows))
    return await fetch_all(query, params, conn)


async def fetch_point(query: str, params: list | tuple = ()) -> dict | None:
    """`fetch_one` by key: see above."""
    rows = await fetch_quick(query, params)
    return rows[0] if rows else None


async def execute(query: str, params: list | tuple = (), conn=None) -> int:
    conn = conn or connection()
    count, _rows = await conn.execute_query(_placeholders(query, conn.capabilities.dialect), list(params))
    return count


def chunks(values: list, size: int = 500):
    """Slices small enough for an `IN (...)` list on either database."""
    for start in range(0, len(values), size):
        yield values[start:start + size]


def marks(count: int) -> str:
    return ",".join("?" * count)


async def fetch_in(query: str, values, conn=None) -> list[dict]:
    """`query` with `{in}` where the placeholders of `values` go, run once per chunk of values."""
    rows: list[dict] = []
    for chunk in chunks(list(values)):
        rows += await fetch_all(query.replace("{in}", marks(len(chunk))), chunk, conn)
    return rows


async def execute_many(query: str, rows: list[list], conn=None) -> None:
    if rows:
        conn = conn or connection()
        await conn.execute_many(_placeholders(query, conn.capabilities.dialect), [list(r) for r in rows])


def time_param(value, conn=None):
    """A datetime as raw SQL stores and compares it: ISO text on SQLite (`isoformat(" ")`, as Tortoise writes
    it), the datetime itself on PostgreSQL; None stays None."""
    if value is None:
        return None
    return value.isoformat(" ") if (conn or connection()).capabilities.dialect == "sqlite" else value


def as_datetime(value):
    """SQLite hands back ISO strings, PostgreSQL datetimes; callers want aware datetimes."""
    from datetime import UTC, datetime

    if value is None or isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def as_bool(value) -> bool:
    return bool(value) if value is not None else False
