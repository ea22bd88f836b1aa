"""Watching a topic or a category: its new posts notify the watcher."""

from __future__ import annotations

from datetime import UTC, datetime

from forum import db
from forum.errors import N_, ConsentRequired
from forum.models import CategoryWatch, TopicWatch
from forum.services.access import access_category_by_slug, access_topic_by_id
from forum.viewer import Viewer


async def watch_topic_in(conn, user_id: int, topic_id: int, *, now: datetime | None = None) -> None:
    """Whoever posts watches the topic: one statement (it runs inside the post's write lock)."""
    await db.execute("INSERT INTO topic_watch (user_id, topic_id, created_at) VALUES (?, ?, ?) "
                     "ON CONFLICT (user_id, topic_id) DO NOTHING",
                     [user_id, topic_id, db.time_param(now or datetime.now(UTC), conn)], conn)


def check_can_watch(viewer: Viewer) -> None:
    """Watching is participation's processing (it makes notifications): a member who withdrew (no forum identity
    left) may read, like a visitor, but not watch."""
    if not viewer.has_profile:
        raise ConsentRequired(N_("Choose a username and give your consent to take part."))


async def set_topic_watch(viewer: Viewer, topic_id: int, watching: bool) -> bool:
    await access_topic_by_id(viewer, topic_id)
    check_can_watch(viewer)
    if watching:
        await TopicWatch.get_or_create(user_id=viewer.id, topic_id=topic_id)
    else:
        await TopicWatch.filter(user_id=viewer.id, topic_id=topic_id).delete()
    return watching


async def set_category_watch(viewer: Viewer, slug: str, watching: bool) -> bool:
    category = await access_category_by_slug(viewer, slug)
    check_can_watch(viewer)
    if watching:
        await CategoryWatch.get_or_create(user_id=viewer.id, category_id=category.id)
    else:
        await CategoryWatch.filter(user_id=viewer.id, category_id=category.id).delete()
    return watching
