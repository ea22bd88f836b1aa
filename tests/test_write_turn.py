"""SQLite writers take turns through a lock file, a new post's statements run on the loop's thread, and both give
everything back whether the transaction commits or rolls back (forum/db/writers.py, forum/db/quick.py)."""

from __future__ import annotations

import fcntl
import os

import pytest
from tortoise.exceptions import IntegrityError

from forum import db
from forum.models import Post
from forum.settings import sqlite_path
from tests.conftest import new_reply, new_topic


@pytest.fixture
def turn_file(app, settings):
    if not settings.sqlite:
        pytest.skip("SQLite's writers")
    return str(sqlite_path(settings.database_url)) + "-writers"


def _free(path: str) -> bool:
    """Whether another open file (as another process would have) can take the turn now."""
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


async def test_a_write_transaction_holds_the_turn_and_gives_it_back_on_commit_and_on_rollback(turn_file):
    async with db.write_transaction():
        assert not _free(turn_file)
    assert _free(turn_file)
    with pytest.raises(RuntimeError):
        async with db.write_transaction():
            assert not _free(turn_file)
            raise RuntimeError("rolled back")
    assert _free(turn_file)


async def test_a_quick_transaction_commits_together_and_rolls_back_together_with_the_same_errors(
        turn_file, participant, category):
    topic = await new_topic(participant, category.slug)
    reply = await new_reply(participant, topic["id"], "Et svar som blir stående")
    with pytest.raises(IntegrityError):
        async with db.write_transaction(quick=True) as conn:
            await db.execute("UPDATE post SET like_count = like_count + 1 WHERE id = ?", [reply["id"]], conn)
            post = await Post.get(id=reply["id"]).using_db(conn)
            assert post.like_count == 1  # read back inside, on the same connection
            await db.execute("INSERT INTO post_revision (post_id, number, editor_id, source, created_at) "
                             "SELECT post_id, number, editor_id, source, created_at FROM post_revision "
                             "WHERE post_id = ?", [reply["id"]], conn)  # (post_id, number) is unique
    assert (await Post.get(id=reply["id"])).like_count == 0
    assert _free(turn_file)
    async with db.write_transaction(quick=True) as conn:
        await db.execute("UPDATE post SET like_count = like_count + 1 WHERE id = ?", [reply["id"]], conn)
    assert (await Post.get(id=reply["id"])).like_count == 1
