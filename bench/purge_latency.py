"""`python -m bench.purge_latency [SIZE]`: how long writers wait while a withdrawal's byte purge runs (SQLite).

A working copy of the cached seed; the search index's entries of 2,000 posts are replaced (what a withdrawal's
rewrite leaves for the merge), then the purge (forum.services.byte_purge: both tiers merged step by step, the WAL
truncated) runs in one thread while another commits a small write every 5 ms, each timed from BEGIN IMMEDIATE to
COMMIT. Prints the purge time and the writers' p50 / p99 / max in JSON.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import sys
import threading
import time
from pathlib import Path

from bench.corpus import Corpus
from bench.seed import CACHE, SIZES, cached_database
from forum.services import byte_purge, search


def main() -> None:
    size = sys.argv[1] if len(sys.argv) > 1 else "10k"
    cached, _meta = cached_database(SIZES[size], Corpus, log=lambda *a: print(*a, file=sys.stderr))
    work = CACHE / f"purge-{size}-{os.getpid()}.sqlite3"
    shutil.copyfile(cached, work)
    try:
        conn = sqlite3.connect(work, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE IF NOT EXISTS purge_probe (id INTEGER PRIMARY KEY, at REAL)")
        for table in (search.RECENT, search.OLDER):
            conn.execute("BEGIN")
            conn.execute(f"INSERT OR REPLACE INTO {table} (rowid, {search.COLUMNS}) SELECT rowid, title, "
                         f"body || ' x', title_stems, body_stems || ' x' FROM {table} ORDER BY rowid DESC LIMIT 1000")
            conn.execute("COMMIT")
        conn.close()
        waits: list[float] = []
        done = threading.Event()

        def writer() -> None:
            w = sqlite3.connect(work, isolation_level=None, timeout=30)
            w.execute("PRAGMA synchronous = NORMAL")  # as the app
            while not done.is_set():
                started = time.perf_counter()
                w.execute("BEGIN IMMEDIATE")
                w.execute("INSERT INTO purge_probe (at) VALUES (?)", [started])
                w.execute("COMMIT")
                waits.append(time.perf_counter() - started)
                time.sleep(0.005)
            w.close()

        thread = threading.Thread(target=writer)
        thread.start()
        started = time.perf_counter()
        ok = byte_purge._sqlite_purge(str(work), [search.RECENT, search.OLDER])
        purge_s = time.perf_counter() - started
        done.set()
        thread.join()
        waits.sort()
        ms = [round(w * 1000, 1) for w in waits]
        print(json.dumps({"size": size, "purge_s": round(purge_s, 2), "checkpointed": ok, "writes": len(ms),
                          "p50_ms": ms[len(ms) // 2], "p99_ms": ms[int(len(ms) * 0.99)], "max_ms": ms[-1],
                          "loadavg": os.getloadavg()}))
    finally:
        for suffix in ("", "-wal", "-shm", "-writers"):
            Path(str(work) + suffix).unlink(missing_ok=True)


if __name__ == "__main__":
    main()
