"""Likes: one per user per post; the author hears about them in batches."""

from __future__ import annotations

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from forum.db import write_transaction
from forum.errors import NotAuthenticated
from forum.models import Post, PostLike, Topic
from forum.permissions.facts import PostFacts
from forum.permissions.posts import check_can_like
from forum.services import notifications
from forum.services.access import access_post_by_id
from forum.services.participation import check_can_participate
from forum.viewer import Viewer


async def like_post(viewer: Viewer | None, post_id: int) -> int:
    post = await access_post_by_id(viewer, post_id)
    check_can_like(viewer, PostFacts.of(post))
    try:
        async with write_transaction() as conn:
            await check_can_participate(viewer, conn, action="like")
            if await PostLike.filter(post_id=post.id, user_id=viewer.id).using_db(conn).exists():
                return post.like_count
            await PostLike.create(post_id=post.id, user_id=viewer.id, using_db=conn)
            await Post.filter(id=post.id).using_db(conn).update(like_count=F("like_count") + 1)
            await Topic.filter(id=post.topic_id).using_db(conn).update(version=F("version") + 1)
            await notifications.notify_like(conn, actor_id=viewer.id, recipient_id=post.author_id,
                                            topic_id=post.topic_id, post_id=post.id)
    except IntegrityError:  # a double click raced itself; the like exists
        pass
    return (await Post.get(id=post.id)).like_count


async def unlike_post(viewer: Viewer | None, post_id: int) -> int:
    post = await access_post_by_id(viewer, post_id)
    if viewer is None:
        raise NotAuthenticated()
    async with write_transaction() as conn:
        await check_can_participate(viewer, conn, action="unlike")
        removed = await PostLike.filter(post_id=post.id, user_id=viewer.id).using_db(conn).delete()
        if removed:
            await Post.filter(id=post.id).using_db(conn).update(like_count=F("like_count") - 1)
            await Topic.filter(id=post.topic_id).using_db(conn).update(version=F("version") + 1)
    return (await Post.get(id=post.id)).like_count
