"""Applying the committed migrations (`forum migrate`); safe to run again, it then does nothing."""

from __future__ import annotations

from tortoise import Tortoise
from tortoise.migrations.api import migrate as migrate_api

from forum import db


async def apply_migrations(database_url: str, *, quiet: bool = False) -> None:
    def progress(event, app, name):
        if not quiet:
            print(f"{event} {app}.{name}")

    try:
        await migrate_api(config=db.tortoise_config(database_url), progress=progress)
    finally:
        await Tortoise.close_connections()
