"""A hidden post's author may appeal once; the appeal puts the post back in the queue."""

from __future__ import annotations

from forum.db import write_transaction
from forum.errors import N_, Conflict, NotAuthenticated, ValidationFailed
from forum.models import Post
from forum.permissions.facts import PostFacts
from forum.services.access import access_post_by_id
from forum.viewer import Viewer
from moderation import cases
from moderation.models import Case
from moderation.permissions import check_can_appeal

TEXT_MAX = 2000


async def appealable_post(viewer: Viewer | None, post_id: int) -> Post:
    """The viewer's own hidden post, or "not found"."""
    if viewer is None:
        raise NotAuthenticated()
    post = await access_post_by_id(viewer, post_id)
    check_can_appeal(viewer, PostFacts.of(post))
    return post


async def has_appealed(post_id: int) -> bool:
    return await Case.filter(post_id=post_id, appealed_at__isnull=False).exists()


async def appeal(viewer: Viewer | None, post_id: int, *, text: str) -> Case:
    post = await appealable_post(viewer, post_id)
    text = (text or "").strip()
    if not text:
        raise ValidationFailed(fields={"text": N_("Tell the moderators why the post should be shown.")})
    if len(text) > TEXT_MAX:
        raise ValidationFailed(fields={"text": N_("The appeal is too long: at most 2,000 characters.")})
    async with write_transaction() as conn:
        await cases.lock_post(conn, post.id)
        if await Case.filter(post_id=post.id, appealed_at__isnull=False).using_db(conn).exists():
            raise Conflict(N_("You have already appealed for this post."), code="already_appealed")
        return await cases.open_case(conn, post.id, appeal_text=text)
