"""The issue-7 benchmark on PostgreSQL (issue 9), beside SQLite in the same minutes.

    python -m bench.postgres --database-url postgres://postgres@127.0.0.1:5432/SCRATCH [--quick] [--sizes 10k]

Per size: the same cached SQLite seed as `python -m bench` (bench/seed.py), with the withdrawal subject added,
copied row for row into the (emptied, migrated) PostgreSQL database, then ANALYZE (what autovacuum does after a
bulk load). `forum serve --workers 2` runs once on each database; every page is loaded with wrk on both, back
to back (bench/run.py's cases, warm-up and best-of-rounds), then replies are created through the JSON API and
one consent withdrawal is timed on each. Writes a Markdown table and JSON to bench/results/postgres-*.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sqlite3
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import asyncpg

from bench import load
from bench.corpus import SEARCH_QUERIES, Corpus
from bench.run import (
    FULL,
    ORDER,
    QUICK,
    RESULTS,
    Profile,
    _keep_best,
    _measure,
    http,
    log,
    machine,
    pages_for,
    sign_in,
    warm,
)
from bench.seed import CACHE, SIZES, add_subject, cached_database

SKIP_TABLES = {"tortoise_migrations"}


def _pg(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


def _converter(data_type: str):
    if data_type == "boolean":
        return lambda v: None if v is None else bool(v)
    if data_type.startswith("timestamp"):
        def to_time(v):
            if v is None or isinstance(v, datetime):
                return v
            parsed = datetime.fromisoformat(v)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        return to_time
    if data_type in ("integer", "bigint", "smallint"):
        return lambda v: None if v is None else int(v)
    if data_type in ("double precision", "real", "numeric"):
        return lambda v: None if v is None else float(v)
    return lambda v: None if v is None else str(v)


async def copy_to_postgres(sqlite_file: Path, url: str, batch: int = 20_000) -> dict[str, int]:
    """Creates the database if missing, empties it, applies the migrations, and copies every table's rows
    from the SQLite file (the search index from its FTS5 table: rowid → post_id); sequences are moved past the
    copied ids."""
    from forum.migrate import apply_migrations, empty_postgres, ensure_postgres_database

    await ensure_postgres_database(url)
    await empty_postgres(url)
    await apply_migrations(url, quiet=True)
    source = sqlite3.connect(f"file:{sqlite_file}?mode=ro", uri=True)
    conn = await asyncpg.connect(_pg(url))
    counts: dict[str, int] = {}
    try:
        columns: dict[str, list[tuple[str, str]]] = {}
        for table, column, data_type in await conn.fetch(
                "SELECT table_name, column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'public' AND is_generated = 'NEVER' ORDER BY table_name, ordinal_position"):
            columns.setdefault(table, []).append((column, data_type))
        await conn.execute("SET session_replication_role = replica")  # no FK checks or triggers while loading
        for table, cols in columns.items():
            if table in SKIP_TABLES:
                continue
            names = [c for c, _ in cols]
            if table == "search_tier":  # the migration wrote the boundary of an empty database
                await conn.execute("DELETE FROM search_tier")
            if table == "search_index":
                # both tiers of SQLite's index go to PostgreSQL's one table
                select = ("SELECT rowid, title, body, title_stems, body_stems FROM search_index "
                          "UNION ALL SELECT rowid, title, body, title_stems, body_stems FROM search_recent")
            else:
                select = f"SELECT {', '.join(names)} FROM {table}"
            convert = [_converter(t) for _, t in cols]
            cursor = source.execute(select)
            total = 0
            while rows := cursor.fetchmany(batch):
                records = [tuple(f(v) for f, v in zip(convert, row, strict=True)) for row in rows]
                await conn.copy_records_to_table(table, records=records, columns=names)
                total += len(records)
            counts[table] = total
            if "id" in names:
                await conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                   f"GREATEST((SELECT max(id) FROM {table}), 1))")
        await conn.execute("SET session_replication_role = DEFAULT")
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
        source.close()
    return counts


def start_forum(database_url: str, *, rate_limits: bool) -> load.Server:
    """`forum serve --workers 2`, as bench/load.py starts it, on any database URL."""
    port = load.free_port()
    env = {**os.environ, "FORUM_DATABASE_URL": database_url, "FORUM_SECRET_KEY": load.secret_key(),
           "FORUM_RATE_LIMITS": "on" if rate_limits else "off", "FORUM_DEBUG": "off",
           "FORUM_EMAIL_VERIFICATION": "off"}
    env.pop("FORUM_ARGON2_PROFILE", None)
    return load._start("forum", [load._bin("forum"), "serve", "--workers", "2", "--host", "127.0.0.1",
                                 "--port", str(port)], env, port, CACHE / "logs")


async def _max_post_id(url: str | None, work: Path) -> int:
    if url is None:
        conn = sqlite3.connect(work, timeout=30)
        try:
            return conn.execute("SELECT max(id) FROM post").fetchone()[0]
        finally:
            conn.close()
    conn = await asyncpg.connect(_pg(url))
    try:
        return await conn.fetchval("SELECT max(id) FROM post")
    finally:
        await conn.close()


def run_size(size_name: str, url: str, corpus: Corpus, profile: Profile) -> dict:
    size = SIZES[size_name]
    cached, meta = cached_database(size, lambda: corpus, log=log)
    work = CACHE / f"pgwork-{size_name}-{os.getpid()}.sqlite3"
    shutil.copyfile(cached, work)
    posts, mentions = profile.subject
    subject = add_subject(work, corpus, meta, username="trekker_tilbake", posts=posts, mentions=mentions,
                          seed_text=f"pg-{size_name}")
    subject_pg = add_subject(work, corpus, meta, username="trekker_tilbake_pg", posts=posts, mentions=mentions,
                             seed_text=f"pg2-{size_name}")
    started = time.monotonic()
    counts = asyncio.run(copy_to_postgres(work, url))
    copy_seconds = round(time.monotonic() - started, 1)
    log(f"[{size_name}] copied to PostgreSQL in {copy_seconds} s: {counts.get('post')} posts")
    result: dict = {"size": meta["size"], "copy_seconds": copy_seconds, "cases": {}}
    databases = {"sqlite": f"sqlite:///{work}", "postgres": url}
    load_before = os.getloadavg()[0]
    servers = {}
    try:
        servers = {db: start_forum(u, rate_limits=True) for db, u in databases.items()}
        pages = pages_for(meta)
        readers = {db: sign_in(s.base, meta["reader"], meta["password"]) for db, s in servers.items()}
        search_script = load.paths_script(CACHE / f"pgsearch-{os.getpid()}.lua",
                                          ["/search?q=" + quote(q) for q in SEARCH_QUERIES])
        for name in ORDER:
            for round_no in range(profile.rounds):
                for db, server in servers.items():
                    who, path = pages[name]
                    cases = result["cases"].setdefault(db, {})
                    if name == "search":
                        if round_no == 0:
                            for q in SEARCH_QUERIES:
                                warm(server.base + "/search?q=" + quote(q), n=2)
                        measured = _measure(f"[{size_name} {db}] search", server.base + path, {}, profile,
                                            script=search_script, connections=2, threads=1)
                    else:
                        headers = {"Cookie": readers[db]["cookie"]} if who == "reader" else {}
                        measured = _measure(f"[{size_name} {db}] {name}", server.base + path, headers, profile)
                    _keep_best(cases, name, measured)
    finally:
        for server in servers.values():
            server.stop()
    for db, u in databases.items():
        forum = start_forum(u, rate_limits=False)
        try:
            cases = result["cases"].setdefault(db, {})
            cases["create_post"] = _write_case(forum, meta, corpus, profile, None if db == "sqlite" else u, work)
            who = subject if db == "sqlite" else subject_pg
            session = sign_in(forum.base, who["email"], meta["password"])
            started = time.monotonic()
            status, _h, raw = http("DELETE", forum.base + "/api/v1/consent", body={},
                                   headers={"Cookie": session["cookie"], "X-CSRF-Token": session["csrf"]},
                                   timeout=900)
            cases["withdrawal"] = {"status": status, "seconds": round(time.monotonic() - started, 3),
                                   "posts": who["posts"], "mentions": who["mentions"]}
            log(f"[{size_name} {db}] withdrawal ({who['posts']:,} posts, {who['mentions']:,} mentions): "
                f"HTTP {status} in {cases['withdrawal']['seconds']:.2f} s")
        finally:
            forum.stop()
    for suffix in ("", "-wal", "-shm", "-writers"):
        Path(str(work) + suffix).unlink(missing_ok=True)
    result["loadavg"] = (load_before, os.getloadavg()[0])
    return result


def _write_case(forum, meta: dict, corpus: Corpus, profile: Profile, url: str | None, work: Path) -> dict:
    writers = [sign_in(forum.base, email, meta["password"]) for email in meta["writers"]]
    script = load.posts_script(CACHE / f"pgposts-{os.getpid()}.lua", meta["write_topics"],
                               [b.source for b in corpus.bodies[:40]], writers)
    before = asyncio.run(_max_post_id(url, work))
    result = load.run_wrk(forum.base + "/", duration=profile.duration, connections=8, threads=2,
                          script=script, timeout_s=30).as_dict()
    created = asyncio.run(_max_post_id(url, work)) - before
    result.update(posts_created=created, posts_per_s=round(created / result["seconds"], 1))
    log(f"create_post {'postgres' if url else 'sqlite'}: {result['posts_per_s']:,.1f} posts/s "
        f"p50 {result['p50_ms']:.2f} ms p99 {result['p99_ms']:.2f} ms non-2xx {result['non_2xx']}")
    return result


LABELS = {"topic_anon": "topic page, anonymous", "topic_signed": "topic page, signed in",
          "category": "category list", "home": "home (latest topics)", "big_first": "10k-post topic, page 1",
          "big_deep": "10k-post topic, last page", "search": "search (2 in flight)"}


def markdown(data: dict) -> str:
    lines = []
    for size_name, result in data["sizes"].items():
        sq, pg = result["cases"]["sqlite"], result["cases"]["postgres"]
        load_avg = "–".join(f"{v:.1f}" for v in result["loadavg"])
        lines += [f"**{size_name} posts** ({data['profile']['duration']} s per case, best of "
                  f"{data['profile']['rounds']}, `forum serve --workers 2` on each database, wrk "
                  f"{data['profile']['connections']} connections; same machine, same minutes; 1-minute load "
                  f"average {load_avg} on {data['machine']['cores']} cores)", "",
                  "| case | SQLite req/s | p99 | PostgreSQL req/s | p99 |", "|---|---:|---:|---:|---:|"]
        for name in ORDER:
            a, b = sq[name], pg[name]
            lines.append(f"| {LABELS[name]} | {a['rps']:,.0f} | {a['p99_ms']:.1f} ms | {b['rps']:,.0f} | "
                         f"{b['p99_ms']:.1f} ms |")
        a, b = sq["create_post"], pg["create_post"]
        lines.append(f"| create a reply (8 writers, JSON API) | {a['posts_per_s']:,.0f} posts/s | "
                     f"{a['p99_ms']:.1f} ms | {b['posts_per_s']:,.0f} posts/s | {b['p99_ms']:.1f} ms |")
        a, b = sq["withdrawal"], pg["withdrawal"]
        lines.append(f"| consent withdrawal ({a['posts']:,} posts, {a['mentions']:,} mentions) | "
                     f"{a['seconds']:.2f} s | | {b['seconds']:.2f} s | |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.postgres", description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", required=True, help="a PostgreSQL database that may be emptied")
    parser.add_argument("--quick", action="store_true", help="small sizes and 1 s per case: a smoke run")
    parser.add_argument("--sizes", help="comma-separated sizes (default: 10k, or 1k with --quick)")
    parser.add_argument("--duration", type=float, help="seconds of load per case")
    parser.add_argument("--results", default=str(RESULTS))
    args = parser.parse_args(argv)
    profile = QUICK if args.quick else FULL
    if args.duration:
        profile = Profile(**{**profile.__dict__, "duration": args.duration})
    sizes = args.sizes.split(",") if args.sizes else (["1k"] if args.quick else ["10k"])
    unknown = [s for s in sizes if s not in SIZES]
    if unknown:
        parser.error(f"unknown sizes {unknown}; known: {', '.join(SIZES)}")
    load.ensure_wrk(log)
    started = datetime.now(UTC)
    corpus = Corpus()
    data = {"started": started.isoformat(timespec="seconds"), "profile": profile.__dict__ | {"sizes": sizes},
            "machine": machine(), "sizes": {}}
    try:
        for size_name in sizes:
            data["sizes"][size_name] = run_size(size_name, args.database_url, corpus, profile)
    finally:
        for scratch in ("pgsearch-{}.lua", "pgposts-{}.lua"):
            (CACHE / scratch.format(os.getpid())).unlink(missing_ok=True)
    out = Path(args.results)
    out.mkdir(parents=True, exist_ok=True)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    text = markdown(data)
    (out / f"postgres-{stamp}.json").write_text(json.dumps(data, indent=1, default=str))
    (out / f"postgres-{stamp}.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
