"""SQLite writers take turns through a lock file, a new post's statements run on the loop's thread, and both give
everything back whether the transaction commits or rolls back (forum/db/writers.py, forum/db/quick.py)."""

from __future__ import annotations

import fcntl
import os
import sys

import pytest
from tortoise.exceptions import IntegrityError

from forum import db
from forum.db import checkpoints
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


def _wal_frames(path: str) -> tuple[int, int]:
    """(frames in the WAL, frames of them copied into the file), from the WAL index's header (-shm): mxFrame at
    byte 16, nBackfill at byte 96, in the machine's byte order."""
    with open(path + "-shm", "rb") as f:
        head = f.read(100)
    return int.from_bytes(head[16:20], sys.byteorder), int.from_bytes(head[96:100], sys.byteorder)


async def _checkpoint_ended(path: str) -> None:
    running = checkpoints._running.pop(path, None)
    if running is not None:
        await running


async def test_a_large_transaction_commits_without_copying_the_wal_and_asks_for_its_checkpoint_at_once(
        turn_file, monkeypatch):
    """An ordinary transaction past AUTOCHECKPOINT_PAGES copies the WAL inside its COMMIT (the backstop); a
    `large` one leaves the copy to the checkpoint it asks for after the turn, and the backstop stays for the
    next."""
    asked: list[str] = []
    monkeypatch.setattr(checkpoints, "checkpoint", asked.append)  # asked for, not run: the WAL stays as committed
    path = turn_file.removesuffix("-writers")
    pages = checkpoints.AUTOCHECKPOINT_PAGES + 1_000
    await db.execute("CREATE TABLE big_probe (id INTEGER PRIMARY KEY, body BLOB)")
    try:
        copied = {}
        for large in (False, True):
            await _checkpoint_ended(path)
            checkpoints._since.clear()
            async with db.write_transaction(large=large) as conn:
                await db.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
                                 "INSERT INTO big_probe (body) SELECT zeroblob(4000) FROM n", [pages], conn)
            await _checkpoint_ended(path)  # the thread it was asked for in has run
            frames, backfilled = _wal_frames(path)
            copied[large] = (frames, backfilled, list(asked))
            asked.clear()
        assert copied[False][1] == copied[False][0] > pages  # copied in the COMMIT ...
        assert copied[False][2] == []  # ... and no checkpoint asked for before CHECKPOINT_EVERY transactions
        assert copied[True][1] < copied[True][0] and copied[True][0] > pages  # left in the WAL ...
        assert copied[True][2] == [path]  # ... for the checkpoint asked for at once
        autocheckpoint = (await db.fetch_one("PRAGMA wal_autocheckpoint"))
        assert list(autocheckpoint.values()) == [checkpoints.AUTOCHECKPOINT_PAGES]
    finally:
        await db.execute("DROP TABLE big_probe")
