"""Consent per purpose, with signed receipts (issue 24).

- `policy_version.purpose` and `consent_event.purpose`: each purpose (taking part, mail about forum activity, any
  added later) has its own versioned texts and its own decisions in the one ledger; a version is unique per
  purpose. Existing rows are the "forum" purpose.
- `consent_event.basis`: "consent" (art. 6(1)(a)) or "employment" (staff taking part as part of their work).
- `consent_subject.pseudonym`: the random id receipts carry instead of the email or account id.
- `consent_receipt`: the signed receipt of each event; `receipt_key`: the keys that sign them.

The column changes are plain SQL with database defaults (so rows written by raw SQL, such as the benchmark's seed,
get them too); Tortoise's own AlterField would rebuild SQLite tables and lose their indexes. The `*State`
operations below tell the migration state what the SQL did.
"""

import uuid

from tortoise import fields, migrations
from tortoise.migrations import operations as ops
from tortoise.migrations.constraints import UniqueConstraint

from forum.models.consent import ConsentAction, LegalBasis


class _StateOnly:
    async def database_forward(self, *args, **kwargs) -> None:
        return None

    async def database_backward(self, *args, **kwargs) -> None:
        return None


class AddFieldState(_StateOnly, ops.AddField):
    pass


class AlterFieldState(_StateOnly, ops.AlterField):
    pass


class AddConstraintState(_StateOnly, ops.AddConstraint):
    pass


COMMON_UP = [
    "ALTER TABLE consent_event ADD COLUMN purpose VARCHAR(32) NOT NULL DEFAULT 'forum'",
    "ALTER TABLE consent_event ADD COLUMN basis VARCHAR(16) NOT NULL DEFAULT 'consent'",
    "ALTER TABLE consent_subject ADD COLUMN pseudonym VARCHAR(36)",
]
SQLITE_POLICY = [
    # SQLite cannot drop a column's UNIQUE: the table is rebuilt, with its index
    'CREATE TABLE "policy_version_new" ("id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, '
    '"purpose" VARCHAR(32) NOT NULL DEFAULT \'forum\', "version" VARCHAR(32) NOT NULL, "text_nb" TEXT NOT NULL, '
    '"text_en" TEXT NOT NULL, "sha256_nb" VARCHAR(64) NOT NULL, "sha256_en" VARCHAR(64) NOT NULL, '
    '"published_at" TIMESTAMP NOT NULL, "requires_reconsent" INT NOT NULL)',
    "INSERT INTO policy_version_new (id, version, text_nb, text_en, sha256_nb, sha256_en, published_at, "
    "requires_reconsent) SELECT id, version, text_nb, text_en, sha256_nb, sha256_en, published_at, "
    "requires_reconsent FROM policy_version",
    "DROP TABLE policy_version",
    "ALTER TABLE policy_version_new RENAME TO policy_version",
    'CREATE INDEX "idx_policy_vers_publish_ec1ef5" ON "policy_version" ("published_at")',
]
POSTGRES_POLICY = [
    "ALTER TABLE policy_version DROP CONSTRAINT policy_version_version_key",
    "ALTER TABLE policy_version ADD COLUMN purpose VARCHAR(32) NOT NULL DEFAULT 'forum'",
]
COMMON_AFTER = [
    "CREATE UNIQUE INDEX consent_subject_pseudonym ON consent_subject (pseudonym)",
    "CREATE UNIQUE INDEX policy_version_purpose_version ON policy_version (purpose, version)",
    "CREATE INDEX consent_event_subject_purpose ON consent_event (subject_id, purpose, id)",
]


async def forwards(apps, schema_editor) -> None:
    client = schema_editor.client
    sqlite = client.capabilities.dialect == "sqlite"
    for sql in COMMON_UP + (SQLITE_POLICY if sqlite else POSTGRES_POLICY):
        await client.execute_script(sql)
    _, rows = await client.execute_query("SELECT id FROM consent_subject WHERE pseudonym IS NULL")
    update = ("UPDATE consent_subject SET pseudonym = ? WHERE id = ?" if sqlite
              else "UPDATE consent_subject SET pseudonym = $1 WHERE id = $2")
    for row in rows:  # each existing subject gets its random pseudonym
        await client.execute_query(update, [str(uuid.uuid4()), row["id"]])
    if not sqlite:
        await client.execute_script("ALTER TABLE consent_subject ALTER COLUMN pseudonym SET NOT NULL")
    for sql in COMMON_AFTER:
        await client.execute_script(sql)


async def backwards(apps, schema_editor) -> None:
    client = schema_editor.client
    sqlite = client.capabilities.dialect == "sqlite"
    for sql in ("DROP INDEX consent_event_subject_purpose", "DROP INDEX policy_version_purpose_version",
                "DROP INDEX consent_subject_pseudonym"):
        await client.execute_script(sql)
    # only the forum purpose existed before: other purposes' texts and decisions go with the columns
    await client.execute_script("DELETE FROM consent_event WHERE purpose <> 'forum' OR basis <> 'consent'")
    await client.execute_script("DELETE FROM policy_version WHERE purpose <> 'forum'")
    for table, column in (("consent_event", "purpose"), ("consent_event", "basis"),
                          ("consent_subject", "pseudonym"), ("policy_version", "purpose")):
        await client.execute_script(f"ALTER TABLE {table} DROP COLUMN {column}")
    if sqlite:
        await client.execute_script('CREATE UNIQUE INDEX "policy_version_version" ON "policy_version" ("version")')
    else:
        await client.execute_script("ALTER TABLE policy_version ADD CONSTRAINT policy_version_version_key "
                                    "UNIQUE (version)")


class Migration(migrations.Migration):
    dependencies = [('models', '0016_oidc')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ConsentReceipt',
            fields=[
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=36)),
                ('event_id', fields.IntField(unique=True)),
                ('subject_id', fields.IntField(db_index=True)),
                ('purpose', fields.CharField(max_length=32)),
                ('action', fields.CharEnumField(description='GRANTED: granted\nWITHDRAWN: withdrawn',
                                                enum_type=ConsentAction, max_length=16)),
                ('jws', fields.TextField(unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'consent_receipt', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ReceiptKey',
            fields=[
                ('kid', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('public_jwk', fields.TextField(unique=False)),
                ('private_jwk', fields.TextField(unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('retired_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'receipt_key', 'app': 'models', 'pk_attr': 'kid'},
            bases=['Model'],
        ),
        ops.RunPython(forwards, backwards),
        AddFieldState(model_name='ConsentEvent', name='basis', field=fields.CharEnumField(
            default=LegalBasis.CONSENT, description='CONSENT: consent\nEMPLOYMENT: employment',
            enum_type=LegalBasis, max_length=16)),
        AddFieldState(model_name='ConsentEvent', name='purpose', field=fields.CharField(default='forum',
                                                                                         max_length=32)),
        AddFieldState(model_name='ConsentSubject', name='pseudonym', field=fields.CharField(unique=True,
                                                                                             max_length=36)),
        AlterFieldState(model_name='PolicyVersion', name='version', field=fields.CharField(max_length=32)),
        AddFieldState(model_name='PolicyVersion', name='purpose', field=fields.CharField(
            default='forum', db_index=True, max_length=32)),
        AddConstraintState(model_name='PolicyVersion',
                           constraint=UniqueConstraint(fields=('purpose', 'version'), name=None)),
    ]
