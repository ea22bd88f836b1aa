"""Categories and administration: who may read a category, who administers. The other rules have a module per
domain in forum/permissions/ (roles, topics, posts, answers); `levels_for_role`, `readable_levels`,
`can_start_topic` and `check_can_start_topic` are imported from there and stay importable from here.

Anything the viewer may not read is reported as "not found", never "forbidden", so its existence does not leak.
"""

from __future__ import annotations

from forum.errors import NotAuthenticated, NotFound
from forum.models import Category
from forum.permissions.levels import levels_for_role
from forum.permissions.roles import may_read, readable_levels
from forum.permissions.topics import can_start_topic, check_can_start_topic
from forum.viewer import Viewer

__all__ = ["can_read_category", "can_start_topic", "check_admin", "check_can_read_category", "check_can_start_topic",
           "levels_for_role", "readable_levels"]


def can_read_category(viewer: Viewer | None, category: Category) -> bool:
    return may_read(viewer, category.read_access.value)


def check_can_read_category(viewer: Viewer | None, category: Category | None) -> Category:
    if category is None or not can_read_category(viewer, category):
        raise NotFound()
    return category


def check_admin(viewer: Viewer | None) -> Viewer:
    if viewer is None:
        raise NotAuthenticated()
    if not viewer.is_admin:
        raise NotFound()
    return viewer
