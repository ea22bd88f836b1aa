"""EXPLAIN (ANALYZE, BUFFERS) of every hot read on PostgreSQL, at a realistic volume (issue 9).

    python -m bench.pg_explain --database-url postgres://postgres@127.0.0.1:5432/NAME [--posts 200000] [--reuse]

1. empties the database, applies the migrations and seeds it with plain SQL (generate_series): users with
   profiles and sessions, 10 categories (one staff-only), topics (one of them very long), posts with Norwegian
   words, the search index, notifications (two per post, older ones read), read and watch rows, likes;
   then ANALYZE, as autovacuum would have done. `--reuse` skips this when the database is already seeded.
2. runs the app's own read functions in-process (topic pages, topic lists and their keyset cursors, search,
   notifications, the viewer load, profiles, the live views' reads, the moderation queue), recording every SQL
   statement they send with its parameters;
3. runs EXPLAIN (ANALYZE, BUFFERS) on each and writes the plans to docs/postgresql-plans.txt and a one-line
   verdict per statement to stdout (sequential scans of big tables are called out).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
PLANS = ROOT / "docs" / "postgresql-plans.txt"
BIG_TABLES = {"post", "topic", "notification", "search_index", "topic_read", "topic_watch", "post_like",
              "account", "profile", "session", "post_revision"}

# the most frequent words first: token ranks follow Zipf's law (p(k) ~ 1/k) over a VOCABULARY-word vocabulary,
# so stop words are in most posts, a domain word like "faktura" in a few per cent, most words are rare
STOP_WORDS = "og i det er som på en til å ikke jeg at med for har av de kan vi men".split()
WORDS = STOP_WORDS + (
    "faktura lønn sjåfør kunde modul oppdatering versjon integrasjon nøkkel tjeneste server database "
    "sikkerhetskopi rapport eksport import bruker tilgang passord innlogging feil melding skjema mal "
    "avdeling timeliste ferie reise utlegg godkjenning attest budsjett regnskap bilag konto mva "
    "avstemming periode årsoppgjør lager ordre tilbud prosjekt time ansatt vakt turnus").split()


SYLLABLES = "ka lo ne sjå før ber gen strand dal heim vik tun mo rud sæt by land fjell ås øy".split()
VOCABULARY = 5000


def rare_word(k: int) -> str:
    """The seed's generated word of rank k (beyond the listed words), as the SQL builds it."""
    return SYLLABLES[k % 20] + SYLLABLES[(k // 20) % 20] + SYLLABLES[(k // 400) % 20]


def _pg(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


SEED = """
INSERT INTO account (email, password_hash, role, created_at)
SELECT 'user' || i || '@seed.example', 'x', CASE WHEN i = 1 THEN 'admin' WHEN i <= 5 THEN 'staff' ELSE 'member' END,
       timestamptz '2024-11-20' + i * interval '1 minute'
FROM generate_series(1, {users}) i;

INSERT INTO profile (username, username_key, display_name, bio, created_at, user_id)
SELECT 'user' || id, 'user' || id, 'Bruker ' || id, '', created_at, id FROM account;

INSERT INTO session (token_hash, created_at, last_seen_at, expires_at, user_id)
SELECT md5(id::text) || md5('s' || id), now(), now(), now() + interval '30 days', id FROM account;

INSERT INTO category (slug, name, description, position, read_access, start_topics, topic_count, post_count,
                      created_at)
SELECT 'kategori-' || i, 'Kategori ' || i, '', i, CASE WHEN i = 10 THEN 'staff' ELSE 'public' END,
       'participants', 0, 0, timestamptz '2024-11-20'
FROM generate_series(1, 10) i;

INSERT INTO topic (title, slug, kind, pinned, pinned_globally, locked, post_count, last_number, created_at,
                   last_posted_at, version, author_id, category_id)
SELECT 'Emne ' || i || ' om ' || (ARRAY{words})[1 + (i * 7) % {nwords}] || ' og '
       || (ARRAY{words})[1 + (i * 13) % {nwords}],
       'emne-' || i, CASE WHEN i % 3 = 0 THEN 'question' ELSE 'discussion' END,
       i % 500 = 0, i IN (1, 2), false, 0, 0,
       timestamptz '2024-11-20' + i * interval '1 hour', timestamptz '2024-11-20', 1,
       1 + (i * 7919) % {users}, 1 + i % 10
FROM generate_series(1, {topics}) i;

CREATE TEMP TABLE seed_post AS
SELECT i, CASE WHEN i % 20 = 0 THEN 1 ELSE 1 + ((i::bigint * 2654435761) % {topics})::int END AS topic_id,
       1 + ((i::bigint * 31337) % {users})::int AS author_id,
       timestamptz '2024-11-20' + i * (interval '730 days' / {posts}) AS created_at
FROM generate_series(1, {posts}) i;

CREATE TEMP TABLE vocab AS
SELECT k, CASE WHEN k <= {nwords} THEN (ARRAY{words})[k]
               ELSE (ARRAY{syllables})[1 + k % 20] || (ARRAY{syllables})[1 + (k / 20) % 20]
                    || (ARRAY{syllables})[1 + (k / 400) % 20] END AS w
FROM generate_series(1, {vocabulary}) k;
ALTER TABLE vocab ADD PRIMARY KEY (k);

INSERT INTO post (number, source, cooked, created_at, like_count, deleted_by_moderator, author_id, topic_id)
SELECT row_number() OVER (PARTITION BY s.topic_id ORDER BY s.i), b.body, '<p>' || b.body || '</p>',
       s.created_at, 0, false, s.author_id, s.topic_id
FROM seed_post s
CROSS JOIN LATERAL (
    SELECT string_agg(v.w, ' ' ORDER BY t.k) AS body
    FROM generate_series(1, 12 + s.i % 30) t(k)
    JOIN vocab v ON v.k = least({vocabulary}, floor(exp(
        ((hashint8(s.i::bigint * 100 + t.k) & 1048575) / 1048576.0) * ln({vocabulary} + 1)))::int)
) b
ORDER BY s.i;

UPDATE topic t SET post_count = a.n, last_number = a.n, last_posted_at = a.last, version = a.n
FROM (SELECT topic_id, count(*) AS n, max(created_at) AS last FROM post GROUP BY topic_id) a
WHERE a.topic_id = t.id;
DELETE FROM topic WHERE post_count = 0;
UPDATE category c SET topic_count = a.topics, post_count = a.posts
FROM (SELECT category_id, count(*) AS topics, sum(post_count) AS posts FROM topic GROUP BY category_id) a
WHERE a.category_id = c.id;

INSERT INTO search_index (post_id, title, body)
SELECT p.id, CASE WHEN p.number = 1 THEN t.title ELSE '' END, p.source
FROM post p JOIN topic t ON t.id = p.topic_id;

INSERT INTO topic_watch (created_at, topic_id, user_id)
SELECT min(created_at), topic_id, author_id FROM post GROUP BY topic_id, author_id;
INSERT INTO topic_read (last_read_number, topic_id, user_id)
SELECT max(number), topic_id, author_id FROM post GROUP BY topic_id, author_id;

INSERT INTO notification (kind, count, message, created_at, read_at, actor_id, post_id, topic_id, user_id)
SELECT 'reply', 1, '', p.created_at,
       CASE WHEN p.created_at < timestamptz '2026-11-13' THEN p.created_at + interval '1 day' END,
       p.author_id, p.id, p.topic_id, t.author_id
FROM post p JOIN topic t ON t.id = p.topic_id WHERE p.number > 1 AND t.author_id <> p.author_id;
INSERT INTO notification (kind, count, message, created_at, read_at, actor_id, post_id, topic_id, user_id)
SELECT 'watched_topic', 1, '', p.created_at,
       CASE WHEN p.created_at < timestamptz '2026-11-13' THEN p.created_at + interval '1 day' END,
       p.author_id, p.id, p.topic_id, 1 + ((p.id::bigint * 104729) % {users})::int
FROM post p WHERE p.number > 1;

INSERT INTO post_like (created_at, post_id, user_id)
SELECT DISTINCT ON (p.id, u) p.created_at, p.id, u
FROM post p CROSS JOIN LATERAL (SELECT 1 + ((p.id::bigint * 7727) % {users})::int AS u) l
WHERE p.id % 2 = 0;
UPDATE post SET like_count = 1 WHERE id % 2 = 0;
"""


async def seed(url: str, posts: int) -> None:
    from forum.migrate import apply_migrations, empty_postgres

    await empty_postgres(url)
    await apply_migrations(url, quiet=True)
    users, topics = max(50, posts // 40), max(20, posts // 20)
    words = "[" + ",".join("'" + w + "'" for w in WORDS) + "]"
    syllables = "[" + ",".join("'" + w + "'" for w in SYLLABLES) + "]"
    sql = SEED.format(users=users, topics=topics, posts=posts, words=words, nwords=len(WORDS),
                      syllables=syllables, vocabulary=VOCABULARY)
    conn = await asyncpg.connect(_pg(url))
    try:
        started = time.monotonic()
        for statement in [s.strip() for s in sql.split(";\n") if s.strip()]:
            await conn.execute(statement)
        await conn.execute("ANALYZE")
        counts = {t: await conn.fetchval(f"SELECT count(*) FROM {t}")
                  for t in ("account", "topic", "post", "notification", "search_index", "post_like")}
        print(f"seeded in {time.monotonic() - started:.0f} s: {counts}")
    finally:
        await conn.close()


class Recorder:
    """Collects (label, sql, params) for every statement the read functions send."""

    def __init__(self) -> None:
        self.label = ""
        self.statements: list[tuple[str, str, list]] = []

    def install(self) -> None:
        from tortoise.backends.asyncpg.client import AsyncpgDBClient

        recorder = self

        def wrap(original):
            async def recording(client, query, values=None):
                recorder.statements.append((recorder.label, query, list(values or [])))
                return await original(client, query, values)
            return recording

        AsyncpgDBClient.execute_query_dict = wrap(AsyncpgDBClient.execute_query_dict)
        AsyncpgDBClient.execute_query = wrap(AsyncpgDBClient.execute_query)


async def run_reads(url: str, recorder: Recorder) -> None:
    from tortoise import Tortoise

    from forum import db
    from forum.db.config import tortoise_config
    from forum.security import hash_token
    from forum.services import live, notifications, profile_queries, search, topic_page, topic_queries
    from forum.viewer import load_viewer, viewer_for_user
    from moderation.queue import load_queue

    await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)
    try:
        conn = db.connection()
        big = await db.fetch_one("SELECT id, last_number FROM topic ORDER BY post_count DESC LIMIT 1")
        usual = await db.fetch_one("SELECT id, last_number FROM topic WHERE post_count BETWEEN 10 AND 40 "
                                   "ORDER BY id LIMIT 1")
        busy_user = (await db.fetch_one("SELECT user_id FROM notification WHERE read_at IS NULL "
                                        "GROUP BY user_id ORDER BY count(*) DESC LIMIT 1"))["user_id"]
        token = "explain-token"
        await db.execute("UPDATE session SET token_hash = ? WHERE user_id = ?", [hash_token(token), busy_user], conn)
        member = await viewer_for_user(busy_user)
        staff = await viewer_for_user(1)
        cursor_row = await db.fetch_one("SELECT last_posted_at, id FROM topic ORDER BY last_posted_at DESC "
                                        "OFFSET 200 LIMIT 1")
        cursor = (db.as_datetime(cursor_row["last_posted_at"]), cursor_row["id"])
        pages = topic_queries.page_count(big["last_number"])
        cases = [
            ("viewer load (every request with a session cookie)", lambda: load_viewer(token)),
            ("topic page 1, anonymous (usual topic)", lambda: topic_page.load_topic_page(None, usual["id"], 1)),
            (f"topic page {pages} of {pages}, signed in (long topic)",
             lambda: topic_page.load_topic_page(member, big["id"], pages)),
            ("live: posts after N (long topic)", lambda: topic_page.load_posts_after(None, big["id"],
                                                                                      big["last_number"] - 3)),
            ("live: last number", lambda: live.last_number(big["id"])),
            ("live: unread count", lambda: live.unread_count(busy_user)),
            ("home: latest topics, anonymous", lambda: topic_queries.latest_topics(None)),
            ("home: latest topics, signed in, page 11 (keyset)",
             lambda: topic_queries.latest_topics(member, before=cursor)),
            ("category: topics, first page", lambda: topic_queries.category_topics(member, 3)),
            ("category: topics, keyset page", lambda: topic_queries.category_topics(None, 3, before=cursor)),
            ("notifications list", lambda: notifications.list_notifications(member)),
            ("search: a stop word in most posts (worst case)", lambda: search.search(None, "og")),
            ("search: a domain word in ~13 % of posts", lambda: search.search(None, "faktura")),
            ("search: two domain words", lambda: search.search(None, "lønn sjåfør")),
            ("search: a word in ~1.5 % of posts", lambda: search.search(None, rare_word(200))),
            ("search: a rare word, as staff", lambda: search.search(staff, rare_word(3001))),
            ("search: a prefix", lambda: search.search(None, "årsopp*")),
            ("search: word + category filter", lambda: search.search(None, "kunde", category="kategori-3")),
            ("profile", lambda: profile_queries.profile_by_username(f"user{busy_user}")),
            ("profile activity", lambda: profile_queries.profile_activity(None, busy_user)),
            ("moderation queue", lambda: load_queue(staff)),
        ]
        recorder.install()
        for label, call in cases:
            recorder.label = label
            await call()
    finally:
        await Tortoise.close_connections()


def verdict(plan: str) -> str:
    seq = sorted({m for m in re.findall(r"Seq Scan on (\w+)", plan) if m in BIG_TABLES})
    top = plan.splitlines()[0].split("  (")[0].strip()
    return f"{top}; seq scan of {', '.join(seq)}" if seq else top


async def explain(url: str, statements: list[tuple[str, str, list]]) -> list[tuple[str, str, float, str]]:
    conn = await asyncpg.connect(_pg(url))
    out = []
    try:
        for label, sql, params in statements:
            if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql, *params)
            plan = "\n".join(r[0] for r in rows)
            ms = float(re.search(r"Execution Time: ([\d.]+) ms", plan).group(1))
            out.append((label, sql, ms, plan))
    finally:
        await conn.close()
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pg_explain", description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", required=True, help="a PostgreSQL database that may be emptied")
    parser.add_argument("--posts", type=int, default=200_000)
    parser.add_argument("--reuse", action="store_true", help="keep the seeded data from an earlier run")
    parser.add_argument("--plans", default=str(PLANS), help="where the full plans are written")
    args = parser.parse_args()
    if not args.reuse:
        await seed(args.database_url, args.posts)
    recorder = Recorder()
    await run_reads(args.database_url, recorder)
    results = await explain(args.database_url, recorder.statements)
    lines = [f"# EXPLAIN (ANALYZE, BUFFERS) of the hot reads, {datetime.now(UTC):%Y-%m-%d}, "
             f"{args.posts} posts; written by `python -m bench.pg_explain`", ""]
    for label, sql, ms, plan in results:
        print(f"{ms:9.2f} ms  {label}: {verdict(plan)}")
        lines += [f"## {label} ({ms:.2f} ms)", "", sql.strip(), "", plan, ""]
    Path(args.plans).write_text("\n".join(lines))  # noqa: ASYNC240 (a one-off script, nothing else waits)
    print(f"plans: {args.plans}")


if __name__ == "__main__":
    asyncio.run(main())
