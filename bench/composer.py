"""`python -m bench.composer [SIZE] [N]`: the composer's lookups timed in-process (issue 25), on the cached seed.

A working copy of the seed of SIZE (bench/seed.py, whose search index holds the Norwegian stems), then, called
directly (no HTTP, so the numbers are the service's own cost, not the server stack's):
- `similar_topics` for N new-topic titles made like the seed's (bench/corpus.py), as a member;
- `save_draft` N times (a reply draft of a few hundred characters, saved again and again as autosave does);
- `search` for the bench's queries with stemming on and off (the cost of the stem alternatives).
Wall-clock p50/p99 per call and the process's CPU time per call. Prints JSON.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

from bench.corpus import SEARCH_QUERIES, Corpus
from bench.seed import CACHE, SIZES, cached_database


def _summary(times: list[float], cpu: float) -> dict:
    ordered = sorted(times)
    return {"n": len(times), "p50_ms": round(statistics.median(ordered) * 1000, 2),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 2),
            "cpu_ms_per_call": round(cpu / len(times) * 1000, 2)}


async def _timed(calls) -> dict:
    times = []
    cpu = time.process_time()
    for call in calls:
        started = time.perf_counter()
        await call()
        times.append(time.perf_counter() - started)
    return _summary(times, time.process_time() - cpu)


async def _run(path: Path, meta: dict, n: int, corpus: Corpus) -> dict:
    from types import SimpleNamespace

    from tortoise import Tortoise

    from forum.db.config import tortoise_config
    from forum.services import composer_drafts, rate_limits, search, similar
    from forum.viewer import viewer_for_user

    # 300 saves in a few seconds would hit the draft rate limit (60 a minute, issue 25) by design: off, as the main
    # bench's write case runs with FORUM_RATE_LIMITS=off
    rate_limits.configure(SimpleNamespace(state=SimpleNamespace(settings=SimpleNamespace(rate_limits=False))))
    await Tortoise.init(config=tortoise_config(f"sqlite://{path}"))
    try:
        member = await viewer_for_user(meta["members"][0])
        titles = [corpus.title() for _ in range(n)]
        found = [len(await similar.similar_topics(member, t)) for t in titles[:20]]  # warm the cache too
        out = {"similar_topics": await _timed([lambda t=t: similar.similar_topics(member, t) for t in titles])}
        out["similar_topics"]["found_per_lookup_first_20"] = found
        topic_id = meta["bench_topic"]["id"]
        body = corpus.bodies[0].source[:600]
        out["save_draft"] = await _timed([
            lambda i=i: composer_drafts.save_draft(member, topic_id=topic_id, body=f"{body} {i}") for i in range(n)])
        for stemmed in (False, True):
            search.STEMMING = stemmed
            queries = [q for _ in range(max(1, n // len(SEARCH_QUERIES))) for q in SEARCH_QUERIES]
            out[f"search_{'stemmed' if stemmed else 'plain'}"] = await _timed(
                [lambda q=q: search.search(member, q) for q in queries])
        return out
    finally:
        await Tortoise.close_connections()


def main() -> None:
    size_name = sys.argv[1] if len(sys.argv) > 1 else "10k"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    corpus = Corpus()
    cached, meta = cached_database(SIZES[size_name], lambda: corpus, log=lambda *a: print(*a, file=sys.stderr))
    work = CACHE / f"work-composer-{size_name}-{os.getpid()}.sqlite3"
    shutil.copyfile(cached, work)
    try:
        result = asyncio.run(_run(work, meta, n, corpus))
        print(json.dumps({"size": size_name, "posts": meta["counts"]["post"], **result}, indent=1))
    finally:
        for suffix in ("", "-wal", "-shm", "-writers"):
            Path(str(work) + suffix).unlink(missing_ok=True)


if __name__ == "__main__":
    main()
