"""Handles to suggest after "@" in a composer: only people a mention would reach.

A handle or a display name may start with what was typed (a display name is matched only for a member whose
display name the list shows beside the handle, as every post card does). A suggestion is a member with a profile
(withdrawn members have none) whose consent to the forum is current (or who takes part on the employment basis,
as the posting gate counts them), who may read the topic's category, and whom no published filter excludes
(moderation: suspended members, forum.hooks). Others are not suggested. The author is not suggested to
themselves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from forum import db, hooks
from forum.errors import NotAuthenticated
from forum.models import ReadAccess
from forum.permissions.roles import levels_for_role
from forum.services.access import access_category_by_slug, access_topic_by_id
from forum.services.consent import ConsentStatus, consent_statuses, on_employment_basis
from forum.services.name_claims import DISPLAY, name_skeleton
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
    """Up to LIMIT members whose handle or display name starts with `prefix` (at least MIN_CHARS) and whom the
    post could mention. A fixed number of queries however many candidates (consent: one for all of them)."""
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
    rows = await _candidates(viewer.id, prefix)
    rows = [r for r in rows if read_access in levels_for_role(r["role"])]
    excluded = await hooks.not_mentionable([r["user_id"] for r in rows])
    rows = [r for r in rows if r["user_id"] not in excluded]
    # the posting gate's rule (participation_status), for others than the viewer: one query for all of them
    members = [r["user_id"] for r in rows if not on_employment_basis(r["role"])]
    statuses = await consent_statuses(members) if members else {}
    reachable = [r for r in rows if on_employment_basis(r["role"]) or statuses[r["user_id"]] == ConsentStatus.GRANTED]
    return [Suggestion(r["username"], r["display_name"] or "") for r in reachable[:LIMIT]]


_CANDIDATE = "SELECT p.user_id, p.username, p.display_name, a.role FROM "


async def _candidates(viewer_id: int, prefix: str) -> list[dict]:
    """Handles starting with `prefix`, then display names starting with it: both range scans on a unique key
    (`profile.username_key`; the display name's look-alike skeleton in `name_claim`), so the index finds them
    however many members there are. A display name is matched only as the list shows it: beside the handle of a
    member the checks after this let through, where every post card and profile shows it too."""
    key = username_key(prefix)
    handles = await db.fetch_all(
        _CANDIDATE + "profile p JOIN account a ON a.id = p.user_id WHERE p.username_key >= ? AND p.username_key < ? "
        f"AND p.user_id <> ? ORDER BY p.username_key LIMIT {SCAN}", [key, key + "\U0010ffff", viewer_id])
    seen = {r["user_id"] for r in handles}
    shape = name_skeleton(prefix)
    if not shape:
        return handles
    displays = await db.fetch_all(
        _CANDIDATE + "name_claim n JOIN profile p ON p.id = n.profile_id JOIN account a ON a.id = p.user_id "
        "WHERE n.kind = ? AND n.skeleton >= ? AND n.skeleton < ? AND p.user_id <> ? AND p.display_name <> '' "
        f"ORDER BY n.skeleton LIMIT {SCAN}", [DISPLAY, shape, shape + "\U0010ffff", viewer_id])
    # the claim must still be the name shown: a withdrawal rewrites names inside others' display names but not
    # their claims, and a suggestion must not link a withdrawn name to anyone
    return handles + [r for r in displays if r["user_id"] not in seen
                      and name_skeleton(r["display_name"]).startswith(shape)]


def _value(level) -> str:
    return getattr(level, "value", level)
