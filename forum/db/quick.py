"""Quick write transactions on SQLite: their statements run on the event loop's thread, not aiosqlite's.

aiosqlite runs each statement on its own thread; handing it over and the answer back costs about 0.12 ms of CPU
(measured: 0.147 ms a statement against 0.008 ms for the same read on the loop's thread), and a reply runs some
fifteen statements while it holds SQLite's write lock, which every writer of the database waits for: 2 of the
lock's 6 ms per post (bench/write_inprocess.py). `write_transaction(quick=True)` marks a transaction whose
statements each take microseconds (a new post's rows, counters, upserts by key); its statements then run on the
loop's thread, blocking it while they run, as `fetch_quick` does for reads by key (forum/db/__init__.py). BEGIN
(which may wait for another process's writer) and COMMIT still go through aiosqlite's thread, and so does every
statement of an ordinary transaction: a long rewrite must not stop the loop. The statements are the same, in the
same order, on the same connection, with the same errors (Tortoise's OperationalError and IntegrityError) and
the same log lines; PostgreSQL is not concerned. The longest statement of a new post's transaction is the search
tier's move (forum/services/search.py: up to 256 posts into the older tier, once per 256 posts; 18 ms at 10k
posts, 32 ms at 1M): the loop waits that long then, as a request of the process would have waited for the
connection.
"""

from __future__ import annotations

import sqlite3

from tortoise.backends.sqlite import client as _sqlite_client
from tortoise.exceptions import IntegrityError, OperationalError

_Wrapper = _sqlite_client.SqliteTransactionWrapper


def mark(conn) -> None:
    """Marks `conn`, a SQLite transaction just begun, as quick (elsewhere: nothing)."""
    if type(conn) is _Wrapper:
        conn._forum_quick = True


def _connection(wrapper) -> sqlite3.Connection | None:
    """The sqlite3 connection under `wrapper` when it, or the transaction it is a savepoint of, is quick."""
    outer = wrapper
    while isinstance(outer, _Wrapper):
        if getattr(outer, "_forum_quick", False):
            return getattr(wrapper._connection, "_connection", None)  # aiosqlite's, once connected
        outer = outer._parent
    return None


def _run(wrapper, query: str, values, work):
    try:
        return work(_connection(wrapper), query, list(values) if values is not None else [])
    except sqlite3.OperationalError as exc:
        raise OperationalError(exc) from exc
    except sqlite3.IntegrityError as exc:
        raise IntegrityError(exc) from exc


def _query(connection, query, values):
    start = connection.total_changes
    rows = connection.execute(query, values).fetchall()
    return (connection.total_changes - start) or len(rows), rows


def _query_dict(connection, query, values):
    return list(map(dict, connection.execute(query, values).fetchall()))


def _insert(connection, query, values):
    return connection.execute(query, values).lastrowid


def _many(connection, query, values):
    connection.executemany(query, values)


def _quick_or(original, work, *, nul: bool = False):
    async def run(self, query, values=None):
        if _connection(self) is None:
            return await original(self, query, values) if values is not None else await original(self, query)
        if nul:  # as Tortoise's own execute_query and execute_query_dict
            query = query.replace("\x00", "'||CHAR(0)||'")
        async with self.acquire_connection():  # statements of tasks gathered inside it stay one at a time
            self.log.debug("%s: %s", query, values)
            return _run(self, query, values, work)
    run.__name__ = original.__name__
    return run


async def _create_connection(self, with_db: bool) -> None:
    """Tortoise 1.1.9's own, but the sqlite3 connection may be used from the loop's thread too (each use is still
    one at a time: aiosqlite's thread is idle while a quick statement runs, the transaction waiting on it)."""
    import aiosqlite

    if not self._connection:
        self._connection = await aiosqlite.connect(self.filename, isolation_level=None, check_same_thread=False)
        self._connection._conn.row_factory = sqlite3.Row
        for pragma, val in self.pragmas.items():
            cursor = await self._connection.execute(f"PRAGMA {pragma}={val}")
            await cursor.close()
        await self._post_connect()
        self.log.debug("Created connection %s with params: filename=%s %s", self._connection, self.filename,
                       " ".join(f"{k}={v}" for k, v in self.pragmas.items()))


_sqlite_client.SqliteClient.create_connection = _create_connection
_Wrapper.execute_query = _quick_or(_sqlite_client.SqliteClient.execute_query, _query, nul=True)
_Wrapper.execute_query_dict = _quick_or(_sqlite_client.SqliteClient.execute_query_dict, _query_dict, nul=True)
_Wrapper.execute_insert = _quick_or(_sqlite_client.SqliteClient.execute_insert, _insert)
_Wrapper.execute_many = _quick_or(_Wrapper.execute_many, _many)
