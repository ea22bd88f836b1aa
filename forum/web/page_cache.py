"""The visitors' page cache: rendered pages for signed-out readers, kept in this process's memory, LRU by bytes.

A page is served from memory only while its validator (forum/services/page_versions.py, one query) is the one
it was rendered under, so every process sees every committed write on the next request. The same validator
makes the ETag, so `If-None-Match` is answered with 304 from that query alone, and a shared cache (nginx, a CDN)
may keep a visitor's page as long as it revalidates (`public, no-cache`). Signed-in pages never come from here and
are `private, no-store`. The key holds everything else that changes the bytes: path, query string and locale
(from the language cookie or Accept-Language, hence `Vary`), and the build (templates and static files).
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

VISITOR_CACHE_CONTROL = "public, no-cache"
PRIVATE_CACHE_CONTROL = "private, no-store"
VARY = "Accept-Language, Cookie"
ENTRY_OVERHEAD = 400  # bytes an entry costs besides its body and key: the tuple, the dict slot, the ETag
LIST_CLOCK_SECONDS = 60  # topic lists say "3 minutes ago": their key moves on once a minute


def build_id() -> str:
    """Changes when a template or a static file does, so a deploy never serves an old page under a new ETag."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for folder in (root / "templates", root / "static", root.parent / "moderation" / "templates"):
        for path in sorted(folder.rglob("*")) if folder.exists() else ():
            if path.is_file():
                digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


class PageCache:
    """Bounded in bytes; the least recently used pages go first."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self.entries: OrderedDict[tuple, tuple[str, bytes, int]] = OrderedDict()
        self.hits = self.misses = 0

    def get(self, key: tuple, etag: str) -> bytes | None:
        entry = self.entries.get(key)
        if entry is None or entry[0] != etag:
            self.misses += 1
            if entry is not None:  # changed since: dropped, so an old page (a withdrawn name) is not kept
                self.drop(key)
            return None
        self.entries.move_to_end(key)
        self.hits += 1
        return entry[1]

    def drop(self, key: tuple) -> None:
        old = self.entries.pop(key, None)
        if old is not None:
            self.bytes -= old[2]

    def put(self, key: tuple, etag: str, body: bytes) -> None:
        size = len(body) + sum(len(str(part)) for part in key) + ENTRY_OVERHEAD
        old = self.entries.pop(key, None)
        if old is not None:
            self.bytes -= old[2]
        if size > self.max_bytes:
            return
        self.entries[key] = (etag, body, size)
        self.bytes += size
        while self.bytes > self.max_bytes:
            _key, (_etag, _body, dropped) = self.entries.popitem(last=False)
            self.bytes -= dropped


def _etag(request: Request, key: tuple, validator: tuple) -> str:
    raw = f"{request.app.state.build_id}|{key}|{validator}".encode()
    return '"' + hashlib.sha256(raw).hexdigest()[:32] + '"'


def not_modified(request: Request, etag: str) -> bool:
    wanted = request.headers.get("if-none-match")
    if not wanted:
        return False
    return wanted.strip() == "*" or etag in (tag.strip().removeprefix("W/") for tag in wanted.split(","))


async def visitor_page(request: Request, validator: Callable[[], Awaitable[tuple | None]],
                       build: Callable[[], Awaitable[Response]], *, lists: bool = False) -> Response:
    """`build` renders the page as the handler always did; for a signed-out visitor it runs only when the page
    changed since it was last rendered in this process. `lists`: the page shows relative times."""
    if request.state.viewer is not None:
        response = await build()
        response.headers["cache-control"] = PRIVATE_CACHE_CONTROL
        return response
    version = await validator()
    if version is None:  # missing, hidden or not public: answered exactly as without a cache
        request.app.state.page_cache.drop((request.url.path, request.url.query, request.state.locale))
        return await build()
    if lists:
        version = (*version, int(time.time() // LIST_CLOCK_SECONDS))
    key = (request.url.path, request.url.query, request.state.locale)
    etag = _etag(request, key, version)
    headers = {"etag": etag, "cache-control": VISITOR_CACHE_CONTROL, "vary": VARY}
    if not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    cache: PageCache = request.app.state.page_cache
    body = cache.get(key, etag)
    if body is not None:
        return Response(body, media_type="text/html", headers=headers)
    response = await build()
    if response.status_code != 200 or "set-cookie" in response.headers or "x-robots-tag" in response.headers:
        return response  # a noindex page (a public topic whose first post is held) is rare: not kept
    cache.put(key, etag, bytes(response.body))
    response.headers.update(headers)
    return response
