"""Moderation's part in attached pictures (issue 22): what OCR read goes through the post detectors, and a
withdrawn member's name in someone else's screenshot is put before a moderator.

A hit hides the picture and holds its post for review, as a hit in the post's text does (moderation/writing.py):
the author is told the kind of data found, never the value, and the audit row names only kinds.
"""

from __future__ import annotations

from forum import events
from forum.errors import N_
from forum.services import attachments
from moderation import audit, cases, notices
from moderation.detectors import PERSONAL_DATA, SECURITY, scan

NAME_KIND = "name"


async def _hold(conn, post_id: int, attachment_id: int, reason: str, kinds: list[str]) -> bool:
    """Hides the picture, holds the post (unless a moderator already hid or it is deleted), opens the case."""
    await attachments.hide(conn, attachment_id, kinds)
    post = await cases.lock_post(conn, post_id)
    if post is None or post.deleted_at is not None:
        return False
    if post.hidden_at is None:
        await cases.hide(conn, post, reason)
    await cases.open_case(conn, post_id, detector_reason=reason, kinds=kinds)
    return True


async def on_attachment_read(read: events.AttachmentRead) -> None:
    findings = scan(read.text)
    if not findings:
        return
    reason = SECURITY if any(f.reason == SECURITY for f in findings) else PERSONAL_DATA
    kinds = [f.kind for f in findings]
    if not await _hold(read.conn, read.post_id, read.attachment_id, reason, kinds):
        return
    await notices.notify(read.conn, read.author_id, N_(
        "A picture in your post is hidden, and the post with it until a moderator has looked at it, because the "
        "picture seems to show %(kinds)s. Edit the post or post the picture again without it."),
        post_id=read.post_id, topic_id=read.topic_id, kinds=kinds)
    await audit.record(read.conn, actor_id=None, action="auto_hold", target_kind="post", target_id=read.post_id,
                       detail=f"picture:{reason}:{','.join(kinds)}"[:100])


async def on_withdrawal(w: events.Withdrawal) -> None:
    """Others' pictures whose text names the member cannot be rewritten: they wait for a moderator."""
    held = 0
    for row in await attachments.pictures_naming(w.conn, w.user_id, w.scrub):
        if await _hold(w.conn, row["post_id"], row["id"], PERSONAL_DATA, [NAME_KIND]):
            await audit.record(w.conn, actor_id=None, action="auto_hold", target_kind="post",
                               target_id=row["post_id"], detail="picture:withdrawn_member_name")
            held += 1
    if held:
        w.counts["held_pictures"] = held
