"""SQLite checkpoints off the write path: copying the WAL back into the database after the writers' turn.

SQLite's automatic checkpoint runs inside the COMMIT of the transaction that takes the WAL past 1,000 pages:
that reply waited for the copy and its fsyncs (at 1M posts 1.8 ms per post on average, in bursts of tens of ms),
its process's one connection with it, and, holding the writers' turn (forum/db/writers.py), every other writer.
Here each process asks for a PASSIVE checkpoint every CHECKPOINT_EVERY write transactions, after the turn has
been given back, on a connection of its own in a thread: writers and readers go on meanwhile (a checkpoint never
takes the write lock). The automatic checkpoint stays as a backstop at AUTOCHECKPOINT_PAGES (forum/db/config.py)
for writes made outside a transaction and in processes that write little. A transaction that writes thousands of
pages (a withdrawal, `write_transaction(large=True)`) commits without it, and its checkpoint is asked for at once:
inside the COMMIT it copied 60 MB and added 0.2-0.3 s to the answer at 1,000,000 posts.
"""

from __future__ import annotations

import asyncio
import sqlite3

CHECKPOINT_EVERY = 16  # write transactions of a process (a reply writes about 70 pages)
AUTOCHECKPOINT_PAGES = 4_000

_since: dict[str, int] = {}  # database file -> write transactions since this process's last checkpoint
_running: dict[str, asyncio.Future] = {}


def after_write(database: str | None, *, now: bool = False) -> None:
    """Called once a write transaction on `database` (a file) has ended and the writers' turn is given back;
    `now`: a large one, checkpointed without waiting for CHECKPOINT_EVERY."""
    if not database or database == ":memory:":
        return
    _since[database] = _since.get(database, 0) + 1
    running = _running.get(database)
    if (_since[database] < CHECKPOINT_EVERY and not now) or (running is not None and not running.done()):
        return
    _since[database] = 0
    _running[database] = asyncio.get_running_loop().run_in_executor(None, checkpoint, database)


def checkpoint(database: str) -> None:
    """A PASSIVE checkpoint: it copies what no reader still needs and never waits."""
    try:
        conn = sqlite3.connect(database, isolation_level=None, timeout=0, check_same_thread=False)
    except sqlite3.Error:
        return
    try:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    except sqlite3.Error:
        pass  # busy (another process's checkpoint, a purge's TRUNCATE) or gone: the next one catches up
    finally:
        conn.close()
