"""Categories and administration: who may read a category, who administers (built on `roles`).

Anything the viewer may not read is reported as "not found", never "forbidden", so its existence does not leak.
"""

from __future__ import annotations

from forum.errors import NotAuthenticated, NotFound
from forum.models import Category
from forum.permissions.roles import may_read
from forum.viewer import Viewer


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
