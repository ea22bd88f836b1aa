"""Replacing (or removing) a picture OCR hid, from its held post (issue 22).

OCR found personal data in a picture, so the picture is hidden and its post held for review. The author cannot
edit a held post, but they can take that picture out or put a corrected one in its place: the new picture goes
through the same pipeline as any upload (sniffed, drawn anew, counted in the limits, read by OCR again), and the
old row goes with its bytes and its OCR text in the same transaction (and, after it, a byte purge takes them out
of SQLite's WAL and pages' gaps, or has PostgreSQL vacuum `attachment`, as a withdrawal does). The post stays
held: a moderator restores it after a look (moderation's queue shows it as before).
"""

from __future__ import annotations

from datetime import UTC, datetime

from tortoise.expressions import F

from forum import db
from forum.db import write_transaction
from forum.errors import N_, NotFound, UnsupportedFile
from forum.models import Topic
from forum.permissions.attachments import FileFacts, check_can_replace_file
from forum.permissions.facts import PostFacts, TopicFacts
from forum.services import attachments, byte_purge
from forum.services.access import access_post_by_id
from forum.services.participation import check_can_participate
from forum.viewer import Viewer


async def access_file_to_replace(viewer: Viewer | None, post_id: int, file_id: int) -> tuple[object, dict]:
    """The post and its file, if the viewer may replace it (forum.permissions.attachments); NotFound when the
    file is not this post's, or the viewer may not see the held post."""
    post = await access_post_by_id(viewer, post_id)
    row = await db.fetch_one(f"SELECT {attachments.CARD_COLUMNS} FROM attachment WHERE id = ? AND post_id = ?",
                             [file_id, post.id])
    if row is None:
        raise NotFound()
    check_can_replace_file(viewer, TopicFacts.of(post.topic), PostFacts.of(post), FileFacts.of_row(row))
    return post, row


async def replace_picture(viewer: Viewer | None, post_id: int, file_id: int,
                          upload: attachments.Upload | None) -> int | None:
    """`upload` None removes the picture. Returns the new file's id (None when removed). The consent gate and the
    checks of the file come before any pixel is decoded; the limits are the composer's, counting the files the
    post keeps."""
    post, old = await access_file_to_replace(viewer, post_id, file_id)
    prepared = []
    if upload is not None:
        kept = len((await attachments.of_posts([post.id])).get(post.id, [])) - 1  # all but the one replaced
        prepared = await attachments.prepare([upload], viewer, already=kept)
        if prepared and prepared[0].processed.kind != attachments.IMAGE:
            raise UnsupportedFile(N_("A picture is replaced by a picture."), code="not_a_picture")
    async with write_transaction() as conn:
        await check_can_participate(viewer, conn, action="edit")
        if not await attachments.delete_files(conn, post.id, [old["id"]]):
            raise NotFound()  # replaced or removed meanwhile
        new_id = None
        if prepared:
            await attachments.store(conn, post_id=post.id, author_id=post.author_id or viewer.id, files=prepared,
                                    now=datetime.now(UTC))
            new_id = (await db.fetch_one("SELECT max(id) AS id FROM attachment WHERE post_id = ?", [post.id],
                                         conn))["id"]
        await Topic.filter(id=post.topic_id).using_db(conn).update(version=F("version") + 1)
        purge_id = await byte_purge.record(conn, [], ("attachment",))
    await byte_purge.run(purge_id, wait=0)  # the old bytes out of the WAL and the pages' gaps, in the background
    return new_id
