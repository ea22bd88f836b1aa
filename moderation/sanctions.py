"""Silencing (may read; may not post, like, flag or change the profile) and suspending (may not sign in) for a
time, and lifting it."""

from __future__ import annotations

from datetime import UTC, datetime

from forum.db import write_transaction
from forum.errors import N_, Forbidden, ValidationFailed
from forum.models import Session
from forum.viewer import Viewer
from moderation import audit, config, notices
from moderation.models import Sanction, SanctionKind
from moderation.permissions import access_user_to_moderate, check_moderator
from moderation.standing import bump

MESSAGES = {
    SanctionKind.SILENCE: N_("Your account is silenced until %(until)s: you can read, but not post, like, flag "
                             "or change your profile."),
    SanctionKind.SUSPEND: N_("Your account is suspended until %(until)s."),
}


async def active_sanction(user_id: int, conn=None) -> Sanction | None:
    """The sanction in force, a suspension before a silence."""
    now = datetime.now(UTC)
    rows = await (Sanction.filter(user_id=user_id, lifted_at__isnull=True, starts_at__lte=now, ends_at__gt=now)
                  .using_db(conn).order_by("-ends_at"))
    return next((s for s in rows if s.kind == SanctionKind.SUSPEND), rows[0] if rows else None)


def refusal(sanction: Sanction) -> Forbidden:
    until = sanction.ends_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    code = "suspended" if sanction.kind == SanctionKind.SUSPEND else "silenced"
    return Forbidden(MESSAGES[sanction.kind], code=code, until=until)


async def check_not_sanctioned(user_id: int, conn=None) -> None:
    """Runs inside every post write (SQLite's write lock): one plain query, and the ORM only for the few who
    are sanctioned, to build the refusal."""
    from forum import db

    now = _now_param()
    if await db.fetch_one("SELECT 1 AS one FROM mod_sanction WHERE user_id = ? AND lifted_at IS NULL "
                          "AND starts_at <= ? AND ends_at > ? LIMIT 1", [user_id, now, now], conn) is None:
        return
    sanction = await active_sanction(user_id, conn)
    if sanction is not None:
        raise refusal(sanction)


def check_until(until: datetime | None) -> datetime:
    now = datetime.now(UTC)
    if until is None or until.tzinfo is None:
        raise ValidationFailed(fields={"until": N_("Give an end time with a time zone, in the future.")})
    if until <= now or until - now > config.MAX_SANCTION:
        raise ValidationFailed(fields={"until": N_("The end must be in the future and at most ten years away.")})
    return until


def check_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(fields={"reason": N_("Give a reason.")})
    if len(reason) > 1000:
        raise ValidationFailed(fields={"reason": N_("The reason is too long: at most 1,000 characters.")})
    return reason


async def impose(viewer: Viewer | None, user_id: int, *, kind: str, until: datetime | None, reason: str) -> Sanction:
    check_moderator(viewer)
    try:
        sanction_kind = SanctionKind(kind)
    except ValueError:
        raise ValidationFailed(fields={"kind": N_("Choose silence or suspend.")}) from None
    until = check_until(until)
    reason = check_reason(reason)
    user = await access_user_to_moderate(viewer, user_id)
    async with write_transaction() as conn:
        sanction = await Sanction.create(user_id=user.id, kind=sanction_kind, reason=reason,
                                         starts_at=datetime.now(UTC), ends_at=until, using_db=conn)
        await bump(conn, user.id, **{"silences" if sanction_kind == SanctionKind.SILENCE else "suspensions": 1})
        if sanction_kind == SanctionKind.SUSPEND:
            await Session.filter(user_id=user.id).using_db(conn).delete()  # signed out everywhere, now
        await notices.notify(conn, user.id, N_("A moderator restricted your account: %(text)s"),
                             text=f"{reason} ({until.strftime('%Y-%m-%d %H:%M UTC')})")
        await audit.record(conn, actor_id=viewer.id, action=sanction_kind.value, target_kind="user",
                           target_id=user.id, reason=reason, detail=f"until {until.isoformat(timespec='minutes')}",
                           about_user_ids=[user.id])
    return sanction


async def lift(viewer: Viewer | None, user_id: int, *, reason: str = "") -> int:
    check_moderator(viewer)
    user = await access_user_to_moderate(viewer, user_id)
    now = datetime.now(UTC)
    async with write_transaction() as conn:
        lifted = await Sanction.filter(user_id=user.id, lifted_at__isnull=True, ends_at__gt=now).using_db(
            conn).update(lifted_at=now)
        if lifted:
            await notices.notify(conn, user.id, N_("A moderator lifted the restriction on your account."))
            await audit.record(conn, actor_id=viewer.id, action="lift", target_kind="user", target_id=user.id,
                               reason=(reason or "").strip()[:1000], about_user_ids=[user.id])
    return lifted


async def active_list(viewer: Viewer | None) -> list[dict]:
    from forum import db

    check_moderator(viewer)
    rows = await db.fetch_all(
        "SELECT s.id, s.user_id, pr.username, s.kind, s.reason, s.ends_at FROM mod_sanction s "
        "LEFT JOIN profile pr ON pr.user_id = s.user_id WHERE s.lifted_at IS NULL AND s.ends_at > ? "
        "ORDER BY s.ends_at LIMIT 200", [_now_param()])
    for row in rows:
        row["ends_at"] = db.as_datetime(row["ends_at"])
    return rows


def _now_param():
    from forum import db

    return db.time_param(datetime.now(UTC))


async def on_signing_in(sign_in) -> None:
    """A suspended member cannot sign in (forum.events.SIGNING_IN); a silenced one can, to read."""
    sanction = await active_sanction(sign_in.user_id)
    if sanction is not None and sanction.kind == SanctionKind.SUSPEND:
        raise refusal(sanction)


async def suspended_among(user_ids: list[int]) -> set[int]:
    """forum.hooks' mention filter: the members among these who are suspended now are not suggested."""
    from forum import db

    if not user_ids:
        return set()
    now = _now_param()
    ids = list(user_ids)[:500]  # the suggestions ask about a few dozen
    rows = await db.fetch_all(
        f"SELECT DISTINCT user_id FROM mod_sanction WHERE user_id IN ({db.marks(len(ids))}) AND kind = 'suspend' "
        "AND lifted_at IS NULL AND starts_at <= ? AND ends_at > ?", [*ids, now, now])
    return {r["user_id"] for r in rows}
