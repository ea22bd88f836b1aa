"""Post creation alone, for working on the write path: `python -m bench.write_rate [--seconds 10] [--rounds 2]
[--trees DIR,DIR]`.

Copies the cached 10k database (run `make bench` once to seed it), starts `forum serve --workers 2` with
FORUM_RATE_LIMITS=off, and lets wrk (8 connections) create replies through POST /api/v1/topics/{id}/posts for a
fixed time, as the full benchmark's create_post case does. Counts the posts stored and the server's CPU time per
post. `--trees` runs each round once per source tree (PYTHONPATH), e.g. an export of the commit before a change
and one after it, back to back: the machine is shared, so only rounds run side by side compare.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path

from bench import load
from bench.corpus import Corpus
from bench.run import CACHE, _count_posts, http, sign_in


def one_round(source: Path, meta: dict, corpus: Corpus, seconds: float) -> str:
    work = CACHE / f"write-rate-{os.getpid()}.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{work}{suffix}").unlink(missing_ok=True)
    shutil.copy(source, work)
    forum = load.start_forum(work, CACHE / "logs", rate_limits=False)
    try:
        writers = [sign_in(forum.base, email, meta["password"]) for email in meta["writers"]]
        script = load.posts_script(CACHE / f"write-rate-{os.getpid()}.lua", meta["write_topics"],
                                   [b.source for b in corpus.bodies[:40]], writers)
        status, _h, raw = http("POST", f"{forum.base}/api/v1/topics/{meta['write_topics'][0]}/posts",
                               body={"body": corpus.bodies[0].source},
                               headers={"Cookie": writers[0]["cookie"], "X-CSRF-Token": writers[0]["csrf"]})
        if status != 201:
            raise RuntimeError(f"creating a post answered {status}: {raw[:300]!r}")
        before, cpu_before = _count_posts(work), forum.cpu_seconds()
        result = load.run_wrk(forum.base + "/", duration=seconds, connections=8, threads=2, script=script,
                              timeout_s=30)
        created = _count_posts(work) - before
        cpu_ms = (forum.cpu_seconds() - cpu_before) * 1000 / max(1, created)
        load_avg = Path("/proc/loadavg").read_text().split()[0]
        return (f"{created / result.seconds:7.1f} posts/s ({created} in {result.seconds:.1f} s)  "
                f"p50 {result.p50_ms:.1f} ms  p99 {result.p99_ms:.1f} ms  non-2xx {result.non_2xx}  "
                f"CPU {cpu_ms:.2f} ms/post  load {load_avg}")
    finally:
        forum.stop()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{work}{suffix}").unlink(missing_ok=True)
        (CACHE / f"write-rate-{os.getpid()}.lua").unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.write_rate", description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds of load per round (default 10)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds (default 2)")
    parser.add_argument("--trees", default="", help="comma-separated source trees to compare (default: this one)")
    args = parser.parse_args(argv)
    load.ensure_wrk()
    source = next(iter(sorted(CACHE.glob("forum-10k-*.sqlite3"))), None)
    if source is None:
        parser.error(f"no cached 10k database in {CACHE}: run `make bench` (or python -m bench.run) once")
    meta = json.loads(source.with_suffix(".json").read_text())
    corpus = Corpus()
    trees = [t for t in args.trees.split(",") if t] or [""]
    for n in range(max(1, min(args.rounds, 20))):
        for tree in trees:
            if tree:
                os.environ["PYTHONPATH"] = str(Path(tree).resolve())
            else:
                os.environ.pop("PYTHONPATH", None)
            print(f"round {n + 1} {tree or 'this tree'}: {one_round(source, meta, corpus, args.seconds)}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
