"""Cooking off the app process: a few worker processes that turn Markdown into sanitised HTML.

Parsing and sanitising are pure Python. In a thread of the app process they hold the GIL, and the event loop,
which hands the GIL back at every await, then waits up to the switch interval for it each time: one account
cooking 50 KB previews in 4 threads took another member's reply from 10 ms to 5.5 s (issue 18). In worker
processes the operating system shares the cores, and the app process only waits on a pipe.

- `start(processes)` in the app's lifespan (the workers start in the background), `stop()` at its end;
  FORUM_COOK_PROCESSES=0 cooks in threads instead. Workers run at a lower priority (niceness 5), so a long
  cook takes the CPU only when the app processes and the database do not need it.
- `run(fn, *args, account=id)`: in a worker when the pool runs (a broken pool is replaced once), else in a
  thread (the CLI, seeding, a process without the lifespan). One account runs one job at a time in this
  process: its parallel requests queue behind each other, so it occupies one worker at most and the others
  stay free for everyone else.

The cost of one cook is bounded by forum/markup.py (size, lines and elements).
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

T = TypeVar("T")

_pool: ProcessPoolExecutor | None = None
_processes = 0
_turns: dict[int, list] = {}  # account -> [its lock, requests holding or waiting for it]


WORKER_NICENESS = 5  # cooking yields the CPU to the app processes and the database when they need it


def _warm() -> None:
    import os

    import forum.markup  # noqa: F401  (imported once per worker, before the first job)

    try:
        os.nice(WORKER_NICENESS)
    except OSError:  # not permitted here: cook at the same priority
        pass


def _ready() -> None:
    """A job that does nothing: submitted once per worker at start, so all of them are spawned (and have imported
    the parser) before the first post, not while someone waits for one."""


def _new_pool() -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=_processes, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_warm)


def start(processes: int) -> None:
    global _pool, _processes
    stop()
    _processes = processes
    _pool = _new_pool() if processes > 0 else None
    for _ in range(processes):
        _pool.submit(_ready)


def stop() -> None:
    global _pool
    pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


def running() -> bool:
    return _pool is not None


def processes() -> int:
    """How many worker processes the pool has (0: it cooks in threads)."""
    return _processes if _pool is not None else 0


async def run(fn: Callable[..., T], *args: Any, account: int | None = None, inline: bool = False,
              **kwargs: Any) -> T:
    """`fn(*args, **kwargs)` in a worker process (fn and its arguments must pickle), else in a thread; on
    `account`'s turn. `inline`: the caller knows the job costs a few milliseconds at most (markup.is_cheap), so
    it runs here and now: a short reply does not queue behind anyone, nor wait for a worker's time slice."""
    if inline:
        return fn(*args, **kwargs)
    async with _turn(account):
        return await _run(functools.partial(fn, *args, **kwargs))


async def _run(call: Callable[[], T]) -> T:
    global _pool
    if _pool is None:
        return await run_in_threadpool(call)
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(_pool, call)
    except BrokenProcessPool:  # a worker died (killed, out of memory): replace the pool, try once more
        broken, _pool = _pool, _new_pool()
        if broken is not None:
            broken.shutdown(wait=False, cancel_futures=True)
        return await loop.run_in_executor(_pool, call)


@asynccontextmanager
async def _turn(account: int | None) -> AsyncIterator[None]:
    """Holds this account's one turn in this process (see the module's text)."""
    if account is None:
        yield
        return
    entry = _turns.setdefault(account, [asyncio.Lock(), 0])
    entry[1] += 1
    try:
        async with entry[0]:
            yield
    finally:
        entry[1] -= 1
        if entry[1] == 0:
            _turns.pop(account, None)
