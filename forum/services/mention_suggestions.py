"""Handles to suggest after "@" in a composer: only people a mention would reach.

A suggestion is a member with a profile (withdrawn members have none) whose consent to the forum is current
(or who takes part on the employment basis, as the posting gate counts them), who may read the topic's
category, and whom no published filter excludes (moderation: suspended members, forum.hooks). Others are not
suggested. The author is not suggested to themselves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from forum import db, hooks
from forum.errors import NotAuthenticated
from forum.models import ReadAccess
from forum.permissions.roles import levels_for_role
from forum.services.access import access_category_by_slug, access_topic_by_id
from forum.services.consent import ConsentStatus, consent_status, on_employment_basis
from forum.services.usernames import username_key
from forum.viewer import Viewer

MIN_CHARS = 2
MAX_CHARS = 32
LIMIT = 8
SCAN = 40   # handles read per request before the checks; enough for LIMIT when a few are left out
_PREFIX = re.compile(r"^[^\W_][\w.\-]*$")


@dataclass(frozen=True)
class Suggestion:
    username: str
    display_name: str


async def suggest_handles(viewer: Viewer | None, prefix: str, *, topic_id: int | None = None,
                          category: str | None = None) -> list[Suggestion]:
    """Up to LIMIT handles starting with `prefix` (at least MIN_CHARS) of members the post could mention."""
    if viewer is None:
        raise NotAuthenticated()
    prefix = (prefix or "").strip().lstrip("@")
    if not MIN_CHARS <= len(prefix) <= MAX_CHARS or not _PREFIX.match(prefix):
        return []
    if topic_id is not None:
        read_access = _value((await access_topic_by_id(viewer, topic_id)).category.read_access)
    elif category:
        read_access = _value((await access_category_by_slug(viewer, category)).read_access)
    else:
        read_access = ReadAccess.PUBLIC.value
    key = username_key(prefix)
    # a range on the unique key, so the index finds the candidates however many members there are
    rows = await db.fetch_all(
        "SELECT p.user_id, p.username, p.display_name, a.role FROM profile p JOIN account a ON a.id = p.user_id "
        "WHERE p.username_key >= ? AND p.username_key < ? AND p.user_id <> ? ORDER BY p.username_key "
        f"LIMIT {SCAN}", [key, key + "\U0010ffff", viewer.id])
    rows = [r for r in rows if read_access in levels_for_role(r["role"])]
    excluded = await hooks.not_mentionable([r["user_id"] for r in rows])
    out: list[Suggestion] = []
    for row in rows:
        if len(out) == LIMIT:
            break
        if row["user_id"] in excluded:
            continue
        # the posting gate's rule (participation_status), for someone other than the viewer
        if on_employment_basis(row["role"]) or await consent_status(row["user_id"]) == ConsentStatus.GRANTED:
            out.append(Suggestion(row["username"], row["display_name"] or ""))
    return out


def _value(level) -> str:
    return getattr(level, "value", level)
