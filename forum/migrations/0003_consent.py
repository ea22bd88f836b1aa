from tortoise import migrations
from tortoise.migrations import operations as ops
from forum.models.consent import ConsentAction
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0002_search')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ConsentEvent',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('subject_id', fields.IntField(db_index=True)),
                ('policy_version', fields.CharField(max_length=32)),
                ('text_sha256', fields.CharField(max_length=64)),
                ('locale', fields.CharField(max_length=8)),
                ('action', fields.CharEnumField(description='GRANTED: granted\nWITHDRAWN: withdrawn', enum_type=ConsentAction, max_length=16)),
                ('channel', fields.CharField(max_length=8)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'consent_event', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ConsentSubject',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.OneToOneField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='consent_subject', on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'consent_subject', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PolicyVersion',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('version', fields.CharField(unique=True, max_length=32)),
                ('text_nb', fields.TextField(unique=False)),
                ('text_en', fields.TextField(unique=False)),
                ('sha256_nb', fields.CharField(max_length=64)),
                ('sha256_en', fields.CharField(max_length=64)),
                ('published_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('requires_reconsent', fields.BooleanField(default=False)),
            ],
            options={'table': 'policy_version', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
