"""Rendered post cards, kept per process and keyed by every value a card shows, so a cached card can never be
stale: the post's row with its permission flags for this viewer (forum/services/topic_page.py), the topic's id
and slug, the page count and the locale. A signed-in page is still rendered per viewer, but its 20 cards are
mostly dictionary lookups; cards are shared by every viewer with the same flags on that post."""

from __future__ import annotations

from collections import OrderedDict

from jinja2 import pass_context
from markupsafe import Markup

from forum import i18n

MAX_BYTES = 8 * 1024 * 1024


class CardCache:
    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self.entries: OrderedDict[tuple, tuple[Markup, int]] = OrderedDict()

    def get(self, key: tuple) -> Markup | None:
        entry = self.entries.get(key)
        if entry is None:
            return None
        self.entries.move_to_end(key)
        return entry[0]

    def put(self, key: tuple, html: Markup, size: int) -> None:
        if key in self.entries or size > self.max_bytes:
            return
        self.entries[key] = (html, size)
        self.bytes += size
        while self.bytes > self.max_bytes:
            _key, (_html, dropped) = self.entries.popitem(last=False)
            self.bytes -= dropped


cards = CardCache()


def frozen(value):
    """`value` as a key: a dict as its sorted items, a list as a tuple (a post's files are a list of dicts), all
    the way down; what is hashable already stays as it is."""
    if isinstance(value, dict):
        return tuple(sorted((k, frozen(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(frozen(v) for v in value)
    return value


def row_key(row: dict) -> tuple:
    """A post row (with its flags) as a key: its names and values as they are, at C speed, for the common row
    without files; a row with a list or dict in it (its files) frozen all the way down."""
    key = (tuple(row), tuple(row.values()))
    try:
        hash(key)
    except TypeError:
        return frozen(row)
    return key


@pass_context
def post_card(context, post: dict) -> Markup:
    """`{{ post_card(post) }}`: `_post.html` for this post, rendered in the page's context, or the same bytes
    from the cache."""
    topic = context["topic"]
    try:
        key = (i18n.get_locale(), topic["id"], topic["slug"], context["pages"], row_key(post))
        hash(key)
    except TypeError:  # a value that cannot be a key: render it every time
        key = None
    html = cards.get(key) if key is not None else None
    if html is None:
        template = context.environment.get_template("_post.html")
        html = Markup("".join(template.root_render_func(template.new_context(context.get_all(), True,
                                                                              {"post": post}))))
        if key is not None:
            cards.put(key, html, len(html) + sum(len(v) for _k, v in post.items() if isinstance(v, str)) + 300)
    return html
