"""Categories: which ones a viewer sees; admins create, edit and order them."""

from __future__ import annotations

import re

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from forum import events
from forum.errors import N_, Conflict, NotFound, ValidationFailed
from forum.models import Category, ReadAccess, StartTopics
from forum.permissions.categories import check_admin
from forum.permissions.roles import readable_levels
from forum.viewer import Viewer

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}[a-z0-9]$")


async def visible_categories(viewer: Viewer | None) -> list[Category]:
    return await Category.filter(read_access__in=readable_levels(viewer)).order_by("position", "id")


def _check(slug: str, name: str, read: str, start_topics: str) -> tuple[ReadAccess, StartTopics]:
    errors = {}
    if not isinstance(slug, str) or not _SLUG.match(slug):
        errors["slug"] = N_("Use 2 to 64 lowercase letters, digits and hyphens.")
    if not isinstance(name, str) or not 2 <= len(name.strip()) <= 100:
        errors["name"] = N_("The name must be 2 to 100 characters long.")
    try:
        access = ReadAccess(read)
    except ValueError:
        errors["read"] = N_("Choose public, members or staff.")
    try:
        starts = StartTopics(start_topics)
    except ValueError:
        errors["start_topics"] = N_("Choose participants or staff.")
    if errors:
        raise ValidationFailed(fields=errors)
    return access, starts


async def create_category(viewer: Viewer | None, *, slug: str, name: str, description: str = "",
                          read: str = "public", start_topics: str = "participants",
                          position: int | None = None) -> Category:
    """Admins only; the new category and who may read it and start topics in it go into the audit log."""
    check_admin(viewer)
    return await _create(slug=slug, name=name, description=description, read=read, start_topics=start_topics,
                         position=position, actor_id=viewer.id)


def _access(read: ReadAccess, starts: StartTopics) -> str:
    return f"read={read.value},start={starts.value}"


async def _create(*, slug, name, description, read, start_topics, position, actor_id=None) -> Category:
    access, starts = _check(slug, name, read, start_topics)
    if position is None:
        last = await Category.all().order_by("-position").first()
        position = (last.position + 1) if last else 0
    try:
        async with in_transaction() as conn:
            category = await Category.create(slug=slug, name=name.strip(), description=(description or "")[:2000],
                                             read_access=access, start_topics=starts, position=position,
                                             using_db=conn)
            if actor_id is not None:
                await events.emit(events.STAFF_ACTION, events.StaffAction(
                    actor_id, "create_category", "category", category.id, _access(access, starts), conn))
            return category
    except IntegrityError:
        raise Conflict(N_("A category with that slug exists already.")) from None


async def create_category_as_system(**kwargs) -> Category:
    """For the CLI and demo seeding, which act without a signed-in admin."""
    return await _create(position=kwargs.pop("position", None), **kwargs)


async def update_category(viewer: Viewer | None, slug: str, *, name: str | None = None,
                          description: str | None = None, read: str | None = None,
                          start_topics: str | None = None, position: int | None = None) -> Category:
    """Admins rename, re-describe, reorder and change who may read or start topics."""
    check_admin(viewer)
    category = await Category.filter(slug=slug).first() if len(slug) <= 64 else None
    if category is None:
        raise NotFound()
    access, starts = _check(category.slug, name if name is not None else category.name,
                            read if read is not None else category.read_access.value,
                            start_topics if start_topics is not None else category.start_topics.value)
    before = _access(category.read_access, category.start_topics)
    category.read_access, category.start_topics = access, starts
    if name is not None:
        category.name = name.strip()
    if description is not None:
        category.description = description[:2000]
    if position is not None:
        category.position = position
    async with in_transaction() as conn:
        await category.save(using_db=conn)
        if _access(access, starts) != before:  # who may read or start topics changed: that is audited
            await events.emit(events.STAFF_ACTION, events.StaffAction(
                viewer.id, "change_category_access", "category", category.id,
                f"{before}->{_access(access, starts)}", conn))
    return category
