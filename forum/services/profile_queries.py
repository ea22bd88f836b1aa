"""The profile page's queries, hand-written SQL like the topic page's (services/topic_queries.py, whose topic
list rows the person's topics share)."""

from __future__ import annotations

from forum import db
from forum.permissions.roles import readable_levels
from forum.services.topic_queries import LIST_COLUMNS, with_unread
from forum.services.usernames import username_key
from forum.viewer import Viewer


async def profile_by_username(username: str) -> dict | None:
    row = await db.fetch_one(
        "SELECT pr.user_id, pr.username, pr.display_name, pr.bio, pr.created_at, pr.public_profile, u.role "
        "FROM profile pr "
        "JOIN account u ON u.id = pr.user_id WHERE pr.username_key = ?", [username_key(username)])
    if row:
        row["created_at"] = db.as_datetime(row["created_at"])
    return row


async def profile_activity(viewer: Viewer | None, user_id: int, limit: int = 20) -> tuple[int, list[dict]]:
    """How many visible posts the person wrote where the viewer may read, and their newest topics there."""
    levels = readable_levels(viewer)
    count = await db.fetch_one(
        "SELECT COUNT(*) AS n FROM post p JOIN topic t ON t.id = p.topic_id JOIN category c ON c.id = t.category_id "
        f"WHERE p.author_id = ? AND p.deleted_at IS NULL AND p.hidden_at IS NULL "
        f"AND c.read_access IN ({','.join('?' * len(levels))})", [user_id, *levels])
    topics = await db.fetch_all(
        f"SELECT {LIST_COLUMNS} FROM topic t JOIN category c ON c.id = t.category_id "
        "LEFT JOIN profile pr ON pr.user_id = t.author_id WHERE t.author_id = ? AND t.deleted_at IS NULL "
        f"AND c.read_access IN ({','.join('?' * len(levels))}) ORDER BY t.created_at DESC LIMIT ?",
        [user_id, *levels, limit])
    return int(count["n"]), await with_unread(viewer, topics)
