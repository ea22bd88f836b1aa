"""Who may moderate, and whom. Members (and staff who are not moderators) get "not found" for all of it.

Rank is the forum's (forum.permissions.roles.outranks): a moderator acts on members and staff, an admin on
anyone, nobody on themselves; the forum's own post rules (edit, delete) use the same rank.
"""

from __future__ import annotations

from forum.errors import N_, Forbidden, NotAuthenticated, NotFound
from forum.models import User
from forum.permissions.facts import PostFacts
from forum.permissions.roles import outranks
from forum.viewer import Viewer

# what a moderator does to a post's text: only to posts whose author they outrank (anyone may flag any post)
CHANGES_POST = ("hide", "delete", "edit")


def check_moderator(viewer: Viewer | None) -> Viewer:
    if viewer is None:
        raise NotAuthenticated()
    if not viewer.is_moderator:
        raise NotFound()
    return viewer


def check_can_moderate_post(viewer: Viewer, post: PostFacts, action: str) -> None:
    """Hiding, deleting or editing a peer's or an admin's post is an admin's decision (a moderator flags it)."""
    if action in CHANGES_POST and post.author_id != viewer.id and not outranks(viewer, post.author_role):
        raise Forbidden(N_("Only an admin can change a moderator's or admin's post."), code="outranked")


async def access_user_to_moderate(viewer: Viewer, user_id: int) -> User:
    """Moderators act on members and staff; only admins act on moderators and admins; nobody on themselves.

    This is what keeps a moderator from escalating: they cannot silence or suspend their peers or superiors.
    """
    user = await User.filter(id=user_id).first()
    if user is None:
        raise NotFound()
    if user.id == viewer.id:
        raise Forbidden(N_("You cannot take moderation action against yourself."), code="self_moderation")
    if not outranks(viewer, user.role.value):
        raise Forbidden(N_("Only an admin can take action against a moderator or admin."), code="outranked")
    return user
