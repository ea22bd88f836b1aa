"""Moderation's tables (see moderation/models.py), and triggers that keep the audit log append-only.

The triggers make "nothing updates or deletes the audit log" a property of the database, not only of the code.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from moderation.models import CaseStatus, FlagReason, FlagStatus, SanctionKind, WordAction
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

SQLITE_UP = [
    "CREATE TRIGGER mod_audit_no_update BEFORE UPDATE ON mod_audit "
    "BEGIN SELECT RAISE(ABORT, 'mod_audit is append-only'); END",
    "CREATE TRIGGER mod_audit_no_delete BEFORE DELETE ON mod_audit "
    "BEGIN SELECT RAISE(ABORT, 'mod_audit is append-only'); END",
]
POSTGRES_UP = [
    "CREATE FUNCTION mod_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'mod_audit is append-only'; END $$",
    "CREATE TRIGGER mod_audit_no_change BEFORE UPDATE OR DELETE ON mod_audit "
    "FOR EACH ROW EXECUTE FUNCTION mod_audit_append_only()",
]
SQLITE_DOWN = ["DROP TRIGGER IF EXISTS mod_audit_no_update", "DROP TRIGGER IF EXISTS mod_audit_no_delete"]
POSTGRES_DOWN = ["DROP TRIGGER IF EXISTS mod_audit_no_change ON mod_audit",
                 "DROP FUNCTION IF EXISTS mod_audit_append_only()"]


async def forwards(apps, schema_editor) -> None:
    client = schema_editor.client
    for sql in SQLITE_UP if client.capabilities.dialect == "sqlite" else POSTGRES_UP:
        await client.execute_query(sql)


async def backwards(apps, schema_editor) -> None:
    client = schema_editor.client
    for sql in SQLITE_DOWN if client.capabilities.dialect == "sqlite" else POSTGRES_DOWN:
        await client.execute_query(sql)


class Migration(migrations.Migration):
    dependencies = [('models', '0003_consent')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AuditEntry',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('actor_id', fields.IntField(null=True)),
                ('action', fields.CharField(max_length=32)),
                ('target_kind', fields.CharField(max_length=16)),
                ('target_id', fields.IntField(null=True)),
                ('detail', fields.CharField(default='', max_length=100)),
                ('reason', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'mod_audit', 'app': 'models', 'indexes': [Index(fields=['target_kind', 'target_id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Case',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('post', fields.OneToOneField('models.Post', source_field='post_id', db_constraint=True, to_field='id', related_name='mod_case', on_delete=OnDelete.CASCADE)),
                ('status', fields.CharEnumField(default=CaseStatus.OPEN, description='OPEN: open\nCLOSED: closed', enum_type=CaseStatus, max_length=8)),
                ('score', fields.FloatField(default=0)),
                ('detector_reason', fields.CharField(null=True, max_length=32)),
                ('detector_kinds', fields.CharField(default='', max_length=200)),
                ('appeal_text', fields.TextField(null=True, unique=False)),
                ('appealed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('opened_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('resolved_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('resolution', fields.CharField(null=True, max_length=32)),
            ],
            options={'table': 'mod_case', 'app': 'models', 'indexes': [Index(fields=['status', 'score'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Flag',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('post', fields.ForeignKeyField('models.Post', source_field='post_id', db_index=True, db_constraint=True, to_field='id', related_name='mod_flags', on_delete=OnDelete.CASCADE)),
                ('reporter', fields.ForeignKeyField('models.User', source_field='reporter_id', null=True, db_index=True, db_constraint=True, to_field='id', related_name='mod_flags', on_delete=OnDelete.SET_NULL)),
                ('open_key', fields.CharField(null=True, unique=True, max_length=40)),
                ('reason', fields.CharEnumField(description='SPAM: spam\nABUSE: abuse\nOFF_TOPIC: off_topic\nPERSONAL_DATA: personal_data\nSECURITY: security\nOTHER: other', enum_type=FlagReason, max_length=16)),
                ('note', fields.TextField(default='', unique=False)),
                ('weight', fields.FloatField()),
                ('status', fields.CharEnumField(default=FlagStatus.OPEN, description='OPEN: open\nUPHELD: upheld\nREJECTED: rejected\nDISMISSED: dismissed', enum_type=FlagStatus, max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('resolved_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'mod_flag', 'app': 'models', 'indexes': [Index(fields=['post_id', 'status']), Index(fields=['reporter_id', 'created_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Sanction',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_index=True, db_constraint=True, to_field='id', related_name='mod_sanctions', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='SILENCE: silence\nSUSPEND: suspend', enum_type=SanctionKind, max_length=8)),
                ('reason', fields.TextField(default='', unique=False)),
                ('starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('lifted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'mod_sanction', 'app': 'models', 'indexes': [Index(fields=['user_id', 'ends_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='UserRecord',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.OneToOneField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='mod_record', on_delete=OnDelete.CASCADE)),
                ('flags_upheld', fields.IntField(default=0)),
                ('flags_rejected', fields.IntField(default=0)),
                ('posts_upheld', fields.IntField(default=0)),
                ('warnings', fields.IntField(default=0)),
                ('silences', fields.IntField(default=0)),
                ('suspensions', fields.IntField(default=0)),
            ],
            options={'table': 'mod_user_record', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WatchedWord',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('word', fields.CharField(unique=True, max_length=100)),
                ('action', fields.CharEnumField(description='BLOCK: block\nFLAG: flag\nCENSOR: censor', enum_type=WordAction, max_length=8)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'mod_watched_word', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.RunPython(forwards, backwards),
    ]
