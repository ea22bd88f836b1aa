"""Tortoise ORM configuration, shared by the app, the CLI and the `tortoise` developer command."""

from __future__ import annotations

import os

from forum.db.checkpoints import AUTOCHECKPOINT_PAGES
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
                "wal_autocheckpoint": AUTOCHECKPOINT_PAGES,  # a backstop: see forum/db/checkpoints.py
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


# For the `tortoise -c forum.db.config.TORTOISE_ORM …` developer commands.
TORTOISE_ORM = tortoise_config(os.environ.get("FORUM_DATABASE_URL") or DEFAULT_DATABASE_URL)
