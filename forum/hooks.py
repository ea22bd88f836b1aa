"""Published hooks: what other packages add to the forum's pages (forum.events is the same for writes).

The forum knows nothing of what a hook adds; moderation.install registers its own: the flag and appeal flags
of each post card, and the mention filter (suspended members are not suggested after "@").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from forum.permissions.facts import PostFacts
from forum.viewer import Viewer

# (viewer, the post's facts, the post's row): may set keys on the row, which the post card template reads
PostCardHook = Callable[[Viewer | None, PostFacts, dict], None]
_post_card: list[PostCardHook] = []


def add_post_card(hook: PostCardHook) -> None:
    if hook not in _post_card:
        _post_card.append(hook)


def post_card(viewer: Viewer | None, post: PostFacts, row: dict) -> None:
    for hook in _post_card:
        hook(viewer, post, row)


# (user ids) -> the ids among them that may not be suggested for a mention (moderation: suspended members)
MentionFilter = Callable[[list[int]], Awaitable[set[int]]]
_mention_filters: list[MentionFilter] = []


def add_mention_filter(hook: MentionFilter) -> None:
    if hook not in _mention_filters:
        _mention_filters.append(hook)


async def not_mentionable(user_ids: list[int]) -> set[int]:
    out: set[int] = set()
    for hook in _mention_filters:
        out |= await hook(user_ids)
    return out
