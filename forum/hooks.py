"""Published hooks: what other packages add to the forum's pages (forum.events is the same for writes).

The forum knows nothing of what a hook adds; moderation.install registers its own. A post-card hook may set, on
the post's row, `card_actions`: (route name, label) pairs, links that take the post's id, shown in the card's
footer; and `hidden_notice`: the message a hidden post shows instead of its text. Values must be hashable (the
rendered card is cached by them, forum/web/post_cards.py).
"""

from __future__ import annotations

from collections.abc import Callable

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
