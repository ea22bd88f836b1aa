"""`python -m bench.findable [--topics 50000]`: the sitemap and the feeds at the 1M size's topic count (issue 26).

Their cost follows the number of topics, not of posts (a sitemap page lists topics; a feed reads 30 topics and
their first posts through indexes), so this seeds only that many topics, each with its first post, into a fresh
SQLite file (not the 1M-post benchmark database, which takes an hour to build), and asks each page in-process
(httpx over ASGI, no network), reporting the p50 and p99 wall time and the CPU time per request.
What it does not show: a 1M-post file that no longer fits the OS page cache.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

PATHS = ["/sitemap.xml", "/sitemap/topics-1.xml", "/feed.atom", "/c/bench/feed.atom"]

SEED = """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {topics})
INSERT INTO topic (id, category_id, author_id, title, slug, kind, pinned, pinned_globally, locked, post_count,
                   last_number, accepted_post_id, created_at, last_posted_at, version, deleted_at, changed_at)
SELECT i, CASE WHEN i % 10 = 0 THEN {members} ELSE {public} END, NULL, 'Emne nummer ' || i, 'emne-nummer-' || i,
       'question', 0, 0, 0, 1, 1, NULL, datetime('2024-01-01', '+' || (i * 10) || ' minutes') || '+00:00',
       datetime('2024-01-01', '+' || (i * 10) || ' minutes') || '+00:00', 1, NULL, NULL FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {topics})
INSERT INTO post (id, topic_id, number, author_id, reply_to_id, source, cooked, created_at, edited_at, like_count,
                  deleted_at, deleted_by_moderator, hidden_at, hidden_reason)
SELECT i, i, 1, NULL, NULL, 'Hvordan gjør jeg ' || i || '?', '<p>Hvordan gjør jeg ' || i || '? Jeg har prøvd alt.</p>',
       datetime('2024-01-01', '+' || (i * 10) || ' minutes') || '+00:00', NULL, 0, NULL, 0, NULL, NULL FROM n;
"""


async def run(topics: int, rounds: int) -> None:
    import httpx
    from asgi_lifespan import LifespanManager

    from forum import db
    from forum.app import create_app
    from forum.migrate import apply_migrations
    from forum.services.categories import create_category_as_system
    from forum.settings import load_settings

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'findable.sqlite3'}"
        await apply_migrations(url, quiet=True)
        settings = load_settings(database_url=url, secret_key="bench" * 8, mail_worker=False, cook_processes=0)
        app = create_app(settings)
        async with LifespanManager(app) as manager:
            public = await create_category_as_system(slug="bench", name="Bench", description="", read="public",
                                                     start_topics="participants")
            members = await create_category_as_system(slug="inne", name="Inne", description="", read="members",
                                                      start_topics="participants")  # every tenth topic
            started = time.monotonic()
            for sql in SEED.format(topics=topics, public=public.id, members=members.id).split(";\n"):
                if sql.strip():
                    await db.execute(sql)
            print(f"seeded {topics:,} topics with their first posts in {time.monotonic() - started:.1f} s")
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                cases = ([(p, "kept") for p in PATHS] + [(p, "changed") for p in PATHS]
                         + [("/sitemap/topics-1.xml", "elsewhere")])
                for path, mode in cases:
                    walls, cpus, size = [], [], 0
                    for n in range(rounds if mode == "kept" else max(3, rounds // 4)):
                        if mode != "kept":  # a change to a topic of page 1 (its kept copy is stale), or of the last
                            changed = n % topics + 1 if mode == "changed" else topics - n % 100
                            await db.execute("UPDATE topic SET version = version + 1 WHERE id = ?", [changed])
                        wall, cpu = time.perf_counter(), time.process_time()
                        response = await client.get(path)
                        walls.append((time.perf_counter() - wall) * 1000)
                        cpus.append((time.process_time() - cpu) * 1000)
                        assert response.status_code == 200, (path, response.status_code)
                        size = len(response.content)
                    walls.sort()
                    p99 = walls[max(0, int(len(walls) * 0.99) - 1)]
                    label = path + {"kept": "", "changed": " (after a change)",
                                    "elsewhere": " (change in another page)"}[mode]
                    print(f"{label:<48} p50 {statistics.median(walls):7.1f} ms  p99 {p99:7.1f} ms"
                          f"  CPU p50 {statistics.median(cpus):7.1f} ms  {size / 1024:8.1f} KB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topics", type=int, default=50_000, help="topics to seed (the 1M size has 50,000)")
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    asyncio.run(run(args.topics, args.rounds))


if __name__ == "__main__":
    main()
