"""Pending uploads (issue 22): files processed for a post not yet written (the API's upload-then-attach, and a
composer sent back with its files), owned by their uploader until attached, purged when expired.

- pending_upload.expires_at: the purge reads only expired rows.
"""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('models', '0022_accepted_at')]

    initial = False

    operations = [
        ops.CreateModel(
            name='PendingUpload',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('token', fields.CharField(unique=True, max_length=32)),
                ('user_id', fields.IntField(db_index=True)),
                ('kind', fields.CharField(max_length=8)),
                ('media_type', fields.CharField(max_length=32)),
                ('size', fields.IntField()),
                ('width', fields.IntField(null=True)),
                ('height', fields.IntField(null=True)),
                ('alt', fields.TextField(default='', unique=False)),
                ('data', fields.BinaryField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False, db_index=True)),
            ],
            options={'table': 'pending_upload', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
