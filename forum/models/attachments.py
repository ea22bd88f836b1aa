"""Files attached to posts (issue 22): screenshots re-encoded at upload, plain text files (logs, exports)."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Attachment(Model):
    # One uploaded file of one post. The bytes live in the row (`data`), so the post and its files commit, back up
    # and are deleted together (README, "Attachments: where the bytes are"). Read with explicit columns
    # (forum.services.attachments): the ORM would load the bytes with every row.

    id = fields.IntField(primary_key=True)
    token = fields.CharField(max_length=32, unique=True)    # the file's name in its URL; never the user's file name
    post = fields.ForeignKeyField("models.Post", related_name="attachments", on_delete=fields.CASCADE,
                                  db_index=True)
    author_id = fields.IntField(null=True, db_index=True)
    kind = fields.CharField(max_length=8)                     # image, text
    media_type = fields.CharField(max_length=32)              # sniffed from the bytes, never the client's
    size = fields.IntField()
    width = fields.IntField(null=True)
    height = fields.IntField(null=True)
    alt = fields.TextField(default="")
    data = fields.BinaryField(null=True)                      # NULL once removed (withdrawal)
    created_at = fields.DatetimeField(auto_now_add=True)
    removed_at = fields.DatetimeField(null=True)
    hidden_at = fields.DatetimeField(null=True)               # OCR found personal data in the picture
    hidden_kinds = fields.CharField(max_length=200, default="")
    ocr_state = fields.CharField(max_length=12, default="none")   # none, pending, done, failed
    ocr_text = fields.TextField(null=True)                    # kept only while the picture exists (review, withdrawal)
    ocr_attempts = fields.IntField(default=0)
    ocr_not_before = fields.DatetimeField(null=True)
    lease_until = fields.DatetimeField(null=True)
    lease_token = fields.CharField(max_length=32, null=True)

    class Meta:
        table = "attachment"


class PendingUpload(Model):
    # A file processed for a post not yet written (issue 22): uploaded through the API before the topic or reply
    # that attaches it, or kept from a composer the forum sent back (an empty text, a warning to confirm), since a
    # browser without JavaScript cannot send its files again. Owned by its uploader, attached once (the row moves
    # to `attachment` with the same token), purged when it expires, deleted at withdrawal and erasure.

    id = fields.IntField(primary_key=True)
    token = fields.CharField(max_length=32, unique=True)
    user_id = fields.IntField(db_index=True)
    kind = fields.CharField(max_length=8)
    media_type = fields.CharField(max_length=32)
    size = fields.IntField()
    width = fields.IntField(null=True)
    height = fields.IntField(null=True)
    alt = fields.TextField(default="")
    data = fields.BinaryField()
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "pending_upload"
