"""Sign-in throttling and password-reset tokens. Both are shared by every app process through the database."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class SignInThrottle(Model):
    # One row per throttled key: a SHA-256 of the normalised email ("account:...") or of the client address
    # ("address:..."). Keyed by the email as typed, never by the user, so a throttled unknown address answers
    # exactly like a throttled account. Times are Unix seconds, compared the same way on both databases.

    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=80, unique=True)
    failures = fields.IntField(default=0)
    last_failed_at = fields.FloatField(default=0)
    blocked_until = fields.FloatField(default=0, db_index=True)

    class Meta:
        table = "sign_in_throttle"


class PasswordResetToken(Model):
    # A single-use link sent by email. Only the SHA-256 of the token is stored; used_at marks it spent.

    id = fields.IntField(primary_key=True)
    user = fields.ForeignKeyField("models.User", related_name="reset_tokens", on_delete=fields.CASCADE, db_index=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField(db_index=True)
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "password_reset_token"


class RateCount(Model):
    # How often one account (or another key) did something in one fixed window: `window_start` is its start in
    # Unix seconds. Counted by an upsert that returns the new count, so parallel requests cannot all pass the
    # check (forum/services/rate_limits.py). Short-lived; `forum purge` deletes old windows.

    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=80)
    window_start = fields.BigIntField()
    hits = fields.IntField(default=0)

    class Meta:
        table = "rate_count"
        unique_together = (("key", "window_start"),)
