"""Published hooks: what other packages add to the forum's pages (forum.events is the same for writes).

The forum knows nothing of what a hook adds; moderation.install registers its own. A post-card hook may set, on
the post's row, `card_actions`: (route name, label) pairs, links that take the post's id, shown in the card's
footer; and `hidden_notice`: the message a hidden post shows instead of its text. Values must be hashable (the
rendered card is cached by them, forum/web/post_cards.py). A navigation link is a route of the main navigation,
shown to the viewers its `shown_to` accepts (moderation's queue, to moderators). The mention filter says which
members are not suggested after "@" (moderation: suspended members).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

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


@dataclass(frozen=True)
class NavLink:
    route: str                                   # a route name without path parameters
    label: str                                   # a message id, translated when shown
    shown_to: Callable[[Viewer | None], bool]


_nav_links: list[NavLink] = []


def add_nav_link(link: NavLink) -> None:
    if link not in _nav_links:
        _nav_links.append(link)


def nav_links(viewer: Viewer | None) -> list[NavLink]:
    """For the main navigation (base.html): the links this viewer is shown."""
    return [link for link in _nav_links if link.shown_to(viewer)]


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
