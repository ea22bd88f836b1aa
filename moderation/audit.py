"""The append-only log of moderator and staff actions: who (user id), what, on what (kind and id), why, when.

Rows are only ever inserted: database triggers refuse deletes and any update of the facts (who, what, on what,
the detail, when). They hold ids, never handles, display names or post text; a moderator's free-text reason has
the target's names taken out before it is kept, and a consent withdrawal or erasure later takes a withdrawn
member's names out of any reason that still holds them (the one column the triggers let change).
"""

from __future__ import annotations

import re
from contextvars import ContextVar

from forum import db
from forum.models import Profile
from forum.viewer import Viewer
from moderation.models import AuditEntry
from moderation.permissions import check_moderator

PAGE_SIZE = 50
# set while a moderation action runs: it writes its own row (with the reason), so the forum's event is not logged twice
acting: ContextVar[bool] = ContextVar("moderation_acting", default=False)


async def redact_names(reason: str, user_ids: list[int | None], conn=None) -> str:
    """Replace the handles and display names of the people concerned with a neutral word."""
    ids = [u for u in user_ids if u is not None]
    if not reason or not ids:
        return reason
    names = set()
    for profile in await Profile.filter(user_id__in=ids).using_db(conn):
        names.update(n for n in (profile.username, profile.display_name) if n and len(n) >= 2)
    for name in sorted(names, key=len, reverse=True):
        reason = re.sub(rf"(?<!\w)@?{re.escape(name)}(?!\w)", "[member]", reason, flags=re.IGNORECASE)
    return reason


async def record(conn, *, actor_id: int | None, action: str, target_kind: str, target_id: int | None,
                 reason: str = "", detail: str = "", about_user_ids: list[int | None] | None = None) -> None:
    reason = await redact_names(reason, about_user_ids or [], conn)
    await AuditEntry.create(actor_id=actor_id, action=action, target_kind=target_kind, target_id=target_id,
                            reason=reason[:2000], detail=detail[:100], using_db=conn)


async def list_entries(viewer: Viewer | None, *, before: int | None = None) -> list[dict]:
    check_moderator(viewer)
    params: list = []
    where = ""
    if before is not None:
        where = "WHERE a.id < ?"
        params.append(before)
    rows = await db.fetch_all(
        "SELECT a.id, a.actor_id, pr.username AS actor, a.action, a.target_kind, a.target_id, a.detail, a.reason, "
        f"a.created_at FROM mod_audit a LEFT JOIN profile pr ON pr.user_id = a.actor_id {where} "
        "ORDER BY a.id DESC LIMIT ?", [*params, PAGE_SIZE])
    for row in rows:
        row["created_at"] = db.as_datetime(row["created_at"])
    return rows


async def on_staff_action(event) -> None:
    """forum.events.STAFF_ACTION: staff and moderators acting through the forum's own pages and API."""
    if acting.get():
        return
    await record(event.conn, actor_id=event.actor_id, action=event.action, target_kind=event.target_kind,
                 target_id=event.target_id, detail=event.detail)


async def on_role_mapped(event) -> None:
    """forum.events.ROLE_MAPPED: the identity provider's claim changed a role at sign-in (no person acted)."""
    await record(event.conn, actor_id=None, action="role_from_provider", target_kind="user", target_id=event.user_id,
                 detail=f"{event.role} ({event.claim})")
