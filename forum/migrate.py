"""Applying the committed migrations (`forum migrate`); safe to run again, it then does nothing."""

from __future__ import annotations

from tortoise import Tortoise
from tortoise.migrations.api import migrate as migrate_api

from forum.db.config import tortoise_config


async def apply_migrations(database_url: str, *, quiet: bool = False) -> None:
    def progress(event, app, name):
        if not quiet:
            print(f"{event} {app}.{name}")

    try:
        await migrate_api(config=tortoise_config(database_url), progress=progress)
    finally:
        await Tortoise.close_connections()


def asyncpg_dsn(url: str) -> str:
    """asyncpg spells the scheme `postgresql://`; the forum's settings accept `postgres://`."""
    return url.replace("postgres://", "postgresql://", 1)


async def ensure_postgres_database(url: str) -> None:
    """Creates the database `url` names if it does not exist yet (through the server's `postgres` database).
    For tests and benchmarks that want a database of their own."""
    import asyncpg

    server, _, name = url.partition("?")[0].rpartition("/")
    admin = await asyncpg.connect(asyncpg_dsn(f"{server}/postgres"))
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


async def empty_postgres(url: str, *, connect_within: float = 60) -> None:
    """Drops every table, so migrations start from nothing. Tests and benchmarks only; the app never calls it."""
    import asyncpg

    conn = await asyncpg.connect(asyncpg_dsn(url), timeout=connect_within)
    try:
        await conn.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()
