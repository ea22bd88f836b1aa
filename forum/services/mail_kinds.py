"""Which of a member's mail choices covers each kind of notification (likes are never mailed).

A module of its own because both sides read it, with the choices as stored: the outbox, which queues and drops
mail by choice, and the choices (services/mail_choices.py), which drop queued mail through the outbox when a
member turns a kind off.
"""

from __future__ import annotations

from dataclasses import dataclass

from forum import db
from forum.models import NotificationKind

# the kinds a member chooses, each a column of mail_preference; explained on the settings page (mail_choices.py)
KINDS = ("reply", "mention", "quote", "accepted", "watched", "moderation")

KIND_OF_NOTIFICATION = {
    NotificationKind.REPLY.value: "reply",
    NotificationKind.MENTION.value: "mention",
    NotificationKind.QUOTE.value: "quote",
    NotificationKind.ACCEPTED.value: "accepted",
    NotificationKind.WATCHED_TOPIC.value: "watched",
    NotificationKind.WATCHED_CATEGORY.value: "watched",
    NotificationKind.MODERATION.value: "moderation",
}


@dataclass(frozen=True)
class MailChoices:
    kinds: dict[str, bool]
    digest: str
    offered: bool

    @property
    def any_on(self) -> bool:
        return any(self.kinds.values()) or self.digest != "off"


def choices_of(row) -> MailChoices:
    """`row`: a MailPreference, or its columns as a dict (mail_choices_for); None: no choice made (all off)."""
    if row is None:
        return MailChoices({k: False for k in KINDS}, "off", False)
    get = row.get if isinstance(row, dict) else lambda name: getattr(row, name)
    return MailChoices({k: bool(get(k)) for k in KINDS}, get("digest"), get("offered_at") is not None)


_CHOICES_SQL = (f"SELECT user_id, {', '.join(KINDS)}, digest, offered_at FROM mail_preference "
                "WHERE user_id IN ({in})")


async def mail_choices_for(user_ids, conn=None) -> dict[int, MailChoices]:
    """`mail_choices` of many members in one query (a batch of mail). Plain SQL: it runs inside every new post's
    write transaction (outbox.notifications_written), where the ORM's query building cost more than the read."""
    ids = sorted({int(u) for u in user_ids})
    rows = {r["user_id"]: r for r in await db.fetch_in(_CHOICES_SQL, ids, conn)} if ids else {}
    return {u: choices_of(rows.get(u)) for u in ids}
