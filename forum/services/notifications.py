"""Notifications: who hears about a write, batched likes, unread counts, marking read."""

from __future__ import annotations

import functools
from datetime import UTC, datetime

from forum.models import Notification, NotificationKind
from forum.permissions.roles import readable_levels
from forum.services import live, outbox
from forum.services.unread_notifications import SHOWN
from forum.viewer import Viewer

# when one post gives a user several reasons to hear about it, they get one notification, the most specific
PRIORITY = [NotificationKind.MENTION, NotificationKind.QUOTE, NotificationKind.REPLY, NotificationKind.WATCHED_TOPIC,
            NotificationKind.WATCHED_CATEGORY]


async def notify_post(conn, *, actor_id: int, topic_id: int, post_id: int,
                      reasons: dict[int, set[NotificationKind]], now: datetime | None = None) -> int:
    """`reasons` maps recipient → why; the actor never notifies themselves. One statement, in plain SQL: it
    runs inside the post's write transaction (SQLite's write lock)."""
    from forum import db

    at = db.time_param(now or datetime.now(UTC), conn)
    rows = []
    for user_id, kinds in reasons.items():
        if user_id is None or user_id == actor_id or not kinds:
            continue
        kind = next(k for k in PRIORITY if k in kinds)
        rows.append([user_id, kind.value, actor_id, topic_id, post_id, at])
    if rows:
        await db.execute_many("INSERT INTO notification (user_id, kind, actor_id, topic_id, post_id, count, message, "
                              "created_at) VALUES (?, ?, ?, ?, ?, 1, '', ?)", rows, conn)
        await live.notifications_changed([row[0] for row in rows], conn)
        await outbox.notifications_written(conn, [(r[0], r[1], topic_id, post_id) for r in rows], now)
    return len(rows)


async def watchers_of_topic(topic_id: int, conn=None) -> list[int]:
    from forum import db

    return [r["user_id"] for r in await db.fetch_all("SELECT user_id FROM topic_watch WHERE topic_id = ?",
                                                      [topic_id], conn)]


async def notify_like(conn, *, actor_id: int, recipient_id: int | None, topic_id: int, post_id: int) -> None:
    """Likes are batched: an unread like notification for the same post counts up instead of piling up."""
    if recipient_id is None or recipient_id == actor_id:
        return
    existing = await (Notification.filter(user_id=recipient_id, post_id=post_id, kind=NotificationKind.LIKE,
                                          read_at__isnull=True).using_db(conn).first())
    if existing:
        existing.count += 1
        existing.actor_id = actor_id
        existing.created_at = datetime.now(UTC)
        await existing.save(using_db=conn, update_fields=["count", "actor_id", "created_at"])
    else:
        await Notification.create(user_id=recipient_id, kind=NotificationKind.LIKE, actor_id=actor_id,
                                  topic_id=topic_id, post_id=post_id, using_db=conn)
        await live.notifications_changed([recipient_id], conn)


async def notify_user(conn, *, user_id: int, kind: NotificationKind, topic_id: int | None = None,
                      post_id: int | None = None, actor_id: int | None = None, message: str = "") -> None:
    await Notification.create(user_id=user_id, kind=kind, topic_id=topic_id, post_id=post_id, actor_id=actor_id,
                              message=message[:255], using_db=conn)
    await live.notifications_changed([user_id], conn)
    await outbox.notifications_written(conn, [(user_id, kind.value, topic_id, post_id)])


# Unread first, newest first. Each half is read newest first from an index (unread: the partial
# notification_user_unread; read: notification_user_newest) and stops at the page's size, so a user with 100,000
# notifications costs what one with 50 does; only the chosen rows are joined to post and profile.
_LIST_HALF = """
    SELECT * FROM (
        SELECT n.id, n.kind, n.count, n.message, n.created_at, n.read_at, n.topic_id, n.post_id, n.actor_id,
               t.title AS topic_title
        FROM notification n
        LEFT JOIN topic t ON t.id = n.topic_id
        LEFT JOIN category c ON c.id = t.category_id
        WHERE n.user_id = ? AND n.read_at IS {state} AND {shown}
        ORDER BY n.created_at DESC, n.id DESC
        LIMIT ?
    ) {alias}"""


@functools.cache
def list_sql(levels: int) -> str:
    marks = ",".join("?" * levels)
    shown = SHOWN.format(readable=f"c.read_access IN ({marks})")
    return f"""
        SELECT n.id, n.kind, n.count, n.message, n.created_at, n.read_at, n.topic_id, n.post_id,
               n.topic_title, p.number AS post_number, ap.username AS actor
        FROM ({_LIST_HALF.format(state="NULL", shown=shown, alias="unread")}
              UNION ALL {_LIST_HALF.format(state="NOT NULL", shown=shown, alias="seen")}) n
        LEFT JOIN post p ON p.id = n.post_id
        LEFT JOIN profile ap ON ap.user_id = n.actor_id
        ORDER BY CASE WHEN n.read_at IS NULL THEN 0 ELSE 1 END, n.created_at DESC, n.id DESC
        LIMIT ?"""


async def list_notifications(viewer: Viewer, *, limit: int = 50) -> list[dict]:
    """Unread first, newest first; notifications about topics the viewer can no longer read are left out."""
    from forum import db

    levels = readable_levels(viewer)
    half = [viewer.id, *levels, limit]
    rows = await db.fetch_all(list_sql(len(levels)), [*half, *half, limit])
    for row in rows:
        row["created_at"] = db.as_datetime(row["created_at"])
        row["read_at"] = db.as_datetime(row["read_at"])
    return rows


async def mark_read(viewer: Viewer, ids: list[int] | None = None) -> int:
    query = Notification.filter(user_id=viewer.id, read_at__isnull=True)
    if ids is not None:
        query = query.filter(id__in=ids[:500])
    count = await query.update(read_at=datetime.now(UTC))
    if count:
        await live.notifications_changed([viewer.id])  # the viewer's other tabs update their count
    return count
