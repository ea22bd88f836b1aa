"""robots.txt, the sitemap and the Atom feeds: what crawlers and feed readers fetch (forum.services.findable)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from urllib.parse import quote
from xml.sax.saxutils import escape

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from forum import i18n
from forum.errors import NotFound
from forum.services import feeds, profiles, sitemap
from forum.services.findable import DESCRIPTION_CHARS, plain_excerpt
from forum.web.common import path_for
from forum.web.page_cache import VARY, VISITOR_CACHE_CONTROL, PageCache, not_modified

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
XML_TYPE = "application/xml; charset=utf-8"
ATOM_TYPE = "application/atom+xml; charset=utf-8"
# what has no business in an index: searches, personal and staff pages, the API, live streams, composer links
DISALLOW = ["/search", "/settings", "/consent", "/notifications", "/mod", "/admin", "/api/", "/auth/", "/login",
            "/register", "/password/", "/language", "/logout", "/email/", "/mail/", "/c/*/new", "/t/*/_events",
            "/t/*/_posts", "/notifications/_events", "/*?*reply_to=", "/*?*quote=", "/u/"]


def _base(request: Request) -> str:
    return request.app.state.settings.base_url.rstrip("/")


def _w3c(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def robots(request: Request) -> Response:
    """Profiles are kept out, except those whose members chose a public profile."""
    allowed = await profiles.public_profile_handles()
    lines = ["User-agent: *", *(f"Allow: /u/{quote(handle)}$" for handle in allowed),
             *(f"Disallow: {path}" for path in DISALLOW), "", f"Sitemap: {_base(request)}/sitemap.xml", ""]
    return Response("\n".join(lines), media_type="text/plain; charset=utf-8")


async def sitemap_index(request: Request) -> Response:
    base = _base(request)
    entries = "".join(
        f"<sitemap><loc>{escape(base + path_for(request, 'sitemap_page', page=p['page']))}</loc>"
        f"<lastmod>{_w3c(p['lastmod'])}</lastmod></sitemap>\n" for p in await sitemap.pages())
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="{SITEMAP_NS}">\n{entries}'
            "</sitemapindex>\n").encode()
    return _validated(request, body, XML_TYPE, hashlib.sha256(body).hexdigest()[:32])


async def sitemap_page(request: Request) -> Response:
    page = request.path_params["page"]
    batches = sitemap.page_topics(page)
    first = await anext(batches, None)
    if first is None:
        raise NotFound()
    base = _base(request)

    async def body() -> AsyncIterator[bytes]:
        yield f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="{SITEMAP_NS}">\n'.encode()
        batch: list[dict] | None = first
        while batch is not None:
            yield "".join(_url_entry(base, t) for t in batch).encode()
            batch = await anext(batches, None)
        yield b"</urlset>\n"

    return StreamingResponse(body(), media_type=XML_TYPE, headers={"cache-control": VISITOR_CACHE_CONTROL})


def _url_entry(base: str, topic: dict) -> str:
    loc = escape(f"{base}/t/{topic['id']}/{topic['slug']}")
    return f"<url><loc>{loc}</loc><lastmod>{_w3c(topic['lastmod'])}</lastmod></url>\n"


def _validated(request: Request, body: bytes, media_type: str, tag: str) -> Response:
    etag = f'"{tag}"'
    headers = {"etag": etag, "cache-control": VISITOR_CACHE_CONTROL, "vary": VARY}
    if not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


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
    return template.render(base=base, entries=entries, updated=updated, w3c=_w3c,
                           content_language=request.app.state.settings.default_locale,
                           locale=request.state.locale, **context)


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
