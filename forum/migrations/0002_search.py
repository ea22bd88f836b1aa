"""Full-text search index, one row per post (see forum/services/search.py, which owns reads and writes).

Hand-written because each database needs its own kind of table:
- SQLite: a plain FTS5 table (rowid = post id). Not external-content, because what is indexed is the plain
  text of the cooked HTML, which is no column of `post`. `remove_diacritics 0` keeps æ/ø/å distinct
  letters (with 1, "ålesund" would find "Alesund" and "sjåf*" "Sjaforer"); the stored text also serves the snippets.
- PostgreSQL: a table with a generated, weighted tsvector (title A, body B) and a GIN index on it.
Posts that already exist are indexed here, so the index is complete from the moment it exists.
"""

import re
import unicodedata

from tortoise import migrations
from tortoise.migrations import operations as ops

SQLITE_UP = [
    # prefix indexes for the 3- and 4-letter stems that match the most words: "ikke*" or "sjåf*" then read
    # one list instead of merging many (350 ms -> 30 ms at a million posts), for about 2.5x the index size
    "CREATE VIRTUAL TABLE search_index USING fts5(title, body, "
    "tokenize=\"unicode61 remove_diacritics 0\", prefix='3 4')",
]
POSTGRES_UP = [
    """CREATE TABLE search_index (
        post_id INTEGER PRIMARY KEY REFERENCES post(id) ON DELETE CASCADE,
        title TEXT NOT NULL DEFAULT '',
        body TEXT NOT NULL,
        tsv tsvector GENERATED ALWAYS AS (
            setweight(to_tsvector('simple', coalesce(title, '')), 'A')
            || setweight(to_tsvector('simple', body), 'B')
        ) STORED
    )""",
    "CREATE INDEX search_index_tsv ON search_index USING gin (tsv)",
]
DOWN = ["DROP TABLE IF EXISTS search_index"]

_BATCH = 1000
_EXISTING = """
SELECT p.id, p.cooked, CASE WHEN p.number = 1 THEN t.title ELSE '' END AS title
FROM post p JOIN topic t ON t.id = p.topic_id
WHERE p.id > {after} AND p.deleted_at IS NULL AND p.hidden_at IS NULL AND t.deleted_at IS NULL
ORDER BY p.id LIMIT {batch}
"""


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(text: str) -> str:
    return _CONTROL.sub(" ", unicodedata.normalize("NFC", text or ""))


async def _index_existing_posts(client) -> None:
    from forum.markup import plain_text

    insert = ("INSERT INTO search_index (rowid, title, body) VALUES (?, ?, ?)"
              if client.capabilities.dialect == "sqlite"
              else "INSERT INTO search_index (post_id, title, body) VALUES ($1, $2, $3)")
    after = 0
    while True:
        rows = await client.execute_query_dict(_EXISTING.format(after=int(after), batch=_BATCH))
        if not rows:
            return
        values = [[r["id"], clean_text(r["title"]), clean_text(plain_text(r["cooked"]))] for r in rows]
        await client.execute_many(insert, values)
        after = rows[-1]["id"]


async def forwards(apps, schema_editor) -> None:
    client = schema_editor.client
    # execute_query, not execute_script: sqlite3's executescript() commits first and would end the
    # migration's transaction.
    for sql in SQLITE_UP if client.capabilities.dialect == "sqlite" else POSTGRES_UP:
        await client.execute_query(sql)
    await _index_existing_posts(client)


async def backwards(apps, schema_editor) -> None:
    for sql in DOWN:
        await schema_editor.client.execute_query(sql)


class Migration(migrations.Migration):
    dependencies = [("models", "0001_initial")]

    operations = [ops.RunPython(forwards, backwards)]
