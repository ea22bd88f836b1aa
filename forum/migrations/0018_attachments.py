"""Attachments (issue 22): files of posts, with their bytes in the row, and the OCR queue on the same table.

- attachment_ocr_due: the OCR worker's "what is due" scan reads only pending rows, in the order it reads them.
"""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('models', '0014_page_versions')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Attachment',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('token', fields.CharField(unique=True, max_length=32)),
                ('post', fields.ForeignKeyField('models.Post', source_field='post_id', db_constraint=True,
                                                to_field='id', related_name='attachments',
                                                on_delete=OnDelete.CASCADE, db_index=True)),
                ('author_id', fields.IntField(null=True, db_index=True)),
                ('kind', fields.CharField(max_length=8)),
                ('media_type', fields.CharField(max_length=32)),
                ('size', fields.IntField()),
                ('width', fields.IntField(null=True)),
                ('height', fields.IntField(null=True)),
                ('alt', fields.TextField(default='', unique=False)),
                ('data', fields.BinaryField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('removed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('hidden_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('hidden_kinds', fields.CharField(default='', max_length=200)),
                ('ocr_state', fields.CharField(default='none', max_length=12)),
                ('ocr_text', fields.TextField(null=True, unique=False)),
                ('ocr_attempts', fields.IntField(default=0)),
                ('ocr_not_before', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('lease_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('lease_token', fields.CharField(null=True, max_length=32)),
            ],
            options={'table': 'attachment', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.RunSQL(
            ["CREATE INDEX attachment_ocr_due ON attachment (ocr_not_before) WHERE ocr_state = 'pending'"],
            reverse_sql=["DROP INDEX attachment_ocr_due"],
        ),
    ]
