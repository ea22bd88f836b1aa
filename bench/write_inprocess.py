"""`python -m bench.write_inprocess [SIZE] [POSTS] [--statements] [--profile FILE]`: replies created in-process.

A working copy of the cached seed of SIZE (bench/seed.py), then POSTS replies by the seeded writers to the seed's
write topics, one after another, through `create_reply` (no HTTP), with the app configured and its cooking pool
started as the app's lifespan does. Prints JSON: per post the wall time, this process's CPU, and the time the
write lock was held (BEGIN IMMEDIATE to COMMIT). `--statements` adds the statements that took longest inside and
outside the write transaction; `--profile FILE` writes a cProfile of the loop.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import time
from collections import defaultdict
from pathlib import Path

from bench.corpus import Corpus
from bench.seed import CACHE, SIZES, cached_database


def time_statements(state: dict) -> dict:
    """Adds up each statement's time (by its text), keyed by whether a write transaction was open
    (`state["open"]`, which the caller keeps; bench.withdrawal_inprocess leaves it unset)."""
    from tortoise.backends.sqlite import client

    import forum.db  # noqa: F401 (its patches first: the timing wraps them)

    spent: dict = defaultdict(lambda: [0.0, 0])

    def timed(method):
        async def run(self, query, *args, **kwargs):
            started = time.perf_counter()
            try:
                return await method(self, query, *args, **kwargs)
            finally:
                where = "in" if state.get("open") else "out"
                entry = spent[(where, " ".join(str(query).split())[:140])]
                entry[0] += time.perf_counter() - started
                entry[1] += 1
        return run

    for cls in (client.SqliteClient, client.SqliteTransactionWrapper):
        for name in ("execute_query", "execute_query_dict", "execute_many", "execute_insert", "execute_script"):
            if name in cls.__dict__:
                setattr(cls, name, timed(cls.__dict__[name]))
    return spent


def _time_lock(state: dict) -> None:
    """The write lock's time: from BEGIN IMMEDIATE to the end of COMMIT (or ROLLBACK)."""
    from tortoise.backends.sqlite import client

    begin, commit, rollback = (client.SqliteTransactionWrapper.begin, client.SqliteTransactionWrapper.commit,
                               client.SqliteTransactionWrapper.rollback)

    async def timed_begin(self):
        await begin(self)
        if state.get("profiler"):
            state["profiler"].enable()
        state["open"] = True
        state["began"] = time.perf_counter()

    def ending(method):
        async def run(self):
            state["ending"] = time.perf_counter()
            try:
                return await method(self)
            finally:
                if state.get("open"):
                    if state.get("profiler"):
                        state["profiler"].disable()
                    state["open"] = False
                    state["locked_s"] = state.get("locked_s", 0.0) + time.perf_counter() - state["began"]
                    state["transactions"] = state.get("transactions", 0) + 1
                    state["commit_s"] = state.get("commit_s", 0.0) + time.perf_counter() - state["ending"]
        return run

    client.SqliteTransactionWrapper.begin = timed_begin
    client.SqliteTransactionWrapper.commit = ending(commit)
    client.SqliteTransactionWrapper.rollback = ending(rollback)


async def _reply(path: Path, meta: dict, bodies: list[str], posts: int, state: dict, spent: dict,
                 profile: str | None) -> dict:
    from tortoise import Tortoise

    from forum import cook_pool
    from forum.app import create_app
    from forum.db import fetch_all
    from forum.db.config import tortoise_config
    from forum.services.posts import create_reply
    from forum.settings import load_settings
    from forum.viewer import viewer_for_user

    os.environ["FORUM_RATE_LIMITS"] = "off"
    settings = load_settings(database_url=f"sqlite://{path}")
    create_app(settings)
    cook_pool.start(settings.cook_processes)
    await asyncio.gather(*(cook_pool.run(cook_pool._ready) for _ in range(settings.cook_processes)))
    await asyncio.sleep(1)
    config = tortoise_config(f"sqlite://{path}")
    for pragma in os.environ.get("WRITE_PRAGMAS", "").split(","):  # experiments: WRITE_PRAGMAS=name=value,...
        if pragma:
            name, value = pragma.split("=", 1)
            config["connections"]["default"]["credentials"][name] = value
    await Tortoise.init(config=config)
    try:
        rows = await fetch_all("SELECT id FROM account WHERE email IN (" + ",".join("?" * len(meta["writers"])) + ")",
                               meta["writers"])
        viewers = [await viewer_for_user(r["id"]) for r in rows]
        topics = meta["write_topics"]
        for n in range(10):  # warm up: caches, the cooking pool, the first statements
            await create_reply(viewers[n % len(viewers)], topics[n % len(topics)], body=f"{bodies[n]} (warm {n})")
        from forum.db import connection
        await connection().execute_query("PRAGMA wal_checkpoint(TRUNCATE)")
        state.clear()
        for entry in spent.values():
            entry[:] = [0.0, 0]
        profiler = None
        if profile:
            import cProfile
            profiler = cProfile.Profile()
            profiler.enable()
        if os.environ.get("WRITE_PROFILE_LOCKED"):  # experiments: cProfile of the write transactions alone
            import cProfile
            state["profiler"] = cProfile.Profile()
        started, cpu = time.perf_counter(), time.process_time()
        for n in range(posts):
            await create_reply(viewers[n % len(viewers)], topics[(n * 7) % len(topics)],
                               body=f"{bodies[n % len(bodies)]} ({n})")
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        if profiler:
            profiler.disable()
            profiler.dump_stats(profile)
        if state.get("profiler"):
            state["profiler"].dump_stats(os.environ["WRITE_PROFILE_LOCKED"])
        wal_bytes = os.path.getsize(f"{path}-wal")  # noqa: ASYNC240 (a measurement, after the loop)
        if os.environ.get("WRITE_KEEP_WAL"):  # experiments: the WAL of the posts, to see which pages they wrote
            shutil.copyfile(f"{path}-wal", os.environ["WRITE_KEEP_WAL"])
        _count, frames = await connection().execute_query("PRAGMA wal_checkpoint(PASSIVE)")
        return {"posts": posts, "wall_ms_per_post": round(wall * 1000 / posts, 3),
                "cpu_ms_per_post": round(cpu * 1000 / posts, 3),
                "locked_ms_per_post": round(state.get("locked_s", 0) * 1000 / posts, 3),
                "commit_ms_per_post": round(state.get("commit_s", 0) * 1000 / posts, 3),
                "wal_bytes_per_post": round(wal_bytes / posts), "wal_checkpoint": [tuple(r) for r in frames],
                "transactions_per_post": round(state.get("transactions", 0) / posts, 2)}
    finally:
        cook_pool.stop()
        await Tortoise.close_connections()


def main() -> None:
    statements = "--statements" in sys.argv
    args = [a for a in sys.argv[1:] if a != "--statements"]
    profile = None
    if "--profile" in args:
        i = args.index("--profile")
        profile = args[i + 1]
        del args[i:i + 2]
    size_name = args[0] if args else "10k"
    posts = int(args[1]) if len(args) > 1 else 300
    corpus = Corpus()
    cached, meta = cached_database(SIZES[size_name], lambda: corpus, log=lambda *a: print(*a, file=sys.stderr))
    work = CACHE / f"write-{size_name}-{os.getpid()}.sqlite3"
    shutil.copyfile(cached, work)
    if os.environ.get("WRITE_SETUP_SQL"):  # experiments: e.g. an FTS5 setting, on the working copy
        import sqlite3
        with sqlite3.connect(work) as setup:
            setup.executescript(os.environ["WRITE_SETUP_SQL"])
    try:
        state: dict = {}
        _time_lock(state)
        spent = time_statements(state) if statements else {}
        result = asyncio.run(_reply(work, meta, [b.source for b in corpus.bodies[:40]], posts, state, spent,
                                    profile))
        if statements:
            for where in ("in", "out"):
                mine = {sql: v for (w, sql), v in spent.items() if w == where}
                result[f"statements_{where}_ms_per_post"] = round(sum(t for t, _ in mine.values()) * 1000 / posts, 3)
                result[f"statements_{where}"] = [
                    {"ms_per_post": round(t * 1000 / posts, 3), "n": n, "sql": sql}
                    for sql, (t, n) in sorted(mine.items(), key=lambda kv: -kv[1][0])[:30]]
        print(json.dumps({"size": size_name, **result}, indent=1, default=str))
    finally:
        if os.environ.get("WRITE_KEEP_WAL"):
            shutil.move(work, os.environ["WRITE_KEEP_WAL"] + ".db")
        for suffix in ("", "-wal", "-shm", "-writers", ".secret"):
            Path(str(work) + suffix).unlink(missing_ok=True)


if __name__ == "__main__":
    main()
