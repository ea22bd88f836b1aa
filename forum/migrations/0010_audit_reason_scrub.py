"""The audit log's facts stay fixed, but a withdrawn member's names can leave a moderator's free-text reason.

The triggers of 0004 refused every UPDATE of `mod_audit`. Now they refuse an UPDATE that sets any column but
`reason` (who, what, on what, the detail and the time), and every DELETE, as before. A reason is rewritten only
by a consent withdrawal or an erasure, which replaces the member's handle and display name in it (GDPR art. 7(3)
and 17: nothing in the database file may link them back). The reason was already written without the names of
the people the action concerned; this covers a third person named in it.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

FACTS = "id, actor_id, action, target_kind, target_id, detail, created_at"
SQLITE_UP = [
    "DROP TRIGGER mod_audit_no_update",
    f"CREATE TRIGGER mod_audit_no_update BEFORE UPDATE OF {FACTS} ON mod_audit "
    "BEGIN SELECT RAISE(ABORT, 'mod_audit is append-only'); END",
]
SQLITE_DOWN = [
    "DROP TRIGGER mod_audit_no_update",
    "CREATE TRIGGER mod_audit_no_update BEFORE UPDATE ON mod_audit "
    "BEGIN SELECT RAISE(ABORT, 'mod_audit is append-only'); END",
]
POSTGRES_UP = [
    "DROP TRIGGER mod_audit_no_change ON mod_audit",
    f"CREATE TRIGGER mod_audit_no_change BEFORE UPDATE OF {FACTS} OR DELETE ON mod_audit "
    "FOR EACH ROW EXECUTE FUNCTION mod_audit_append_only()",
]
POSTGRES_DOWN = [
    "DROP TRIGGER mod_audit_no_change ON mod_audit",
    "CREATE TRIGGER mod_audit_no_change BEFORE UPDATE OR DELETE ON mod_audit "
    "FOR EACH ROW EXECUTE FUNCTION mod_audit_append_only()",
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
    dependencies = [('models', '0009_notification_list')]

    initial = False

    operations = [
        ops.RunPython(forwards, backwards),
    ]
