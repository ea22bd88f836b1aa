"""Tortoise ORM configuration, shared by the app, the CLI and the `tortoise` developer command."""

from __future__ import annotations

import os
from contextlib import asynccontextmanager

from tortoise.backends.sqlite import client as _sqlite_client
from tortoise.transactions import in_transaction

from forum.settings import DEFAULT_DATABASE_URL, is_sqlite, sqlite_path

MODEL_MODULES = ["forum.models", "moderation.models"]
# Long enough to ride out a checkpoint or a burst of writers from other processes.
SQLITE_BUSY_TIMEOUT_MS = 10_000


def tortoise_config(database_url: str) -> dict:
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
        connection = database_url
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
    import sqlite3

    from tortoise.exceptions import TransactionManagementError

    try:
        await self._connection.commit()
        await self._connection.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        raise TransactionManagementError(exc) from exc


_sqlite_client.SqliteTransactionWrapper.begin = _begin_immediate


@asynccontextmanager
async def write_transaction():
    """One unit of work: everything inside commits together or not at all."""
    async with in_transaction() as conn:
        yield conn


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


async def execute(query: str, params: list | tuple = (), conn=None) -> int:
    conn = conn or connection()
    count, _rows = await conn.execute_query(_placeholders(query, conn.capabilities.dialect), list(params))
    return count


def as_datetime(value):
    """SQLite hands back ISO strings, PostgreSQL datetimes; callers want aware datetimes."""
    from datetime import UTC, datetime

    if value is None or isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def as_bool(value) -> bool:
    return bool(value) if value is not None else False
