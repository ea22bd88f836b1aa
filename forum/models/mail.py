"""Mail: the durable outbox, each member's mail choices, and the single-use links sent to an address."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class MailKind(StrEnum):
    VERIFY = "verify"                    # confirm the address of a new account
    REGISTER_EXISTS = "register_exists"  # someone tried to register with an address that has an account
    RESET_REQUEST = "reset_request"      # a password reset was asked: the account's id (none for an unknown address)
    EMAIL_CHANGE = "email_change"        # confirm a new address before it replaces the old one
    NOTIFICATION = "notification"        # one notification (reply, mention, ...), rendered when it is sent
    DIGEST = "digest"                    # a daily or weekly digest, rendered when it is sent
    FANOUT = "fanout"                    # a post's notifications: the worker turns it into one mail per recipient


class MailStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"     # gave up (a permanent refusal, or the retry window ran out); `last_error` says why
    DROPPED = "dropped"   # nothing to send any more (read meanwhile, mail turned off, no longer visible)


class MailOutbox(Model):
    # One mail to send. Written in the transaction of the event that causes it; a worker claims it with a lease
    # (`lease_until`, `lease_token`), sends it, and records the outcome. Token mails keep their rendered body
    # until delivered or given up; activity mails are rendered at each attempt from what the recipient may read.

    id = fields.BigIntField(primary_key=True)
    kind = fields.CharField(max_length=24)
    user_id = fields.IntField(null=True, db_index=True)     # the recipient's account, when there is one
    to_address = fields.CharField(max_length=254, default="")
    topic_id = fields.IntField(null=True)
    post_id = fields.IntField(null=True)
    detail = fields.CharField(max_length=64, default="")     # a notification's kind, a digest's period
    message_id = fields.CharField(max_length=255, default="")
    subject = fields.TextField(null=True)
    body_text = fields.TextField(null=True)
    body_html = fields.TextField(null=True)
    status = fields.CharField(max_length=12, default=MailStatus.PENDING.value)
    attempts = fields.IntField(default=0)
    not_before = fields.DatetimeField()
    give_up_at = fields.DatetimeField()
    lease_until = fields.DatetimeField(null=True)
    lease_token = fields.CharField(max_length=32, null=True)
    last_error = fields.CharField(max_length=255, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    done_at = fields.DatetimeField(null=True)

    class Meta:
        table = "mail_outbox"


class MailPreference(Model):
    # A member's mail choices, all off until they turn them on. Deleted when they withdraw participation.

    user_id = fields.IntField(primary_key=True, generated=False)
    reply = fields.BooleanField(default=False)
    mention = fields.BooleanField(default=False)
    quote = fields.BooleanField(default=False)
    accepted = fields.BooleanField(default=False)
    watched = fields.BooleanField(default=False)
    moderation = fields.BooleanField(default=False)
    digest = fields.CharField(max_length=8, default="off")   # off, daily, weekly
    digest_sent_at = fields.DatetimeField(null=True)
    offered_at = fields.DatetimeField(null=True)              # the one-time offer after a first reply
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "mail_preference"


class EmailToken(Model):
    # A single-use link sent to an address: confirming a new account's address, or a new address. SHA-256 only.

    id = fields.IntField(primary_key=True)
    user_id = fields.IntField(db_index=True)
    purpose = fields.CharField(max_length=12)       # verify, change
    new_email = fields.CharField(max_length=254, default="")
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField(db_index=True)
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "email_token"
