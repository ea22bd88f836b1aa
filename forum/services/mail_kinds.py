"""Which of a member's mail choices covers each kind of notification (likes are never mailed).

A module of its own because both sides read it: the outbox, which queues and drops mail by choice, and the
choices (services/mail_choices.py), which drop queued mail through the outbox when a member turns a kind off.
"""

from __future__ import annotations

from forum.models import NotificationKind

KIND_OF_NOTIFICATION = {
    NotificationKind.REPLY.value: "reply",
    NotificationKind.MENTION.value: "mention",
    NotificationKind.QUOTE.value: "quote",
    NotificationKind.ACCEPTED.value: "accepted",
    NotificationKind.WATCHED_TOPIC.value: "watched",
    NotificationKind.WATCHED_CATEGORY.value: "watched",
    NotificationKind.MODERATION.value: "moderation",
}
