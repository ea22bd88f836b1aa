"""Can one account's previews stall everyone? `python -m bench.cook_stall [--seconds 15] [--trees DIR,DIR]`

Issue 18's case: one account runs 4 parallel loops of maximum-cost previews (POST /api/v1/preview) while another
member replies one reply after another; the reply's p50/p99 is measured alone first, then under the previews.
The previews rotate through the issue's 50 KB body ("# a" lines, which the forum now refuses cheaply) and the
costliest bodies the current forum/markup.py still accepts (each kind of element repeated up to its cap, found by
bisection here). Target: the reply's p99 under load stays below 200 ms.

A fresh SQLite forum per round (`forum serve`, FORUM_RATE_LIMITS=off so that the loops are never refused for
their rate, only for their cost). `--trees` runs a round per source tree (PYTHONPATH), e.g. an export of the
commit before a change and one after it, back to back: the machine is shared, so only rounds side by side compare.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery"
UNITS = ["*a* ", "`a` ", "[a](http://x.y) ", "http://a.b ", "- a\n  - b\n", "> a\n\n", "**a** ", "a\n"]
ISSUE_BODY = "# a\n" * 12_500


def costly_bodies() -> list[str]:
    """Each unit repeated as often as this tree's markup still accepts (at most 50,000 characters)."""
    from forum import markup

    bodies = []
    for unit in UNITS:
        lo, hi = 1, markup.MAX_SOURCE_CHARS // len(unit)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            try:
                markup.cook(unit * mid)
                lo = mid
            except markup.MarkupError:
                hi = mid - 1
        bodies.append(unit * lo)
    return bodies


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Forum:
    def __init__(self, workdir: Path, tree: str, workers: int, cook_processes: str | None) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("FORUM_")}
        self.env.update(FORUM_DATABASE_URL=f"sqlite://{workdir / 'stall.sqlite3'}", FORUM_SECRET_KEY="b" * 48,
                        FORUM_ARGON2_PROFILE="cheapest", FORUM_RATE_LIMITS="off", FORUM_DEFAULT_LOCALE="en")
        if cook_processes is not None:
            self.env["FORUM_COOK_PROCESSES"] = cook_processes
        if tree:
            self.env["PYTHONPATH"] = str(Path(tree).resolve())
        self.workdir, self.workers, self.proc = workdir, workers, None

    def cli(self, *args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "forum.cli", *args], cwd=self.workdir, env=self.env,
                              capture_output=True, text=True, timeout=120)
        if done.returncode:
            raise RuntimeError(done.stdout + done.stderr)
        return done.stdout

    def start(self) -> str:
        self.cli("migrate")
        self.cli("policy", "publish", str(ROOT / "forum/policy/forum-policy-1.md"), "--version", "bench-1")
        out = self.cli("create-admin", "--email", "admin@example.test", "--username", "BenchAdmin")
        self.admin_password = re.search(r"shown once\): (\S+)", out).group(1)
        port = _port()
        log = (self.workdir / "server.log").open("wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "forum.cli", "serve", "--host", "127.0.0.1", "--port",
                                      str(port), "--workers", str(self.workers)], cwd=self.workdir, env=self.env,
                                     stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    return base
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=25)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


async def _client(base: str, email: str, password: str = PASSWORD, *, register: str | None = None):
    client = httpx.AsyncClient(base_url=base, timeout=120)
    if register:
        r = await client.post("/api/v1/users", json={"username": register, "email": email, "password": password})
        assert r.status_code == 201, r.text
    r = await client.post("/api/v1/session", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    version = (await client.get("/api/v1/consent")).json()["policy"]["version"]
    await client.post("/api/v1/consent", json={"policy_version": version})
    return client


async def _replies(client, topic: int, seconds: float, tag: str) -> list[float]:
    took, n, end = [], 0, time.monotonic() + seconds
    while time.monotonic() < end:
        n += 1
        start = time.perf_counter()
        r = await client.post(f"/api/v1/topics/{topic}/posts", json={"body": f"Reply {n} ({tag}): any news?"})
        took.append((time.perf_counter() - start) * 1000)
        assert r.status_code == 201, r.text
    return took


async def _preview_loop(client, bodies: list[str], stop: asyncio.Event, statuses: Counter, offset: int) -> None:
    n = offset
    while not stop.is_set():
        r = await client.post("/api/v1/preview", json={"source": bodies[n % len(bodies)]})
        statuses[r.status_code] += 1
        n += 1


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def one_round(tree: str, seconds: float, workers: int, cook_processes: str | None, bodies: list[str]) -> str:
    with tempfile.TemporaryDirectory(prefix="cook-stall-") as tmp:
        forum = Forum(Path(tmp), tree, workers, cook_processes)
        base = forum.start()
        try:
            admin = await _client(base, "admin@example.test", forum.admin_password)
            slug = "stall" + uuid.uuid4().hex[:6]
            r = await admin.post("/api/v1/categories", json={"slug": slug, "name": "Stall", "read": "public",
                                                             "start_topics": "participants"})
            assert r.status_code == 201, r.text
            r = await admin.post("/api/v1/topics", json={"category": slug, "title": "Stall topic",
                                                         "body": "Opening post.", "kind": "discussion"})
            topic = r.json()["id"]
            replier = await _client(base, "replier@example.test", register="Replier")
            previewer = await _client(base, "previewer@example.test", register="Previewer")
            await _replies(replier, topic, 2, "warm-up")
            alone = await _replies(replier, topic, seconds, "alone")
            stop, statuses = asyncio.Event(), Counter()
            loops = [asyncio.create_task(_preview_loop(previewer, bodies, stop, statuses, k)) for k in range(4)]
            await asyncio.sleep(1)
            loaded = await _replies(replier, topic, seconds, "under previews")
            stop.set()
            await asyncio.wait_for(asyncio.gather(*loops), 120)
            for c in (admin, replier, previewer):
                await c.aclose()
        finally:
            forum.stop()
    load = os.getloadavg()[0]
    return (f"reply alone: p50 {statistics.median(alone):.1f} ms, p99 {_p(alone, 0.99):.1f} ms ({len(alone)}); "
            f"under 4 preview loops: p50 {statistics.median(loaded):.1f} ms, p99 {_p(loaded, 0.99):.1f} ms, "
            f"max {max(loaded):.1f} ms ({len(loaded)} replies); previews {dict(statuses)}; load {load:.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cook_stall", description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="seconds of replies per phase (default 15)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1, help="forum serve --workers (default 1)")
    parser.add_argument("--cook-processes", default=None, help="FORUM_COOK_PROCESSES for the server")
    parser.add_argument("--trees", default="", help="comma-separated source trees to compare (default: this one)")
    args = parser.parse_args(argv)
    bodies = [ISSUE_BODY, *costly_bodies()]
    print(f"preview bodies: {len(bodies)} ({', '.join(str(len(b)) for b in bodies)} characters)", flush=True)
    for n in range(max(1, args.rounds)):
        for tree in [t for t in args.trees.split(",") if t] or [""]:
            result = asyncio.run(one_round(tree, args.seconds, args.workers, args.cook_processes, bodies))
            print(f"round {n + 1} {tree or 'this tree'}: {result}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
