"""After a withdrawal or erasure commits: removing the old bytes of the names from where the database keeps them.

SQLite (secure_delete is on, so deleted cells and freed pages are zeroed) keeps old text in three places:
- full-text index segments: a replaced or deleted entry is only marked deleted until its segment is merged.
  Every tier that ever held one of the member's tokens is merged (known from what was indexed: the posts whose
  revisions held a name, the member's own posts, the retitled topics), with FTS5's incremental 'merge' in steps
  of MERGE_PAGES, each its own short write, until the index is fully merged;
- the WAL, until checkpointed. A reader holding a snapshot (`forum backup`, a long read) makes a TRUNCATE
  checkpoint fail; it is retried in the background with a busy timeout of CHECKPOINT_BUSY_MS, so writers are
  never held for longer than about that, until it succeeds (at most RETRY_FOR seconds; then `forum purge`);
- the unallocated gap of b-tree pages (between the cell pointers and the cells): when SQLite rebalances a page it
  rebuilds the cells in place and does not clear the gap, so bytes of cells that moved away stay there, in no
  row and in no free block, until VACUUM. VACUUM holds the write lock for as long as it copies the whole file,
  so instead `_clear_gaps` finds the pages whose gap is not all zeros and writes zeros there, in the main file,
  in batches of at most GAP_BATCH pages, each under the write lock with the WAL empty (so no checkpoint can
  write the page meanwhile) and ended by a commit, which makes every other connection drop its page cache.
  Only bytes that SQLite never reads are changed, so a reader reading the page meanwhile sees the same rows.
PostgreSQL keeps old row versions (dead tuples) until VACUUM: the touched tables are vacuumed after the commit.

Each purge is a `byte_purge` row (migration 0011): 'pending' until it succeeded, then 'done'. The withdrawal's
answer says which; `forum purge` finishes every pending one.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import time
from datetime import UTC, datetime

from starlette.concurrency import run_in_threadpool

from forum import db
from forum.services import search

MERGE_PAGES = 32
STEP_PAUSE = 0.005
CHECKPOINT_BUSY_MS = 50
GAP_BATCH = 256  # pages cleared per hold of the write lock (a few milliseconds)
# below 2**24 pages (64 GiB at 4 KiB) an overflow or free-list page starts with a page number whose first byte is
# 0, so a page's first byte tells a b-tree page (2, 5, 10, 13) for sure; larger files are left as they are
MAX_GAP_PAGES = 2 ** 24
RETRY_FOR = 600.0
ANSWER_WAIT = 0.25  # seconds the withdrawal's answer waits for its purge before it says 'pending' (a small forum's
# purge is done by then; a large file's takes seconds and goes on in the background: at 1,000,000 posts the 1 s this
# was added 1 s to every answer, issue 16)
# SQLite: a file larger than this is not purged within ANSWER_WAIT (clearing the pages' gaps reads every page:
# 57 MB took 0.95 s, 4.9 GB 55 s), so the answer does not wait for it (at 1,000,000 posts the wait added 0.25 s to
# every withdrawal's answer and never saw 'done')
ANSWER_WAIT_BYTES = 8 * 1024 * 1024
PENDING, DONE = "pending", "done"
# what a withdrawal rewrites or deletes (its event handlers included); vacuumed on PostgreSQL. The forum's own
# tables are named here; a package whose withdrawal handler writes tables of its own adds them (`touches`).
_touched = ["post", "post_revision", "topic", "profile", "name_history", "notification", "post_mention",
            "post_like", "topic_watch", "category_watch", "topic_read", "category", "search_index",
            "name_claim", "mail_outbox", "mail_preference",  # issue 18b's name claims, issue 21's queued mail
            "attachment",  # issue 22: the member's files (bytes, alt and OCR text)
            "composer_draft"]  # issue 25: the member's drafts


def touches(*tables: str) -> None:
    """Tables a subscriber to the withdrawal writes (moderation's flags, cases, sanctions and audit)."""
    _touched.extend(t for t in tables if t not in _touched)


def touched_tables() -> tuple[str, ...]:
    return tuple(_touched)

_tasks: set[asyncio.Task] = set()
log = logging.getLogger(__name__)


async def record(conn, tiers: list[str], tables: tuple[str, ...] | None = None) -> int:
    """Inside the withdrawal's transaction (or another that deletes personal data: a held picture replaced): the
    purge it owes, pending. `tables`: what PostgreSQL vacuums (the withdrawal's touched tables by default)."""
    touched = touched_tables() if tables is None else tables
    await db.execute("INSERT INTO byte_purge (created_at, state, tiers, tables_touched) VALUES (?, ?, ?, ?)",
                     [db.time_param(datetime.now(UTC), conn), PENDING, ",".join(tiers), ",".join(touched)],
                     conn)
    row = await db.fetch_one("SELECT max(id) AS id FROM byte_purge", [], conn)
    return row["id"]


async def run(purge_id: int, *, retry_for: float = RETRY_FOR, wait: float | None = None) -> str:
    """Starts the purge in the background and waits for it at most `wait` seconds (ANSWER_WAIT): 'done' when it
    finished by then, else 'pending', and it goes on (retried while a reader holds a snapshot). The withdrawal's
    answer does not wait for reading a large file (ANSWER_WAIT_BYTES)."""
    task = asyncio.ensure_future(_purge(purge_id, retry_for))
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)
    if wait is None:
        wait = ANSWER_WAIT if db.dialect() != "sqlite" or _file_size() <= ANSWER_WAIT_BYTES else 0
    done, _pending = await asyncio.wait({task}, timeout=wait)
    return DONE if done and not task.cancelled() and task.exception() is None and task.result() else PENDING


async def _purge(purge_id: int, retry_for: float) -> bool:
    try:
        if await attempt(purge_id):
            return True
    except Exception:  # noqa: BLE001 - the commit is made; the purge stays pending and is retried
        log.exception("byte purge %s: first attempt failed", purge_id)
    return await _retry(purge_id, retry_for)


async def _retry(purge_id: int, retry_for: float) -> bool:
    deadline, pause = time.monotonic() + retry_for, 0.05
    while time.monotonic() < deadline:
        await asyncio.sleep(pause)
        try:
            if await attempt(purge_id):
                return True
        except Exception:  # noqa: BLE001 - a failed attempt stays pending for the next try or `forum purge`
            pass
        pause = min(pause * 2, 5.0)
    return False


async def wait_for_background(seconds: float = 30.0) -> None:
    """Tests: let the background purges finish."""
    if _tasks:
        await asyncio.wait(list(_tasks), timeout=seconds)


async def stop(seconds: float = 10.0) -> None:
    """The app's shutdown: background purges get `seconds` to finish; the rest stay 'pending' in the database,
    for the next withdrawal's process or `forum purge`."""
    await wait_for_background(seconds)
    for task in list(_tasks):
        task.cancel()
    if _tasks:
        await asyncio.wait(list(_tasks), timeout=1.0)


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


def _file_size() -> int:
    try:
        return os.path.getsize(_sqlite_file())
    except OSError:  # a database in memory
        return 0


def _sqlite_purge(path: str, tiers: list[str]) -> bool:
    for table in tiers:
        if table not in (search.RECENT, search.OLDER):
            raise ValueError(table)
        _merge_fully(path, table)
    return _checkpoint(path) and _clear_gaps(path) and _checkpoint(path)


_LEAF_OR_INTERIOR = {2: 12, 5: 12, 10: 8, 13: 8}  # b-tree page type -> header size


def _gap(page: bytes, number: int) -> tuple[int, int] | None:
    """The unallocated gap of a b-tree page (start, end), or None for another kind of page (overflow, free
    list: secure_delete zeroes those when they are freed)."""
    head = 100 if number == 1 else 0
    header = _LEAF_OR_INTERIOR.get(page[head])
    if header is None:
        return None
    cells = int.from_bytes(page[head + 3:head + 5], "big")
    content = int.from_bytes(page[head + 5:head + 7], "big") or 65536
    start = head + header + 2 * cells
    return (start, content) if start < content <= len(page) else None


def _dirty_pages(path: str, size: int) -> list[int]:
    """The b-tree pages whose gap holds anything but zeros, read from the main file without a lock: after the
    withdrawal no live cell holds a name, and a gap byte that is zero stays zero or becomes part of a live cell,
    so a page read in any version since then shows every name byte its newest version still has."""
    lock_page = 0x40000000 // size + 1  # the page at 1 GiB that SQLite never uses
    found = []
    with open(path, "rb") as f:
        number = 0
        while chunk := f.read(size * 256):
            for at in range(0, len(chunk) - size + 1, size):
                number += 1
                if number == lock_page:
                    continue
                page = chunk[at:at + size]
                gap = _gap(page, number)
                if gap and page[gap[0]:gap[1]].strip(b"\0"):
                    found.append(number)
    return found


def _clear_gaps(path: str) -> bool:
    """Zeros in the gap of every page that has other bytes there (see the module's text); False when the WAL
    would not stay empty (a reader's snapshot, busy writers): the purge is then tried again."""
    with open(path, "rb") as f:
        header = f.read(100)
    size = int.from_bytes(header[16:18], "big")
    size = 65536 if size == 1 else size
    if os.path.getsize(path) // size >= MAX_GAP_PAGES or header[52:56] != bytes(4) or header[20]:
        # too large to tell pages apart by their first byte, or pointer-map pages (auto_vacuum, whose first byte
        # can be 2 or 5), or reserved bytes at the end of each page: not this forum's files (forum/db.py)
        log.warning("byte purge: %s is not laid out as this forum makes it; unallocated page gaps are not cleared",
                    path)
        return True
    pages = _dirty_pages(path, size)
    with open(path, "r+b") as f:
        for batch in range(0, len(pages), GAP_BATCH):
            conn = _connect(path)  # a new one each time: no page of it cached from before
            try:
                if not _clear_batch(conn, f, path, pages[batch:batch + GAP_BATCH], size):
                    return False
            finally:
                conn.close()
            time.sleep(STEP_PAUSE)  # let waiting writers in between the batches
        os.fsync(f.fileno())
    return True


def _wal_size(path: str) -> int:
    try:
        return os.path.getsize(path + "-wal")
    except FileNotFoundError:
        return 0


def _clear_batch(conn: sqlite3.Connection, f, path: str, pages: list[int], size: int) -> bool:
    for _ in range(20):
        busy, _log, _done = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            time.sleep(0.02)
            continue
        try:
            if busy or _wal_size(path) > 0:  # a writer came first: its pages are in the WAL
                conn.execute("ROLLBACK")
                time.sleep(0.02)
                continue
            for number in pages:
                if number == 1:  # the schema page: this connection has it cached
                    continue
                f.seek((number - 1) * size)
                page = bytearray(f.read(size))
                gap = _gap(page, number) if len(page) == size else None
                if gap and page[gap[0]:gap[1]].strip(b"\0"):
                    page[gap[0]:gap[1]] = bytes(gap[1] - gap[0])
                    f.seek((number - 1) * size)
                    f.write(page)
            f.flush()
            # a commit that writes a page (an update to the same bytes writes none, so two that cancel out): every
            # connection then sees a changed WAL header and drops the pages it had cached
            conn.execute("UPDATE name_scan SET checked_through = checked_through + 1 WHERE id = 1")
            conn.execute("UPDATE name_scan SET checked_through = checked_through - 1 WHERE id = 1")
            conn.execute("COMMIT")
            return True
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return False


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
    """TRUNCATE: every frame into the file and the WAL emptied; False while a reader holds an older snapshot.
    A TRUNCATE holds back writers while it copies, so a PASSIVE one (which never does) copies first: the
    TRUNCATE is left what was written since (a withdrawal commits its 60 MB of WAL without copying them)."""
    conn = _connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
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
