"""Hand-written SQL for the rows every new post writes (the rule: forum/db): the post, its first revision.

Creating posts runs inside SQLite's single write lock (BEGIN IMMEDIATE), so each statement there is plain SQL
with `?` placeholders rather than an ORM query built while the other worker waits. Columns and formats are the
ones the ORM would write (Tortoise's SQLite datetime text is `isoformat(" ")`).
"""

from __future__ import annotations

from datetime import datetime

from forum import db
from forum.models import Post


async def insert_post(conn, *, topic_id: int, number: int, author_id: int, reply_to_id: int | None, source: str,
                      cooked: str, now: datetime, hold_reason: str | None) -> Post:
    """The post (hidden from the start when held for review) and its revision number 1: two statements."""
    at = db.time_param(now, conn)
    row = await db.fetch_one(
        "INSERT INTO post (topic_id, number, author_id, reply_to_id, source, cooked, created_at, like_count, "
        "deleted_by_moderator, hidden_at, hidden_reason) VALUES (?, ?, ?, ?, ?, ?, ?, 0, FALSE, ?, ?) RETURNING id",
        [topic_id, number, author_id, reply_to_id, source, cooked, at, at if hold_reason else None, hold_reason],
        conn)
    await db.execute("INSERT INTO post_revision (post_id, number, editor_id, source, created_at) "
                     "VALUES (?, 1, ?, ?, ?)", [row["id"], author_id, source, at], conn)
    post = Post(id=row["id"], topic_id=topic_id, number=number, author_id=author_id, reply_to_id=reply_to_id,
                source=source, cooked=cooked, created_at=now, like_count=0, deleted_by_moderator=False,
                hidden_at=now if hold_reason else None, hidden_reason=hold_reason)
    post._saved_in_db = True
    return post
