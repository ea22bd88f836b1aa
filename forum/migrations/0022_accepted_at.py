"""When a topic's answer was accepted (issue 21): the digest's "solved since the last digest" reads it, so an
old answer accepted later (by the asker, which notifies no one) is still news. Set when an answer is accepted,
cleared when it is taken back or its post deleted (forum/services/answers.py, posts.py).

Existing accepted topics get their answer's time, the best the data knows. Plain ALTER TABLE as in 0020 (on
SQLite, Tortoise's own column removal rebuilds the table and would drop 0020's trigger and index); the `*State`
operation tells the migration state what the SQL did.
"""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

BACKFILL = ("UPDATE topic SET accepted_at = (SELECT p.created_at FROM post p WHERE p.id = topic.accepted_post_id) "
            "WHERE accepted_post_id IS NOT NULL")


async def forwards(apps, schema_editor) -> None:
    client = schema_editor.client
    kind = "TIMESTAMP" if client.capabilities.dialect == "sqlite" else "TIMESTAMPTZ"
    await client.execute_script(f"ALTER TABLE topic ADD COLUMN accepted_at {kind}")
    await client.execute_script(BACKFILL)


async def backwards(apps, schema_editor) -> None:
    await schema_editor.client.execute_script("ALTER TABLE topic DROP COLUMN accepted_at")


class AddFieldState(ops.AddField):
    async def database_forward(self, *args, **kwargs) -> None:
        return None

    async def database_backward(self, *args, **kwargs) -> None:
        return None


class Migration(migrations.Migration):
    dependencies = [('models', '0021_findable_commit_order')]

    initial = False

    operations = [
        ops.RunPython(forwards, backwards),
        AddFieldState(model_name='Topic', name='accepted_at', field=fields.DatetimeField(null=True)),
    ]
