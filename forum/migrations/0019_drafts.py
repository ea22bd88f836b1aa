"""The composer (issue 25): drafts kept on the server, and Norwegian stems in the search index.

- `composer_draft`: one row per member and slot ("new" for a new topic, "topic:<id>" for a reply), the text
  as last saved (forum/services/composer_drafts.py). Personal data: deleted at withdrawal and erasure, after
  FORUM_DRAFT_RETENTION_DAYS by `forum purge`, and in the member's export.
- The search index gets `title_stems` and `body_stems` (forum/services/stemming.py), filled here for the posts
  already indexed. SQLite's FTS5 tables cannot gain columns, so each tier's table is built anew and renamed;
  PostgreSQL's generated tsvector is rebuilt to hold the stems with the words.
"""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

FTS = ("CREATE VIRTUAL TABLE {table} USING fts5(title, body{stems}, "
       "tokenize=\"unicode61 remove_diacritics 0\", prefix='3 4')")
_BATCH = 2_000

PG_TSV = """ALTER TABLE search_index ADD COLUMN tsv tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('simple', coalesce(title, '') || ' ' || coalesce(title_stems, '')), 'A')
    || setweight(to_tsvector('simple', body || ' ' || coalesce(body_stems, '')), 'B')
) STORED"""
PG_TSV_BEFORE = """ALTER TABLE search_index ADD COLUMN tsv tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('simple', coalesce(title, '')), 'A') || setweight(to_tsvector('simple', body), 'B')
) STORED"""


async def _copy_stemmed(client, source: str, target: str, key: str, insert: str) -> None:
    from forum.services.stemming import stems_text

    after = -1
    while True:
        rows = await client.execute_query_dict(
            f"SELECT {key} AS id, title, body FROM {source} WHERE {key} > {int(after)} ORDER BY {key} LIMIT {_BATCH}")
        if not rows:
            return
        await client.execute_many(insert.format(table=target), [
            [r["id"], r["title"] or "", r["body"], stems_text(r["title"] or ""), stems_text(r["body"])] for r in rows])
        after = rows[-1]["id"]


async def forwards(apps, schema_editor) -> None:
    client = schema_editor.client
    if client.capabilities.dialect == "sqlite":
        for table in ("search_recent", "search_index"):
            await client.execute_query(FTS.format(table=f"{table}_stemmed", stems=", title_stems, body_stems"))
            await _copy_stemmed(client, table, f"{table}_stemmed", "rowid",
                                "INSERT INTO {table} (rowid, title, body, title_stems, body_stems) "
                                "VALUES (?, ?, ?, ?, ?)")
            await client.execute_query(f"DROP TABLE {table}")
            await client.execute_query(f"ALTER TABLE {table}_stemmed RENAME TO {table}")
        return
    await client.execute_query("DROP INDEX search_index_tsv")
    await client.execute_query("ALTER TABLE search_index DROP COLUMN tsv")
    await client.execute_query("ALTER TABLE search_index ADD COLUMN title_stems TEXT NOT NULL DEFAULT '', "
                               "ADD COLUMN body_stems TEXT NOT NULL DEFAULT ''")
    await _copy_stemmed(client, "search_index", "search_index", "post_id",
                        "INSERT INTO {table} (post_id, title, body, title_stems, body_stems) VALUES ($1, $2, $3, $4, $5) "
                        "ON CONFLICT (post_id) DO UPDATE SET title_stems = EXCLUDED.title_stems, "
                        "body_stems = EXCLUDED.body_stems")
    await client.execute_query(PG_TSV)
    await client.execute_query("CREATE INDEX search_index_tsv ON search_index USING gin (tsv)")


async def backwards(apps, schema_editor) -> None:
    client = schema_editor.client
    if client.capabilities.dialect == "sqlite":
        for table in ("search_recent", "search_index"):
            await client.execute_query(FTS.format(table=f"{table}_plain", stems=""))
            await client.execute_query(f"INSERT INTO {table}_plain (rowid, title, body) "
                                       f"SELECT rowid, title, body FROM {table}")
            await client.execute_query(f"DROP TABLE {table}")
            await client.execute_query(f"ALTER TABLE {table}_plain RENAME TO {table}")
        return
    await client.execute_query("DROP INDEX search_index_tsv")
    await client.execute_query("ALTER TABLE search_index DROP COLUMN tsv")
    await client.execute_query("ALTER TABLE search_index DROP COLUMN title_stems, DROP COLUMN body_stems")
    await client.execute_query(PG_TSV_BEFORE)
    await client.execute_query("CREATE INDEX search_index_tsv ON search_index USING gin (tsv)")


class Migration(migrations.Migration):
    dependencies = [("models", "0018_attachments")]

    initial = False

    operations = [
        ops.RunPython(forwards, backwards),
        ops.CreateModel(
            name="ComposerDraft",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("user_id", fields.IntField(db_index=True)),
                ("slot", fields.CharField(max_length=24)),
                ("topic_id", fields.IntField(null=True)),
                ("category_id", fields.IntField(null=True)),
                ("title", fields.TextField(default="", unique=False)),
                ("body", fields.TextField(default="", unique=False)),
                ("kind", fields.CharField(default="", max_length=12)),
                ("updated_at", fields.DatetimeField(auto_now=False, auto_now_add=False, db_index=True)),
            ],
            options={"table": "composer_draft", "app": "models", "pk_attr": "id",
                     "unique_together": (("user_id", "slot"),)},
            bases=["Model"],
        ),
    ]
