"""Loading things on behalf of a viewer: missing and not-visible answer the same "not found"."""

from __future__ import annotations

import functools

from forum import db
from forum.errors import NotFound
from forum.models import Category, Post, Topic
from forum.params import parse_id
from forum.services.permissions import can_read_category
from forum.viewer import Viewer


async def access_category_by_slug(viewer: Viewer | None, slug: str) -> Category:
    # exact match only: cutting a long slug short would name some other category
    category = await Category.filter(slug=slug).first() if isinstance(slug, str) and len(slug) <= 64 else None
    if category is None or not can_read_category(viewer, category):
        raise NotFound()
    return category


@functools.cache
def _topic_sql() -> str:
    """One join, its columns named `t__<column>` and `c__<column>` so the two rows can be told apart."""
    columns = [f"{alias}.{column} AS {alias}__{column}" for alias, model in (("t", Topic), ("c", Category))
               for column in model._meta.fields_db_projection.values()]
    return (f"SELECT {', '.join(columns)} FROM topic t JOIN category c ON c.id = t.category_id "
            "WHERE t.id = ?")


async def _topic_with_category(topic_id: int) -> Topic | None:
    """Topic.filter(id=...).select_related("category").first() as plain SQL: every write to a topic starts
    here, and building the ORM's joined query cost more CPU than running it."""
    if isinstance(topic_id, str):
        topic_id = parse_id(topic_id)
    if not isinstance(topic_id, int) or isinstance(topic_id, bool) or not 0 < topic_id < 2**31:
        return None  # no such id (ids are 32-bit on PostgreSQL)
    row = await db.fetch_one(_topic_sql(), [topic_id])
    if row is None:
        return None
    fields: dict[str, dict] = {"t": {}, "c": {}}
    for key, value in row.items():
        alias, column = key.split("__", 1)
        fields[alias][column] = value
    topic = Topic._init_from_db(**fields["t"])
    topic.category = Category._init_from_db(**fields["c"])
    return topic


async def access_topic_by_id(viewer: Viewer | None, topic_id: int) -> Topic:
    topic = await _topic_with_category(topic_id)
    if topic is None or not can_read_category(viewer, topic.category):
        raise NotFound()
    if topic.deleted_at is not None and not (viewer and viewer.is_moderator):
        raise NotFound()
    return topic


async def access_post_by_id(viewer: Viewer | None, post_id: int) -> Post:
    post = await Post.filter(id=post_id).select_related("topic", "topic__category").first()
    if post is None or not can_read_category(viewer, post.topic.category):
        raise NotFound()
    if post.topic.deleted_at is not None and not (viewer and viewer.is_moderator):
        raise NotFound()
    return post
