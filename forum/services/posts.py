"""Replying, editing and deleting posts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from tortoise.expressions import F

from forum import events
from forum.db import write_transaction
from forum.errors import N_, ValidationFailed
from forum.models import Category, Post, PostRevision, Topic
from forum.permissions.facts import PostFacts, TopicFacts
from forum.permissions.posts import check_can_delete, check_can_edit, check_can_read_history, check_visible_post
from forum.permissions.topics import check_can_reply
from forum.services import live, search
from forum.services.access import access_post_by_id, access_topic_by_id
from forum.services.attachments import Upload, delete_files
from forum.services.attachments import prepare as prepare_files
from forum.services.cooking import cook_source
from forum.services.participation import check_can_participate
from forum.services.posting import Reply, publish_post, recooked
from forum.services.references import record_references
from forum.viewer import Viewer


async def create_reply(viewer: Viewer | None, topic_id: int, *, body: str, reply_to: int | None = None,
                       files: Sequence[Upload] = (), pending: Sequence[int] = ()) -> Post:
    """`files`: sent with the reply; `pending`: ids of the member's kept uploads (forum.services.pending_uploads)."""
    topic = await access_topic_by_id(viewer, topic_id)
    check_can_reply(viewer, TopicFacts.of(topic))
    parent = None
    if reply_to is not None:
        parent = await Post.filter(id=reply_to, topic_id=topic.id).first()
        if parent is None:
            raise ValidationFailed(fields={"reply_to": N_("You can only reply to a post in this topic.")})
        check_visible_post(PostFacts.of(parent))
    cooked = await cook_source(viewer, body)
    prepared = await prepare_files(files, viewer, already=len(set(pending)))
    return await publish_post(viewer, cooked, Reply(topic, parent), prepared, pending)


async def access_post_to_edit(viewer: Viewer | None, post_id: int) -> Post:
    """The post, if the viewer may edit it now: what the edit form shows, and what the save checks again."""
    post = await access_post_by_id(viewer, post_id)
    check_can_edit(viewer, TopicFacts.of(post.topic), PostFacts.of(post))
    return post


async def edit_post(viewer: Viewer | None, post_id: int, *, body: str, remove_files: Sequence[int] = ()) -> Post:
    """`remove_files`: ids of the post's files to take out with the edit (their bytes go with them)."""
    post = await access_post_to_edit(viewer, post_id)
    cooked = await cook_source(viewer, body)
    if cooked.source == post.source:
        if remove_files:
            async with write_transaction() as conn:
                await check_can_participate(viewer, conn, action="edit")
                if await delete_files(conn, post.id, remove_files):
                    await Topic.filter(id=post.topic_id).using_db(conn).update(version=F("version") + 1)
        return post
    async with write_transaction() as conn:
        await check_can_participate(viewer, conn, action="edit")
        draft = events.PostDraft(viewer.id, post.topic_id, cooked.source, True)
        await events.emit(events.POST_WRITING, draft)
        cooked = await recooked(viewer, cooked, draft)
        hold = {"hidden_at": datetime.now(UTC), "hidden_reason": draft.hold_reason} if draft.hold_reason else {}
        last = await PostRevision.filter(post_id=post.id).using_db(conn).order_by("-number").first()
        await PostRevision.create(post_id=post.id, number=(last.number if last else 0) + 1, editor_id=viewer.id,
                                  source=cooked.source, using_db=conn)
        await Post.filter(id=post.id).using_db(conn).update(source=cooked.source, cooked=cooked.html,
                                                            edited_at=datetime.now(UTC), **hold)
        await record_references(conn, post.id, cooked, replace=True)
        await delete_files(conn, post.id, remove_files)
        if hold:
            await search.remove_post(post.id, conn=conn)
        elif post.hidden_at is None:
            title = post.topic.title if post.number == 1 else ""
            await search.index_post(post.id, title=title, cooked=cooked.html, conn=conn)
        await Topic.filter(id=post.topic_id).using_db(conn).update(version=F("version") + 1)
        await events.emit(events.POST_EDITED, events.PostEvent(post.id, post.topic_id, post.author_id, conn))
        if post.author_id != viewer.id:
            await events.emit(events.STAFF_ACTION, events.StaffAction(viewer.id, "edit_post", "post", post.id,
                                                                      conn=conn))
    return await Post.get(id=post.id)


async def delete_post(viewer: Viewer | None, post_id: int) -> Post:
    """Soft delete: the post shows "deleted". Deleting a topic's first post deletes the topic."""
    post = await access_post_by_id(viewer, post_id)
    check_can_delete(viewer, PostFacts.of(post))
    if post.deleted_at is not None:
        return post
    by_moderator = post.author_id != viewer.id
    now = datetime.now(UTC)
    async with write_transaction() as conn:
        await Post.filter(id=post.id).using_db(conn).update(deleted_at=now, deleted_by_moderator=by_moderator)
        if by_moderator:
            await events.emit(events.STAFF_ACTION, events.StaffAction(viewer.id, "delete_post", "post", post.id,
                                                                      conn=conn))
        await search.remove_post(post.id, conn=conn)
        topic_changes: dict = {"version": F("version") + 1, "post_count": F("post_count") - 1}
        if post.topic.accepted_post_id == post.id:
            topic_changes["accepted_post_id"] = None
            topic_changes["accepted_at"] = None
        if post.number == 1:
            topic_changes["deleted_at"] = now
        await Topic.filter(id=post.topic_id).using_db(conn).update(**topic_changes)
        category_changes = {"post_count": F("post_count") - 1}
        if post.number == 1:
            category_changes["topic_count"] = F("topic_count") - 1
        await Category.filter(id=post.topic.category_id).using_db(conn).update(**category_changes)
        if post.number == 1:
            await live.topic_changed(post.topic_id, conn)  # open live views learn the topic is gone
    return await Post.get(id=post.id)


async def revisions(viewer: Viewer | None, post_id: int) -> list[dict]:
    """The author and moderators may read a post's history."""
    post = await access_post_by_id(viewer, post_id)
    check_can_read_history(viewer, PostFacts.of(post))
    return await (PostRevision.filter(post_id=post.id).order_by("number")
                  .values("number", "source", "created_at", "editor__profile__username"))
