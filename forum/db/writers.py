"""The writers' turn on SQLite: the processes of one database take the write lock one after another, at once.

SQLite lets one writer in at a time; a process whose BEGIN IMMEDIATE finds another one writing waits in SQLite's
busy handler, which sleeps and polls (1, 2, 5, 10, 15, 20, 25, 25, 50, … ms). With two workers writing, the lock
changed hands late and unfairly: the process that had just committed took it again while the other slept (the
write benchmark's p99 near a second). Before its BEGIN a write transaction takes an exclusive `flock` on a file
beside the database (`<file>-writers`); the kernel hands it to a waiting process as soon as it is given back, so
the write lock passes on without the sleep. Processes that do not take the turn (another tool, an older version)
still meet the write lock itself and wait in busy_timeout as before: the turn only orders, it guards nothing.
"""

from __future__ import annotations

import asyncio
import fcntl
import os

# (database file, process id) -> the process's own open lock file: a flock belongs to the open file, so a child
# forked with the parent's must open its own
_files: dict[tuple[str, int], int] = {}
_held: set[int] = set()
KEPT_OPEN = 8  # lock files of other databases kept open (a test run opens one database after another)


def _lock_file(database: str) -> int | None:
    key = (database, os.getpid())
    fd = _files.get(key)
    if fd is None:
        try:
            fd = os.open(database + "-writers", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError:
            return None  # a read-only directory, say: writers meet at the write lock alone
        for old_key, old in list(_files.items()):
            if len(_files) < KEPT_OPEN:
                break
            if old not in _held and old_key[1] == key[1]:
                del _files[old_key]
                os.close(old)
        _files[key] = fd
    return fd


async def take(database: str) -> int | None:
    """Waits for this process's turn to write `database` (a file); returns what `give_back` takes."""
    if not database or database == ":memory:":
        return None
    fd = _lock_file(database)
    if fd is None:
        return None
    _held.add(fd)  # from here on the file stays open until the turn is given back
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return fd
    except BlockingIOError:
        pass
    waiting = asyncio.ensure_future(asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX))
    try:
        await asyncio.shield(waiting)
    except asyncio.CancelledError:
        # the thread takes the turn later all the same: give it back then, so that it is not kept forever
        waiting.add_done_callback(lambda f: f.cancelled() or f.exception() or give_back(fd))
        raise
    except BaseException:
        _held.discard(fd)
        raise
    return fd


def give_back(fd: int | None) -> None:
    if fd is not None:
        fcntl.flock(fd, fcntl.LOCK_UN)
        _held.discard(fd)
