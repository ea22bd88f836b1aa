"""Indexes that keep a consent withdrawal's cost independent of the database's size.

- post_revision (editor_id): the withdrawn user stops being anyone's editor without a scan of every revision;
- notification (id) WHERE message <> '': only moderation notices carry free text, and a withdrawal scrubs the
  user's name from those without reading the millions of notifications that have none.
Plain SQL that both SQLite and PostgreSQL run as is.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('models', '0006_scale')]

    initial = False

    operations = [
        ops.RunSQL(
            [
                "CREATE INDEX post_revision_editor ON post_revision (editor_id)",
                "CREATE INDEX notification_with_message ON notification (id) WHERE message <> ''",
            ],
            reverse_sql=[
                "DROP INDEX post_revision_editor",
                "DROP INDEX notification_with_message",
            ],
        ),
    ]
