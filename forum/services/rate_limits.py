"""Limits that hold under concurrency on both databases: the check and the count are one atomic step.

Two ways to get there, both here:
- `count_hit`: for what stores nothing of its own to count (a preview). One upsert per fixed window adds the hit
  and returns the new count; over the limit the caller's transaction rolls back, so refused hits do not count.
  Parallel requests queue on the window's row, so each sees the hits before it.
- `serialise`: for limits counted over the rows the action itself writes (posts, duplicates, flags). Called
  inside the write's transaction before counting: on PostgreSQL an advisory transaction lock per (limit,
  account), so the second of two parallel requests counts only once the first has committed or rolled back
  (READ COMMITTED then shows it). SQLite needs nothing: write transactions are serial (BEGIN IMMEDIATE).

`FORUM_RATE_LIMITS=off` lifts the limits (`configure`); the atomic step stays.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from forum import db
from forum.errors import RateLimited

# advisory lock classes (the first key of pg_advisory_xact_lock(int, int)); the second key is the account id
_SCOPES = {"post": 1801, "flag": 1802, "draft": 1803}
_settings_of = None  # the app's settings as they are now (tests swap them)


def configure(app) -> None:
    global _settings_of
    _settings_of = lambda: app.state.settings  # noqa: E731


def enabled() -> bool:
    return _settings_of is None or bool(_settings_of().rate_limits)


async def serialise(conn, scope: str, user_id: int) -> None:
    """Makes this account's writes of `scope` take turns until the transaction ends (see the module's text)."""
    if db.dialect(conn) == "postgres":
        await db.fetch_one("SELECT pg_advisory_xact_lock(CAST(? AS INTEGER), CAST(? AS INTEGER)) AS locked",
                           [_SCOPES[scope], int(user_id)], conn)


HIT = """
INSERT INTO rate_count (key, window_start, hits) VALUES (?, ?, 1)
ON CONFLICT (key, window_start) DO UPDATE SET hits = rate_count.hits + 1
RETURNING hits
"""


async def count_hit(conn, key: str, limits: Sequence[tuple[int, int]], *, message: str, code: str,
                    now: float | None = None) -> None:
    """Counts one hit of `key` in each (window seconds, most hits) window, inside the caller's transaction;
    raises RateLimited (with Retry-After) when a window is full. Call it before the costly part of the work."""
    now = now or time.time()
    for seconds, most in limits:
        start = int(now // seconds) * seconds
        row = await db.fetch_one(HIT, [f"{key}/{seconds}", start], conn)
        if int(row["hits"]) > most:
            refused = RateLimited(message, code=code)
            refused.retry_after = max(1, int(start + seconds - now) + 1)
            raise refused


