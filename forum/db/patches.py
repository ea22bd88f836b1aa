"""Three patches to Tortoise ORM 1.1.9's transactions, applied when forum.db is imported (before any connection).
"""

from __future__ import annotations

from tortoise.backends.base import client as _base_client
from tortoise.backends.sqlite import client as _sqlite_client

from forum.db import checkpoints as _checkpoints
from forum.db import writers as _writers
from forum.db.errors import is_busy_message

# A write that still finds the database busy after busy_timeout and these attempts is answered 503 (never 500).
BEGIN_ATTEMPTS = 3


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
            if not is_busy_message(str(exc)) or attempt == BEGIN_ATTEMPTS - 1:
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
        self._forum_writer = await _writers.take(self.connection._parent.filename)
        try:
            self.token = get_connections().set(self.connection_name, self.connection)
            try:
                await self.connection.begin()
            except BaseException:
                get_connections().reset(self.token)
                raise
        except BaseException:
            _writers.give_back(self._forum_writer)
            raise
    except BaseException:
        self._trxlock.release()
        raise
    return self.connection


_tortoise_exit_transaction = _sqlite_client.SqliteTransactionContext.__aexit__


async def _exit_transaction(self, exc_type, exc_val, exc_tb):
    """Tortoise's own __aexit__ (commit or roll back, then the connection lock), then the writers' turn, then
    perhaps a checkpoint (forum/db/checkpoints.py). A `large` transaction commits without the automatic
    checkpoint, and its checkpoint follows at once, off the write path."""
    large = getattr(self.connection, "_forum_large", False)
    raw = self.connection._connection
    try:
        if large:
            await raw.execute("PRAGMA wal_autocheckpoint=0")
        try:
            await _tortoise_exit_transaction(self, exc_type, exc_val, exc_tb)
        finally:
            if large:
                await raw.execute(f"PRAGMA wal_autocheckpoint={_checkpoints.AUTOCHECKPOINT_PAGES}")
    finally:
        _writers.give_back(getattr(self, "_forum_writer", None))
    _checkpoints.after_write(self.connection._parent.filename, now=large)


_sqlite_client.SqliteTransactionContext.__aenter__ = _enter_transaction
_sqlite_client.SqliteTransactionContext.__aexit__ = _exit_transaction


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
