"""Who may see and do what. Each rule is written once here; pages and the API read the same answers.

`check_*` functions raise a domain error; `can_*` functions answer yes/no for templates. Anything the
viewer may not read is reported as "not found", never "forbidden", so its existence does not leak.
"""

from __future__ import annotations

from forum.errors import N_, Forbidden, NotAuthenticated, NotFound
from forum.models import Category, ReadAccess, Role, StartTopics, TopicKind
from forum.viewer import Viewer


def levels_for_role(role: str | None) -> list[str]:
    """What a signed-in account of this role may read (for acting as a post's author, not the viewer)."""
    if role in (Role.STAFF.value, Role.MODERATOR.value, Role.ADMIN.value):
        return [ReadAccess.PUBLIC.value, ReadAccess.MEMBERS.value, ReadAccess.STAFF.value]
    return [ReadAccess.PUBLIC.value, ReadAccess.MEMBERS.value]


def readable_levels(viewer: Viewer | None) -> list[str]:
    if viewer is None:
        return [ReadAccess.PUBLIC.value]
    return levels_for_role(viewer.role)


def readable_sql(access_column: str, role_column: str) -> str:
    """levels_for_role as a SQL condition, for a query that counts for an account whose role is a column
    (the unread count is computed in the same query that loads the viewer)."""
    everyone = [level.value for level in ReadAccess if all(level.value in levels_for_role(r.value) for r in Role)]
    cases = [f"{access_column} IN ({', '.join(repr(v) for v in everyone)})"] if everyone else []
    for level in ReadAccess:
        roles = [role.value for role in Role if level.value in levels_for_role(role.value)]
        if roles and level.value not in everyone:
            cases.append(f"({access_column} = '{level.value}' AND {role_column} IN "
                         f"({', '.join(repr(r) for r in roles)}))")
    return "(" + " OR ".join(cases) + ")"


def can_read_category(viewer: Viewer | None, category: Category) -> bool:
    return category.read_access.value in readable_levels(viewer)


def check_can_read_category(viewer: Viewer | None, category: Category | None) -> Category:
    if category is None or not can_read_category(viewer, category):
        raise NotFound()
    return category


def can_start_topic(viewer: Viewer | None, category: Category) -> bool:
    if viewer is None or not can_read_category(viewer, category):
        return False
    return category.start_topics == StartTopics.PARTICIPANTS or viewer.is_staff


def check_can_start_topic(viewer: Viewer | None, category: Category, kind: TopicKind) -> None:
    if viewer is None:
        raise NotAuthenticated()
    check_can_read_category(viewer, category)
    if not can_start_topic(viewer, category):
        raise Forbidden(N_("Only staff start topics in this category."))
    if kind == TopicKind.TRAINING and category.start_topics != StartTopics.STAFF:
        raise Forbidden(N_("Training topics belong in staff-led categories."), code="training_needs_staff_category")
    if kind == TopicKind.TRAINING and not viewer.is_staff:
        raise Forbidden(N_("Only staff start training topics."))


def check_staff(viewer: Viewer | None) -> Viewer:
    if viewer is None:
        raise NotAuthenticated()
    if not viewer.is_staff:
        raise NotFound()
    return viewer


def check_admin(viewer: Viewer | None) -> Viewer:
    if viewer is None:
        raise NotAuthenticated()
    if not viewer.is_admin:
        raise NotFound()
    return viewer
