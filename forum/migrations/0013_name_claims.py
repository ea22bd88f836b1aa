"""Names that cannot pass for someone else's: `name_claim`, one row per name a member is shown by.

Each profile claims the look-alike skeleton of its handle, and of its display name when that differs: UTS #39
through ICU's SpoofChecker, after NFKC, case folding and removing default-ignorable characters, with spaces and
punctuation left out (forum/services/name_claims.py; the computation is repeated here so that the migration keeps
working whatever that module becomes). A unique index on the skeleton makes every clash a refusal, also between two
writes at the same moment.

Existing profiles are backfilled oldest first. Where existing names already look alike, the older member keeps
the claim and the newer name stays as it is, unclaimed (it is not renamed): the next change of that name is
checked like any other. Backwards drops the table.
"""

import unicodedata

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops


def _skeleton(name: str) -> str:
    import icu

    ignorable = {ord(c): None for c in icu.UnicodeSet("[:Default_Ignorable_Code_Point:]")}
    plain = unicodedata.normalize("NFKC", name).casefold().translate(ignorable)
    folded = icu.SpoofChecker().getSkeleton(0, plain).casefold()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] not in "ZP")[:255]


async def backfill(apps, schema_editor) -> None:
    client = schema_editor.client
    mark = "?" if client.capabilities.dialect == "sqlite" else "$"
    _count, rows = await client.execute_query("SELECT id, username, display_name FROM profile ORDER BY id")
    taken: set[str] = set()
    claims = []
    for kind, column in (("handle", "username"), ("display", "display_name")):
        for row in rows:
            value = row[column] or ""
            wanted = _skeleton(value) if value else ""
            if not wanted or wanted in taken or (kind == "display" and wanted == _skeleton(row["username"])):
                continue
            taken.add(wanted)
            claims.append([row["id"], kind, wanted])
    sql = ("INSERT INTO name_claim (profile_id, kind, skeleton) VALUES "
           + ("(?, ?, ?)" if mark == "?" else "($1, $2, $3)"))
    for claim in claims:
        await client.execute_query(sql, claim)


async def nothing(apps, schema_editor) -> None:
    return None


class Migration(migrations.Migration):
    dependencies = [('models', '0011_name_history')]

    initial = False

    operations = [
        ops.CreateModel(
            name='NameClaim',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('profile', fields.ForeignKeyField('models.Profile', source_field='profile_id', db_index=True,
                                                   db_constraint=True, to_field='id', related_name='name_claims',
                                                   on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharField(max_length=8)),
                ('skeleton', fields.CharField(unique=True, max_length=255)),
            ],
            options={'table': 'name_claim', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.RunPython(backfill, nothing),
    ]
