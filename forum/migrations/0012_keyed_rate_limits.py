"""Rate limits keyed by HMACs and counted atomically.

The sign-in throttle keyed its rows by an unkeyed SHA-256 of the client address or email, which anyone holding
the table reverses for IPv4 by trying every address; its keys are now HMACs under the secret key. The old rows
are only short-lived counts of recent failures, so they are dropped rather than rewritten (they could not be:
the addresses are not known). Going back drops the new-style rows the same way.

`rate_count` counts per key and fixed window (previews per account) with an upsert that returns the count.
"""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


async def clear_throttle(apps, schema_editor) -> None:
    await schema_editor.client.execute_query("DELETE FROM sign_in_throttle")


class Migration(migrations.Migration):
    dependencies = [('models', '0011_name_history')]  # after main's 0016, 0017, 0011; the coordinator re-chains

    initial = False

    operations = [
        ops.RunPython(clear_throttle, clear_throttle),
        ops.CreateModel(
            name='RateCount',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key', fields.CharField(max_length=80)),
                ('window_start', fields.BigIntField()),
                ('hits', fields.IntField(default=0)),
            ],
            options={'table': 'rate_count', 'app': 'models', 'unique_together': [('key', 'window_start')],
                     'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
