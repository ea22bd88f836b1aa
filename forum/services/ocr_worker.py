"""The OCR worker: claims pictures from the queue (forum/services/ocr.py), reads them, records the text.

`forum serve` runs one in every app process (FORUM_OCR_WORKER=on, the default); `forum ocr-worker` runs one on
its own. Tesseract runs in a thread (it is a separate process under pytesseract), so the event loop keeps
serving requests; any number of workers may run at once, the lease gives each picture to one of them.
"""

from __future__ import annotations

import asyncio
import logging
import time

from forum.services import ocr
from forum.services.background import first_of

log = logging.getLogger("forum.ocr")
BATCH = 4
POLL_SECONDS = 2.0


async def read_due(limit: int = BATCH) -> dict[str, int]:
    """One claim and its pictures; returns how many ended how (tests and `forum ocr-worker --once` call it)."""
    token, rows = await ocr.claim(limit)
    deadline = time.monotonic() + ocr.CONFIG.lease
    done: dict[str, int] = {}
    try:
        for row in rows:
            if time.monotonic() > deadline - ocr.CONFIG.timeout:
                break  # leave the rest to the next claim rather than outlive the lease
            try:
                text = await asyncio.to_thread(ocr.read_text, row["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # tesseract missing, timed out, or a picture it cannot read
                log.warning("OCR of attachment %s failed: %s", row["id"], type(exc).__name__)
                outcome = await ocr.record_failure(row, token, type(exc).__name__)
            else:
                outcome = "read" if await ocr.record_text(row, token, text) else "lost"
            done[outcome] = done.get(outcome, 0) + 1
    finally:
        if rows:
            await ocr.release(token)
    return done


async def run(stop: asyncio.Event) -> None:
    wake = ocr.wake_event()
    while not stop.is_set():
        handled = 0
        try:
            handled = sum((await read_due()).values())
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("OCR worker round failed")
        if handled:
            continue
        wake.clear()
        try:
            await asyncio.wait_for(first_of(stop.wait(), wake.wait()), timeout=POLL_SECONDS)
        except TimeoutError:
            pass


def start() -> tuple[asyncio.Task, asyncio.Event]:
    stop = asyncio.Event()
    return asyncio.get_running_loop().create_task(run(stop), name="ocr-worker"), stop
