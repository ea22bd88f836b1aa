"""Per-account counters, and the weight of a member's flag derived from them.

Weight of a flag (documented in the README):
- staff, moderators and admins: the hide threshold, so one staff flag hides a post at once;
- established members: 2 × (upheld + 1) / (upheld + rejected + 2), the share of their resolved flags that
  moderators upheld, smoothed so that a first flag weighs 1. It approaches 2 for reliable flaggers and 0 for
  members whose flags are rejected. Dismissed flags count neither way;
- every other member: 0. Their flag opens a review case (moderators see it in the queue) but adds nothing
  towards hiding the post, so a crowd of freshly registered accounts cannot hide anything, however many.
  Established means: consent to the current policy, an account at least ESTABLISHED_AFTER old, and a track
  record (ESTABLISHED_POSTS posts of their own that are neither hidden nor deleted, or a flag moderators upheld).
A post by staff is never hidden by flags (moderation/flags.py): its case goes to the queue.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tortoise.expressions import F

from forum.models import Post, User
from forum.services.consent import ConsentStatus, consent_status
from moderation import config
from moderation.models import UserRecord


def member_weight(upheld: int, rejected: int) -> float:
    return round(2 * (upheld + 1) / (upheld + rejected + 2), 3)


ESTABLISHED_AFTER = timedelta(days=7)
ESTABLISHED_POSTS = 3


async def is_established(user: User, record: UserRecord | None, conn=None) -> bool:
    if datetime.now(UTC) - user.created_at < ESTABLISHED_AFTER:
        return False
    if await consent_status(user.id, conn) != ConsentStatus.GRANTED:
        return False
    if record is not None and record.flags_upheld > 0:
        return True
    visible = await (Post.filter(author_id=user.id, deleted_at__isnull=True, hidden_at__isnull=True)
                     .using_db(conn).limit(ESTABLISHED_POSTS).values_list("id", flat=True))
    return len(visible) >= ESTABLISHED_POSTS


async def flag_weight(user: User, conn=None) -> float:
    if user.is_staff:
        return config.hide_threshold()
    record = await UserRecord.filter(user_id=user.id).using_db(conn).first()
    if not await is_established(user, record, conn):
        return 0.0
    return member_weight(record.flags_upheld, record.flags_rejected) if record else member_weight(0, 0)


async def bump(conn, user_id: int | None, **counters: int) -> None:
    """Add to an account's counters, creating its record on first use."""
    if user_id is None:
        return
    updated = await UserRecord.filter(user_id=user_id).using_db(conn).update(
        **{name: F(name) + amount for name, amount in counters.items()})
    if not updated:
        await UserRecord.create(user_id=user_id, using_db=conn, **counters)
