"""Flagging a post: any signed-in member who is not silenced or suspended; one open flag per member and post.

When the open flags' weights reach the threshold the post is hidden at once pending review and its author is
told why, unless the author is staff (the case then waits in the queue). Weights: moderation/standing.py.
Flaggers are never named to the author or to other members.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from tortoise.exceptions import IntegrityError

from forum.db import write_transaction
from forum.errors import N_, Conflict, NotAuthenticated, RateLimited, ValidationFailed
from forum.models import Post, User
from forum.permissions.facts import PostFacts
from forum.services import rate_limits
from forum.services.access import access_post_by_id
from forum.viewer import Viewer
from moderation import audit, cases, config, notices
from moderation.models import Flag, FlagReason, FlagStatus
from moderation.permissions import check_can_flag
from moderation.sanctions import check_not_sanctioned
from moderation.standing import flag_weight

NOTE_MAX = 1000


def check_flag_input(reason: str, note: str | None) -> tuple[FlagReason, str]:
    try:
        flag_reason = FlagReason(reason)
    except ValueError:
        raise ValidationFailed(fields={"reason": N_("Choose a reason for the flag.")}) from None
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ValidationFailed(fields={"note": N_("The note is too long: at most 1,000 characters.")})
    if flag_reason == FlagReason.OTHER and not note:
        raise ValidationFailed(fields={"note": N_("Tell the moderators what is wrong.")})
    return flag_reason, note


async def check_flag_rate(conn, user: User) -> None:
    if not config.rate_limits() or user.is_staff:
        return
    await rate_limits.serialise(conn, "flag", user.id)  # parallel flags of one account count one after another
    now = datetime.now(UTC)
    recent = Flag.filter(reporter_id=user.id).using_db(conn)
    if (await recent.filter(created_at__gte=now - timedelta(hours=1)).count() >= config.FLAGS_PER_HOUR
            or await recent.filter(created_at__gte=now - timedelta(days=1)).count() >= config.FLAGS_PER_DAY):
        raise RateLimited(N_("You have flagged many posts lately. Please wait a while before flagging more."),
                          code="flag_rate_limited")


async def flaggable_post(viewer: Viewer | None, post_id: int) -> Post:
    """The post, when the viewer may flag it (moderation.permissions.check_can_flag): the flag page and the
    write ask the same rule."""
    if viewer is None:
        raise NotAuthenticated()
    post = await access_post_by_id(viewer, post_id)
    check_can_flag(viewer, PostFacts.of(post))
    return post


async def flag_post(viewer: Viewer | None, post_id: int, *, reason: str, note: str | None = None) -> tuple[Flag, bool]:
    """Returns the flag and whether this flag hid the post."""
    if viewer is None:
        raise NotAuthenticated()
    flag_reason, note = check_flag_input(reason, note)
    post = await flaggable_post(viewer, post_id)
    try:
        async with write_transaction() as conn:
            hid = False
            await cases.lock_post(conn, post.id)
            await check_not_sanctioned(viewer.id, conn)
            user = await User.get(id=viewer.id).using_db(conn)
            await check_flag_rate(conn, user)
            if await Flag.filter(post_id=post.id, reporter_id=viewer.id, status=FlagStatus.OPEN).using_db(
                    conn).exists():
                raise Conflict(N_("You have already flagged this post."), code="already_flagged")
            flag = await Flag.create(post_id=post.id, reporter_id=viewer.id, open_key=f"{post.id}:{viewer.id}",
                                     reason=flag_reason, note=note, weight=await flag_weight(user, conn),
                                     using_db=conn)
            await cases.open_case(conn, post.id)
            if await cases.flag_score(conn, post.id) >= config.hide_threshold():
                fresh = await Post.get(id=post.id).using_db(conn)
                if fresh.hidden_at is None and fresh.deleted_at is None and not await _by_staff(conn, fresh):
                    await cases.hide(conn, fresh, "flags")
                    hid = True
                    top = await _top_reason(conn, post.id)
                    await notices.notify(conn, post.author_id, N_(
                        "Your post was hidden pending review after members flagged it for %(reason)s. "
                        "A moderator will look at it."), post_id=post.id, topic_id=post.topic_id, reason=top)
                    await audit.record(conn, actor_id=None, action="auto_hide", target_kind="post",
                                       target_id=post.id, detail=f"flags:{top}")
    except IntegrityError:  # a second request for the same flag won the race
        raise Conflict(N_("You have already flagged this post."), code="already_flagged") from None
    return flag, hid


async def _by_staff(conn, post: Post) -> bool:
    """Flags never hide a staff member's post (an announcement, an answer): its case waits in the queue."""
    if post.author_id is None:
        return False
    author = await User.filter(id=post.author_id).using_db(conn).first()
    return author is not None and author.is_staff


async def _top_reason(conn, post_id: int) -> str:
    rows = await Flag.filter(post_id=post_id, status=FlagStatus.OPEN).using_db(conn).values_list("reason", "weight")
    totals: Counter[str] = Counter()
    for reason, weight in rows:
        totals[str(reason.value if hasattr(reason, "value") else reason)] += weight
    return totals.most_common(1)[0][0] if totals else "other"
