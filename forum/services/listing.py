"""Which categories a viewer sees."""

from __future__ import annotations

from forum.models import Category
from forum.services.permissions import readable_levels
from forum.viewer import Viewer


async def visible_categories(viewer: Viewer | None) -> list[Category]:
    return await Category.filter(read_access__in=readable_levels(viewer)).order_by("position", "id")
