"""Loading things on behalf of a viewer: missing and not-visible answer the same "not found"."""

from __future__ import annotations

from forum.errors import NotFound
from forum.models import Category, Post, Topic
from forum.services.permissions import can_read_category
from forum.viewer import Viewer


async def access_category_by_slug(viewer: Viewer | None, slug: str) -> Category:
    # exact match only: cutting a long slug short would name some other category
    category = await Category.filter(slug=slug).first() if isinstance(slug, str) and len(slug) <= 64 else None
    if category is None or not can_read_category(viewer, category):
        raise NotFound()
    return category


async def access_topic_by_id(viewer: Viewer | None, topic_id: int) -> Topic:
    topic = await Topic.filter(id=topic_id).select_related("category").first()
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
