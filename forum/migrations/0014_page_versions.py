"""Version counters for the visitors' page cache (forum/services/page_versions.py), bumped by the database itself.

A cached page is served only while the counters it was rendered under are unchanged, and every process reads
them with one query per request, so a write is seen by the next request to any process. The counters change in
the write's own transaction, by triggers, so no write path (the eleven `topic.version` bumps, withdrawal's
rewrite, a moved or renamed topic, an edited category, a renamed or deleted profile) can forget one:

- `('c', category_id)`: anything a topic list shows changed in the category (a topic added, moved, deleted or
  its title, counts, flags, last activity or author changed), or the category's own row changed. The category
  page and `/` (which sums every row) are keyed by these.
- `('g', 0)`: something every page may show changed: a member's handle or display name (or the profile went,
  as a withdrawal does), a category's name, slug or access. Topic pages are keyed by `topic.version` and this.

A like or an edit bumps only `topic.version` (the existing bumps), so it invalidates its topic's pages alone.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

TABLE = ("CREATE TABLE page_version (kind VARCHAR(1) NOT NULL, id INTEGER NOT NULL, version BIGINT NOT NULL, "
         "PRIMARY KEY (kind, id))")
SEED = "INSERT INTO page_version (kind, id, version) VALUES ('g', 0, 1)"
LIST_COLUMNS = ("title", "slug", "kind", "pinned", "pinned_globally", "locked", "post_count", "last_number",
                "accepted_post_id", "last_posted_at", "created_at", "deleted_at", "category_id", "author_id")
SHARED_CATEGORY_COLUMNS = ("name", "slug", "read_access", "start_topics")


def _changed(columns) -> str:
    return " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)


def _pg_changed(columns) -> str:
    return " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns)


def _bump(kind: str, id_sql: str) -> str:
    return (f"INSERT INTO page_version (kind, id, version) VALUES ('{kind}', {id_sql}, 1) "
            "ON CONFLICT (kind, id) DO UPDATE SET version = page_version.version + 1;")


SQLITE_UP = [
    TABLE, SEED,
    f"CREATE TRIGGER page_version_topic_insert AFTER INSERT ON topic BEGIN {_bump('c', 'NEW.category_id')} END",
    f"CREATE TRIGGER page_version_topic_update AFTER UPDATE ON topic WHEN {_changed(LIST_COLUMNS)} "
    f"BEGIN {_bump('c', 'NEW.category_id')} END",
    "CREATE TRIGGER page_version_topic_move AFTER UPDATE ON topic WHEN OLD.category_id <> NEW.category_id "
    f"BEGIN {_bump('c', 'OLD.category_id')} END",
    f"CREATE TRIGGER page_version_topic_delete AFTER DELETE ON topic BEGIN {_bump('c', 'OLD.category_id')} END",
    f"CREATE TRIGGER page_version_category_insert AFTER INSERT ON category BEGIN {_bump('c', 'NEW.id')} END",
    f"CREATE TRIGGER page_version_category_update AFTER UPDATE ON category BEGIN {_bump('c', 'NEW.id')} END",
    f"CREATE TRIGGER page_version_category_shared AFTER UPDATE ON category "
    f"WHEN {_changed(SHARED_CATEGORY_COLUMNS)} BEGIN {_bump('g', '0')} END",
    f"CREATE TRIGGER page_version_category_delete AFTER DELETE ON category BEGIN {_bump('g', '0')} END",
    "CREATE TRIGGER page_version_profile_update AFTER UPDATE ON profile "
    f"WHEN {_changed(('username', 'display_name'))} BEGIN {_bump('g', '0')} END",
    f"CREATE TRIGGER page_version_profile_delete AFTER DELETE ON profile BEGIN {_bump('g', '0')} END",
]
SQLITE_DOWN = [
    *(f"DROP TRIGGER page_version_{name}" for name in (
        "topic_insert", "topic_update", "topic_move", "topic_delete", "category_insert", "category_update", "category_shared",
        "category_delete", "profile_update", "profile_delete")),
    "DROP TABLE page_version",
]
POSTGRES_UP = [
    TABLE, SEED,
    f"""CREATE FUNCTION page_version_topic() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
      IF TG_OP = 'INSERT' THEN {_bump('c', 'NEW.category_id')}
      ELSIF TG_OP = 'DELETE' THEN {_bump('c', 'OLD.category_id')}
      ELSIF {_pg_changed(LIST_COLUMNS)} THEN
        {_bump('c', 'NEW.category_id')}
        IF OLD.category_id <> NEW.category_id THEN {_bump('c', 'OLD.category_id')} END IF;
      END IF;
      RETURN NULL; END $$""",
    f"""CREATE FUNCTION page_version_category() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
      IF TG_OP = 'DELETE' THEN {_bump('g', '0')} RETURN NULL; END IF;
      {_bump('c', 'NEW.id')}
      IF TG_OP = 'UPDATE' AND ({_pg_changed(SHARED_CATEGORY_COLUMNS)}) THEN {_bump('g', '0')} END IF;
      RETURN NULL; END $$""",
    f"""CREATE FUNCTION page_version_profile() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
      IF TG_OP = 'DELETE' OR {_pg_changed(('username', 'display_name'))} THEN {_bump('g', '0')} END IF;
      RETURN NULL; END $$""",
    "CREATE TRIGGER page_version_topic AFTER INSERT OR UPDATE OR DELETE ON topic "
    "FOR EACH ROW EXECUTE FUNCTION page_version_topic()",
    "CREATE TRIGGER page_version_category AFTER INSERT OR UPDATE OR DELETE ON category "
    "FOR EACH ROW EXECUTE FUNCTION page_version_category()",
    "CREATE TRIGGER page_version_profile AFTER UPDATE OR DELETE ON profile "
    "FOR EACH ROW EXECUTE FUNCTION page_version_profile()",
]
POSTGRES_DOWN = [
    "DROP TRIGGER page_version_topic ON topic", "DROP TRIGGER page_version_category ON category",
    "DROP TRIGGER page_version_profile ON profile", "DROP FUNCTION page_version_topic()",
    "DROP FUNCTION page_version_category()", "DROP FUNCTION page_version_profile()", "DROP TABLE page_version",
]


async def forwards(apps, schema_editor) -> None:
    client = schema_editor.client
    for sql in SQLITE_UP if client.capabilities.dialect == "sqlite" else POSTGRES_UP:
        await client.execute_query(sql)


async def backwards(apps, schema_editor) -> None:
    client = schema_editor.client
    for sql in SQLITE_DOWN if client.capabilities.dialect == "sqlite" else POSTGRES_DOWN:
        await client.execute_query(sql)


class Migration(migrations.Migration):
    dependencies = [('models', '0015_mail')]  # chained after main's migrations at the merge

    initial = False

    operations = [
        ops.RunPython(forwards, backwards),
    ]
