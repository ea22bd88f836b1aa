"""Runs each benchmarked page once in-process, against the same database file the servers use:
- counts the SQL statements a request sends (Tortoise's `tortoise.db_client` debug log, as tests' QueryCounter),
- captures the template and context the handler rendered, frozen into plain objects, for the ceiling app,
- profiles one page with cProfile on request (`profile_page`), to explain a missed target.
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import logging
import pstats
import time
from dataclasses import dataclass, field
from enum import Enum
from types import SimpleNamespace

SECRET = "bench-secret-key-" + "b" * 40


class QueryLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.queries: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.queries.append(record.getMessage())


class counting:
    """Counts the statements Tortoise sends while the block runs (without printing them)."""

    def __enter__(self) -> QueryLog:
        self.logger = logging.getLogger("tortoise.db_client")
        self.handler = QueryLog()
        self.saved = (self.logger.level, self.logger.propagate)
        self.logger.setLevel(logging.DEBUG)
        self.logger.propagate = False
        self.logger.addHandler(self.handler)
        return self.handler

    def __exit__(self, *exc) -> None:
        self.logger.removeHandler(self.handler)
        self.logger.setLevel(self.saved[0])
        self.logger.propagate = self.saved[1]


def freeze(value):
    """Template context → plain picklable values: ORM objects become namespaces of their fields."""
    from tortoise.models import Model

    if isinstance(value, Model):
        data = {name: getattr(value, name) for name in value._meta.db_fields if hasattr(value, name)}
        data.update({name: getattr(value, name) for name in value._meta.fields_map
                     if name in value.__dict__ and not isinstance(getattr(value, name), Model)})
        data["pk"] = value.pk
        return SimpleNamespace(**{k: freeze(v) for k, v in data.items()})
    if isinstance(value, dict):
        return {k: freeze(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(freeze(v) for v in value)
    if isinstance(value, Enum) or value is None or isinstance(value, str | int | float | bool):
        return value
    if hasattr(value, "__html__"):  # the lazy CSRF token (forum.web.common.LazyFormToken) holds the request
        return str(value)
    return value


@dataclass
class PageProbe:
    path: str
    status: int
    bytes: int
    queries: int
    statements: list[str] = field(default_factory=list)
    template: str | None = None
    context: dict | None = None
    locale: str = "nb"
    seconds: float = 0.0


async def probe_pages(database_url: str, pages: dict[str, tuple[str, str]], *, reader: str, password: str,
                      profile: str | None = None) -> tuple[dict[str, PageProbe], str | None]:
    """`pages`: name → (who, path) with who "anon" or "reader". Each page is fetched twice; the second is
    counted (the first warms caches and lets a signed-in view record its read position)."""
    import httpx
    from asgi_lifespan import LifespanManager

    from forum.app import create_app
    from forum.settings import load_settings

    # no background workers: a mail worker's poll during a counted request was counted as the page's (the category
    # page's statements once read 5 at 1k against 4 at 10k)
    settings = load_settings(database_url=database_url, secret_key=SECRET, email_verification=False,
                             mail_worker=False, ocr_worker=False)
    app = create_app(settings)
    for noisy in ("httpx", "tortoise"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from forum.web.page_cache import PageCache
    from forum.web.post_cards import CardCache

    app.state.page_cache = PageCache(0)  # every request renders: its context is captured, its queries counted
    app.state.member_pages = CardCache(0)  # likewise for the signed-in pages kept by their context
    templates = app.state.templates
    original = templates.TemplateResponse
    captured: dict = {}

    def capture(request, name, context, *args, **kwargs):
        captured["template"], captured["context"] = name, dict(context)
        captured["locale"] = request.state.locale
        return original(request, name, context, *args, **kwargs)

    templates.TemplateResponse = capture
    results: dict[str, PageProbe] = {}
    profile_text = None
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as anon, \
                httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as signed:
            response = await signed.post("/api/v1/session", json={"email": reader, "password": password})
            response.raise_for_status()
            clients = {"anon": anon, "reader": signed}
            for name, (who, path) in pages.items():
                client = clients[who]
                await client.get(path)
                captured.clear()
                with counting() as log:
                    started = time.perf_counter()
                    response = await client.get(path)
                    seconds = time.perf_counter() - started
                context = None
                if captured:
                    context = {k: freeze(v) for k, v in captured["context"].items()
                               if k not in ("request", "path_for")}
                results[name] = PageProbe(path, response.status_code, len(response.content), len(log.queries),
                                          log.queries, captured.get("template"), context,
                                          captured.get("locale", "nb"), seconds)
            if profile:
                who, path = pages[profile]
                profile_text = await _profile(clients[who], path)
    templates.TemplateResponse = original
    return results, profile_text


async def _profile(client, path: str, rounds: int = 200) -> str:
    """cProfile over `rounds` sequential requests of one page (py-spy is not available here)."""
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(rounds):
        await client.get(path)
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(35)
    out.write("\n-- by own time --\n")
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(25)
    return out.getvalue()


def _probe(database_url: str, pages: dict, reader: str, password: str, profile: str | None):
    return asyncio.run(probe_pages(database_url, pages, reader=reader, password=password, profile=profile))


def probe_in_a_process(database_url: str, pages: dict, *, reader: str, password: str,
                       profile: str | None = None):
    """probe_pages in a fresh (spawned) process, so each size is probed by an app that is the only one its
    process has made."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_probe, database_url, pages, reader, password, profile).result()
