"""Categories, topics, posts and what hangs off them."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class ReadAccess(StrEnum):
    PUBLIC = "public"
    MEMBERS = "members"
    STAFF = "staff"


class StartTopics(StrEnum):
    PARTICIPANTS = "participants"
    STAFF = "staff"


class TopicKind(StrEnum):
    QUESTION = "question"
    DISCUSSION = "discussion"
    TRAINING = "training"


class Category(Model):
    id = fields.IntField(primary_key=True)
    slug = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=100)
    description = fields.TextField(default="")
    position = fields.IntField(default=0)
    read_access = fields.CharEnumField(ReadAccess, max_length=16, default=ReadAccess.PUBLIC)
    start_topics = fields.CharEnumField(StartTopics, max_length=16, default=StartTopics.PARTICIPANTS)
    topic_count = fields.IntField(default=0)
    post_count = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "category"
        ordering = ["position", "id"]


class Topic(Model):
    id = fields.IntField(primary_key=True)
    category = fields.ForeignKeyField("models.Category", related_name="topics", on_delete=fields.RESTRICT)
    author = fields.ForeignKeyField("models.User", related_name="topics", null=True, on_delete=fields.SET_NULL)
    title = fields.CharField(max_length=200)
    slug = fields.CharField(max_length=100)
    kind = fields.CharEnumField(TopicKind, max_length=16, default=TopicKind.DISCUSSION)
    pinned = fields.BooleanField(default=False)
    pinned_globally = fields.BooleanField(default=False)
    locked = fields.BooleanField(default=False)
    post_count = fields.IntField(default=0)
    # the highest post number handed out so far; numbers are never reused
    last_number = fields.IntField(default=0)
    accepted_post_id = fields.IntField(null=True)
    # when that answer was accepted (the digest's "solved since"); NULL while none is
    accepted_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_posted_at = fields.DatetimeField()
    # bumped in the same transaction as every change that shows on the topic page (page cache key)
    version = fields.IntField(default=1)
    deleted_at = fields.DatetimeField(null=True)
    # when the page last changed (a post, an edit, a hide, a withdrawal: any `version` bump), set by the database
    # (migration 0020) for the sitemap's lastmod and the feeds' <updated>; NULL until the first change
    changed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "topic"
        indexes = [("category_id", "last_posted_at"), ("last_posted_at",), ("author_id",)]


class Post(Model):
    id = fields.IntField(primary_key=True)
    topic = fields.ForeignKeyField("models.Topic", related_name="posts", on_delete=fields.CASCADE)
    number = fields.IntField()
    author = fields.ForeignKeyField("models.User", related_name="posts", null=True, on_delete=fields.SET_NULL)
    reply_to_id = fields.IntField(null=True)
    source = fields.TextField()
    cooked = fields.TextField()
    created_at = fields.DatetimeField(auto_now_add=True)
    edited_at = fields.DatetimeField(null=True)
    like_count = fields.IntField(default=0)
    deleted_at = fields.DatetimeField(null=True)
    deleted_by_moderator = fields.BooleanField(default=False)
    hidden_at = fields.DatetimeField(null=True)
    hidden_reason = fields.CharField(max_length=32, null=True)

    class Meta:
        table = "post"
        unique_together = [("topic_id", "number")]
        indexes = [("author_id", "created_at")]


class PostRevision(Model):
    id = fields.IntField(primary_key=True)
    post = fields.ForeignKeyField("models.Post", related_name="revisions", on_delete=fields.CASCADE, db_index=True)
    number = fields.IntField()
    editor = fields.ForeignKeyField("models.User", related_name="revisions", null=True, on_delete=fields.SET_NULL)
    source = fields.TextField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "post_revision"
        unique_together = [("post_id", "number")]


class PostLike(Model):
    id = fields.IntField(primary_key=True)
    post = fields.ForeignKeyField("models.Post", related_name="likes", on_delete=fields.CASCADE)
    user = fields.ForeignKeyField("models.User", related_name="likes", on_delete=fields.CASCADE, db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "post_like"
        unique_together = [("post_id", "user_id")]


class PostMention(Model):
    # Who a post mentions; lets notifications and name rewriting find posts without scanning text.

    id = fields.IntField(primary_key=True)
    post = fields.ForeignKeyField("models.Post", related_name="mentions", on_delete=fields.CASCADE, db_index=True)
    user = fields.ForeignKeyField("models.User", related_name="mentioned_in", on_delete=fields.CASCADE, db_index=True)

    class Meta:
        table = "post_mention"
        unique_together = [("post_id", "user_id")]


class PostQuote(Model):
    id = fields.IntField(primary_key=True)
    post = fields.ForeignKeyField("models.Post", related_name="quotes", on_delete=fields.CASCADE, db_index=True)
    quoted_post = fields.ForeignKeyField("models.Post", related_name="quoted_by", on_delete=fields.CASCADE,
                                         db_index=True)

    class Meta:
        table = "post_quote"
        unique_together = [("post_id", "quoted_post_id")]


class TopicRead(Model):
    # How far a signed-in user has read a topic: drives unread markers.

    id = fields.IntField(primary_key=True)
    user = fields.ForeignKeyField("models.User", related_name="reads", on_delete=fields.CASCADE)
    topic = fields.ForeignKeyField("models.Topic", related_name="reads", on_delete=fields.CASCADE, db_index=True)
    last_read_number = fields.IntField(default=0)

    class Meta:
        table = "topic_read"
        unique_together = [("user_id", "topic_id")]


class TopicWatch(Model):
    id = fields.IntField(primary_key=True)
    user = fields.ForeignKeyField("models.User", related_name="topic_watches", on_delete=fields.CASCADE)
    topic = fields.ForeignKeyField("models.Topic", related_name="watches", on_delete=fields.CASCADE, db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "topic_watch"
        unique_together = [("user_id", "topic_id")]


class CategoryWatch(Model):
    id = fields.IntField(primary_key=True)
    user = fields.ForeignKeyField("models.User", related_name="category_watches", on_delete=fields.CASCADE)
    category = fields.ForeignKeyField("models.Category", related_name="watches", on_delete=fields.CASCADE,
                                      db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "category_watch"
        unique_together = [("user_id", "category_id")]


class NotificationKind(StrEnum):
    REPLY = "reply"
    MENTION = "mention"
    QUOTE = "quote"
    ACCEPTED = "accepted"
    LIKE = "like"
    WATCHED_TOPIC = "watched_topic"
    WATCHED_CATEGORY = "watched_category"
    MODERATION = "moderation"


class Notification(Model):
    id = fields.IntField(primary_key=True)
    user = fields.ForeignKeyField("models.User", related_name="notifications", on_delete=fields.CASCADE)
    kind = fields.CharEnumField(NotificationKind, max_length=24)
    actor = fields.ForeignKeyField("models.User", related_name="caused_notifications", null=True,
                                   on_delete=fields.CASCADE, db_index=True)
    topic = fields.ForeignKeyField("models.Topic", related_name="notifications", null=True, on_delete=fields.CASCADE,
                                   db_index=True)
    post = fields.ForeignKeyField("models.Post", related_name="notifications", null=True, on_delete=fields.CASCADE,
                                  db_index=True)
    # likes are batched: one notification per post and day, counting likers
    count = fields.IntField(default=1)
    message = fields.CharField(max_length=255, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    read_at = fields.DatetimeField(null=True)

    class Meta:
        table = "notification"
        # partial (user_id, created_at) WHERE read_at IS NULL and (user_id, created_at, id): migration 0009
