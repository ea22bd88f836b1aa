"""The topic page with pictures against the same page without files (issue 22), in process: what the pictures
add to a page view (CPU per request and SQL statements), anonymous and signed in, and what each picture's own
request (`/files/<token>`) costs. `python -m bench.attachments --topic-page N` runs it (bench/attachments.py).

A fresh SQLite database in a temporary folder, the real app under its lifespan, driven over ASGI by httpx (no
network, no server: the numbers are the app's own work). Two topics of 20 posts each by the same members; one has
a picture in 5 of its posts (a 900 × 260 screenshot). The anonymous page is served as visitors get it (the rendered
page cache included); the signed-in page renders per viewer (post cards cached per process).
"""

from __future__ import annotations

import re
import statistics
import tempfile
import time
from pathlib import Path

POSTS, PICTURES = 20, 5
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def _member(make_client, name: str):
    client = make_client()
    email = f"{name}@example.test"
    password = "correct horse battery"
    assert (await client.api("POST", "/api/v1/users", {"username": name, "email": email,
                                                        "password": password})).status_code == 201
    signed = await client.api("POST", "/api/v1/session", {"email": email, "password": password})
    client.csrf = signed.json()["csrf_token"]
    policy = (await client.get("/api/v1/consent")).json()["policy"]
    assert (await client.api("POST", "/api/v1/consent", {"policy_version": policy["version"]})).status_code == 201
    return client


async def _topic(client, category: str, title: str, with_pictures: bool) -> str:
    from tests import attachment_images as imgs

    started = await client.api("POST", "/api/v1/topics", {"category": category, "title": title,
                                                          "body": "Hvordan setter jeg opp lønnsartene?",
                                                          "kind": "discussion"})
    topic = started.json()
    picture = imgs.invoice()
    every = POSTS // PICTURES
    for number in range(2, POSTS + 1):
        body = f"Svar nummer {number}: slik gjorde vi det, med noen linjer tekst om oppsettet og valgene."
        if with_pictures and number % every == 0:
            page = await client.get(f"/t/{topic['id']}", follow_redirects=True)
            token = CSRF.search(page.text).group(1)
            answer = await client.post(f"/t/{topic['id']}/reply", data={"csrf_token": token, "body": body,
                                                                        "attachment_alt": "Skjermbildet"},
                                       files=[("attachment", ("a.png", picture, "image/png"))])
            assert answer.status_code == 303, answer.text[:300]
        else:
            assert (await client.api("POST", f"/api/v1/topics/{topic['id']}/posts", {"body": body})).status_code == 201
    return f"/t/{topic['id']}/{topic['slug']}"


async def _measure(client, path: str, requests: int, before=lambda: None) -> dict:
    from tests.conftest import QueryCounter

    for _ in range(5):  # warm: templates compiled, caches filled
        before()
        assert (await client.get(path)).status_code == 200
    before()
    with QueryCounter() as counter:
        page = await client.get(path)
    walls = []
    cpu_started = time.process_time()
    for _ in range(requests):
        before()
        started = time.perf_counter()
        await client.get(path)
        walls.append(time.perf_counter() - started)
    cpu = (time.process_time() - cpu_started) / requests
    return {"cpu_ms": cpu * 1000, "p50_ms": statistics.median(walls) * 1000, "queries": counter.count,
            "bytes": len(page.content), "pictures": page.text.count('src="/files/')}


async def run(requests: int) -> list[tuple[str, dict]]:
    import logging

    import httpx
    from asgi_lifespan import LifespanManager

    from forum.app import create_app
    from forum.migrate import apply_migrations
    from forum.services.categories import create_category_as_system
    from forum.services.consent import publish_missing_policies
    from forum.settings import load_settings
    from tests.conftest import Client

    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("tortoise").propagate = False  # the statement counter's DEBUG records stay out of the output
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite://{Path(folder) / 'bench.sqlite3'}"
        settings = load_settings(database_url=url, secret_key="bench-" + "x" * 50, argon2_profile="cheapest",
                                 default_locale="nb", rate_limits=False, email_verification=False,
                                 mail_worker=False, ocr_worker=False)
        await apply_migrations(url, quiet=True)
        app = create_app(settings)
        async with LifespanManager(app) as manager:
            await publish_missing_policies(version="bench-1")

            def make_client() -> Client:
                transport = httpx.ASGITransport(app=manager.app)
                return Client(transport=transport, base_url="http://testserver", follow_redirects=False)

            await create_category_as_system(slug="lonn", name="Lønn", description="", read="public",
                                            start_topics="participants")
            author, reader = await _member(make_client, "forfatter"), await _member(make_client, "leser")
            plain = await _topic(author, "lonn", "Oppsett av lønnsarter uten bilder", False)
            pictured = await _topic(author, "lonn", "Oppsett av lønnsarter med bilder", True)
            anon = make_client()
            file_path = re.search(r'src="(/files/[0-9a-f]{32})"', (await anon.get(pictured)).text).group(1)
            cache = app.state.page_cache

            def render_anew() -> None:  # the visitors' page rendered each time, as after every change
                cache.entries.clear()
                cache.bytes = 0

            results = []
            for who, client, before in (("anonymous, cached page", anon, lambda: None),
                                        ("anonymous, page rendered", anon, render_anew),
                                        ("signed in", reader, lambda: None)):
                for label, path in (("20 posts, no files", plain), (f"20 posts, {PICTURES} pictures", pictured)):
                    results.append((f"{who}: {label}", await _measure(client, path, requests, before)))
            results.append(("anonymous: one picture (/files/…)", await _measure(anon, file_path, requests)))
    return results


def report(results: list[tuple[str, dict]]) -> str:
    lines = ["| page | CPU per request (ms) | p50 (ms) | SQL statements | bytes | pictures |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, r in results:
        lines.append(f"| {name} | {r['cpu_ms']:.2f} | {r['p50_ms']:.2f} | {r['queries']} | {r['bytes']:,} | "
                     f"{r['pictures']} |")
    return "\n".join(lines)
