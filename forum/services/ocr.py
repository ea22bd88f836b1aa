"""Reading the text in uploaded pictures (issue 22), off the request path: a queue on the attachment table.

Pictures are stored with `ocr_state = 'pending'`; workers (forum/services/ocr_worker.py) claim due rows with a
lease as the mail outbox's workers do (forum/services/outbox.py: PostgreSQL `FOR UPDATE SKIP LOCKED`, SQLite's
single writer), run Debian's tesseract on them (`-l nor+eng`, through pytesseract), and record the text with
the lease token. The text is handed to ATTACHMENT_READ inside the recording transaction: moderation runs the
post detectors on it and hides the picture and holds the post when they find something. The text is never
indexed for search; it stays with the picture (for review, and for a withdrawal to find a member's name in
others' screenshots) and goes when the picture goes.
"""

from __future__ import annotations

import asyncio
import io
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from forum import db, events

LANGUAGES = "nor+eng"
MAX_ATTEMPTS = 3


@dataclass
class Config:
    lease: float = 300.0
    timeout: float = 60.0     # seconds tesseract may take on one picture


CONFIG = Config()
_wake: asyncio.Event | None = None


def configure(settings) -> None:
    CONFIG.lease = settings.ocr_lease


def wake_event() -> asyncio.Event:
    global _wake
    if _wake is None:
        _wake = asyncio.Event()
    return _wake


def wake_soon() -> None:
    if _wake is not None:
        _wake.set()


def read_text(data: bytes) -> str:
    """Tesseract's reading of the picture (blocking: run it in a thread). Greyscale and enlarged when small,
    which is what screenshots of small type need."""
    import pytesseract
    from PIL import Image

    os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # one core per picture: workers scale by count, not threads
    with Image.open(io.BytesIO(data)) as image:
        image.seek(0)
        grey = image.convert("L")
    if grey.width < 1200:
        factor = min(3, max(1, 1600 // max(grey.width, 1)))
        if factor > 1:
            grey = grey.resize((grey.width * factor, grey.height * factor), Image.Resampling.LANCZOS)
    return pytesseract.image_to_string(grey, lang=LANGUAGES, timeout=CONFIG.timeout)


async def claim(limit: int, now: datetime | None = None) -> tuple[str, list[dict]]:
    """Up to `limit` due pictures under a fresh lease: the token and the rows (with their bytes)."""
    now = now or datetime.now(UTC)
    token = secrets.token_hex(12)
    due = await db.fetch_one("SELECT id FROM attachment WHERE ocr_state = 'pending' AND ocr_not_before <= ? "
                             "AND (lease_until IS NULL OR lease_until < ?) LIMIT 1",
                             [db.time_param(now), db.time_param(now)])
    if due is None:  # idle polls only read
        return token, []
    async with db.write_transaction() as conn:
        at = db.time_param(now, conn)
        skip = "" if conn.capabilities.dialect == "sqlite" else " FOR UPDATE SKIP LOCKED"
        ids = [r["id"] for r in await db.fetch_all(
            "SELECT id FROM attachment WHERE ocr_state = 'pending' AND ocr_not_before <= ? "
            "AND (lease_until IS NULL OR lease_until < ?) ORDER BY ocr_not_before, id LIMIT ?" + skip,
            [at, at, limit], conn)]
        if not ids:
            return token, []
        await db.execute(f"UPDATE attachment SET ocr_attempts = ocr_attempts + 1, lease_token = ?, lease_until = ? "
                         f"WHERE id IN ({db.marks(len(ids))})",
                         [token, db.time_param(now + timedelta(seconds=CONFIG.lease), conn), *ids], conn)
    rows = await db.fetch_in("SELECT a.id, a.post_id, a.author_id, a.ocr_attempts, a.data, p.topic_id "
                             "FROM attachment a JOIN post p ON p.id = a.post_id WHERE a.id IN ({in}) ORDER BY a.id",
                             ids)
    return token, rows


async def record_text(row: dict, token: str, text: str) -> bool:
    """The text, and what moderation makes of it, in one transaction; False when the lease was lost (another
    worker has the picture) or the picture went meanwhile."""
    async with db.write_transaction() as conn:
        done = await db.execute(
            "UPDATE attachment SET ocr_state = 'done', ocr_text = ?, lease_token = NULL, lease_until = NULL "
            "WHERE id = ? AND lease_token = ? AND data IS NOT NULL", [text, row["id"], token], conn)
        if not done:
            return False
        await events.emit(events.ATTACHMENT_READ, events.AttachmentRead(
            row["id"], row["post_id"], row["topic_id"], row["author_id"], text, conn))
    return True


async def record_failure(row: dict, token: str, error: str, now: datetime | None = None) -> str:
    """Tried again later (a minute, then more); after MAX_ATTEMPTS the picture stays as it is, unread."""
    now = now or datetime.now(UTC)
    if int(row["ocr_attempts"]) >= MAX_ATTEMPTS:
        await db.execute("UPDATE attachment SET ocr_state = 'failed', lease_token = NULL, lease_until = NULL "
                         "WHERE id = ? AND lease_token = ?", [row["id"], token])
        return "failed"
    wait = 60 * 4 ** (int(row["ocr_attempts"]) - 1)
    await db.execute("UPDATE attachment SET ocr_not_before = ?, lease_token = NULL, lease_until = NULL "
                     "WHERE id = ? AND lease_token = ?", [db.time_param(now + timedelta(seconds=wait)), row["id"],
                                                          token])
    return "retry"


async def release(token: str) -> None:
    await db.execute("UPDATE attachment SET lease_until = NULL, lease_token = NULL, ocr_attempts = ocr_attempts - 1 "
                     "WHERE lease_token = ? AND ocr_state = 'pending'", [token])
