"""OpenID Connect sign-in (issue 23): the provider account linked by issuer + subject, sign-ins under way
(single use, bound to the browser), and the sessions the provider started (for back-channel logout)."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0010_audit_reason_scrub')]

    initial = False

    operations = [
        ops.CreateModel(
            name='OidcIdentity',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_index=True, db_constraint=True, to_field='id', related_name='oidc_identities', on_delete=OnDelete.CASCADE)),
                ('issuer', fields.CharField(max_length=255)),
                ('subject', fields.CharField(max_length=255)),
                ('email_verified', fields.BooleanField(default=False)),
                ('staff_from_claim', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('last_sign_in_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'oidc_identity', 'app': 'models', 'unique_together': [('issuer', 'subject')], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OidcLoginAttempt',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('binding_hash', fields.CharField(max_length=64)),
                ('state_hash', fields.CharField(unique=True, max_length=64)),
                ('nonce', fields.CharField(max_length=64)),
                ('code_verifier', fields.CharField(max_length=128)),
                ('next_path', fields.CharField(default='', max_length=500)),
                ('link_user_id', fields.IntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('expires_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'oidc_login_attempt', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OidcSession',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('session', fields.OneToOneField('models.Session', source_field='session_id', db_constraint=True, to_field='id', related_name='oidc', on_delete=OnDelete.CASCADE)),
                ('identity', fields.ForeignKeyField('models.OidcIdentity', source_field='identity_id', db_index=True, db_constraint=True, to_field='id', related_name='sessions', on_delete=OnDelete.CASCADE)),
                ('sid', fields.CharField(null=True, db_index=True, max_length=255)),
            ],
            options={'table': 'oidc_session', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
