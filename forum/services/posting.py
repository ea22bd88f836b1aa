"""Storing a new post, whether it starts a topic or replies to one: one pipeline, two places a post can go.

`publish_post` runs the sequence every new post goes through, in one write transaction: the participation gate,
POST_WRITING (moderation may refuse, mask words or hold the post), cooking again what a handler changed, placing
the post (`NewTopic` creates the topic, `Reply` takes the next number of an open topic), the post and its first
revision, its mentions and quotes, search and notifications (unless held for review), the author's watch, and
POST_CREATED. What differs between a topic and a reply is in the two placement classes and nowhere else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from forum import db, events
from forum.db import write_transaction
from forum.errors import NotFound
from forum.models import NotificationKind, Post, Topic, TopicKind
from forum.permissions.facts import TopicFacts
from forum.permissions.topics import check_topic_open
from forum.services import attachments, composer_drafts, notifications, pending_uploads, search
from forum.services.cooking import Cooked, cook_source
from forum.services.participation import check_can_participate
from forum.services.references import record_references
from forum.services.slugs import slugify
from forum.services.storing import insert_post
from forum.services.watching import watch_topic_in
from forum.viewer import Viewer


@dataclass
class NewTopic:
    """A post that starts a topic in a category (checked by the caller: check_can_start_topic)."""

    category_id: int
    title: str
    kind: TopicKind
    topic: Topic | None = field(default=None, init=False)  # set once placed
    topic_id = None   # for PostDraft: there is no topic yet
    reply_to_id = None

    async def place(self, conn, viewer: Viewer, now: datetime) -> tuple[int, int]:
        self.topic = await Topic.create(category_id=self.category_id, author_id=viewer.id, title=self.title,
                                        slug=slugify(self.title), kind=self.kind, post_count=1, last_number=1,
                                        last_posted_at=now, using_db=conn)
        await db.execute("UPDATE category SET topic_count = topic_count + 1, post_count = post_count + 1 "
                         "WHERE id = ?", [self.category_id], conn)
        return self.topic.id, 1

    async def watchers(self, conn) -> tuple[NotificationKind, list[int]]:
        rows = await db.fetch_all("SELECT user_id FROM category_watch WHERE category_id = ?", [self.category_id],
                                  conn)
        return NotificationKind.WATCHED_CATEGORY, [r["user_id"] for r in rows]

    def answered(self) -> tuple[int | None, ...]:
        return ()


@dataclass
class Reply:
    """A post in an existing topic (checked by the caller: check_can_reply), perhaps answering `parent`."""

    topic: Topic
    parent: Post | None = None
    title = None  # replies are indexed without the topic's title

    @property
    def topic_id(self) -> int:
        return self.topic.id

    @property
    def reply_to_id(self) -> int | None:
        return self.parent.id if self.parent else None

    async def place(self, conn, viewer: Viewer, now: datetime) -> tuple[int, int]:
        row = await db.fetch_one(
            "UPDATE topic SET last_number = last_number + 1, post_count = post_count + 1, last_posted_at = ?, "
            "version = version + 1 WHERE id = ? AND deleted_at IS NULL RETURNING last_number, locked",
            [db.time_param(now, conn), self.topic.id], conn)
        if row is None:
            raise NotFound()
        # locked while the post was being cooked: the lock rule again, on the row as it is now
        check_topic_open(viewer, TopicFacts.of(self.topic)._replace(locked=db.as_bool(row["locked"])))
        await db.execute("UPDATE category SET post_count = post_count + 1 WHERE id = ?", [self.topic.category_id],
                         conn)
        return self.topic.id, row["last_number"]

    async def watchers(self, conn) -> tuple[NotificationKind, list[int]]:
        return NotificationKind.WATCHED_TOPIC, await notifications.watchers_of_topic(self.topic.id, conn)

    def answered(self) -> tuple[int | None, ...]:
        """Whose posts this one answers: the topic's author, and the author of the post replied to."""
        return (self.topic.author_id, self.parent.author_id if self.parent else None)


async def recooked(viewer: Viewer, cooked: Cooked, draft: events.PostDraft) -> Cooked:
    """A POST_WRITING handler may alter the text (moderation masks censored words); cook what is stored."""
    return cooked if draft.source == cooked.source else await cook_source(viewer, draft.source)


async def _recipients(conn, place: NewTopic | Reply, cooked: Cooked) -> dict[int, set[NotificationKind]]:
    """Who hears about a new post, and why (notify_post keeps the weightiest reason of each)."""
    reasons: dict[int, set[NotificationKind]] = {}

    def add(user_id: int | None, kind: NotificationKind) -> None:
        if user_id is not None:
            reasons.setdefault(user_id, set()).add(kind)

    watch_kind, watchers = await place.watchers(conn)
    for user_id in watchers:
        add(user_id, watch_kind)
    for user_id in place.answered():
        add(user_id, NotificationKind.REPLY)
    for user_id in cooked.mentioned_user_ids:
        add(user_id, NotificationKind.MENTION)
    for _post_id, author_id in cooked.quoted_posts:
        add(author_id, NotificationKind.QUOTE)
    return reasons


async def publish_post(viewer: Viewer, cooked: Cooked, place: NewTopic | Reply,
                       files: Sequence[attachments.Prepared] = (), pending: Sequence[int] = ()) -> Post:
    """Stores a new post where `place` puts it, with its files: those sent with it and the member's `pending`
    uploads (ids; taken out of the pending table here, so each is attached once). Preconditions: the caller
    checked that the viewer may start the topic or reply (the lock is checked again on the row inside the
    transaction), cooked the text and prepared the files (attachments.prepare)."""
    text = search.body_text(cooked.html)  # parsed before the write lock is taken
    now = datetime.now(UTC)
    async with write_transaction(quick=True) as conn:
        await check_can_participate(viewer, conn, action="post")
        if pending:
            files = [*await pending_uploads.claim(conn, viewer.id, pending, now), *files]
            attachments.check_post_limits(files)
        draft = events.PostDraft(viewer.id, place.topic_id, cooked.source, False, title=place.title,
                                 attached_texts=attachments.detector_texts(files))
        await events.emit(events.POST_WRITING, draft)
        if draft.source != cooked.source:  # a handler masked words: cook and index what is stored
            cooked = await recooked(viewer, cooked, draft)
            text = search.body_text(cooked.html)
        slot = composer_drafts.slot_for(place.topic_id)  # before a new topic's id exists: the "new" draft
        topic_id, number = await place.place(conn, viewer, now)
        post = await insert_post(conn, topic_id=topic_id, number=number, author_id=viewer.id,
                                 reply_to_id=place.reply_to_id, source=cooked.source, cooked=cooked.html, now=now,
                                 hold_reason=draft.hold_reason)
        await record_references(conn, post.id, cooked)
        await attachments.store(conn, post_id=post.id, author_id=viewer.id, files=files, now=now)
        if draft.hold_reason is None:  # a post held for review stays out of search and notifications until restored
            await search.index_post(post.id, title=place.title or "", cooked=cooked.html, conn=conn, text=text)
            await notifications.notify_post(conn, actor_id=viewer.id, topic_id=topic_id, post_id=post.id,
                                            reasons=await _recipients(conn, place, cooked), now=now)
        await watch_topic_in(conn, viewer.id, topic_id, now=now)
        await composer_drafts.delete_slot_in(conn, viewer.id, slot)  # posted: the draft is done with
        await events.emit(events.POST_CREATED, events.PostEvent(post.id, topic_id, viewer.id, conn))
    return post
