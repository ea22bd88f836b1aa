"""Moderation's own tables: flags, review cases, per-account records, sanctions, watched words, the audit log.

What links to what is deliberate. Records about a person as an author hang off the account (user id) and
never off their post ids, so withdrawing consent (which unlinks posts from the account) leaves no path from
a person to their old posts through moderation. Cases and flags hang off posts and name no author. The audit
log holds plain ids, no foreign keys, so erasing an account never updates or deletes a log row.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class FlagReason(StrEnum):
    SPAM = "spam"
    ABUSE = "abuse"
    OFF_TOPIC = "off_topic"
    PERSONAL_DATA = "personal_data"
    SECURITY = "security"
    OTHER = "other"


class FlagStatus(StrEnum):
    OPEN = "open"
    UPHELD = "upheld"
    REJECTED = "rejected"
    DISMISSED = "dismissed"


class CaseStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class SanctionKind(StrEnum):
    SILENCE = "silence"
    SUSPEND = "suspend"


class WordAction(StrEnum):
    BLOCK = "block"
    FLAG = "flag"
    CENSOR = "censor"


class Flag(Model):
    # one member's report on one post; the reporter is unlinked (NULL) when they withdraw or are erased
    id = fields.IntField(primary_key=True)
    post = fields.ForeignKeyField("models.Post", related_name="mod_flags", on_delete=fields.CASCADE, db_index=True)
    reporter = fields.ForeignKeyField("models.User", related_name="mod_flags", null=True,
                                      on_delete=fields.SET_NULL, db_index=True)
    # "post:reporter" while open, NULL once resolved: one open flag per user and post, kept by the database
    open_key = fields.CharField(max_length=40, null=True, unique=True)
    reason = fields.CharEnumField(FlagReason, max_length=16)
    note = fields.TextField(default="")
    weight = fields.FloatField()
    status = fields.CharEnumField(FlagStatus, max_length=16, default=FlagStatus.OPEN)
    created_at = fields.DatetimeField(auto_now_add=True)
    resolved_at = fields.DatetimeField(null=True)

    class Meta:
        table = "mod_flag"
        indexes = [("post_id", "status"), ("reporter_id", "created_at")]


class Case(Model):
    # a post in (or once in) the review queue: open flags, a detector hold, watched words or an appeal
    id = fields.IntField(primary_key=True)
    post = fields.OneToOneField("models.Post", related_name="mod_case", on_delete=fields.CASCADE)
    status = fields.CharEnumField(CaseStatus, max_length=8, default=CaseStatus.OPEN)
    score = fields.FloatField(default=0)
    # what the detectors found: reason (personal_data, security, watched_word) and kinds, never the values
    detector_reason = fields.CharField(max_length=32, null=True)
    detector_kinds = fields.CharField(max_length=200, default="")
    appeal_text = fields.TextField(null=True)
    appealed_at = fields.DatetimeField(null=True)
    opened_at = fields.DatetimeField()
    resolved_at = fields.DatetimeField(null=True)
    resolution = fields.CharField(max_length=32, null=True)

    class Meta:
        table = "mod_case"
        indexes = [("status", "score")]


class UserRecord(Model):
    # per-account counters; no post ids here, so they survive withdrawal without linking a person to posts
    id = fields.IntField(primary_key=True)
    user = fields.OneToOneField("models.User", related_name="mod_record", on_delete=fields.CASCADE)
    flags_upheld = fields.IntField(default=0)
    flags_rejected = fields.IntField(default=0)
    posts_upheld = fields.IntField(default=0)
    warnings = fields.IntField(default=0)
    silences = fields.IntField(default=0)
    suspensions = fields.IntField(default=0)

    class Meta:
        table = "mod_user_record"


class Sanction(Model):
    # a silence (may read; may not post, like, flag or change the profile) or a suspension (may not sign in)
    # until ends_at
    id = fields.IntField(primary_key=True)
    user = fields.ForeignKeyField("models.User", related_name="mod_sanctions", on_delete=fields.CASCADE,
                                  db_index=True)
    kind = fields.CharEnumField(SanctionKind, max_length=8)
    reason = fields.TextField(default="")
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    lifted_at = fields.DatetimeField(null=True)

    class Meta:
        table = "mod_sanction"
        indexes = [("user_id", "ends_at")]


class WatchedWord(Model):
    id = fields.IntField(primary_key=True)
    # casefolded word or phrase, matched on word boundaries
    word = fields.CharField(max_length=100, unique=True)
    action = fields.CharEnumField(WordAction, max_length=8)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "mod_watched_word"


class AuditEntry(Model):
    # append-only: inserted by moderation, never updated or deleted (triggers refuse both)
    # plain ids, not foreign keys: erasing an account must not touch these rows
    id = fields.IntField(primary_key=True)
    actor_id = fields.IntField(null=True)
    action = fields.CharField(max_length=32)
    target_kind = fields.CharField(max_length=16)
    target_id = fields.IntField(null=True)
    # structured detail only (a flag reason code, an end date, a word action), never names or post text
    detail = fields.CharField(max_length=100, default="")
    reason = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "mod_audit"
        indexes = [("target_kind", "target_id")]
