"""The database as the app uses it: one write transaction, and the helpers for the hand-written SQL.

The rule for hand-written SQL (written once, here). Rows are read and written through the Tortoise models; SQL
by hand only where one of three reasons holds, and then always through the helpers below:
- a read on the hot path, run for every page view or every signed-in request: the topic page and the topic
  lists (services/topic_queries.py), profiles, the viewer and its unread count (forum/viewer.py,
  services/unread_notifications.py), notifications, access checks, search and the moderation queue. Measured on
  a 200,000-post SQLite database, the same topic page served 1,540 req/s through models with prefetch_related,
  1,600 through `.values()` and 3,174 through two indexed SQL queries (the template alone: 4,413); the posts
  query took 105 µs as SQL and 596 µs as models, more than rendering the page (383 µs);
- a write over a set of rows in one statement, where the ORM would load every row first: withdrawal's rewrite
  and byte purge, erasure, retention's purge, the export's streamed reads, the mail outbox's fan-out and leases,
  counters and upserts (ON CONFLICT), the rows every new post writes (services/storing.py) and the mail
  choices it reads (services/mail_kinds.py);
- what the ORM cannot say: full-text search (FTS5 on SQLite, tsvector on PostgreSQL), row locks (FOR UPDATE),
  LISTEN/NOTIFY, PRAGMA and VACUUM.
How: queries are written with `?` placeholders (fetch_all, fetch_one, execute, fetch_in, execute_many turn them
into asyncpg's `$n`); values go only through placeholders, and text is pasted into a query only when it is a
fixed fragment of this code (a column name, a list of `?`). The database in use is asked one way, `dialect(conn)`;
datetimes go in through `time_param` and come back through `as_datetime`, booleans through `as_bool`. Every such
query runs in the test suite on both SQLite and PostgreSQL.

The parts of the package: config.py (Tortoise configuration), patches.py (three fixes to Tortoise's
transactions, applied on import here), errors.py (which database errors are bad input or "try again").
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from tortoise.backends.base.client import TransactionalDBClient
from tortoise.backends.sqlite import client as _sqlite_client
from tortoise.transactions import in_transaction

from forum.db import patches  # noqa: F401 (applied on import: every transaction goes through them)
from forum.db import quick as quick_statements


@asynccontextmanager
async def write_transaction(*, quick: bool = False, large: bool = False):
    """One unit of work: everything inside commits together or not at all.

    Callbacks registered with `after_commit` run once it has committed (never after a rollback). `quick`: every
    statement inside takes microseconds (rows by key, counters, upserts), so on SQLite they run on the event
    loop's thread (forum/db/quick.py). `large`: it writes thousands of pages (a withdrawal), so on SQLite its
    COMMIT does not copy the WAL back into the file before the answer; a checkpoint follows off the write path
    (forum/db/checkpoints.py)."""
    async with in_transaction() as conn:
        if quick:
            quick_statements.mark(conn)
        if large:
            conn._forum_large = True
        yield conn
    for callback in getattr(conn, "_forum_after_commit", ()):
        callback()


def after_commit(conn, callback: Callable[[], None]) -> None:
    """Runs `callback` after the outermost `write_transaction` that `conn` belongs to commits; at once when
    `conn` is not in a transaction (autocommit: the write is already durable)."""
    root = conn
    while isinstance(getattr(root, "_parent", None), TransactionalDBClient):
        root = root._parent
    if not isinstance(root, TransactionalDBClient):
        callback()
        return
    if not hasattr(root, "_forum_after_commit"):
        root._forum_after_commit = []
    root._forum_after_commit.append(callback)


def connection():
    from tortoise import connections

    return connections.get("default")


def dialect(conn=None) -> str:
    """"sqlite" or "postgres": of `conn`, or of the default connection."""
    return (conn or connection()).capabilities.dialect


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
    return await conn.execute_query_dict(_placeholders(query, dialect(conn)), list(params))


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


def _sqlite_file(conn) -> str | None:
    """The file of the SQLite client that `conn` (a client or a transaction of it) belongs to; None elsewhere."""
    while conn is not None and type(conn) is not _sqlite_client.SqliteClient:  # a transaction: its client
        conn = getattr(conn, "_parent", None)
    if conn is None or conn.filename == ":memory:":
        return None
    return conn.filename


def reads_beside(conn) -> bool:
    """Whether `read_beside` reads on a connection of its own (SQLite in a file), so that it can run while `conn`
    runs other statements."""
    return _sqlite_file(conn) is not None


async def read_beside(conn, query: str, params: list | tuple = (), functions: dict | None = None) -> list[dict]:
    """A long read on SQLite while `conn`'s write transaction goes on with other statements: on a connection of
    its own, in a thread, with these SQL `functions` (name -> (number of arguments, callable)). Every write
    transaction here takes the write lock at BEGIN (forum/db/patches.py), so what this connection sees is what
    was committed before the transaction began: only for reads of rows that the transaction has not changed.
    Cancelled, it interrupts the statement. PostgreSQL (and a database in memory) reads on `conn`."""
    import asyncio
    import sqlite3

    path = _sqlite_file(conn)
    if path is None:
        return await fetch_all(query, params, conn)
    opened: list = []

    def run() -> list[dict]:
        reading = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        opened.append(reading)
        try:
            reading.execute("PRAGMA query_only=ON")
            for name, (arguments, function) in (functions or {}).items():
                reading.create_function(name, arguments, function, deterministic=True)
            reading.row_factory = sqlite3.Row
            rows = reading.execute(_placeholders(query, "sqlite"), list(params)).fetchall()
            _STATEMENT_LOG.debug("%s: %s", query, params)
            return list(map(dict, rows))
        finally:
            reading.close()

    try:
        return await asyncio.to_thread(run)
    except asyncio.CancelledError:
        if opened:
            try:
                opened[0].interrupt()
            except sqlite3.ProgrammingError:  # closed already: the statement had ended
                pass
        raise


async def execute(query: str, params: list | tuple = (), conn=None) -> int:
    conn = conn or connection()
    count, _rows = await conn.execute_query(_placeholders(query, dialect(conn)), list(params))
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
        await conn.execute_many(_placeholders(query, dialect(conn)), [list(r) for r in rows])


def time_param(value, conn=None):
    """A datetime as raw SQL stores and compares it: ISO text on SQLite (`isoformat(" ")`, as Tortoise writes
    it), the datetime itself on PostgreSQL; None stays None."""
    if value is None:
        return None
    return value.isoformat(" ") if dialect(conn) == "sqlite" else value


def as_datetime(value):
    """SQLite hands back ISO strings, PostgreSQL datetimes; callers want aware datetimes."""
    if value is None or isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def as_bool(value) -> bool:
    return bool(value) if value is not None else False
