"""After a withdrawal or erasure commits: removing the old bytes of the names from where the database keeps them.

SQLite (secure_delete is on, so freed pages are zeroed) keeps old text in two places:
- full-text index segments: a replaced or deleted entry is only marked deleted until its segment is merged.
  Every tier that ever held one of the member's tokens is merged (known from what was indexed: the posts whose
  revisions held a name, the member's own posts, the retitled topics), with FTS5's incremental 'merge' in steps
  of MERGE_PAGES, each its own short write, until the index is fully merged;
- the WAL, until checkpointed. A reader holding a snapshot (`forum backup`, a long read) makes a TRUNCATE
  checkpoint fail; it is retried in the background with a busy timeout of CHECKPOINT_BUSY_MS, so writers are
  never held for longer than about that, until it succeeds (at most RETRY_FOR seconds; then `forum purge`).
PostgreSQL keeps old row versions (dead tuples) until VACUUM: the touched tables are vacuumed after the commit.

Each purge is a `byte_purge` row (migration 0011): 'pending' until it succeeded, then 'done'. The withdrawal's
answer says which; `forum purge` finishes every pending one.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import UTC, datetime

from starlette.concurrency import run_in_threadpool

from forum import db
from forum.services import search

MERGE_PAGES = 32
STEP_PAUSE = 0.005
CHECKPOINT_BUSY_MS = 50
RETRY_FOR = 600.0
PENDING, DONE = "pending", "done"
# what a withdrawal rewrites or deletes (its event handlers included); vacuumed on PostgreSQL
TOUCHED_TABLES = ("post", "post_revision", "topic", "profile", "name_history", "notification", "post_mention",
                  "post_like", "topic_watch", "category_watch", "topic_read", "category", "search_index",
                  "mod_flag", "mod_case", "mod_sanction", "mod_audit",
                  "name_claim", "mail_outbox", "mail_preference",
                  "composer_draft")  # issue 18b's name claims, issue 21's queued mail

_tasks: set[asyncio.Task] = set()


async def record(conn, tiers: list[str]) -> int:
    """Inside the withdrawal's transaction: the purge it owes, pending."""
    await db.execute("INSERT INTO byte_purge (created_at, state, tiers, tables_touched) VALUES (?, ?, ?, ?)",
                     [db.time_param(datetime.now(UTC), conn), PENDING, ",".join(tiers), ",".join(TOUCHED_TABLES)],
                     conn)
    row = await db.fetch_one("SELECT max(id) AS id FROM byte_purge", [], conn)
    return row["id"]


async def run(purge_id: int, *, retry_for: float = RETRY_FOR) -> str:
    """One go at the purge; when a reader blocks the checkpoint, retries continue in the background.
    Returns 'done' or 'pending'."""
    if await attempt(purge_id):
        return DONE
    task = asyncio.ensure_future(_retry(purge_id, retry_for))
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)
    return PENDING


async def _retry(purge_id: int, retry_for: float) -> None:
    deadline, pause = time.monotonic() + retry_for, 0.05
    while time.monotonic() < deadline:
        await asyncio.sleep(pause)
        try:
            if await attempt(purge_id):
                return
        except Exception:  # noqa: BLE001 - a failed attempt stays pending for the next try or `forum purge`
            pass
        pause = min(pause * 2, 5.0)


async def wait_for_background(seconds: float = 30.0) -> None:
    """Tests and shutdown: let the background retries finish."""
    if _tasks:
        await asyncio.wait(list(_tasks), timeout=seconds)


async def attempt(purge_id: int) -> bool:
    row = await db.fetch_one("SELECT state, tiers, tables_touched FROM byte_purge WHERE id = ?", [purge_id])
    if row is None or row["state"] == DONE:
        return True
    await db.execute("UPDATE byte_purge SET attempts = attempts + 1 WHERE id = ?", [purge_id])
    if db.dialect() == "sqlite":
        tiers = [t for t in row["tiers"].split(",") if t]
        ok = await run_in_threadpool(_sqlite_purge, _sqlite_file(), tiers)
    else:
        await _vacuum([t for t in row["tables_touched"].split(",") if t])
        ok = True
    if ok:
        await db.execute("UPDATE byte_purge SET state = ?, finished_at = ? WHERE id = ?",
                         [DONE, db.time_param(datetime.now(UTC)), purge_id])
        if db.dialect() == "sqlite":  # the state row's own write, out of the WAL as well
            await run_in_threadpool(_checkpoint, _sqlite_file())
    return ok


async def finish_pending() -> dict[str, int]:
    """`forum purge`: every pending purge, once each."""
    rows = await db.fetch_all("SELECT id FROM byte_purge WHERE state = ? ORDER BY id", [PENDING])
    done = sum([await attempt(r["id"]) for r in rows])
    return {"byte_purges_done": done, "byte_purges_pending": len(rows) - done}


def _sqlite_file() -> str:
    return str(db.connection().filename)


def _sqlite_purge(path: str, tiers: list[str]) -> bool:
    for table in tiers:
        if table not in (search.RECENT, search.OLDER):
            raise ValueError(table)
        _merge_fully(path, table)
    return _checkpoint(path)


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, timeout=CHECKPOINT_BUSY_MS / 1000)
    conn.execute(f"PRAGMA busy_timeout = {CHECKPOINT_BUSY_MS}")
    conn.execute("PRAGMA secure_delete = ON")  # the pages the merge frees are zeroed
    conn.execute("PRAGMA synchronous = NORMAL")  # as the app (forum.db): WAL commits without an fsync each
    return conn


def _merge_fully(path: str, table: str) -> None:
    """FTS5's 'merge' with a negative page count, repeated until it changes nothing: the same end state as
    'optimize' (SQLite's FTS5 documentation), in writes of about MERGE_PAGES pages each."""
    conn = _connect(path)
    try:
        while True:
            before = conn.total_changes
            for tries in range(50):
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    break
                except sqlite3.OperationalError:
                    if tries == 49:
                        raise
                    time.sleep(0.02)
            try:
                conn.execute(f"INSERT INTO {table} ({table}, rank) VALUES ('merge', ?)", [-MERGE_PAGES])
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            # copy what the step wrote into the file without blocking anyone, so the final TRUNCATE has little
            # left to do while it holds writers off
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if conn.total_changes - before < 2:
                return
            time.sleep(STEP_PAUSE)  # let waiting writers in between the steps
    finally:
        conn.close()


def _checkpoint(path: str) -> bool:
    """TRUNCATE: every frame into the file and the WAL emptied; False while a reader holds an older snapshot."""
    conn = _connect(path)
    try:
        busy, log, checkpointed = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        return busy == 0 and log in (0, -1)
    except sqlite3.OperationalError:
        return False
    finally:
        conn.close()


async def _vacuum(tables: list[str]) -> None:
    existing = {r["t"] for r in await db.fetch_all(
        "SELECT tablename AS t FROM pg_tables WHERE schemaname = current_schema()")}
    for table in tables:
        if table in existing:
            await db.connection().execute_script(f"VACUUM {table}")
