"""Findable (issue 26): when each topic's page last changed, and the member's choice of an indexable profile.

- `topic.changed_at`: set by the database whenever the page a visitor sees changes: any `topic.version` bump
  (a post, an edit, a like, a hide or restore, an accepted answer, a withdrawal's rewrite) or a change of title,
  slug, kind, lock, category or deletion. A trigger rather than the eleven write paths, as in migration 0014, so
  none can forget it. The sitemap's `lastmod` and the feeds' `<updated>` read it (with `last_posted_at` for rows
  not changed since this migration: NULL until then, so the migration itself rewrites nothing at 1M posts).
- `profile.public_profile`: the member opts in to search engines indexing their profile page; noindex otherwise.

Plain SQL with database defaults, like 0017, so rows written by raw SQL (the benchmark's seed) get them too; the
`*State` operations tell the migration state what the SQL did.
"""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

TOPIC_CHANGES = ("version", "title", "slug", "kind", "locked", "category_id", "deleted_at", "accepted_post_id")
SQLITE_NOW = "strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')"  # the ISO form Tortoise writes and reads

# the sitemap's validator reads MAX(changed_at) (forum/services/sitemap.py): an index end, not a scan
INDEX = "CREATE INDEX topic_changed_at ON topic (changed_at)"

SQLITE_UP = [
    "ALTER TABLE topic ADD COLUMN changed_at TIMESTAMP",
    "ALTER TABLE profile ADD COLUMN public_profile INT NOT NULL DEFAULT 0",
    # AFTER, as SQLite triggers cannot set NEW; recursive triggers are off, and changed_at is none of the
    # columns 0014's triggers watch, so the inner UPDATE fires nothing further
    "CREATE TRIGGER topic_changed_at AFTER UPDATE ON topic WHEN "
    + " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in TOPIC_CHANGES)
    + f" BEGIN UPDATE topic SET changed_at = {SQLITE_NOW} WHERE id = NEW.id; END",
    INDEX,
]
SQLITE_DOWN = [
    "DROP INDEX topic_changed_at",
    "DROP TRIGGER topic_changed_at",
    "ALTER TABLE topic DROP COLUMN changed_at",
    "ALTER TABLE profile DROP COLUMN public_profile",
]
POSTGRES_UP = [
    "ALTER TABLE topic ADD COLUMN changed_at TIMESTAMPTZ",
    "ALTER TABLE profile ADD COLUMN public_profile BOOL NOT NULL DEFAULT false",
    f"""CREATE FUNCTION topic_changed_at() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
      IF {" OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in TOPIC_CHANGES)} THEN
        NEW.changed_at := clock_timestamp();
      END IF;
      RETURN NEW; END $$""",
    "CREATE TRIGGER topic_changed_at BEFORE UPDATE ON topic FOR EACH ROW EXECUTE FUNCTION topic_changed_at()",
    INDEX,
]
POSTGRES_DOWN = [
    "DROP INDEX topic_changed_at",
    "DROP TRIGGER topic_changed_at ON topic",
    "DROP FUNCTION topic_changed_at()",
    "ALTER TABLE topic DROP COLUMN changed_at",
    "ALTER TABLE profile DROP COLUMN public_profile",
]


async def forwards(apps, schema_editor) -> None:
    client = schema_editor.client
    for sql in SQLITE_UP if client.capabilities.dialect == "sqlite" else POSTGRES_UP:
        await client.execute_script(sql)


async def backwards(apps, schema_editor) -> None:
    client = schema_editor.client
    for sql in SQLITE_DOWN if client.capabilities.dialect == "sqlite" else POSTGRES_DOWN:
        await client.execute_script(sql)


class _StateOnly:
    async def database_forward(self, *args, **kwargs) -> None:
        return None

    async def database_backward(self, *args, **kwargs) -> None:
        return None


class AddFieldState(_StateOnly, ops.AddField):
    pass


class Migration(migrations.Migration):
    dependencies = [('models', '0019_drafts')]

    initial = False

    operations = [
        ops.RunPython(forwards, backwards),
        AddFieldState(model_name='Topic', name='changed_at', field=fields.DatetimeField(null=True)),
        AddFieldState(model_name='Profile', name='public_profile', field=fields.BooleanField(default=False)),
    ]
