"""Review cases: one per post, opened by flags, detector holds, watched words or an appeal; closed by an action.

A case's score orders the queue: the sum of its open flags' weights, plus the hide threshold for a detector
hold (personal data and secrets come first) or 1 for a watched word, plus 1 for an open appeal.
"""

from __future__ import annotations

from datetime import UTC, datetime

from tortoise.expressions import F

from forum.models import Post, Topic
from forum.services import search
from moderation import config
from moderation.models import Case, CaseStatus, Flag, FlagStatus
from moderation.queue import queue_changed

HOLD_REASONS = ("personal_data", "security")  # detector holds: hidden until a moderator decides
PENDING = (*HOLD_REASONS, "flags")  # hidden_reason values that mean "pending review"


async def lock_post(conn, post_id: int) -> Post | None:
    """Serialises flags and decisions on one post (PostgreSQL row lock; SQLite writes are serial already)."""
    return await Post.filter(id=post_id).select_for_update().using_db(conn).first()


async def open_case(conn, post_id: int, *, detector_reason: str | None = None, kinds: list[str] | None = None,
                    appeal_text: str | None = None) -> Case:
    now = datetime.now(UTC)
    case = await Case.filter(post_id=post_id).using_db(conn).first()
    if case is None:
        case = await Case.create(post_id=post_id, opened_at=now, using_db=conn)
    elif case.status == CaseStatus.CLOSED:
        case.status, case.opened_at, case.resolved_at, case.resolution = CaseStatus.OPEN, now, None, None
        case.detector_reason, case.detector_kinds = None, ""
    if detector_reason and (case.detector_reason is None or detector_reason in HOLD_REASONS):
        case.detector_reason = detector_reason
        case.detector_kinds = ",".join(kinds or [])[:200]
    if appeal_text is not None:
        case.appeal_text, case.appealed_at = appeal_text, now
    case.score = await score_of(conn, case)
    await case.save(using_db=conn)
    await queue_changed(conn)
    return case


async def score_of(conn, case: Case) -> float:
    weights = await Flag.filter(post_id=case.post_id, status=FlagStatus.OPEN).using_db(conn).values_list(
        "weight", flat=True)
    score = sum(weights)
    if case.detector_reason in HOLD_REASONS:
        score += config.hide_threshold()
    elif case.detector_reason:
        score += 1
    if case.appealed_at is not None and case.appealed_at >= case.opened_at:
        score += 1  # an appeal made while this case is open
    return round(score, 3)


async def flag_score(conn, post_id: int) -> float:
    weights = await Flag.filter(post_id=post_id, status=FlagStatus.OPEN).using_db(conn).values_list(
        "weight", flat=True)
    return round(sum(weights), 3)


async def close_case(conn, post_id: int, resolution: str, flag_status: FlagStatus) -> list[int]:
    """Resolves the open flags and closes the case; returns the reporters to tell the outcome."""
    now = datetime.now(UTC)
    reporters = await Flag.filter(post_id=post_id, status=FlagStatus.OPEN).using_db(conn).values_list(
        "reporter_id", flat=True)
    await Flag.filter(post_id=post_id, status=FlagStatus.OPEN).using_db(conn).update(
        status=flag_status, resolved_at=now, open_key=None)
    await Case.filter(post_id=post_id).using_db(conn).update(status=CaseStatus.CLOSED, resolved_at=now,
                                                             resolution=resolution, score=0)
    await queue_changed(conn)
    return [r for r in dict.fromkeys(reporters) if r is not None]


async def hide(conn, post: Post, reason: str) -> None:
    """Hide a post (pending review or by decision): out of the topic, the search index and the page cache."""
    await Post.filter(id=post.id).using_db(conn).update(hidden_at=post.hidden_at or datetime.now(UTC),
                                                        hidden_reason=reason)
    await search.remove_post(post.id, conn=conn)
    await Topic.filter(id=post.topic_id).using_db(conn).update(version=F("version") + 1)


async def unhide(conn, post: Post) -> None:
    await Post.filter(id=post.id).using_db(conn).update(hidden_at=None, hidden_reason=None)
    if post.deleted_at is None:
        topic = await Topic.get(id=post.topic_id).using_db(conn)
        fresh = await Post.get(id=post.id).using_db(conn)
        await search.index_post(post.id, title=topic.title if post.number == 1 else "", cooked=fresh.cooked,
                                conn=conn)
    await Topic.filter(id=post.topic_id).using_db(conn).update(version=F("version") + 1)
