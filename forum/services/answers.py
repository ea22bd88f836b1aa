"""Accepted answers on question topics."""

from __future__ import annotations

from tortoise.expressions import F

from forum.db import write_transaction
from forum.errors import N_, Forbidden, NotAuthenticated, ValidationFailed
from forum.models import NotificationKind, Topic, TopicKind
from forum.services import notifications
from forum.services.access import access_post_by_id
from forum.services.posts import check_visible_post
from forum.viewer import Viewer


def can_accept(viewer: Viewer | None, topic: Topic) -> bool:
    return (viewer is not None and topic.kind == TopicKind.QUESTION
            and (topic.author_id == viewer.id or viewer.is_staff))


async def accept_answer(viewer: Viewer | None, post_id: int) -> Topic:
    post = await access_post_by_id(viewer, post_id)
    if viewer is None:
        raise NotAuthenticated()
    topic = post.topic
    if topic.kind != TopicKind.QUESTION:
        raise ValidationFailed(N_("Only questions have accepted answers."), code="not_a_question")
    if not can_accept(viewer, topic):
        raise Forbidden(N_("Only the asker or staff can accept an answer."))
    check_visible_post(post)
    if post.number == 1:
        raise ValidationFailed(N_("The question itself cannot be its answer."), code="not_a_reply")
    if topic.accepted_post_id == post.id:
        return topic
    async with write_transaction() as conn:
        await Topic.filter(id=topic.id).using_db(conn).update(accepted_post_id=post.id, version=F("version") + 1)
        if post.author_id and post.author_id != viewer.id:
            await notifications.notify_user(conn, user_id=post.author_id, kind=NotificationKind.ACCEPTED,
                                            topic_id=topic.id, post_id=post.id, actor_id=viewer.id)
    return await Topic.get(id=topic.id)


async def unaccept_answer(viewer: Viewer | None, post_id: int) -> Topic:
    post = await access_post_by_id(viewer, post_id)
    if viewer is None:
        raise NotAuthenticated()
    if not can_accept(viewer, post.topic):
        raise Forbidden(N_("Only the asker or staff can accept an answer."))
    if post.topic.accepted_post_id == post.id:
        await Topic.filter(id=post.topic_id).update(accepted_post_id=None, version=F("version") + 1)
    return await Topic.get(id=post.topic_id)
