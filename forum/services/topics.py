"""Starting and managing topics."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from tortoise.expressions import F

from forum import events
from forum.db import write_transaction
from forum.errors import N_, NotFound, ValidationFailed
from forum.models import (
    Category,
    Post,
    Topic,
    TopicKind,
)
from forum.permissions.topics import check_can_manage_topic, check_can_start_topic, check_training_in
from forum.services import search
from forum.services.access import access_category_by_slug, access_topic_by_id
from forum.services.attachments import Upload
from forum.services.attachments import prepare as prepare_files
from forum.services.cooking import cook_source
from forum.services.posting import NewTopic, publish_post
from forum.services.slugs import slugify
from forum.services.text import text_is_clean
from forum.viewer import Viewer

TITLE_MIN, TITLE_MAX = 5, 200


def check_title(raw: str) -> str:
    title = " ".join(unicodedata.normalize("NFC", raw if isinstance(raw, str) else "").split())
    if not text_is_clean(title) or any(unicodedata.category(c) in ("Cc", "Cf") for c in title):
        raise ValidationFailed(fields={"title": N_("The title contains characters that are not allowed.")})
    if not TITLE_MIN <= len(title) <= TITLE_MAX:
        raise ValidationFailed(fields={"title": N_("The title must be 5 to 200 characters long.")})
    return title


def check_kind(raw: str) -> TopicKind:
    try:
        return TopicKind(raw)
    except ValueError:
        raise ValidationFailed(fields={"kind": N_("Choose question, discussion or training.")}) from None


async def create_topic(viewer: Viewer | None, *, category: str, title: str, body: str,
                       kind: str = "discussion", files: Sequence[Upload] = (),
                       pending: Sequence[int] = ()) -> tuple[Topic, Post]:
    """`files`: sent with the post; `pending`: ids of the member's kept uploads (forum.services.pending_uploads)."""
    topic_kind = check_kind(kind)
    category_obj = await access_category_by_slug(viewer, category)
    check_can_start_topic(viewer, category_obj, topic_kind)
    errors = {}
    try:
        title = check_title(title)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    try:
        cooked = await cook_source(viewer, body)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    if errors:
        raise ValidationFailed(fields=errors)
    prepared = await prepare_files(files, viewer, already=len(set(pending)))
    place = NewTopic(category_obj.id, title, topic_kind)
    post = await publish_post(viewer, cooked, place, prepared, pending)
    return place.topic, post


async def update_topic(viewer: Viewer | None, topic_id: int, *, pinned: bool | None = None,
                       pinned_globally: bool | None = None, locked: bool | None = None, title: str | None = None,
                       category: str | None = None) -> Topic:
    """Staff and moderators pin, lock, rename and move topics."""
    topic = await access_topic_by_id(viewer, topic_id)
    check_can_manage_topic(viewer)
    changes: dict = {}
    if pinned is not None:
        changes["pinned"] = pinned
    if pinned_globally is not None:
        changes["pinned_globally"] = pinned_globally
    if locked is not None:
        changes["locked"] = locked
    if title is not None:
        changes["title"] = check_title(title)
        changes["slug"] = slugify(changes["title"])
    target = None
    if category is not None:
        try:
            target = await access_category_by_slug(viewer, category)
        except NotFound:
            raise ValidationFailed(fields={"category": N_("No such category.")}) from None
        check_training_in(topic.kind, target.start_topics)
        changes["category_id"] = target.id
    if not changes:
        return topic
    async with write_transaction() as conn:
        if "title" in changes:  # watched words and detectors, as for a new topic's title
            await events.emit(events.TITLE_WRITING, events.TitleDraft(viewer.id, topic.id, changes["title"], conn))
        await Topic.filter(id=topic.id).using_db(conn).update(**changes, version=F("version") + 1)
        summary = ",".join(f"{k}={v}" if isinstance(v, bool | int) else k for k, v in changes.items() if k != "slug")
        await events.emit(events.STAFF_ACTION, events.StaffAction(viewer.id, "update_topic", "topic", topic.id,
                                                                  summary, conn))
        if "title" in changes:
            first = await Post.filter(topic_id=topic.id, number=1).using_db(conn).first()
            if first and first.deleted_at is None and first.hidden_at is None:
                await search.index_post(first.id, title=changes["title"], cooked=first.cooked, conn=conn)
        if target is not None and target.id != topic.category_id:
            live = await Post.filter(topic_id=topic.id, deleted_at__isnull=True).using_db(conn).count()
            await Category.filter(id=topic.category_id).using_db(conn).update(
                topic_count=F("topic_count") - 1, post_count=F("post_count") - live)
            await Category.filter(id=target.id).using_db(conn).update(
                topic_count=F("topic_count") + 1, post_count=F("post_count") + live)
    return await Topic.get(id=topic.id).select_related("category")
