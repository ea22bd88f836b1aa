"""Daily or weekly digests (opt-in): unread activity in watched topics and categories, and questions solved in
watched categories, since the last digest. Scheduled by the mail worker, composed when sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from forum import db
from forum.db import write_transaction
from forum.errors import N_
from forum.i18n import gettext as _
from forum.models import MailKind
from forum.permissions.facts import SOLVED_SQL
from forum.permissions.roles import readable_levels
from forum.services import outbox
from forum.services.composed_mail import Composed, Drop, viewer_of

PERIODS = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}
MAX_TOPICS = 20
_LABELS = {"daily": N_("Your daily forum digest"), "weekly": N_("Your weekly forum digest")}


async def schedule_digests(now: datetime | None = None) -> int:
    """Queues each due digest once, whichever worker gets there first: the stamp moves by compare-and-set."""
    now = now or datetime.now(UTC)
    queued = 0
    for period, length in PERIODS.items():
        due = await db.fetch_all("SELECT user_id, digest_sent_at FROM mail_preference WHERE digest = ? "
                                 "AND digest_sent_at IS NOT NULL AND digest_sent_at <= ? LIMIT 500",
                                 [period, db.time_param(now - length)])
        for row in due:
            async with write_transaction() as conn:
                moved = await db.execute("UPDATE mail_preference SET digest_sent_at = ? WHERE user_id = ? "
                                         "AND digest_sent_at = ?", [db.time_param(now, conn), row["user_id"],
                                                                    row["digest_sent_at"]], conn)
                if moved:
                    since = db.as_datetime(row["digest_sent_at"])
                    await outbox.enqueue(conn, MailKind.DIGEST, user_id=row["user_id"],
                                         detail=f"{period}|{since.isoformat(timespec='seconds')}")
                    queued += 1
    return queued


async def compose_digest(row: dict, account: dict, ctx, conn):
    from forum.services.mail_choices import mail_choices

    period, _sep, since_text = row["detail"].partition("|")
    if (await mail_choices(account["id"], conn)).digest != period:
        raise Drop("turned off")
    since = datetime.fromisoformat(since_text)
    levels = readable_levels(viewer_of(account))
    marks = db.marks(len(levels))
    unread = await db.fetch_all(
        "SELECT t.id, t.title, COUNT(*) AS posts FROM notification n JOIN topic t ON t.id = n.topic_id "
        "JOIN category c ON c.id = t.category_id JOIN post p ON p.id = n.post_id "
        f"WHERE n.user_id = ? AND n.read_at IS NULL AND n.kind IN ('watched_topic', 'watched_category') "
        f"AND n.created_at >= ? AND t.deleted_at IS NULL AND c.read_access IN ({marks}) "
        "AND p.deleted_at IS NULL AND p.hidden_at IS NULL "
        "GROUP BY t.id, t.title ORDER BY MAX(n.created_at) DESC LIMIT ?",
        [account["id"], db.time_param(since, conn), *levels, MAX_TOPICS], conn)
    # solved since: the answer was accepted since then (whoever wrote it, however old: an asker accepting their
    # own answer, or one whose author has left, notifies no one)
    solved = await db.fetch_all(
        "SELECT t.id, t.title FROM topic t JOIN category_watch w ON w.category_id = t.category_id "
        "JOIN category c ON c.id = t.category_id JOIN post ap ON ap.id = t.accepted_post_id "
        f"WHERE w.user_id = ? AND {SOLVED_SQL} AND t.deleted_at IS NULL AND c.read_access IN ({marks}) "
        "AND ap.topic_id = t.id AND ap.deleted_at IS NULL AND ap.hidden_at IS NULL "
        "AND t.accepted_at >= ? ORDER BY t.id DESC LIMIT ?",
        [account["id"], *levels, db.time_param(since, conn), MAX_TOPICS], conn)
    if not unread and not solved:
        raise Drop("nothing new")
    lines = []
    if unread:
        lines.append(_("Unread in topics and categories you watch:"))
        lines += [f"• {r['title']} ({int(r['posts'])}): {ctx.url('topic_short', topic_id=r['id'])}" for r in unread]
    if solved:
        lines.append(_("Questions solved in categories you watch:"))
        lines += [f"• {r['title']}: {ctx.url('topic_short', topic_id=r['id'])}" for r in solved]
    return Composed(subject=_(_LABELS[period]), paragraphs=["\n".join(lines)], user_id=account["id"],
                    why=_("You get this mail because you chose a digest."), unsubscribe_scope="digest",
                    action=(_("Open the forum"), ctx.url("home")))
