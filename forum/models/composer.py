"""What a member has written in a composer and not yet posted (forum/services/composer_drafts.py)."""

from tortoise import fields
from tortoise.models import Model


class ComposerDraft(Model):
    # One per member and slot: "new" (the new-topic composer, with its category and kind) or "topic:<id>"
    # (a reply to that topic). Personal data of the member alone: nobody else reads it, not even staff.

    id = fields.BigIntField(primary_key=True)
    user_id = fields.IntField(db_index=True)
    slot = fields.CharField(max_length=24)
    topic_id = fields.IntField(null=True)
    category_id = fields.IntField(null=True)
    title = fields.TextField(default="")
    body = fields.TextField(default="")
    kind = fields.CharField(max_length=12, default="")
    updated_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "composer_draft"
        unique_together = (("user_id", "slot"),)
