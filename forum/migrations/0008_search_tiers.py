"""The search index in two tiers by post id (see forum/services/search.py): recent and older.

- `search_tier`: one row, `recent_from`, the first post id of the recent tier. It only ever grows.
- SQLite: `search_recent`, an FTS5 table like `search_index` (same tokenizer and prefix indexes), holds the
  recent tier; `search_index` keeps the older one. The newest 10,000 posts' entries move over here.
- PostgreSQL: one table for both tiers, so only the boundary is added.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

RECENT_POSTS = 10_000  # forum.services.search.RECENT_POSTS's default, fixed here as migrations are

TIER = "CREATE TABLE search_tier (id INTEGER PRIMARY KEY CHECK (id = 1), recent_from BIGINT NOT NULL)"
SQLITE_UP = [
    "CREATE VIRTUAL TABLE search_recent USING fts5(title, body, "
    "tokenize=\"unicode61 remove_diacritics 0\", prefix='3 4')",
    TIER,
    f"INSERT INTO search_tier (id, recent_from) SELECT 1, max(1, coalesce(max(id), 0) - {RECENT_POSTS} + 1) FROM post",
    "INSERT INTO search_recent (rowid, title, body) SELECT rowid, title, body FROM search_index "
    "WHERE rowid >= (SELECT recent_from FROM search_tier)",
    "DELETE FROM search_index WHERE rowid >= (SELECT recent_from FROM search_tier)",
]
POSTGRES_UP = [
    TIER,
    f"INSERT INTO search_tier (id, recent_from) SELECT 1, GREATEST(1, coalesce(max(id), 0) - {RECENT_POSTS} + 1) "
    "FROM post",
]
SQLITE_DOWN = [
    "INSERT INTO search_index (rowid, title, body) SELECT rowid, title, body FROM search_recent",
    "DROP TABLE search_recent",
    "DROP TABLE search_tier",
]
POSTGRES_DOWN = ["DROP TABLE search_tier"]


async def forwards(apps, schema_editor) -> None:
    client = schema_editor.client
    for sql in SQLITE_UP if client.capabilities.dialect == "sqlite" else POSTGRES_UP:
        await client.execute_query(sql)


async def backwards(apps, schema_editor) -> None:
    client = schema_editor.client
    for sql in SQLITE_DOWN if client.capabilities.dialect == "sqlite" else POSTGRES_DOWN:
        await client.execute_query(sql)


class Migration(migrations.Migration):
    dependencies = [("models", "0007_withdrawal_indexes")]

    operations = [ops.RunPython(forwards, backwards)]
