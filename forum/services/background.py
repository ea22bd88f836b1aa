"""What the app's background workers (mail, OCR) share: waiting for the first of several things, and a clean stop
that lets the round in hand finish before it gives up and cancels."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable


async def first_of(*waits: Awaitable) -> None:
    """Returns as soon as one of `waits` is done; the others are cancelled."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()


async def stop_worker(task: asyncio.Task, stop: asyncio.Event, *, grace: float = 20.0) -> None:
    """Sets `stop` and gives the worker `grace` seconds to finish what it is doing (a mail being sent, a picture
    being read), so nothing is left in doubt; then cancels it."""
    stop.set()
    try:
        await asyncio.wait_for(asyncio.shield(task), timeout=grace)
    except TimeoutError:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
