"""Posts: using one (like, quote, reply to, accept), editing, deleting, reading its history, seeing its text.

Someone else's post is a moderator's to edit or delete, and only when they outrank its author: a moderator acts
on members' and staff's posts, an admin on anyone's (moderation's sanctions follow the same rank). A moderator
who finds a fault in a peer's or an admin's post flags it for an admin.
"""

from __future__ import annotations

from forum.errors import N_, Forbidden, NotFound
from forum.permissions import NOT_FOUND, SIGN_IN, Refusal, enforce
from forum.permissions.facts import PostFacts, TopicFacts
from forum.permissions.roles import outranks
from forum.permissions.topics import refuse_closed, refuse_reply
from forum.viewer import Viewer

GONE = Refusal(NotFound, N_("That post is deleted or hidden."))
GONE_FOR_EDIT = Refusal(Forbidden, N_("That post is deleted or hidden."))
OWN_ONLY_EDIT = Refusal(Forbidden, N_("You can only edit your own posts."))
OWN_ONLY_DELETE = Refusal(Forbidden, N_("You can only delete your own posts."))
OWN_POST_LIKE = Refusal(Forbidden, N_("You cannot like your own post."), "own_post")
OUTRANKED = Refusal(Forbidden, N_("Only an admin can change a moderator's or admin's post."), "outranked")


def refuse_use(post: PostFacts) -> Refusal | None:
    """Deleted and hidden posts cannot be liked, quoted, replied to or accepted."""
    return GONE if post.deleted or post.hidden else None


def refuse_change(viewer: Viewer, post: PostFacts, own_only: Refusal) -> Refusal | None:
    """Changing a post: its author, or a moderator who outranks the author."""
    if post.author_id == viewer.id:
        return None
    if not viewer.is_moderator:
        return own_only
    if not outranks(viewer, post.author_role):
        return OUTRANKED
    return None


def refuse_edit(viewer: Viewer | None, topic: TopicFacts, post: PostFacts) -> Refusal | None:
    if viewer is None:
        return SIGN_IN
    if post.deleted or (post.hidden and not viewer.is_moderator):  # a hidden post waits for a moderator
        return GONE_FOR_EDIT
    if refusal := refuse_change(viewer, post, OWN_ONLY_EDIT):
        return refusal
    return refuse_closed(viewer, topic)


def refuse_delete(viewer: Viewer | None, post: PostFacts) -> Refusal | None:
    """Deleting a deleted post is no refusal: it stays deleted (the page offers no button for it)."""
    if viewer is None:
        return SIGN_IN
    if post.deleted:
        return None
    return refuse_change(viewer, post, OWN_ONLY_DELETE)


def refuse_history(viewer: Viewer | None, post: PostFacts) -> Refusal | None:
    """The author and moderators read a post's revisions; to others they do not exist."""
    if viewer is None:
        return SIGN_IN
    if post.author_id != viewer.id and not viewer.is_moderator:
        return NOT_FOUND
    return None


def refuse_like(viewer: Viewer | None, post: PostFacts) -> Refusal | None:
    if viewer is None:
        return SIGN_IN
    if refusal := refuse_use(post):
        return refusal
    if post.author_id == viewer.id:
        return OWN_POST_LIKE
    return None


def refuse_quote(viewer: Viewer | None, topic: TopicFacts, post: PostFacts) -> Refusal | None:
    """Quoting or answering a post is replying to its topic."""
    return refuse_reply(viewer, topic) or refuse_use(post)


def check_visible_post(post: PostFacts) -> None:
    enforce(refuse_use(post))


def check_can_edit(viewer: Viewer | None, topic: TopicFacts, post: PostFacts) -> None:
    enforce(refuse_edit(viewer, topic, post))


def can_edit(viewer: Viewer | None, topic: TopicFacts, post: PostFacts) -> bool:
    return refuse_edit(viewer, topic, post) is None


def check_can_delete(viewer: Viewer | None, post: PostFacts) -> None:
    enforce(refuse_delete(viewer, post))


def can_delete(viewer: Viewer | None, post: PostFacts) -> bool:
    return not post.deleted and refuse_delete(viewer, post) is None


def check_can_read_history(viewer: Viewer | None, post: PostFacts) -> None:
    enforce(refuse_history(viewer, post))


def can_read_history(viewer: Viewer | None, post: PostFacts) -> bool:
    return post.edited and refuse_history(viewer, post) is None


def check_can_like(viewer: Viewer | None, post: PostFacts) -> None:
    enforce(refuse_like(viewer, post))


def can_like(viewer: Viewer | None, post: PostFacts) -> bool:
    return refuse_like(viewer, post) is None


def check_can_quote(viewer: Viewer | None, topic: TopicFacts, post: PostFacts) -> None:
    enforce(refuse_quote(viewer, topic, post))


def can_quote(viewer: Viewer | None, topic: TopicFacts, post: PostFacts) -> bool:
    return refuse_quote(viewer, topic, post) is None


def can_see_text(viewer: Viewer | None, post: PostFacts) -> bool:
    """A hidden or deleted post's text reaches moderators only (the page says why it is gone)."""
    return post.visible or (viewer is not None and viewer.is_moderator)
