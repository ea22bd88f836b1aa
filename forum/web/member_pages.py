"""Signed-in pages kept per process and keyed by their whole context, so a kept page can never be stale.

A template is a function of its context: the same template, locale and values give the same bytes. The key is
every value the handler passed (the viewer with their role and unread count, the form token, each post row with
the viewer's permission flags, what they liked and read, their draft, their consent), so any change to any of
them is a new key and a fresh render; nothing is invalidated, nothing is checked against the database beyond the
reads the page makes anyway. What it saves is the render of a page whose inputs did not change: a member reloading
a page, or coming back to it (signed-in pages are `no-store`, so the back button asks again). A first view costs
what it did, plus building the key. Only templates listed in CACHED are kept: their bytes must follow from their
context alone, without the clock (`tests/test_member_pages.py` reads them and their includes for that).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from forum.web.post_cards import CardCache, frozen, row_key

CACHED = frozenset({"topic.html"})
NOT_KEYS = frozenset({"path_for"})  # the request's link builder: the same links for every request of the app


def page_key(template: str, locale: str, status: int, context: dict) -> tuple | None:
    parts: list = [template, locale, status]
    for name, value in context.items():
        if name in NOT_KEYS:
            continue
        if name == "csrf_token":
            value = str(value)
        elif name == "posts":
            value = tuple(row_key(post) for post in value)
        else:
            value = frozen(value)
        parts.append((name, value))
    key = tuple(parts)
    try:
        hash(key)
    except TypeError:  # a value that cannot be a key: this page is rendered every time
        return None
    return key


def member_page(request: Request, template: str, context: dict, status: int) -> Response:
    """The page for a signed-in viewer: the bytes kept for the same key, or a render (then kept)."""
    cache: CardCache = request.app.state.member_pages
    key = None
    if template in CACHED and cache.max_bytes:
        key = page_key(template, request.state.locale, status, context)
    if key is not None:
        body = cache.get(key)
        if body is not None:
            return HTMLResponse(body, status_code=status)
    response = request.app.state.templates.TemplateResponse(request, template, context, status_code=status)
    if key is not None:
        cache.put(key, response.body, 2 * len(response.body))  # the key holds about the page's text again
    return response
