"""A database that stays busy is waited for a bounded time, then answered with 503 and nothing half-written."""

from __future__ import annotations

import asyncio
import sqlite3
import threading

import pytest

from forum import db
from forum.db.config import SQLITE_BUSY_TIMEOUT_MS
from forum.db.errors import is_transient
from forum.models import Post
from tests.conftest import new_topic, unique


@pytest.fixture
async def short_busy_timeout(app, settings):
    if not settings.sqlite:
        pytest.skip("SQLite's write lock")
    await db.execute("PRAGMA busy_timeout = 100")
    yield
    await db.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")


def _hold_write_lock(settings, seconds: float) -> threading.Thread:
    from forum.settings import sqlite_path

    ready = threading.Event()

    def hold():
        conn = sqlite3.connect(sqlite_path(settings.database_url), isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        ready.set()
        threading.Event().wait(seconds)
        conn.execute("COMMIT")
        conn.close()

    thread = threading.Thread(target=hold)
    thread.start()
    ready.wait(5)
    return thread


async def test_write_that_finds_the_database_busy_too_long_gets_503_and_nothing_is_stored(
        participant, category, settings, short_busy_timeout):
    topic = await new_topic(participant, category.slug)
    body = unique("Blocked reply ")
    holder = _hold_write_lock(settings, 1.5)
    try:
        response = await participant.api("POST", f"/api/v1/topics/{topic['id']}/posts", {"body": body})
    finally:
        await asyncio.to_thread(holder.join)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json()["error"]["code"] == "busy"
    assert "locked" not in response.text
    assert not await Post.filter(source=body).exists()
    page = await participant.post_form(f"/t/{topic['id']}/reply", {"body": body}, token_from="/")
    assert page.status_code in (303, 201, 200)  # free again: the same write now goes through
    assert await Post.filter(source=body).count() == 1


async def test_begin_is_retried_so_a_short_hold_past_busy_timeout_still_succeeds(
        participant, category, settings, short_busy_timeout):
    topic = await new_topic(participant, category.slug)
    body = unique("Patient reply ")
    holder = _hold_write_lock(settings, 0.2)  # longer than busy_timeout (0.1 s), shorter than all attempts
    try:
        response = await participant.api("POST", f"/api/v1/topics/{topic['id']}/posts", {"body": body})
    finally:
        await asyncio.to_thread(holder.join)
    assert response.status_code == 201, response.text
    assert await Post.filter(source=body).count() == 1


def test_transient_errors_are_recognised_through_the_wrapping():
    from tortoise.exceptions import OperationalError, TransactionManagementError

    try:
        try:
            raise sqlite3.OperationalError("database is locked")
        except sqlite3.OperationalError as inner:
            raise TransactionManagementError(inner) from inner
    except TransactionManagementError as outer:
        assert is_transient(outer)
    assert is_transient(OperationalError("database is locked"))
    assert not is_transient(sqlite3.OperationalError("no such table: x"))
    assert not is_transient(ValueError("database"))


async def test_failed_begins_on_postgres_give_their_pooled_connections_back(participant, category, settings,
                                                                            monkeypatch):
    if settings.sqlite:
        pytest.skip("PostgreSQL's connection pool")
    from tortoise.backends.asyncpg.client import TransactionWrapper
    from tortoise.exceptions import TransactionManagementError

    topic = await new_topic(participant, category.slug)
    real_begin = TransactionWrapper.begin

    async def broken_begin(self):
        raise TransactionManagementError("connection was closed in the middle of operation")

    monkeypatch.setattr(TransactionWrapper, "begin", broken_begin)
    for n in range(settings.db_pool_max + 2):  # more failures than the pool has connections
        failed = await participant.api("POST", f"/api/v1/topics/{topic['id']}/posts", {"body": f"Tapt {n}"})
        assert failed.status_code == 500
    monkeypatch.setattr(TransactionWrapper, "begin", real_begin)
    ok = await asyncio.wait_for(participant.api("POST", f"/api/v1/topics/{topic['id']}/posts", {"body": "Igjen"}), 10)
    assert ok.status_code == 201  # unpatched, the pool is empty by now and this waits forever
    assert not await Post.filter(source__startswith="Tapt ").exists()
