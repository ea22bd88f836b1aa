"""robots.txt, the sitemap and the Atom feeds: what crawlers and feed readers fetch (forum.services.findable)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from forum import i18n
from forum.errors import NotFound
from forum.services import feeds, sitemap
from forum.services.findable import DESCRIPTION_CHARS, plain_excerpt
from forum.web.common import path_for
from forum.web.page_cache import VARY, VISITOR_CACHE_CONTROL, PageCache, not_modified

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
XML_TYPE = "application/xml; charset=utf-8"
# what XML 1.0 cannot carry at all, even escaped: a title or post may hold U+FFFF (text_is_clean lets
# noncharacters through), and one such character made the whole feed unreadable to every feed reader
NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
ATOM_TYPE = "application/atom+xml; charset=utf-8"
# what has no business in an index: searches, personal and staff pages, the API, live streams, composer links.
# Not profiles (/u/): each says noindex itself unless its member opted in, and a crawler must fetch a page to see
# that (a disallowed address can still be indexed from links, without its content). One line per opted-in member
# would grow robots.txt with the membership, past the 500 KiB crawlers read; this list is the same for any forum.
DISALLOW = ["/search", "/settings", "/consent", "/notifications", "/mod", "/admin", "/api/", "/auth/", "/login",
            "/register", "/password/", "/language", "/logout", "/email/", "/mail/", "/c/*/new", "/t/*/_events",
            "/t/*/_posts", "/notifications/_events", "/*?*reply_to=", "/*?*quote="]


def _base(request: Request) -> str:
    return request.app.state.settings.base_url.rstrip("/")


def _w3c(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def robots(request: Request) -> Response:
    """The same few lines whatever the forum's size: no query, nothing per member."""
    lines = ["User-agent: *", *(f"Disallow: {path}" for path in DISALLOW), "",
             f"Sitemap: {_base(request)}/sitemap.xml", ""]
    return Response("\n".join(lines), media_type="text/plain; charset=utf-8")


async def sitemap_index(request: Request) -> Response:
    return await _sitemap(request, await sitemap.validator(), lambda base: _index_body(
        lambda n: base + path_for(request, "sitemap_page", page=n)))


async def sitemap_page(request: Request) -> Response:
    page = request.path_params["page"]
    return await _sitemap(request, await sitemap.page_validator(page), lambda base: _page_body(base, page))


async def _sitemap(request: Request, version: tuple, body: Callable[[str], AsyncIterator[bytes]]) -> Response:
    """Kept rendered in the visitors' page cache while its validator (forum.services.sitemap) stands, so
    crawlers get it from memory or a 304; a miss streams it from the database in batches and keeps the result."""
    key = (request.url.path, "", "sitemap")
    etag = '"' + hashlib.sha256(f"{request.app.state.build_id}|{key}|{version}".encode()).hexdigest()[:32] + '"'
    headers = {"etag": etag, "cache-control": VISITOR_CACHE_CONTROL}
    if not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    cache: PageCache = request.app.state.page_cache
    kept = cache.get(key, etag)
    if kept is not None:
        return Response(kept, media_type=XML_TYPE, headers=headers)
    chunks = body(_base(request))
    first = await anext(chunks, None)
    if first is None:
        raise NotFound()

    async def stream() -> AsyncIterator[bytes]:
        parts = [first]
        yield first
        async for chunk in chunks:
            parts.append(chunk)
            yield chunk
        cache.put(key, etag, b"".join(parts))  # only once the whole document went out

    return StreamingResponse(stream(), media_type=XML_TYPE, headers=headers)


async def _index_body(page_url: Callable[[int], str]) -> AsyncIterator[bytes]:
    pages = await sitemap.pages()
    entries = "".join(f"<sitemap><loc>{escape(page_url(p['page']))}</loc>"
                      f"<lastmod>{_w3c(p['lastmod'])}</lastmod></sitemap>\n" for p in pages)
    yield (f'<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="{SITEMAP_NS}">\n{entries}'
           "</sitemapindex>\n").encode()


async def _page_body(base: str, page: int) -> AsyncIterator[bytes]:
    """Nothing at all (a 404) when the page lists no topic."""
    started = False
    async for entries in sitemap.page_entries(page, escape(f"{base}/t/")):
        if not started:
            started = True
            yield f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="{SITEMAP_NS}">\n'.encode()
        yield entries.encode()
    if started:
        yield b"</urlset>\n"


async def _feed(request: Request, entries: list[dict], validator: tuple, context: dict) -> Response:
    """Revalidated from the entries' query alone; the rendered feed is kept in the visitors' page cache."""
    key = (request.url.path, "", request.state.locale)
    raw = f"{request.app.state.build_id}|{key}|{validator}|{context.get('category', {}).get('name')}"
    etag = '"' + hashlib.sha256(raw.encode()).hexdigest()[:32] + '"'
    headers = {"etag": etag, "cache-control": VISITOR_CACHE_CONTROL, "vary": VARY}
    if not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    cache: PageCache = request.app.state.page_cache
    body = cache.get(key, etag)
    if body is None:
        body = _render_feed(request, entries, context).encode()
        cache.put(key, etag, body)
    return Response(body, media_type=ATOM_TYPE, headers=headers)


def _render_feed(request: Request, entries: list[dict], context: dict) -> str:
    base = _base(request)
    for entry in entries:
        entry["summary"] = plain_excerpt(entry["cooked"], DESCRIPTION_CHARS)
    updated = max((e["updated"] for e in entries), default=datetime(2000, 1, 1, tzinfo=UTC))
    template = request.app.state.templates.get_template("feed.atom.xml")
    return NOT_XML.sub("", template.render(base=base, entries=entries, updated=updated, w3c=_w3c,
                                           content_language=request.app.state.settings.default_locale,
                                           locale=request.state.locale, **context))


async def latest_feed(request: Request) -> Response:
    entries = await feeds.latest_entries()
    base = _base(request)
    return await _feed(request, entries, feeds.validator(entries), {
        "feed_id": f"{base}/feed.atom", "self_url": f"{base}/feed.atom", "html_url": f"{base}/",
        "title": i18n.gettext("Community forum"), "category": {}})


async def category_feed(request: Request) -> Response:
    category, entries = await feeds.category_feed(request.path_params["slug"])
    base = _base(request)
    slug = category["slug"]
    return await _feed(request, entries, feeds.validator(entries), {
        "feed_id": f"{base}/c/{slug}/feed.atom", "self_url": f"{base}/c/{slug}/feed.atom",
        "html_url": f"{base}/c/{slug}", "title": f"{category['name']} · {i18n.gettext('Community forum')}",
        "category": category})


routes = [
    Route("/robots.txt", robots, methods=["GET"], name="robots"),
    Route("/sitemap.xml", sitemap_index, methods=["GET"], name="sitemap"),
    Route("/sitemap/topics-{page:int}.xml", sitemap_page, methods=["GET"], name="sitemap_page"),
    Route("/feed.atom", latest_feed, methods=["GET"], name="feed"),
    Route("/c/{slug}/feed.atom", category_feed, methods=["GET"], name="category_feed"),
]
