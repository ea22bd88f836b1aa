"""Findable (issue 26): on PostgreSQL, `topic.changed_at` is stamped when the change commits, in commit order.

0020 stamps `changed_at` when the statement runs. A PostgreSQL transaction may commit long after (a withdrawal
rewrites many topics in one transaction), behind changes stamped later that committed first, so a crawler that
kept the latest `lastmod` it saw as a watermark would skip it, and the sitemap index's validator (a maximum) would
not move. Here a deferred constraint trigger stamps each changed row again just before its transaction commits,
after taking a transaction-scoped advisory lock that is released only once the commit is visible: a transaction
stamps only after every transaction that stamped before it has committed, so stamps follow commit order and the
largest one a reader sees is a true watermark. The cost: the commits of topic changes queue behind one another
(each holds the lock for its own commit: the re-stamp of its rows and the WAL flush), and each changed topic row
is written once more at commit.

SQLite needs nothing: it has one writer, so a transaction writes (and stamps) only after the one before committed.
The second UPDATE names only `changed_at`, which neither this trigger (`UPDATE OF` its columns), 0020's nor
0014's watch, so it fires nothing further.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

# the columns whose change 0020 stamps (forum/migrations/0020_findable.py TOPIC_CHANGES)
TOPIC_CHANGES = ("version", "title", "slug", "kind", "locked", "category_id", "deleted_at", "accepted_post_id")
LOCK_KEY = 26_0021  # pg_advisory_xact_lock key: the commit order of topic changes

POSTGRES_UP = [
    f"""CREATE FUNCTION topic_changed_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
      PERFORM pg_advisory_xact_lock({LOCK_KEY});
      UPDATE topic SET changed_at = clock_timestamp() WHERE id = NEW.id;
      RETURN NULL; END $$""",
    "CREATE CONSTRAINT TRIGGER topic_changed_at_commit_insert AFTER INSERT ON topic "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION topic_changed_at_commit()",
    f"CREATE CONSTRAINT TRIGGER topic_changed_at_commit_update AFTER UPDATE OF {', '.join(TOPIC_CHANGES)} ON topic "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN ("
    + " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in TOPIC_CHANGES)
    + ") EXECUTE FUNCTION topic_changed_at_commit()",
]
POSTGRES_DOWN = [
    "DROP TRIGGER topic_changed_at_commit_update ON topic",
    "DROP TRIGGER topic_changed_at_commit_insert ON topic",
    "DROP FUNCTION topic_changed_at_commit()",
]


async def forwards(apps, schema_editor) -> None:
    client = schema_editor.client
    if client.capabilities.dialect != "sqlite":
        for sql in POSTGRES_UP:
            await client.execute_script(sql)


async def backwards(apps, schema_editor) -> None:
    client = schema_editor.client
    if client.capabilities.dialect != "sqlite":
        for sql in POSTGRES_DOWN:
            await client.execute_script(sql)


class Migration(migrations.Migration):
    dependencies = [('models', '0020_findable')]

    initial = False

    operations = [ops.RunPython(forwards, backwards)]
