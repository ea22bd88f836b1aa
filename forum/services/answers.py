"""Accepted answers on question topics."""

from __future__ import annotations

from datetime import UTC, datetime

from tortoise.expressions import F

from forum.db import write_transaction
from forum.models import NotificationKind, Topic
from forum.permissions.answers import check_can_accept, check_can_unaccept
from forum.permissions.facts import PostFacts, TopicFacts
from forum.services import notifications
from forum.services.access import access_post_by_id
from forum.services.participation import check_can_participate
from forum.viewer import Viewer


async def accept_answer(viewer: Viewer | None, post_id: int) -> Topic:
    post = await access_post_by_id(viewer, post_id)
    topic = post.topic
    check_can_accept(viewer, TopicFacts.of(topic), PostFacts.of(post))
    if topic.accepted_post_id == post.id:
        return topic
    async with write_transaction() as conn:
        await check_can_participate(viewer, conn, action="accept")  # "solved" is shown to everyone
        await Topic.filter(id=topic.id).using_db(conn).update(accepted_post_id=post.id, accepted_at=datetime.now(UTC),
                                                             version=F("version") + 1)
        if post.author_id and post.author_id != viewer.id:
            await notifications.notify_user(conn, user_id=post.author_id, kind=NotificationKind.ACCEPTED,
                                            topic_id=topic.id, post_id=post.id, actor_id=viewer.id)
    return await Topic.get(id=topic.id)


async def unaccept_answer(viewer: Viewer | None, post_id: int) -> Topic:
    post = await access_post_by_id(viewer, post_id)
    check_can_unaccept(viewer, TopicFacts.of(post.topic))  # taking a mark back stays open, like a like
    if post.topic.accepted_post_id == post.id:
        await Topic.filter(id=post.topic_id).update(accepted_post_id=None, accepted_at=None,
                                                    version=F("version") + 1)
    return await Topic.get(id=post.topic_id)
