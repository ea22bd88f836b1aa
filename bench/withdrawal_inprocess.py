"""`python -m bench.withdrawal_inprocess [SIZE] [POSTS] [MENTIONS] [--statements] [--profile] [--cold]
[--no-purge]`: one consent withdrawal timed in-process.

The cached seed of SIZE (bench/seed.py), a working copy, a subject with POSTS posts and MENTIONS mentions by
others (as `python -m bench` adds), then `withdraw_consent` called directly (no HTTP): the write transaction
and, separately, the byte purge after it (search tiers merged, WAL truncated). Prints JSON. `--statements` adds
the SQL statements that took longest (total seconds, count, the statement's start), the way issue 16 found
where the time went. `--profile` prints the event loop thread's cProfile of the withdrawal (to stderr, by own
time). `--cold` drops the database's pages from the page cache first (a machine that evicts its cache within a
minute, as one did in the full run, reads the scan's 470 MB at 1,000,000 posts from disk). `--no-purge` times the
transaction only (its purge is left pending: a minute less per run at 1,000,000 posts).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import time
from pathlib import Path

from bench.corpus import Corpus
from bench.seed import CACHE, SIZES, add_subject, cached_database
from bench.write_inprocess import time_statements


async def _withdraw(path: Path, user_id: int, profile: bool = False, purge: bool = True) -> dict:
    from tortoise import Tortoise

    from forum import cook_pool
    from forum.app import create_app
    from forum.db.config import tortoise_config
    from forum.services import byte_purge, withdrawal
    from forum.settings import load_settings
    from forum.viewer import viewer_for_user

    # what the app configures at start (receipt keys, moderation's withdrawal handler, scope settings) and its
    # cooking pool, as the app's lifespan starts it
    settings = load_settings(database_url=f"sqlite://{path}")
    create_app(settings)
    cook_pool.start(settings.cook_processes)
    await asyncio.gather(*(cook_pool.run(cook_pool._ready) for _ in range(settings.cook_processes)))
    await asyncio.sleep(1)  # every worker started and imported the parser, as at the app's first request
    await Tortoise.init(config=tortoise_config(f"sqlite://{path}"))
    try:
        viewer = await viewer_for_user(user_id)
        real_run = byte_purge.run
        timings: dict = {}

        async def timed_run(purge_id: int, **kwargs) -> str:
            timings["transaction_s"] = round(time.perf_counter() - started, 3)
            # this process's CPU until the commit (the cooking pool's processes not counted): steadier than the
            # wall time on a shared machine
            timings["transaction_cpu_s"] = round(time.process_time() - cpu, 3)
            if not purge:
                return byte_purge.PENDING
            t = time.perf_counter()
            state = await real_run(purge_id, **kwargs)
            timings["answer_waited_for_purge_s"] = round(time.perf_counter() - t, 3)
            await byte_purge.wait_for_background(600)  # the purge's whole time, also past the answer
            timings["purge_s"] = round(time.perf_counter() - t, 3)
            return state

        byte_purge.run = timed_run
        profiler = None
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        started, cpu = time.perf_counter(), time.process_time()
        counts = await withdrawal.withdraw_consent(viewer, channel="api")
        if profiler is not None:
            import pstats

            profiler.disable()
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(30)
        timings["total_s"] = round(time.perf_counter() - started, 3)
        timings["process_cpu_s"] = round(time.process_time() - cpu, 3)
        byte_purge.run = real_run
        return {**timings, "counts": counts}
    finally:
        cook_pool.stop()
        await Tortoise.close_connections()


def drop_cached(path: Path) -> None:
    """The file's (and its WAL's) pages out of the page cache: written to disk, then dropped (no root needed)."""
    for suffix in ("", "-wal"):
        name = Path(str(path) + suffix)
        if name.exists():
            fd = os.open(name, os.O_RDONLY)
            try:
                os.fsync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def main() -> None:
    flags = ("--statements", "--profile", "--cold", "--no-purge")
    statements, profile, cold, no_purge = (f in sys.argv for f in flags)
    args = [a for a in sys.argv[1:] if a not in flags]
    size_name = args[0] if args else "10k"
    posts = int(args[1]) if len(args) > 1 else 10_000
    mentions = int(args[2]) if len(args) > 2 else 1_000
    corpus = Corpus()
    cached, meta = cached_database(SIZES[size_name], lambda: corpus, log=lambda *a: print(*a, file=sys.stderr))
    work = CACHE / f"withdrawal-{size_name}-{os.getpid()}.sqlite3"
    shutil.copyfile(cached, work)
    try:
        info = add_subject(work, corpus, meta, username="trekker_tilbake", posts=posts, mentions=mentions,
                           seed_text=f"{size_name}-inprocess")
        if cold:
            drop_cached(work)
        spent = time_statements({}) if statements else None
        result = asyncio.run(_withdraw(work, info["user_id"], profile, purge=not no_purge))
        if spent is not None:  # the transaction's and the purge's statements alike
            result["statements_total_s"] = round(sum(t for t, _ in spent.values()), 3)
            longest = sorted(((sql, v) for (_where, sql), v in spent.items()), key=lambda kv: -kv[1][0])[:25]
            result["statements"] = [{"s": round(t, 3), "n": n, "sql": sql} for sql, (t, n) in longest]
        print(json.dumps({"size": size_name, "posts": posts, "mentions": mentions, **result}, indent=1,
                         default=str))
    finally:
        for suffix in ("", "-wal", "-shm", "-writers", ".secret"):
            Path(str(work) + suffix).unlink(missing_ok=True)


if __name__ == "__main__":
    main()
