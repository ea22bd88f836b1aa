"""Issue 20: reads by key on the event loop's thread (`forum.db.fetch_quick`, `fetch_point`; on SQLite from a
second connection of the process). They must see every committed write at once, also one made by another
connection (as another process would), keep no snapshot between reads, and inside a transaction read what the
transaction wrote, like every other read."""

from __future__ import annotations

import sqlite3

import pytest

from forum import db
from forum.settings import sqlite_path
from tests.conftest import new_topic

TITLE_SQL = "SELECT title FROM topic WHERE id = ?"


async def test_a_quick_read_sees_a_write_committed_by_another_connection_at_once(participant, category, settings):
    topic = await new_topic(participant, category.slug, title="Før endringen")
    assert (await db.fetch_point(TITLE_SQL, [topic["id"]]))["title"] == "Før endringen"
    if settings.sqlite:  # another connection to the file, as another worker process has
        other = sqlite3.connect(sqlite_path(settings.database_url), isolation_level=None, timeout=10)
        other.execute("UPDATE topic SET title = ? WHERE id = ?", ["Etter endringen", topic["id"]])
        other.close()
    else:
        await db.execute("UPDATE topic SET title = ? WHERE id = ?", ["Etter endringen", topic["id"]])
    assert (await db.fetch_point(TITLE_SQL, [topic["id"]]))["title"] == "Etter endringen"
    assert await db.fetch_quick(TITLE_SQL, [topic["id"]]) == [{"title": "Etter endringen"}]


async def test_a_quick_read_inside_a_transaction_reads_what_the_transaction_wrote(participant, category):
    topic = await new_topic(participant, category.slug, title="Uendret")
    with pytest.raises(RuntimeError):
        async with db.write_transaction() as conn:
            await db.execute("UPDATE topic SET title = ? WHERE id = ?", ["Ikke lagret ennå", topic["id"]], conn)
            assert (await db.fetch_point(TITLE_SQL, [topic["id"]]))["title"] == "Ikke lagret ennå"
            raise RuntimeError("rolled back")
    assert (await db.fetch_point(TITLE_SQL, [topic["id"]]))["title"] == "Uendret"


async def test_a_quick_read_of_nothing_is_none_and_an_empty_list(app):
    assert await db.fetch_point(TITLE_SQL, [-1]) is None
    assert await db.fetch_quick(TITLE_SQL, [-1]) == []
