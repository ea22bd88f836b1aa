"""How many unread notifications a member has, counted as the list (services/notifications.py) shows them.

A module of its own because the query that loads the viewer on every request counts them (forum/viewer.py), as
does the live stream (services/live.py), and the notifications service imports both of those: here the count
imports neither.
"""

from __future__ import annotations

import functools

from forum import db
from forum.permissions.levels import readable_sql

# What a user is shown of their notifications, in the list and in every count of it: none about a topic that
# was deleted or that they may not read (a mention in a staff-only topic must not tell a member it exists).
SHOWN = "(n.topic_id IS NULL OR (t.deleted_at IS NULL AND {readable}))"


# The header badge and the live stream count at most this many ("99+" beyond): the count runs on every signed-in
# request and looks up each unread notification's topic and category, so it must stop somewhere. Measured (loaded
# 2-core machine, median of 200): 12 unread 0.05 / 0.3 ms (SQLite / PostgreSQL), as before; 1,000 unread 0.15 /
# 2.5 ms capped, 0.7-1.8 / 6-15 ms uncapped; 20,000 unread 0.3 / 9.8 ms capped, 40-60 / 150-250 ms uncapped (the
# count without the visibility check it replaces: 8 / 14 ms). On PostgreSQL the bitmap scan of the partial index
# still collects all of a user's unread entries before the cap applies.
UNREAD_CAP = 100


@functools.cache
def unread_count_sql(user_column: str, role_column: str, cap: int | None = UNREAD_CAP) -> str:
    """The unread count as a subquery, for a query that has the account's id and role as columns (the viewer's
    own query). It walks the partial index notification_user_unread, looks up each notification's topic and
    category by primary key, and stops after `cap` shown ones."""
    shown = SHOWN.format(readable=readable_sql("c.read_access", role_column))
    rows = (f"SELECT 1 FROM notification n LEFT JOIN topic t ON t.id = n.topic_id "
            f"LEFT JOIN category c ON c.id = t.category_id "
            f"WHERE n.user_id = {user_column} AND n.read_at IS NULL AND {shown}")
    return f"(SELECT COUNT(*) FROM ({rows}{f' LIMIT {int(cap)}' if cap else ''}) shown)"


async def unread_count(user_id: int, *, cap: int | None = UNREAD_CAP) -> int:
    """The unread notifications list_notifications would list, counted up to `cap` (None: all of them)."""
    row = await db.fetch_one(f"SELECT {unread_count_sql('u.id', 'u.role', cap)} AS n FROM account u WHERE u.id = ?",
                             [user_id])
    return int(row["n"]) if row else 0
