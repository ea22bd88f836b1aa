"""Who may moderate, and whom. Members (and staff who are not moderators) get "not found" for all of it."""

from __future__ import annotations

from forum.errors import N_, Forbidden, NotAuthenticated, NotFound
from forum.models import Role, User
from forum.viewer import Viewer

RANK = {Role.MEMBER: 0, Role.STAFF: 1, Role.MODERATOR: 2, Role.ADMIN: 3}


def can_moderate(viewer: Viewer | None) -> bool:
    return viewer is not None and viewer.is_moderator


def check_moderator(viewer: Viewer | None) -> Viewer:
    if viewer is None:
        raise NotAuthenticated()
    if not viewer.is_moderator:
        raise NotFound()
    return viewer


async def access_user_to_moderate(viewer: Viewer, user_id: int) -> User:
    """Moderators act on members and staff; only admins act on moderators and admins; nobody on themselves.

    This is what keeps a moderator from escalating: they cannot silence or suspend their peers or superiors.
    """
    user = await User.filter(id=user_id).first()
    if user is None:
        raise NotFound()
    if user.id == viewer.id:
        raise Forbidden(N_("You cannot take moderation action against yourself."), code="self_moderation")
    if not viewer.is_admin and RANK[user.role] >= RANK[viewer.role]:
        raise Forbidden(N_("Only an admin can take action against a moderator or admin."), code="outranked")
    return user
