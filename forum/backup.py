"""`forum backup PATH`: SQLite's online backup, safe while the forum is serving.

The copy is taken in one step, inside one read transaction: in WAL mode that blocks no writer, and the copy is
one consistent moment (a step-by-step backup restarts whenever another process writes, and under steady
writing might never finish). It is written to a temporary file beside PATH, checked with
`PRAGMA integrity_check`, and only then renamed to PATH, so PATH is never a half-written copy.
Restoring is described in the README ("Backup and restore").
"""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path

from forum.settings import is_sqlite, sqlite_path


def backup(database_url: str, target: str) -> int:
    if not is_sqlite(database_url):
        print("error: on PostgreSQL use pg_dump (see the README's deployment guide)", file=sys.stderr)
        return 2
    dest = Path(target)
    if dest.exists():
        print(f"error: {dest} exists; choose a new file", file=sys.stderr)
        return 2
    source_path = sqlite_path(database_url)
    if not source_path.exists():
        print(f"error: no database at {source_path}", file=sys.stderr)
        return 2
    partial = dest.with_name(f".{dest.name}.partial-{os.getpid()}")
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=30)
    try:
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy, pages=-1)  # one step: one consistent snapshot
            copy.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
            ok = copy.execute("PRAGMA integrity_check").fetchone()[0]
            posts = copy.execute("SELECT COUNT(*) FROM post").fetchone()[0]
        finally:
            copy.close()
    finally:
        source.close()
    if ok != "ok":
        partial.unlink(missing_ok=True)
        print(f"error: the copy failed its integrity check: {ok}", file=sys.stderr)
        return 1
    partial.rename(dest)
    print(f"backup written to {dest} (integrity: {ok}, posts: {posts})")
    return 0
