"""Every name an account has had, for the withdrawal, and the state of the byte purge that follows it.

- `name_history`: each handle and display name a profile has had (kind 'handle' or 'display'), written by
  triggers on `profile`, so every way of naming or renaming (registration, the profile form, consenting again
  with a new handle, staff tools) is covered without the services knowing. Private: no page or API shows it
  but the member's own export; the withdrawal uses it to find earlier names and then deletes the member's rows
  (erasure deletes the account, and the rows with it).
- SQLite: `exotic_revision` and `name_scan`, the revisions whose text needs Unicode folding in Python to be
  searched for a name (see forum.services.names); filled by the withdrawal and `forum purge`, not here.
- `byte_purge`: one row per withdrawal or erasure whose old bytes are still to be removed from the SQLite file
  (search tiers to merge, the WAL to checkpoint) or from PostgreSQL's dead tuples (tables to VACUUM): state
  'pending' until it succeeded, then 'done'. `forum purge` finishes any pending one.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

HISTORY = ("CREATE TABLE name_history (id {serial}, user_id INT NOT NULL REFERENCES account (id) ON DELETE CASCADE, "
           "kind VARCHAR(16) NOT NULL, name VARCHAR(64) NOT NULL, created_at {time} NOT NULL, "
           "UNIQUE (user_id, kind, name))")
PURGE = ("CREATE TABLE byte_purge (id {serial}, created_at {time} NOT NULL, state VARCHAR(16) NOT NULL, "
         "tiers VARCHAR(200) NOT NULL DEFAULT '', tables_touched TEXT NOT NULL DEFAULT '', "
         "attempts INT NOT NULL DEFAULT 0, finished_at {time} NULL)")
BACKFILL = [
    "INSERT INTO name_history (user_id, kind, name, created_at) SELECT user_id, 'handle', username, {now} FROM profile",
    "INSERT INTO name_history (user_id, kind, name, created_at) SELECT user_id, 'display', display_name, {now} "
    "FROM profile WHERE display_name <> ''",
]


def _sqlite_trigger(event: str) -> str:
    return (f"CREATE TRIGGER profile_names_{event.split()[0].lower()} AFTER {event} ON profile BEGIN "
            "INSERT OR IGNORE INTO name_history (user_id, kind, name, created_at) "
            "VALUES (NEW.user_id, 'handle', NEW.username, CURRENT_TIMESTAMP); "
            "INSERT OR IGNORE INTO name_history (user_id, kind, name, created_at) "
            "SELECT NEW.user_id, 'display', NEW.display_name, CURRENT_TIMESTAMP WHERE NEW.display_name <> ''; END")


# SQLite only: which revisions need the Python folding function when a withdrawal looks for names
# (forum.services.names.classify_revisions), and up to which revision id that is known
SCAN = ["CREATE TABLE exotic_revision (revision_id INTEGER PRIMARY KEY)",
        "CREATE TABLE name_scan (id INTEGER PRIMARY KEY CHECK (id = 1), checked_through BIGINT NOT NULL)",
        "INSERT INTO name_scan (id, checked_through) VALUES (1, 0)"]
SQLITE_UP = [
    *SCAN,
    HISTORY.format(serial="INTEGER PRIMARY KEY AUTOINCREMENT", time="TIMESTAMP"),
    "CREATE INDEX name_history_user ON name_history (user_id)",
    PURGE.format(serial="INTEGER PRIMARY KEY AUTOINCREMENT", time="TIMESTAMP"),
    *(sql.format(now="CURRENT_TIMESTAMP") for sql in BACKFILL),
    _sqlite_trigger("INSERT"),
    _sqlite_trigger("UPDATE OF username, display_name"),
]
SQLITE_DOWN = ["DROP TABLE exotic_revision", "DROP TABLE name_scan","DROP TRIGGER profile_names_insert", "DROP TRIGGER profile_names_update",
               "DROP TABLE byte_purge", "DROP TABLE name_history"]
POSTGRES_UP = [
    HISTORY.format(serial="SERIAL PRIMARY KEY", time="TIMESTAMPTZ"),
    "CREATE INDEX name_history_user ON name_history (user_id)",
    PURGE.format(serial="SERIAL PRIMARY KEY", time="TIMESTAMPTZ"),
    *(sql.format(now="now()") for sql in BACKFILL),
    "CREATE FUNCTION profile_names_remember() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "INSERT INTO name_history (user_id, kind, name, created_at) VALUES (NEW.user_id, 'handle', NEW.username, now()) "
    "ON CONFLICT DO NOTHING; "
    "IF NEW.display_name <> '' THEN INSERT INTO name_history (user_id, kind, name, created_at) "
    "VALUES (NEW.user_id, 'display', NEW.display_name, now()) ON CONFLICT DO NOTHING; END IF; "
    "RETURN NULL; END $$",
    "CREATE TRIGGER profile_names AFTER INSERT OR UPDATE OF username, display_name ON profile "
    "FOR EACH ROW EXECUTE FUNCTION profile_names_remember()",
]
POSTGRES_DOWN = ["DROP TRIGGER profile_names ON profile", "DROP FUNCTION profile_names_remember()",
                 "DROP TABLE byte_purge", "DROP TABLE name_history"]


async def forwards(apps, schema_editor) -> None:
    client = schema_editor.client
    for sql in SQLITE_UP if client.capabilities.dialect == "sqlite" else POSTGRES_UP:
        await client.execute_query(sql)


async def backwards(apps, schema_editor) -> None:
    client = schema_editor.client
    for sql in SQLITE_DOWN if client.capabilities.dialect == "sqlite" else POSTGRES_DOWN:
        await client.execute_query(sql)


class Migration(migrations.Migration):
    dependencies = [("models", "0017_consent_receipts")]  # the coordinator re-chains the numbers

    operations = [ops.RunPython(forwards, backwards)]
