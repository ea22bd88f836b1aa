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
from bench.run import CACHE, measure_writes


def one_round(source: Path, meta: dict, corpus: Corpus, seconds: float) -> str:
    work = CACHE / f"write-rate-{os.getpid()}.sqlite3"
    for suffix in ("", "-wal", "-shm", "-writers"):
        Path(f"{work}{suffix}").unlink(missing_ok=True)
    shutil.copy(source, work)
    forum = load.start_forum(work, CACHE / "logs", rate_limits=False)
    try:
        r = measure_writes(forum, work, meta, corpus, seconds)
        return (f"{r['posts_per_s']:7.1f} posts/s ({r['posts_created']} in {r['seconds']:.1f} s)  "
                f"p50 {r['p50_ms']:.1f} ms  p99 {r['p99_ms']:.1f} ms  non-2xx {r['non_2xx']}  "
                f"CPU {r['cpu_ms']:.2f} ms/post  load {r['loadavg']}")
    finally:
        forum.stop()
        for suffix in ("", "-wal", "-shm", "-writers"):
            Path(f"{work}{suffix}").unlink(missing_ok=True)
        (CACHE / f"posts-{os.getpid()}.lua").unlink(missing_ok=True)


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
