"""`forum backup PATH`: SQLite's online backup, safe while the forum is serving."""

from __future__ import annotations

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
    source = sqlite3.connect(sqlite_path(database_url), timeout=30)
    try:
        copy = sqlite3.connect(dest)
        try:
            source.backup(copy, pages=1024)
            ok = copy.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            copy.close()
    finally:
        source.close()
    print(f"backup written to {dest} (integrity: {ok})")
    return 0 if ok == "ok" else 1
