"""Moderation: its own package beside `forum/`.

The forum reaches moderation only through this small published interface: `routes()` for the app's route
table and `install(app)` to subscribe to forum events (`forum.events`), add what moderation shows on the forum's
pages (`forum.hooks`: flag and appeal on each post card) and add moderation's templates.
"""

from __future__ import annotations

from pathlib import Path

import jinja2
from starlette.applications import Starlette
from starlette.routing import BaseRoute

TEMPLATE_DIR = Path(__file__).parent / "templates"


def routes() -> list[BaseRoute]:
    from moderation import api, web

    return [*web.routes, *api.routes]


def install(app: Starlette) -> None:
    """Subscribes moderation's handlers to forum events and lets the app's Jinja find moderation's templates."""
    from forum import events, hooks
    from forum.errors import N_
    from forum.services import byte_purge
    from moderation import audit, config, drafts, permissions, pictures, writing
    from moderation.export import on_exporting
    from moderation.retention import on_purging
    from moderation.sanctions import on_signing_in, suspended_among
    from moderation.withdrawal import on_withdrawal

    config.bind(app)
    events.subscribe(events.PARTICIPATING, writing.on_participating)
    events.subscribe(events.POST_WRITING, writing.on_post_writing)
    events.subscribe(events.TITLE_WRITING, writing.on_title_writing)
    events.subscribe(events.POST_CHECKING, drafts.on_post_checking)
    events.subscribe(events.POST_CREATED, writing.on_post_stored)
    events.subscribe(events.POST_EDITED, writing.on_post_stored)
    events.subscribe(events.CONSENT_WITHDRAWN, on_withdrawal)
    events.subscribe(events.CONSENT_WITHDRAWN, pictures.on_withdrawal)
    events.subscribe(events.ATTACHMENT_READ, pictures.on_attachment_read)
    events.subscribe(events.ACCOUNT_ERASING, on_withdrawal)
    byte_purge.touches("mod_flag", "mod_case", "mod_sanction", "mod_audit")  # what on_withdrawal writes
    events.subscribe(events.EXPORTING, on_exporting)
    events.subscribe(events.SIGNING_IN, on_signing_in)
    events.subscribe(events.STAFF_ACTION, audit.on_staff_action)
    events.subscribe(events.ROLE_MAPPED, audit.on_role_mapped)
    events.subscribe(events.PURGING, on_purging)
    hooks.add_post_card(permissions.post_card)
    hooks.add_nav_link(hooks.NavLink("mod", N_("Moderation"), permissions.is_moderator))
    hooks.add_mention_filter(suspended_among)
    env = app.state.templates.env
    env.loader = jinja2.ChoiceLoader([env.loader, jinja2.FileSystemLoader(TEMPLATE_DIR)])
