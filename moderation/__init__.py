"""Moderation: its own package beside `forum/`.

The forum reaches moderation only through this small published interface: `routes()` for the app's route
table and `install(app)` to subscribe to forum events (`forum.events`). Features arrive with the moderation issue.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import BaseRoute


def routes() -> list[BaseRoute]:
    return []


def install(app: Starlette) -> None:
    """Subscribes moderation's handlers to forum events; nothing to subscribe yet."""
