"""Loading things on behalf of a viewer: missing and not-visible answer the same "not found"."""

from __future__ import annotations

import functools

from forum import db
from forum.errors import NotFound
from forum.models import Category, Post, Topic
from forum.params import parse_id
from forum.permissions.categories import can_read_category
from forum.permissions.facts import TopicFacts
from forum.permissions.topics import refuse_see
from forum.viewer import Viewer


async def access_category_by_slug(viewer: Viewer | None, slug: str) -> Category:
    # exact match only: cutting a long slug short would name some other category
    category = await Category.filter(slug=slug).first() if isinstance(slug, str) and len(slug) <= 64 else None
    if category is None or not can_read_category(viewer, category):
        raise NotFound()
    return category


def _columns(*aliased) -> str:
    return ", ".join(f"{alias}.{column} AS {alias}__{column}" for alias, model in aliased
                     for column in model._meta.fields_db_projection.values())


@functools.cache
def _topic_sql() -> str:
    """One join, its columns named `t__<column>` and `c__<column>` so the two rows can be told apart."""
    return (f"SELECT {_columns(('t', Topic), ('c', Category))} FROM topic t "
            "JOIN category c ON c.id = t.category_id WHERE t.id = ?")


@functools.cache
def _post_sql() -> str:
    """The post, its topic and category, and its author's role (what the rules about changing it look at)."""
    return (f"SELECT {_columns(('p', Post), ('t', Topic), ('c', Category))}, a.role AS a__role FROM post p "
            "JOIN topic t ON t.id = p.topic_id JOIN category c ON c.id = t.category_id "
            "LEFT JOIN account a ON a.id = p.author_id WHERE p.id = ?")


def _split(row: dict) -> dict[str, dict]:
    fields: dict[str, dict] = {"p": {}, "t": {}, "c": {}, "a": {}}
    for key, value in row.items():
        alias, column = key.split("__", 1)
        fields[alias][column] = value
    return fields


def _valid_id(value) -> int | None:
    """An id from a path or a service call: ASCII digits within range (forum.params), or None: no such row."""
    if isinstance(value, str):
        return parse_id(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2**31:
        return None  # no such id (ids are 32-bit on PostgreSQL)
    return value


async def _topic_with_category(topic_id: int) -> Topic | None:
    """Topic.filter(id=...).select_related("category").first() as plain SQL: every write to a topic starts
    here, and building the ORM's joined query cost more CPU than running it."""
    topic_id = _valid_id(topic_id)
    row = await db.fetch_point(_topic_sql(), [topic_id]) if topic_id is not None else None
    if row is None:
        return None
    fields = _split(row)
    topic = Topic._init_from_db(**fields["t"])
    topic.category = Category._init_from_db(**fields["c"])
    return topic


async def access_topic_by_id(viewer: Viewer | None, topic_id: int) -> Topic:
    topic = await _topic_with_category(topic_id)
    if topic is None or refuse_see(viewer, TopicFacts.of(topic)):
        raise NotFound()
    return topic


async def access_post_by_id(viewer: Viewer | None, post_id: int) -> Post:
    """The post with `topic` and `topic.category` loaded, and `author_role` (None for a former member): one
    query, like access_topic_by_id; the rules take PostFacts.of(post) and TopicFacts.of(post.topic)."""
    post_id = _valid_id(post_id)
    row = await db.fetch_point(_post_sql(), [post_id]) if post_id is not None else None
    if row is None:
        raise NotFound()
    fields = _split(row)
    post = Post._init_from_db(**fields["p"])
    post.topic = Topic._init_from_db(**fields["t"])
    post.topic.category = Category._init_from_db(**fields["c"])
    post.author_role = fields["a"]["role"]
    if refuse_see(viewer, TopicFacts.of(post.topic)):
        raise NotFound()
    return post
