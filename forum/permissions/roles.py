"""What each role may read, and who outranks whom."""

from __future__ import annotations

from forum.models import ReadAccess, Role
from forum.permissions.levels import MEMBER_LEVELS, STAFF_LEVELS, levels_for_role
from forum.viewer import Viewer

RANK = {Role.MEMBER: 0, Role.STAFF: 1, Role.MODERATOR: 2, Role.ADMIN: 3}


def readable_levels(viewer: Viewer | None) -> list[str]:
    if viewer is None:
        return [ReadAccess.PUBLIC.value]
    return levels_for_role(viewer.role)


def may_read(viewer: Viewer | None, read_access: str) -> bool:
    if read_access == ReadAccess.PUBLIC.value:
        return True
    if viewer is None:
        return False
    return read_access in (STAFF_LEVELS if viewer.is_staff else MEMBER_LEVELS)


def outranks(viewer: Viewer, role: str | None) -> bool:
    """Admins act on anyone; a moderator on members and staff only, never on a peer or an admin. `role` None is
    a former member (withdrawn or erased)."""
    return viewer.is_admin or RANK[Role(role or Role.MEMBER)] < RANK[viewer.role]
