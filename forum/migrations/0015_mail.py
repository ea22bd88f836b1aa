"""Mail (issue 21): the durable outbox, members' mail choices, address confirmation links, and
`account.email_verified_at`. Accounts that exist already count as confirmed (they signed in before this).

- mail_outbox_due: the worker's "what is due" scan reads only pending rows, in the order it sends them;
- mail_outbox_post: the withdrawal and visibility checks find a post's queued mail.
"""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


async def forwards(apps, schema_editor) -> None:
    await schema_editor.client.execute_query(
        "UPDATE account SET email_verified_at = created_at WHERE email_verified_at IS NULL")


async def backwards(apps, schema_editor) -> None:
    return None


class Migration(migrations.Migration):
    dependencies = [('models', '0013_name_claims')]

    initial = False

    operations = [
        ops.AddField(model_name='User', name='email_verified_at',
                     field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
        ops.RunPython(forwards, backwards),
        ops.CreateModel(
            name='MailOutbox',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharField(max_length=24)),
                ('user_id', fields.IntField(null=True, db_index=True)),
                ('to_address', fields.CharField(default='', max_length=254)),
                ('topic_id', fields.IntField(null=True)),
                ('post_id', fields.IntField(null=True)),
                ('detail', fields.CharField(default='', max_length=64)),
                ('message_id', fields.CharField(default='', max_length=255)),
                ('subject', fields.TextField(null=True, unique=False)),
                ('body_text', fields.TextField(null=True, unique=False)),
                ('body_html', fields.TextField(null=True, unique=False)),
                ('status', fields.CharField(default='pending', max_length=12)),
                ('attempts', fields.IntField(default=0)),
                ('not_before', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('give_up_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('lease_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('lease_token', fields.CharField(null=True, max_length=32)),
                ('last_error', fields.CharField(default='', max_length=255)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('done_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'mail_outbox', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MailPreference',
            fields=[
                ('user_id', fields.IntField(generated=False, primary_key=True, unique=True, db_index=True)),
                ('reply', fields.BooleanField(default=False)),
                ('mention', fields.BooleanField(default=False)),
                ('quote', fields.BooleanField(default=False)),
                ('accepted', fields.BooleanField(default=False)),
                ('watched', fields.BooleanField(default=False)),
                ('moderation', fields.BooleanField(default=False)),
                ('digest', fields.CharField(default='off', max_length=8)),
                ('digest_sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('offered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'mail_preference', 'app': 'models', 'pk_attr': 'user_id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='EmailToken',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user_id', fields.IntField(db_index=True)),
                ('purpose', fields.CharField(max_length=12)),
                ('new_email', fields.CharField(default='', max_length=254)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('expires_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'email_token', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.RunSQL(
            [
                "CREATE INDEX mail_outbox_due ON mail_outbox (not_before) WHERE status = 'pending'",
                "CREATE INDEX mail_outbox_post ON mail_outbox (post_id) WHERE status = 'pending'",
            ],
            reverse_sql=[
                "DROP INDEX mail_outbox_due",
                "DROP INDEX mail_outbox_post",
            ],
        ),
    ]
