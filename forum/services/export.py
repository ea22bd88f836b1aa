"""Right of access (GDPR art. 15): everything the forum holds about a user, as one JSON document, streamed.

Posts are read in pages by id, so a user with tens of thousands of posts costs bounded memory. Other packages
(moderation) add their sections through the EXPORTING event.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from forum import db, events
from forum.errors import NotAuthenticated
from forum.services import receipts
from forum.services.consent import consent_history, consent_status
from forum.services.purposes import PURPOSES
from forum.viewer import Viewer

PAGE = 500


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, default=lambda v: v.isoformat() if hasattr(v, "isoformat") else str(v))


async def _posts(user_id: int) -> AsyncIterator[dict]:
    after = 0
    while True:
        rows = await db.fetch_all(
            "SELECT p.id, p.topic_id, t.title AS topic_title, p.number, p.reply_to_id, p.created_at, p.edited_at, "
            "p.deleted_at, p.hidden_at, p.like_count, p.source FROM post p JOIN topic t ON t.id = p.topic_id "
            f"WHERE p.author_id = ? AND p.id > ? ORDER BY p.id LIMIT {PAGE}", [user_id, after])
        if not rows:
            return
        marks = ",".join("?" * len(rows))
        revisions: dict[int, list] = {}
        for r in await db.fetch_all(f"SELECT post_id, number, source, created_at FROM post_revision "
                                    f"WHERE post_id IN ({marks}) ORDER BY post_id, number", [r["id"] for r in rows]):
            revisions.setdefault(r["post_id"], []).append(
                {"number": r["number"], "source": r["source"], "created_at": db.as_datetime(r["created_at"])})
        for row in rows:
            for key in ("created_at", "edited_at", "deleted_at", "hidden_at"):
                row[key] = db.as_datetime(row[key])
            row["revisions"] = revisions.get(row["id"], [])
            yield row
        after = rows[-1]["id"]


async def _section(sql: str, params: list, dates: tuple[str, ...] = ("created_at",)) -> list[dict]:
    rows = await db.fetch_all(sql, params)
    for row in rows:
        for key in dates:
            if key in row:
                row[key] = db.as_datetime(row[key])
    return rows


async def export_user(viewer: Viewer | None) -> AsyncIterator[str]:
    """Chunks of one JSON object. Raises before the first chunk if nobody is signed in."""
    if viewer is None:
        raise NotAuthenticated()
    user_id = viewer.id
    account = await db.fetch_one("SELECT id, email, role, locale, created_at FROM account WHERE id = ?", [user_id])
    account["created_at"] = db.as_datetime(account["created_at"])
    profile = await db.fetch_one("SELECT username, display_name, bio, public_profile FROM profile WHERE user_id = ?",
                                 [user_id])
    if profile:
        profile["public_profile"] = db.as_bool(profile["public_profile"])
    head = {
        "exported_at": datetime.now(UTC), "account": account, "profile": profile,
        "consent": {"status": (await consent_status(user_id)).value,
                    "purposes": {name: (await consent_status(user_id, purpose=name)).value for name in PURPOSES},
                    "history": await consent_history(user_id),
                    "receipts": [receipts.download(r) | {"id": r["id"], "purpose": r["purpose"], "event": r["event"]}
                                 for r in await receipts.receipts_of(user_id)]},
    }

    async def chunks() -> AsyncIterator[str]:
        yield _json(head)[:-1] + ', "posts": ['
        first = True
        async for post in _posts(user_id):
            yield ("" if first else ",") + _json(post)
            first = False
        sections = {
            "topics_started": await _section("SELECT id, title, kind, created_at FROM topic WHERE author_id = ? "
                                             "ORDER BY id", [user_id]),
            "likes": await _section("SELECT post_id, created_at FROM post_like WHERE user_id = ? ORDER BY id",
                                    [user_id]),
            "watched_topics": await _section("SELECT topic_id, created_at FROM topic_watch WHERE user_id = ?",
                                             [user_id]),
            "watched_categories": await _section("SELECT c.slug, w.created_at FROM category_watch w JOIN category c "
                                                 "ON c.id = w.category_id WHERE w.user_id = ?", [user_id]),
            "notifications": await _section("SELECT kind, topic_id, post_id, count, message, created_at, read_at "
                                            "FROM notification WHERE user_id = ? ORDER BY id", [user_id],
                                            ("created_at", "read_at")),
            "name_history": await _section("SELECT kind, name, created_at FROM name_history WHERE user_id = ? "
                                           "ORDER BY id", [user_id]),
            "drafts": await _section("SELECT slot, topic_id, title, body, kind, updated_at FROM composer_draft "
                                     "WHERE user_id = ? ORDER BY id", [user_id], ("updated_at",)),
            "sessions": await _section("SELECT created_at, last_seen_at, expires_at FROM session WHERE user_id = ?",
                                       [user_id], ("created_at", "last_seen_at", "expires_at")),
        }
        extra = events.Export(user_id, {})
        await events.emit(events.EXPORTING, extra)
        sections.update(extra.sections)
        yield "], " + _json(sections)[1:]

    return chunks()


SPOOL_IN_MEMORY = 1_000_000  # a small archive stays in memory; a larger one goes to a temporary file
STREAM_CHUNK = 256 * 1024


async def export_zip(viewer: Viewer | None) -> AsyncIterator[bytes]:
    """The export with the member's files (issue 22): `forum-export.json` (as `export_user` gives it) and
    `files/attachment-ID.EXT`, which the JSON's `attachments` section names. Pictures are stored as the forum
    keeps them (re-encoded, without metadata).

    Why spooled and streamed: a member with hundreds of files would otherwise have the whole archive, and
    every file's bytes at once, in the worker's memory. The archive is written to a temporary file (in memory
    while small), one file read from the database at a time, then sent in chunks; the file goes when sent."""
    from starlette.concurrency import run_in_threadpool

    from forum.services.attachments import exported_file, exported_file_ids, zip_name

    chunks = await export_user(viewer)  # checks the viewer before anything is written
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
    try:
        with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            with archive.open("forum-export.json", "w", force_zip64=True) as document:
                async for chunk in chunks:
                    await run_in_threadpool(document.write, chunk.encode("utf-8"))
            for file_id in await exported_file_ids(viewer.id):
                row = await exported_file(viewer.id, file_id)
                if row is None:  # removed since the list was read
                    continue
                # pictures are compressed already: stored as they are
                await run_in_threadpool(archive.writestr, f"files/{zip_name(row)}", bytes(row["data"]),
                                        zipfile.ZIP_STORED if row["kind"] == "image" else zipfile.ZIP_DEFLATED)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise

    async def stream() -> AsyncIterator[bytes]:
        try:
            while chunk := await run_in_threadpool(spool.read, STREAM_CHUNK):
                yield chunk
        finally:
            spool.close()

    return stream()
