"""A user's notifications, unread and read, are each read newest first from an index.

The notifications list sorted all of a user's notifications for every page (200 ms for one with 115,000): its
unread-first order is a CASE no index serves. It now reads two halves in index order, each stopping at the
page's size:
- unread: `notification_user_unread (user_id, created_at) WHERE read_at IS NULL`, a partial index that also
  serves the unread count of every signed-in request, marking read and batching likes;
- all: `notification_user_newest (user_id, created_at, id)`, read newest first for the read half.
They replace `(user_id, read_at, created_at)`, so a notification is still written to as many indexes as before
(a read one to one fewer). Plain SQL that both SQLite and PostgreSQL run as is.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('models', '0008_search_tiers')]

    initial = False

    operations = [
        ops.RemoveIndex(model_name='Notification', fields=['user_id', 'read_at', 'created_at']),
        ops.RunSQL(
            [
                "CREATE INDEX notification_user_unread ON notification (user_id, created_at) WHERE read_at IS NULL",
                "CREATE INDEX notification_user_newest ON notification (user_id, created_at, id)",
            ],
            reverse_sql=[
                "DROP INDEX notification_user_unread",
                "DROP INDEX notification_user_newest",
            ],
        ),
    ]
