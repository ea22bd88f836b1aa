"""Files of posts (issue 22): checking and storing uploads with their post, finding them for the file route and
the topic page, hiding one, and what a withdrawal, an erasure and an export do with them.

Uploads are processed (forum.services.uploads) before the post's write transaction, since re-encoding a
photo takes a good part of a second of CPU; the rows are written inside it, so a post and its files commit
together or not at all. The limits (count and size per post, uploads per member per hour) are settings.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from starlette.concurrency import run_in_threadpool

from forum import db, events
from forum.errors import N_, ConsentRequired, FileProblem, FileTooLarge, NotFound, RateLimited
from forum.services import rate_limits
from forum.services.uploads import Processed, process

IMAGE, TEXT = "image", "text"
MAX_ALT = 500


@dataclass
class Limits:
    file_bytes: int = 10_000_000
    post_bytes: int = 25_000_000
    per_post: int = 5
    per_hour: int = 30
    max_pixels: int = 50_000_000


LIMITS = Limits()


def configure(settings) -> None:
    LIMITS.file_bytes = settings.attachment_file_mb * 1_000_000
    LIMITS.post_bytes = settings.attachment_post_mb * 1_000_000
    LIMITS.per_post = settings.attachments_per_post
    LIMITS.per_hour = settings.uploads_per_hour
    LIMITS.max_pixels = settings.image_max_megapixels * 1_000_000


def request_body_limit() -> int:
    """What a composer's request may carry: the files of one post and the form around them."""
    return LIMITS.post_bytes + 1_000_000


@dataclass(frozen=True)
class Upload:
    """One file as the form sent it; `filename` only tells a text file's kind and is never stored."""

    data: bytes
    filename: str
    alt: str = ""


@dataclass(frozen=True)
class Prepared:
    processed: Processed
    alt: str
    token: str | None = None  # a pending upload's (forum.services.pending_uploads): counted when it was kept


async def prepare(uploads: Sequence[Upload], viewer=None, *, already: int = 0) -> list[Prepared]:
    """Checks the count (with the `already` files the post has or will have), the sizes and the alt texts, and
    processes each file (in a thread: it is CPU work).
    Raises FileProblem (400, 413 or 415) naming the problem; nothing is stored here. A viewer who may not take
    part is refused before any CPU is spent on their files (the post's own gate decides again, in its write)."""
    uploads = [u for u in uploads if u.data or u.filename]
    if uploads and viewer is not None:
        from forum.services.consent import ConsentStatus, participation_status

        if await participation_status(viewer) not in (ConsentStatus.GRANTED,):
            raise ConsentRequired()
    if len(uploads) + already > LIMITS.per_post:
        raise FileProblem(N_("At most %(num)s files per post."), code="too_many_files", num=LIMITS.per_post)
    if sum(len(u.data) for u in uploads) > LIMITS.post_bytes:
        raise FileTooLarge(N_("The files are too large together: at most %(mb)s MB per post."),
                           mb=f"{LIMITS.post_bytes / 1_000_000:g}")
    prepared = []
    for upload in uploads:
        processed = await run_in_threadpool(process, upload.data, upload.filename, max_bytes=LIMITS.file_bytes,
                                            max_pixels=LIMITS.max_pixels)
        alt = " ".join(upload.alt.split())[:MAX_ALT]
        if processed.kind == IMAGE and not alt:
            raise FileProblem(N_("Describe each picture in a few words (its alt text), for readers who cannot "
                                 "see it."), code="alt_text_missing")
        prepared.append(Prepared(processed, alt))
    return prepared


def detector_texts(files: Sequence[Prepared]) -> list[str]:
    """The text files' contents: the post's detectors read them as they read its text."""
    return [f.processed.text for f in files if f.processed.text]


def check_post_limits(files: Sequence[Prepared]) -> None:
    """The files of one post, however they came (sent with the form, or kept pending): count and total size."""
    if len(files) > LIMITS.per_post:
        raise FileProblem(N_("At most %(num)s files per post."), code="too_many_files", num=LIMITS.per_post)
    if sum(len(f.processed.data) for f in files) > LIMITS.post_bytes:
        raise FileTooLarge(N_("The files are too large together: at most %(mb)s MB per post."),
                           mb=f"{LIMITS.post_bytes / 1_000_000:g}")


async def check_hourly(conn, user_id: int, adding: int, now: datetime) -> None:
    """Inside a write transaction: the member's files of the last hour, attached or kept pending, and `adding`
    more, within FORUM_UPLOADS_PER_HOUR (429). Off with FORUM_RATE_LIMITS=off (imports, benchmarks, tests)."""
    if not adding or not rate_limits.enabled():
        return
    await rate_limits.serialise(conn, "post", user_id)
    since = db.time_param(now - timedelta(hours=1), conn)
    recent = (await db.fetch_one(
        "SELECT (SELECT count(*) FROM attachment WHERE author_id = ? AND created_at >= ?) + "
        "(SELECT count(*) FROM pending_upload WHERE user_id = ? AND created_at >= ?) AS n",
        [user_id, since, user_id, since], conn))["n"]
    if recent + adding > LIMITS.per_hour:
        raise RateLimited(N_("You have attached many files in the last hour. Please wait a little."),
                          code="upload_rate_limited")


async def store(conn, *, post_id: int, author_id: int, files: Sequence[Prepared], now: datetime) -> None:
    """Inside the post's write transaction: the member's hourly count (pending uploads were counted when kept),
    then one row per file (pictures wait for OCR, forum/services/ocr.py)."""
    if not files:
        return
    await check_hourly(conn, author_id, sum(1 for f in files if f.token is None), now)
    await _insert(conn, post_id=post_id, author_id=author_id, files=files, now=now)


async def _insert(conn, *, post_id: int, author_id: int, files: Sequence[Prepared], now: datetime) -> None:
    at = db.time_param(now, conn)
    rows = []
    for f in files:
        p = f.processed
        rows.append([f.token or secrets.token_hex(16), post_id, author_id, p.kind, p.media_type, len(p.data), p.width,
                     p.height, f.alt, p.data, at, "pending" if p.kind == IMAGE else "none", at])
    await db.execute_many(
        "INSERT INTO attachment (token, post_id, author_id, kind, media_type, size, width, height, alt, data, "
        "created_at, hidden_kinds, ocr_state, ocr_attempts, ocr_not_before) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?, 0, ?)", rows, conn)
    if any(f.processed.kind == IMAGE for f in files):
        from forum.services import ocr

        db.after_commit(conn, ocr.wake_soon)


# -- reading ---------------------------------------------------------------------------------------------------------

CARD_COLUMNS = "id, token, post_id, kind, media_type, size, width, height, alt, removed_at, hidden_at"


async def of_posts(post_ids: Sequence[int]) -> dict[int, list[dict]]:
    """The attachments of these posts (no bytes), in upload order: one query for a topic page."""
    found: dict[int, list[dict]] = {}
    if not post_ids:
        return found
    for row in await db.fetch_in(f"SELECT {CARD_COLUMNS} FROM attachment WHERE post_id IN ({{in}}) ORDER BY id",
                                 post_ids):
        found.setdefault(row["post_id"], []).append(row)
    return found


async def by_token(token: str) -> dict | None:
    """The file and its bytes, for the file route (which checks the post's access before answering)."""
    if not valid_token(token):
        return None
    return await db.fetch_one(f"SELECT {CARD_COLUMNS}, data FROM attachment WHERE token = ?", [token])


def valid_token(token) -> bool:
    return isinstance(token, str) and len(token) == 32 and all(c in "0123456789abcdef" for c in token)


async def access_file(viewer, token: str) -> tuple[dict, bool]:
    """The file if the viewer may see it (the access of its post: forum.permissions.attachments), and whether
    it is public (a shared cache may keep it); NotFound otherwise, whether missing or not for this viewer."""
    from forum.permissions.attachments import FileFacts, check_can_see_file, is_public_file
    from forum.permissions.facts import PostFacts, TopicFacts
    from forum.services.access import access_post_by_id

    row = await by_token(token)
    if row is None:
        return await _own_pending(viewer, token), False
    post = await access_post_by_id(viewer, row["post_id"])
    topic, facts, file = TopicFacts.of(post.topic), PostFacts.of(post), FileFacts.of_row(row)
    check_can_see_file(viewer, topic, facts, file)
    return row, is_public_file(topic, facts, file)


async def _own_pending(viewer, token: str) -> dict:
    """A file uploaded for a post not yet written (forum.services.pending_uploads): its uploader's alone, until
    it expires (never cached)."""
    row = None
    if viewer is not None and valid_token(token):
        row = await db.fetch_one(
            "SELECT id, token, kind, media_type, size, width, height, alt, data FROM pending_upload "
            "WHERE token = ? AND user_id = ? AND expires_at > ?", [token, viewer.id, db.time_param(datetime.now(UTC))])
    if row is None:
        raise NotFound()
    return row


# -- hiding (OCR found personal data), withdrawal, erasure, export ---------------------------------------------------

async def hide(conn, attachment_id: int, kinds: Sequence[str]) -> None:
    await db.execute("UPDATE attachment SET hidden_at = ?, hidden_kinds = ? WHERE id = ?",
                     [db.time_param(datetime.now(UTC), conn), ",".join(kinds)[:200], attachment_id], conn)


async def unhide_post(conn, post_id: int) -> None:
    """A moderator restored the post: its pictures show again."""
    await db.execute("UPDATE attachment SET hidden_at = NULL, hidden_kinds = '' WHERE post_id = ?", [post_id],
                     conn)


async def delete_files(conn, post_id: int, file_ids: Sequence[int]) -> int:
    """Files taken out of a post by its editor (the author replacing a picture): rows and bytes go."""
    ids = [i for i in file_ids if isinstance(i, int)]
    if not ids:
        return 0
    return await db.execute(f"DELETE FROM attachment WHERE post_id = ? AND id IN ({db.marks(len(ids))})",
                            [post_id, *ids], conn)


async def _remove_own(conn, user_id: int) -> int:
    """The member's files: bytes, alt text and OCR text go, the row stays so the post says a file was removed."""
    return len(await db.fetch_all(
        "UPDATE attachment SET data = NULL, alt = '', ocr_text = NULL, ocr_state = 'none', lease_token = NULL, "
        "lease_until = NULL, hidden_kinds = '', author_id = NULL, size = 0, width = NULL, height = NULL, "
        "removed_at = ? WHERE author_id = ? RETURNING id",
        [db.time_param(datetime.now(UTC), conn), user_id], conn))


async def pictures_naming(conn, user_id: int, scrub) -> list[dict]:
    """Others' pictures whose OCR text names the member (`scrub` changes the text): a moderator should look."""
    rows = await db.fetch_all("SELECT id, post_id, ocr_text FROM attachment WHERE ocr_text IS NOT NULL "
                              "AND removed_at IS NULL AND (author_id IS NULL OR author_id <> ?)", [user_id], conn)
    return [r for r in rows if scrub(r["ocr_text"]) != r["ocr_text"]]


async def _on_withdrawal(payload: events.Withdrawal) -> None:
    payload.counts["removed_files"] = await _remove_own(payload.conn, payload.user_id)


async def _on_erasing(payload: events.Withdrawal) -> None:
    await _remove_own(payload.conn, payload.user_id)


async def exported_file_ids(user_id: int) -> list[int]:
    """The member's own files that still have their bytes, for the export's ZIP (read one at a time)."""
    rows = await db.fetch_all("SELECT id FROM attachment WHERE author_id = ? AND data IS NOT NULL ORDER BY id",
                              [user_id])
    return [row["id"] for row in rows]


async def exported_file(user_id: int, file_id: int) -> dict | None:
    return await db.fetch_one("SELECT id, post_id, kind, media_type, alt, created_at, data FROM attachment "
                              "WHERE id = ? AND author_id = ? AND data IS NOT NULL", [file_id, user_id])


async def _on_exporting(export: events.Export) -> None:
    rows = await db.fetch_all("SELECT id, post_id, kind, media_type, size, width, height, alt, created_at, "
                              "hidden_at FROM attachment WHERE author_id = ? AND removed_at IS NULL ORDER BY id",
                              [export.user_id])
    for row in rows:
        row["created_at"] = db.as_datetime(row["created_at"])
        row["hidden_at"] = db.as_datetime(row["hidden_at"])
        row["file"] = f"files/{zip_name(row)}"
    export.sections["attachments"] = rows


def zip_name(row: dict) -> str:
    extension = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif",
                 "text/csv": "csv"}.get(row["media_type"], "txt")
    return f"attachment-{row['id']}.{extension}"


def install() -> None:
    events.subscribe(events.CONSENT_WITHDRAWN, _on_withdrawal)
    events.subscribe(events.ACCOUNT_ERASING, _on_erasing)
    events.subscribe(events.EXPORTING, _on_exporting)
