"""`make bench` / `python -m bench [--quick]`: seeds (cached), serves, loads, measures, reports.

1. per database size, a fresh working copy of the cached seed, and an in-process probe of each page: its SQL
   statements counted and its rendered context captured (bench/probe.py);
2. `forum serve --workers 2` for every size and the ceiling app (bench/ceiling.py), all at once; wrk loads each
   page on the ceiling and on every size back to back, for a fixed time, `rounds` times (best kept); search
   with one request in flight per worker; then RSS of each worker;
3. per size, the server again with FORUM_RATE_LIMITS=off: wrk creates replies through the JSON API (posts/s
   counted in the database); then consent withdrawal (`DELETE /api/v1/consent`) of a user with N posts and
   M mentions, added to the working copy; at the largest size also one with 10x both.
Then every target of issue 7 is computed from the figures of this one run, and a JSON report and a Markdown
table are written to bench/results/ and printed.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import pickle
import platform
import shutil
import sqlite3
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from bench import load, report
from bench.corpus import SEARCH_QUERIES, Corpus
from bench.seed import CACHE, SIZES, add_subject, cached_database

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Profile:
    name: str
    sizes: tuple[str, ...]
    duration: float       # seconds of load per case
    warmup: float         # seconds of wrk warm-up per case (0: a few sequential requests only)
    rounds: int           # each case this many times, interleaved with the others; the best is kept
    connections: int
    subject: tuple[int, int]   # withdrawal: posts, mentions
    tenfold: bool = True


FULL = Profile("full", ("10k", "1M"), duration=5, warmup=1, rounds=3, connections=16, subject=(10_000, 1_000))
QUICK = Profile("quick", ("1k", "10k"), duration=1, warmup=0, rounds=1, connections=8, subject=(500, 50))


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- HTTP helpers (stdlib only, bounded by timeouts) ------------------------------------------------------

def http(method: str, url: str, *, body: dict | None = None, headers: dict | None = None,
         timeout: float = 30) -> tuple[int, dict, bytes]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={
        **({"Content-Type": "application/json"} if data is not None else {}), **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def sign_in(base: str, email: str, password: str) -> dict:
    status, headers, raw = http("POST", base + "/api/v1/session", body={"email": email, "password": password})
    if status != 200:
        raise RuntimeError(f"sign-in of {email} failed: {status} {raw[:200]!r}")
    cookie = headers.get("set-cookie") or headers.get("Set-Cookie") or ""
    return {"cookie": cookie.split(";", 1)[0], "csrf": json.loads(raw)["csrf_token"]}


def loadavg() -> float:
    """The 1-minute load average after a case: how busy the shared machine was (the bench itself adds ~2-3)."""
    return float(Path("/proc/loadavg").read_text().split()[0])


def warm(url: str, headers: dict | None = None, n: int = 20, expect: int = 200) -> None:
    for _ in range(n):
        status, _h, _b = http("GET", url, headers=headers)
        if status != expect:
            raise RuntimeError(f"GET {url} answered {status}, not {expect}: the case would measure something else")


def etag_of(url: str) -> str:
    status, headers, _b = http("GET", url)
    etag = headers.get("etag") or headers.get("ETag")
    if status != 200 or not etag:
        raise RuntimeError(f"GET {url} answered {status} without an ETag: no conditional GET to measure")
    return etag


# -- one size ---------------------------------------------------------------------------------------------

def pages_for(meta: dict) -> dict[str, tuple[str, str]]:
    bench, big = meta["bench_topic"], meta["big_topic"]
    topic = f"/t/{bench['id']}/{bench['slug']}"
    big_path = f"/t/{big['id']}/{big['slug']}"
    return {
        "topic_anon": ("anon", topic),
        "topic_signed": ("reader", topic),
        "category": ("anon", f"/c/{bench['category']}"),
        "home": ("anon", "/"),
        "big_first": ("anon", big_path),
        "big_deep": ("anon", f"{big_path}?page={big['last_page']}"),
        "search": ("anon", "/search?q=" + quote(SEARCH_QUERIES[0])),
        # issue 26: what crawlers and feed readers fetch
        "sitemap": ("anon", "/sitemap.xml"),
        "sitemap_page": ("anon", "/sitemap/topics-1.xml"),
        "feed": ("anon", "/feed.atom"),
        "category_feed": ("anon", f"/c/{bench['category']}/feed.atom"),
    }


CEILING_OF = ("topic_anon", "topic_signed", "category", "home")
# topic_anon_304: the anonymous topic page asked with the ETag it was last served with (If-None-Match)
ORDER = ["topic_anon", "topic_anon_304", "topic_signed", "category", "home", "big_first", "big_deep", "search",
         "sitemap", "sitemap_page", "feed", "category_feed"]
REFERENCE_PATH = "/t/1/benchmark-topic"  # issue 20's fixed reference ceiling (bench/reference_ceiling)


@dataclass
class Prepared:
    name: str
    work: Path
    meta: dict
    result: dict
    pages: dict
    probes: dict


def prepare(size_name: str, corpus: Corpus, profile_page: str | None) -> Prepared:
    """The cached seed, a fresh working copy of it, and the in-process probe of every page."""
    size = SIZES[size_name]
    cached, meta = cached_database(size, lambda: corpus, log=log)
    work = CACHE / f"work-{size_name}-{os.getpid()}.sqlite3"
    _remove(work)
    started = time.monotonic()
    shutil.copyfile(cached, work)
    log(f"[{size_name}] working copy in {time.monotonic() - started:.1f} s")
    result: dict = {"size": meta["size"], "counts": meta["counts"], "seed_seconds": meta.get("seed_seconds"),
                    "db_mb": round(cached.stat().st_size / 1e6), "cases": {}}
    pages = pages_for(meta)
    from bench.probe import probe_in_a_process

    # a process of its own per size: a second app in one process counted some statements twice (the second
    # size's pages read 2-4 more queries than the same size probed alone)
    probes, profile_text = probe_in_a_process(f"sqlite:///{work}", pages, reader=meta["reader"],
                                              password=meta["password"], profile=profile_page)
    if profile_text:
        result["profile"] = {"page": profile_page, "text": profile_text}
    for name, probe in probes.items():
        if probe.status != 200:
            raise RuntimeError(f"[{size_name}] {name} ({probe.path}) answered {probe.status} in-process")
    return Prepared(size_name, work, meta, result, pages, probes)


def _remove(work: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-writers"):
        Path(str(work) + suffix).unlink(missing_ok=True)


def read_cases(prepared: list[Prepared], profile: Profile) -> None:
    """All sizes served at once beside the ceiling; each page is loaded on the ceiling and on every size back
    to back (`rounds` times, best kept), so ratios between them are measured minutes, not hours, apart."""
    logs = CACHE / "logs"
    pages = {f"{p.name}/{name}": {"template": p.probes[name].template, "context": p.probes[name].context,
                                  "locale": p.probes[name].locale} for p in prepared for name in CEILING_OF}
    pickle_path = CACHE / f"ceiling-{os.getpid()}.pickle"
    pickle_path.write_bytes(pickle.dumps(pages))
    servers: dict = {}
    ceiling = reference = None
    try:
        ceiling = load.start_ceiling(pickle_path, logs)
        reference = load.start_reference(logs)
        for p in prepared:
            servers[p.name] = load.start_forum(p.work, logs, rate_limits=True)
        readers = {p.name: sign_in(servers[p.name].base, p.meta["reader"], p.meta["password"]) for p in prepared}
        search_script = load.paths_script(CACHE / f"search-{os.getpid()}.lua",
                                          ["/search?q=" + quote(q) for q in SEARCH_QUERIES])
        for name in ORDER:
            for round_no in range(profile.rounds):
                measured_reference = _measure(f"reference ceiling (for {name})", reference.base + REFERENCE_PATH,
                                              {}, profile, server=reference)
                for p in prepared:
                    _keep_best(p.result["cases"], f"reference_{name}", dict(measured_reference))
                for p in prepared:
                    if name == "topic_anon_304":
                        url = servers[p.name].base + p.pages["topic_anon"][1]
                        measured = _measure(f"[{p.name}] {name}", url, {"If-None-Match": etag_of(url)}, profile,
                                            server=servers[p.name], expect=304)
                        measured.update(path=p.pages["topic_anon"][1], who="anon", queries=1, bytes=0)
                        _keep_best(p.result["cases"], name, measured)
                        continue
                    who, path = p.pages[name]
                    cases = p.result["cases"]
                    if name in CEILING_OF:
                        _keep_best(cases, f"ceiling_{name}", _measure(
                            f"[{p.name}] ceiling {name}", f"{ceiling.base}/{p.name}/{name}", {}, profile,
                            server=ceiling))
                    base = servers[p.name].base
                    if name == "search":
                        if round_no == 0:
                            for q in SEARCH_QUERIES:
                                warm(base + "/search?q=" + quote(q), n=2)
                        measured = _measure(f"[{p.name}] search", base + path, {}, profile, script=search_script,
                                            connections=2, threads=1, server=servers[p.name])
                    else:
                        headers = {"Cookie": readers[p.name]["cookie"]} if who == "reader" else {}
                        measured = _measure(f"[{p.name}] {name}", base + path, headers, profile,
                                            server=servers[p.name])
                    probe = p.probes[name]
                    measured.update(path=path, who=who, queries=probe.queries, bytes=probe.bytes,
                                    statements=probe.statements)
                    _keep_best(cases, name, measured)
        for p in prepared:
            p.result["cases"]["_rss"] = servers[p.name].rss_mb()
        prepared[-1].result["cases"]["_ceiling_rss"] = ceiling.rss_mb()
    finally:
        for server in [*servers.values(), ceiling, reference]:
            if server is not None:
                server.stop()


def _keep_best(cases: dict, name: str, measured: dict) -> None:
    """Best of the rounds (a shared machine only ever makes a run slower): the round with the most req/s, and
    the least server CPU per request of any round; every round's figures are kept."""
    previous = cases.get(name)
    rounds = (previous or {}).get("rounds_rps", []) + [measured["rps"]]
    cpu_rounds = (previous or {}).get("rounds_cpu_ms", []) + [measured["cpu_ms"]]
    if previous is None or measured["rps"] > previous["rps"]:
        cases[name] = measured
    cases[name]["rounds_rps"] = rounds
    cases[name]["rounds_cpu_ms"] = cpu_rounds
    cases[name]["cpu_ms"] = min((c for c in cpu_rounds if c is not None), default=None)


def _measure(label: str, url: str, headers: dict, profile: Profile, *, script: Path | None = None,
             connections: int | None = None, threads: int = 2, server: load.Server | None = None,
             expect: int = 200) -> dict:
    """wrk for the profile's duration, plus (given the `server`) its CPU time per request over the same interval:
    on a shared machine req/s falls with other work, CPU per request much less."""
    if script is None:
        warm(url, headers, expect=expect)
    connections = connections or profile.connections
    if profile.warmup:
        load.run_wrk(url, duration=profile.warmup, connections=connections, threads=threads, headers=headers,
                     script=script)
    cpu_before = server.cpu_seconds() if server else 0.0
    result = load.run_wrk(url, duration=profile.duration, connections=connections, threads=threads,
                          headers=headers, script=script).as_dict()
    result["cpu_ms"] = (round((server.cpu_seconds() - cpu_before) * 1000 / max(1, result["requests"]), 3)
                        if server else None)
    result["connections"] = connections
    result["loadavg"] = loadavg()
    cpu = f"  {result['cpu_ms']:6.2f} CPU ms/req" if server else ""
    errors = f"  non-2xx {result['non_2xx']}" if result["non_2xx"] else ""
    log(f"{label:<36} {result['rps']:>9,.0f} req/s  p50 {result['p50_ms']:7.2f} ms  p99 {result['p99_ms']:7.2f} ms"
        + cpu + errors)
    return result


def _count_posts(work: Path) -> int:
    conn = sqlite3.connect(work, timeout=30)
    try:
        return conn.execute("SELECT max(id) FROM post").fetchone()[0]
    finally:
        conn.close()


def write_and_withdrawal(p: Prepared, corpus: Corpus, profile: Profile, *, tenfold: bool) -> None:
    """One server with FORUM_RATE_LIMITS=off: replies through the JSON API for a fixed time, then consent
    withdrawal of users added to the working copy for the purpose."""
    forum = load.start_forum(p.work, CACHE / "logs", rate_limits=False)
    try:
        p.result["cases"]["create_post"] = _write_case(p, forum, corpus, profile)
        p.result["rss_write"] = forum.rss_mb()
        p.result["withdrawal"] = _withdrawal_cases(p, forum, corpus, profile, tenfold=tenfold)
    finally:
        forum.stop()


def _write_case(p: Prepared, forum, corpus: Corpus, profile: Profile) -> dict:
    result = measure_writes(forum, p.work, p.meta, corpus, profile.duration, label=f"[{p.name}] ")
    log(f"[{p.name}] create_post{'':<22} {result['posts_per_s']:>9,.1f} posts/s  p50 {result['p50_ms']:7.2f} ms"
        f"  p99 {result['p99_ms']:7.2f} ms  non-2xx {result['non_2xx']}")
    return result


def measure_writes(forum, work: Path, meta: dict, corpus: Corpus, seconds: float, *, label: str = "") -> dict:
    """Replies through the JSON API by the seeded writers for `seconds` (wrk, 8 connections), counted in the
    database, with the server's CPU time per post: the create_post case, also run alone by bench.write_rate."""
    writers = [sign_in(forum.base, email, meta["password"]) for email in meta["writers"]]
    script = load.posts_script(CACHE / f"posts-{os.getpid()}.lua", meta["write_topics"],
                               [b.source for b in corpus.bodies[:40]], writers)
    status, _h, raw = http("POST", f"{forum.base}/api/v1/topics/{meta['write_topics'][0]}/posts",
                           body={"body": corpus.bodies[0].source},
                           headers={"Cookie": writers[0]["cookie"], "X-CSRF-Token": writers[0]["csrf"]})
    if status != 201:
        raise RuntimeError(f"{label}creating a post answered {status}: {raw[:300]!r}")
    before = _count_posts(work)
    cpu_before = forum.cpu_seconds()
    result = load.run_wrk(forum.base + "/", duration=seconds, connections=8, threads=2,
                          script=script, timeout_s=30).as_dict()
    created = _count_posts(work) - before
    result.update(connections=8, posts_created=created, posts_per_s=round(created / result["seconds"], 1),
                  cpu_ms=round((forum.cpu_seconds() - cpu_before) * 1000 / max(1, created), 3), loadavg=loadavg())
    return result


def _withdrawal_cases(p: Prepared, forum, corpus: Corpus, profile: Profile, *, tenfold: bool) -> dict:
    posts, mentions = profile.subject
    subjects = [("base", "trekker_tilbake", posts, mentions)]
    if tenfold:
        subjects.append(("tenfold", "trekker_tilbake_10x", posts * 10, mentions * 10))
    out: dict = {}
    for key, username, n_posts, n_mentions in subjects:
        started = time.monotonic()
        info = add_subject(p.work, corpus, p.meta, username=username, posts=n_posts, mentions=n_mentions,
                           seed_text=f"{p.name}-{key}")
        info["seed_seconds"] = round(time.monotonic() - started, 1)
        session = sign_in(forum.base, info["email"], p.meta["password"])
        started = time.monotonic()
        status, _h, raw = http("DELETE", forum.base + "/api/v1/consent", body={},
                               headers={"Cookie": session["cookie"], "X-CSRF-Token": session["csrf"]}, timeout=900)
        seconds = time.monotonic() - started
        try:
            answer = json.loads(raw)
        except ValueError:
            answer = raw[:300].decode(errors="replace")
        out[key] = {**info, "status": status, "seconds": round(seconds, 3), "response": answer}
        log(f"[{p.name}] withdrawal {key:<8} ({info['posts']:,} posts, {info['mentions']:,} mentions): "
            f"HTTP {status} in {seconds:.2f} s")
    return out


# -- the whole run -----------------------------------------------------------------------------------------

def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
               if line.startswith("MemTotal"))
    versions = {}
    for package in ("starlette", "uvicorn", "uvloop", "httptools", "jinja2", "tortoise-orm", "aiosqlite"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(mem / 1024 / 1024, 1),
            "kernel": platform.release(), "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
            "packages": versions}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and 1 s per case: a smoke run")
    parser.add_argument("--sizes", help="comma-separated sizes to run (default: the profile's)")
    parser.add_argument("--duration", type=float, help="seconds of load per case")
    parser.add_argument("--profile-page", help="cProfile 200 in-process requests of this page (e.g. topic_anon)")
    parser.add_argument("--results", default=str(RESULTS), help="where the JSON and Markdown reports go")
    args = parser.parse_args(argv)
    profile = QUICK if args.quick else FULL
    if args.duration:
        profile = Profile(**{**profile.__dict__, "duration": args.duration})
    sizes = tuple(args.sizes.split(",")) if args.sizes else profile.sizes
    unknown = [s for s in sizes if s not in SIZES]
    if unknown:
        parser.error(f"unknown sizes {unknown}; known: {', '.join(SIZES)}")
    load.ensure_wrk(log)
    started = datetime.now(UTC)
    t0 = time.monotonic()
    corpus = Corpus()
    data = {"started": started.isoformat(timespec="seconds"), "profile": profile.__dict__ | {"sizes": sizes},
            "machine": machine(), "sizes": {}}
    prepared = [prepare(size_name, corpus, args.profile_page) for size_name in sizes]
    try:
        read_cases(prepared, profile)
        for n, p in enumerate(prepared):
            write_and_withdrawal(p, corpus, profile, tenfold=profile.tenfold and n == len(prepared) - 1)
    finally:
        for p in prepared:
            _remove(p.work)
        for scratch in ("ceiling-{}.pickle", "search-{}.lua", "posts-{}.lua"):
            (CACHE / scratch.format(os.getpid())).unlink(missing_ok=True)
    data["sizes"] = {p.name: p.result for p in prepared}
    data["seconds"] = round(time.monotonic() - t0, 1)
    data["targets"] = report.targets(data)
    out = Path(args.results)
    out.mkdir(parents=True, exist_ok=True)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    text = report.markdown(data)
    (out / f"bench-{stamp}.json").write_text(json.dumps(data, indent=1, default=str))
    (out / f"bench-{stamp}.md").write_text(text)
    shutil.copyfile(out / f"bench-{stamp}.json", out / "latest.json")
    shutil.copyfile(out / f"bench-{stamp}.md", out / "latest.md")
    print(text)
    for size_name, result in data["sizes"].items():
        if "profile" in result:
            print(f"\n## cProfile of {result['profile']['page']} at {size_name}\n```\n{result['profile']['text']}```")
    log(f"reports: {out / f'bench-{stamp}.json'} and .md ({data['seconds']} s in all)")
    return 0
