"""Drafts kept on the server while a member writes: one for a new topic and one per topic they reply to.

Saved as they type (forum.js, debounced) or with the composer's "save draft" button, restored when they come
back, listed on their drafts page, deleted when the post is made (in its transaction, forum/services/posting.py),
after `Retention.draft_days` without a save (`forum purge`), and at withdrawal and erasure
(forum/services/withdrawal.py). A draft is the member's alone: every read here is by the owner's id, and a draft
id that is not theirs is "not found", for staff and moderators too. Saving is a write, so it passes the posting
gate (`check_can_participate`, inside the write's transaction: consent, and no silence or suspension, 403) and
needs a topic or category the member may read. A member keeps at most FORUM_DRAFT_MAX drafts (409 for one more;
replacing one always works), and saves are counted like previews (60 a minute, 1,000 an hour: 429), so drafts
cannot be used as free storage or hammered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from forum import db
from forum.db import write_transaction
from forum.errors import N_, Conflict, NotAuthenticated, NotFound, ValidationFailed
from forum.markup import MAX_SOURCE_CHARS
from forum.services import rate_limits
from forum.services.access import access_category_by_slug, access_topic_by_id
from forum.services.participation import check_can_participate
from forum.viewer import Viewer

NEW = "new"
SAVES_PER_MINUTE = 60    # the composer saves a second after typing stops: about one a second at most
SAVES_PER_HOUR = 1000


@dataclass
class Config:
    most: int = 100      # FORUM_DRAFT_MAX


CONFIG = Config()


def configure(settings) -> None:
    CONFIG.most = settings.draft_max


class TooManyDrafts(Conflict):
    code = "too_many_drafts"
    default_message = N_("You have too many drafts. Post or delete some on your drafts page first.")


MAX_TITLE_CHARS = 200
KINDS = ("", "question", "discussion", "training")
_INVALID = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")


@dataclass(frozen=True)
class Draft:
    id: int
    slot: str
    topic_id: int | None
    topic_title: str | None     # for a reply: the topic's title as the member may see it now
    topic_slug: str | None
    category_slug: str | None   # for a new topic: the category it was begun in
    title: str
    body: str
    kind: str
    updated_at: datetime


def slot_for(topic_id: int | None) -> str:
    return NEW if topic_id is None else f"topic:{int(topic_id)}"


def _check_text(title: str, body: str, kind: str) -> None:
    errors = {}
    if len(title) > MAX_TITLE_CHARS:
        errors["title"] = N_("The title is too long.")
    if len(body) > MAX_SOURCE_CHARS:
        errors["body"] = N_("The text is too long.")
    if _INVALID.search(title) or _INVALID.search(body):
        errors["body"] = N_("The text contains characters that cannot be stored.")
    if kind not in KINDS:
        errors["kind"] = N_("Choose a kind of topic.")
    if errors:
        raise ValidationFailed(fields=errors)


async def save_draft(viewer: Viewer | None, *, topic_id: int | None = None, category: str | None = None,
                     title: str = "", body: str = "", kind: str = "") -> Draft | None:
    """Saves the member's draft for a reply to `topic_id`, or for a new topic (in `category`); an empty one is
    deleted instead (None)."""
    if viewer is None:
        raise NotAuthenticated()
    title = title if topic_id is None else ""
    _check_text(title, body, kind)
    category_id = None
    if topic_id is not None:
        await access_topic_by_id(viewer, topic_id)
    elif category:
        category_id = (await access_category_by_slug(viewer, category)).id
    slot = slot_for(topic_id)
    now = datetime.now(UTC)
    async with write_transaction() as conn:
        await check_can_participate(viewer, conn, action="draft")
        if rate_limits.enabled() and not viewer.is_staff:
            await rate_limits.count_hit(
                conn, f"draft:{viewer.id}", [(60, SAVES_PER_MINUTE), (3600, SAVES_PER_HOUR)],
                message=N_("Your drafts are being saved very often. Please wait a little."),
                code="draft_rate_limited")
        if not title.strip() and not body.strip():
            await delete_slot_in(conn, viewer.id, slot)
            return None
        await _check_room(conn, viewer.id, slot)
        await db.execute(
            "INSERT INTO composer_draft (user_id, slot, topic_id, category_id, title, body, kind, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, slot) DO UPDATE SET "
            "category_id = EXCLUDED.category_id, title = EXCLUDED.title, body = EXCLUDED.body, "
            "kind = EXCLUDED.kind, updated_at = EXCLUDED.updated_at",
            [viewer.id, slot, topic_id, category_id, title, body, kind, db.time_param(now, conn)], conn)
    return await draft_for(viewer, topic_id)


async def _check_room(conn, user_id: int, slot: str) -> None:
    """One more draft only while the member has fewer than CONFIG.most; on PostgreSQL the count runs under the
    an advisory lock per account, so parallel saves of new slots cannot pass it together."""
    await rate_limits.serialise(conn, "draft", user_id)
    row = await db.fetch_one("SELECT COUNT(*) AS n, SUM(CASE WHEN slot = ? THEN 1 ELSE 0 END) AS this "
                             "FROM composer_draft WHERE user_id = ?", [slot, user_id], conn)
    if not row["this"] and int(row["n"]) >= CONFIG.most:
        raise TooManyDrafts()


_SELECT = """
SELECT d.id, d.slot, d.topic_id, d.title, d.body, d.kind, d.updated_at, t.title AS topic_title,
       t.slug AS topic_slug, c.slug AS category_slug
FROM composer_draft d LEFT JOIN topic t ON t.id = d.topic_id LEFT JOIN category c ON c.id = d.category_id
WHERE d.user_id = ?
"""


def _draft(row: dict) -> Draft:
    return Draft(row["id"], row["slot"], row["topic_id"], row["topic_title"], row["topic_slug"],
                 row["category_slug"], row["title"], row["body"], row["kind"], db.as_datetime(row["updated_at"]))


async def draft_for(viewer: Viewer | None, topic_id: int | None) -> Draft | None:
    """The member's own draft for this composer, if any (None for visitors)."""
    if viewer is None:
        return None
    row = await db.fetch_point(_SELECT + " AND d.slot = ?", [viewer.id, slot_for(topic_id)])  # every page view
    return _draft(row) if row else None


async def list_drafts(viewer: Viewer | None) -> list[Draft]:
    if viewer is None:
        raise NotAuthenticated()
    return [_draft(r) for r in await db.fetch_all(_SELECT + " ORDER BY d.updated_at DESC, d.id DESC", [viewer.id])]


async def delete_draft(viewer: Viewer | None, draft_id: int) -> None:
    """The member deletes one of their drafts; anybody else's id is not found."""
    if viewer is None:
        raise NotAuthenticated()
    async with write_transaction() as conn:
        if not await db.execute("DELETE FROM composer_draft WHERE id = ? AND user_id = ?", [draft_id, viewer.id],
                                conn):
            raise NotFound()


async def delete_slot_in(conn, user_id: int, slot: str) -> None:
    """Inside a write: the draft of this composer is done with (posted, or emptied)."""
    await db.execute("DELETE FROM composer_draft WHERE user_id = ? AND slot = ?", [user_id, slot], conn)


async def delete_all_in(conn, user_id: int) -> int:
    """Inside a withdrawal or erasure: every draft of the member."""
    return await db.execute("DELETE FROM composer_draft WHERE user_id = ?", [user_id], conn)
