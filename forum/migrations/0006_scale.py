"""Indexes found with EXPLAIN on PostgreSQL at 200,000 posts (docs/postgresql.md).

- topic (pinned_globally, last_posted_at): the home page's globally pinned topics were a sequential scan of
  topic, and the latest-topics list now walks this index backwards too;
- topic (category_id, pinned, last_posted_at): a category's pinned topics were found by filtering the whole
  category's index; its other topics walk this index as well.
Plain SQL that both SQLite and PostgreSQL run as is.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('models', '0005_security')]

    initial = False

    operations = [
        ops.RunSQL(
            [
                "CREATE INDEX topic_pinned_globally_last ON topic (pinned_globally, last_posted_at)",
                "CREATE INDEX topic_category_pinned_last ON topic (category_id, pinned, last_posted_at)",
            ],
            reverse_sql=[
                "DROP INDEX topic_pinned_globally_last",
                "DROP INDEX topic_category_pinned_last",
            ],
        ),
    ]
