"""What a moderator does with a post in the queue. Every action is one transaction and one audit row.

- hide: agree and hide (flags upheld, author's record counts it)       - delete: agree and delete
- restore: disagree and restore (flags rejected, flaggers weigh less)  - dismiss_flags: close without judging
- edit: change the post (a revision is kept)                           - lock: lock the topic
- warn: a private notice to the author                                 - silence / suspend: restrict the author
"""

from __future__ import annotations

from datetime import datetime

from forum.db import write_transaction
from forum.errors import N_, NotFound, ValidationFailed
from forum.models import Post
from forum.permissions.facts import PostFacts
from forum.services import attachments, posts, topics
from forum.services.access import access_post_by_id
from forum.viewer import Viewer
from moderation import audit, cases, notices, sanctions
from moderation.models import FlagStatus
from moderation.permissions import access_user_to_moderate, check_can_moderate_post, check_moderator
from moderation.standing import bump

ACTIONS = ("hide", "delete", "restore", "dismiss_flags", "edit", "lock", "warn", "silence", "suspend")
OUTCOME = {
    "hide": N_("Thank you: a moderator agreed with your flag and hid the post."),
    "delete": N_("Thank you: a moderator agreed with your flag and deleted the post."),
    "restore": N_("A moderator reviewed the post you flagged and found nothing wrong with it."),
    "dismiss_flags": N_("A moderator reviewed the post you flagged and closed the report without action."),
}


async def moderate_post(viewer: Viewer | None, post_id: int, *, action: str, reason: str, body: str | None = None,
                        until: datetime | None = None) -> Post:
    token = audit.acting.set(True)
    try:
        return await _moderate_post(viewer, post_id, action=action, reason=reason, body=body, until=until)
    finally:
        audit.acting.reset(token)


async def _moderate_post(viewer: Viewer | None, post_id: int, *, action: str, reason: str, body: str | None,
                         until: datetime | None) -> Post:
    check_moderator(viewer)
    if action not in ACTIONS:
        raise ValidationFailed(fields={"action": N_("Not one of the allowed values.")})
    reason = sanctions.check_reason(reason)
    post = await access_post_by_id(viewer, post_id)
    check_can_moderate_post(viewer, PostFacts.of(post), action)
    if action in ("silence", "suspend"):
        if post.author_id is None:
            raise NotFound(N_("The author of that post no longer has an account here."))
        await sanctions.impose(viewer, post.author_id, kind=action, until=until, reason=reason)
        return post
    if action == "edit":
        if body is None:
            raise ValidationFailed(fields={"body": N_("Write something first.")})
        async with write_transaction() as conn:
            edited = await posts.edit_post(viewer, post.id, body=body)
            await audit.record(conn, actor_id=viewer.id, action="edit", target_kind="post", target_id=post.id,
                               reason=reason, about_user_ids=[post.author_id])
        return edited
    if action == "lock":
        async with write_transaction() as conn:
            await topics.update_topic(viewer, post.topic_id, locked=True)
            await audit.record(conn, actor_id=viewer.id, action="lock", target_kind="topic",
                               target_id=post.topic_id, reason=reason, about_user_ids=[post.author_id])
        return post
    if action == "warn":
        return await _warn(viewer, post, reason)
    return await _decide(viewer, post, action, reason)


async def _warn(viewer: Viewer, post: Post, reason: str) -> Post:
    if post.author_id is None:
        raise NotFound(N_("The author of that post no longer has an account here."))
    await access_user_to_moderate(viewer, post.author_id)
    async with write_transaction() as conn:
        await bump(conn, post.author_id, warnings=1)
        await notices.notify(conn, post.author_id, N_("A moderator sent you a warning: %(text)s"), text=reason,
                             post_id=post.id, topic_id=post.topic_id)
        await audit.record(conn, actor_id=viewer.id, action="warn", target_kind="user", target_id=post.author_id,
                           reason=reason, about_user_ids=[post.author_id])
    return post


async def _decide(viewer: Viewer, post: Post, action: str, reason: str) -> Post:
    if post.deleted_at is not None and action != "dismiss_flags":
        raise ValidationFailed(N_("That post is already deleted."), code="post_deleted")
    async with write_transaction() as conn:
        await cases.lock_post(conn, post.id)
        if action == "hide":
            await cases.hide(conn, post, "moderator")
            reporters = await cases.close_case(conn, post.id, "hidden", FlagStatus.UPHELD)
            await _judged(conn, post, reporters, upheld=True)
            await notices.notify(conn, post.author_id, N_("A moderator hid your post: %(text)s"), text=reason,
                                 post_id=post.id, topic_id=post.topic_id)
        elif action == "delete":
            await posts.delete_post(viewer, post.id)
            reporters = await cases.close_case(conn, post.id, "deleted", FlagStatus.UPHELD)
            await _judged(conn, post, reporters, upheld=True)
            await notices.notify(conn, post.author_id, N_("A moderator deleted your post: %(text)s"), text=reason,
                                 topic_id=post.topic_id)
        elif action == "restore":
            if post.hidden_at is not None:
                await cases.unhide(conn, post)
            await attachments.unhide_post(conn, post.id)  # its pictures too: the moderator saw them
            reporters = await cases.close_case(conn, post.id, "restored", FlagStatus.REJECTED)
            await _judged(conn, post, reporters, upheld=False)
            if post.hidden_at is not None:
                await notices.notify(conn, post.author_id, N_("A moderator reviewed your post and restored it."),
                                     post_id=post.id, topic_id=post.topic_id)
        else:  # dismiss_flags: no judgement; a post hidden only pending review becomes visible again
            if post.hidden_at is not None and post.hidden_reason in cases.PENDING and post.deleted_at is None:
                await cases.unhide(conn, post)
            reporters = await cases.close_case(conn, post.id, "dismissed", FlagStatus.DISMISSED)
        for reporter_id in reporters:
            await notices.notify(conn, reporter_id, OUTCOME[action], post_id=post.id, topic_id=post.topic_id)
        await audit.record(conn, actor_id=viewer.id, action=action, target_kind="post", target_id=post.id,
                           reason=reason, about_user_ids=[post.author_id])
    return await Post.get(id=post.id)


async def _judged(conn, post: Post, reporters: list[int], *, upheld: bool) -> None:
    """Flaggers' records feed their future weight; the author's record counts posts found to be a problem."""
    for reporter_id in reporters:
        await bump(conn, reporter_id, **{"flags_upheld" if upheld else "flags_rejected": 1})
    if upheld:
        await bump(conn, post.author_id, posts_upheld=1)
