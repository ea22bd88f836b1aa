"""Uploads kept for a post not yet written (issue 22): the JSON API's upload-then-attach, and a composer the
forum sent back (an empty text, a warning to confirm), whose files a browser without JavaScript cannot send again.

A pending upload went through the same pipeline as a composer's file (the consent gate first, the type from the
bytes, a picture drawn anew, the alt text) and counts in the member's hourly limit when it is kept. It belongs to
its uploader only, is attached at most once (the row moves to `attachment` with its token, inside the post's
write transaction, so the post's per-post limits and detectors see it like a file sent with the form), and is
gone when it expires (`forum purge`), or at withdrawal and erasure.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from forum import db, events
from forum.db import write_transaction
from forum.errors import N_, FileProblem
from forum.services import attachments
from forum.services.participation import check_can_participate
from forum.services.uploads import Processed
from forum.viewer import Viewer

KEPT_HOURS = 24
COLUMNS = "id, token, kind, media_type, size, width, height, alt, created_at, expires_at"
UNKNOWN = N_("A file you chose is no longer kept (it expired, was attached or removed): choose it again.")


async def pending_count(user_id: int, conn=None) -> int:
    """The member's live pending uploads (not expired, attached or removed)."""
    now = db.time_param(datetime.now(UTC), conn)
    return (await db.fetch_one("SELECT count(*) AS n FROM pending_upload WHERE user_id = ? AND expires_at > ?",
                               [user_id, now], conn))["n"]


async def keep(viewer: Viewer | None, uploads: Sequence[attachments.Upload]) -> list[dict]:
    """Processes and keeps the files for the member's next post; returns their rows (no bytes). At most one
    post's worth of files is kept for a member at a time (attach or remove them first)."""
    uploads = [u for u in uploads if u.data or u.filename]
    if not uploads:
        return []
    already = await pending_count(viewer.id) if viewer is not None else 0
    prepared = await attachments.prepare(uploads, viewer, already=already)
    return await keep_prepared(viewer, prepared)


async def keep_prepared(viewer: Viewer, prepared: Sequence[attachments.Prepared]) -> list[dict]:
    """Files `attachments.prepare` already processed (a composer sent back after it did)."""
    if not prepared:
        return []
    now = datetime.now(UTC)
    tokens = [secrets.token_hex(16) for _ in prepared]
    async with write_transaction() as conn:
        await check_can_participate(viewer, conn, action="post")
        await attachments.check_hourly(conn, viewer.id, len(prepared), now)
        if await pending_count(viewer.id, conn) + len(prepared) > attachments.LIMITS.per_post:
            raise FileProblem(N_("At most %(num)s files per post."), code="too_many_files",
                              num=attachments.LIMITS.per_post)
        at, until = db.time_param(now, conn), db.time_param(now + timedelta(hours=KEPT_HOURS), conn)
        rows = [[token, viewer.id, f.processed.kind, f.processed.media_type, len(f.processed.data),
                 f.processed.width, f.processed.height, f.alt, f.processed.data, at, until]
                for token, f in zip(tokens, prepared, strict=True)]
        await db.execute_many(
            "INSERT INTO pending_upload (token, user_id, kind, media_type, size, width, height, alt, data, "
            "created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows, conn)
        rows = await db.fetch_in(f"SELECT {COLUMNS} FROM pending_upload WHERE token IN ({{in}}) ORDER BY id",
                                 tokens, conn)
    for row in rows:
        row["created_at"], row["expires_at"] = db.as_datetime(row["created_at"]), db.as_datetime(row["expires_at"])
    return rows


async def of_member(user_id: int, ids: Sequence[int]) -> list[dict]:
    """The member's own unexpired pending uploads among `ids` (no bytes), for a composer to show again."""
    ids = sorted({i for i in ids if isinstance(i, int)})
    if not ids:
        return []
    now = db.time_param(datetime.now(UTC))
    return await db.fetch_all(f"SELECT {COLUMNS} FROM pending_upload WHERE user_id = ? AND expires_at > ? "
                              f"AND id IN ({db.marks(len(ids))}) ORDER BY id", [user_id, now, *ids])


async def claim(conn, user_id: int, ids: Sequence[int], now: datetime) -> list[attachments.Prepared]:
    """Inside the post's write transaction: the member's pending uploads `ids`, taken out of the pending table
    (so each is attached once), as prepared files that keep their token. An id that is not the member's, has
    expired or was attached already refuses the post (400); the transaction then puts them all back."""
    ids = sorted({i for i in ids if isinstance(i, int)})
    if not ids:
        return []
    marks = db.marks(len(ids))
    rows = await db.fetch_all(f"SELECT {COLUMNS}, data FROM pending_upload WHERE user_id = ? AND expires_at > ? "
                              f"AND id IN ({marks}) ORDER BY id", [user_id, db.time_param(now, conn), *ids], conn)
    deleted = await db.execute(f"DELETE FROM pending_upload WHERE user_id = ? AND id IN ({marks})",
                               [user_id, *ids], conn) if len(rows) == len(ids) else 0
    if deleted != len(ids):
        raise FileProblem(UNKNOWN, code="upload_not_pending", fields={"attachments": UNKNOWN})
    files = []
    for row in rows:
        data = bytes(row["data"])
        text = data.decode("utf-8") if row["kind"] == attachments.TEXT else None
        files.append(attachments.Prepared(Processed(row["kind"], row["media_type"], data, row["width"],
                                                    row["height"], text), row["alt"], token=row["token"]))
    return files


async def remove(viewer: Viewer, ids: Sequence[int]) -> int:
    """The member takes files out of a composer before posting: the bytes and the alt text go now; the row stays,
    expired, until `forum purge`, so a removed upload still counts in the hourly limit (uploading and removing
    over and over would otherwise re-encode pictures without limit)."""
    ids = sorted({i for i in ids if isinstance(i, int)})
    if not ids:
        return 0
    async with write_transaction() as conn:
        now = db.time_param(datetime.now(UTC), conn)
        return await db.execute(
            f"UPDATE pending_upload SET data = ?, size = 0, alt = '', width = NULL, height = NULL, expires_at = ? "
            f"WHERE user_id = ? AND expires_at > ? AND id IN ({db.marks(len(ids))})",
            [b"", now, viewer.id, now, *ids], conn)


async def _on_purging(purge: events.Purge) -> None:
    purge.counts["pending_uploads"] = await purge.delete_batches("pending_upload", "expires_at <= ?",
                                                                 [db.time_param(purge.now)])


async def _on_leaving(payload: events.Withdrawal) -> None:
    await db.execute("DELETE FROM pending_upload WHERE user_id = ?", [payload.user_id], payload.conn)


async def _on_exporting(export: events.Export) -> None:
    rows = await db.fetch_all("SELECT id, kind, media_type, size, alt, created_at, expires_at FROM pending_upload "
                              "WHERE user_id = ? AND expires_at > ? ORDER BY id",
                              [export.user_id, db.time_param(datetime.now(UTC))])
    for row in rows:
        row["created_at"], row["expires_at"] = db.as_datetime(row["created_at"]), db.as_datetime(row["expires_at"])
    export.sections["pending_uploads"] = rows


def install() -> None:
    from forum.services import byte_purge

    byte_purge.touches("pending_upload")  # withdrawal's byte purge vacuums it on PostgreSQL
    events.subscribe(events.CONSENT_WITHDRAWN, _on_leaving)
    events.subscribe(events.ACCOUNT_ERASING, _on_leaving)
    events.subscribe(events.EXPORTING, _on_exporting)
    events.subscribe(events.PURGING, _on_purging)
