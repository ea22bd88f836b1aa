"""Per-account counters, and the weight of a member's flag derived from them.

Weight of a flag (documented in the README):
- staff, moderators and admins: the hide threshold, so one staff flag hides a post at once;
- members: 2 × (upheld + 1) / (upheld + rejected + 2), the share of their resolved flags that moderators
  upheld, smoothed so that a new member's flag weighs 1. It approaches 2 for reliable flaggers and 0 for
  members whose flags are rejected. Dismissed flags count neither way.
"""

from __future__ import annotations

from tortoise.expressions import F

from forum.models import User
from moderation import config
from moderation.models import UserRecord


def member_weight(upheld: int, rejected: int) -> float:
    return round(2 * (upheld + 1) / (upheld + rejected + 2), 3)


async def flag_weight(user: User, conn=None) -> float:
    if user.is_staff:
        return config.hide_threshold()
    record = await UserRecord.filter(user_id=user.id).using_db(conn).first()
    return member_weight(record.flags_upheld, record.flags_rejected) if record else member_weight(0, 0)


async def bump(conn, user_id: int | None, **counters: int) -> None:
    """Add to an account's counters, creating its record on first use."""
    if user_id is None:
        return
    updated = await UserRecord.filter(user_id=user_id).using_db(conn).update(
        **{name: F(name) + amount for name, amount in counters.items()})
    if not updated:
        await UserRecord.create(user_id=user_id, using_db=conn, **counters)
