"""Many writers against two app processes sharing one database: nothing acknowledged is lost or doubled.

Slow (about half a minute on 2 cores); runs in `make test` and CI. Against PostgreSQL too when
FORUM_TEST_DATABASE_URL is set (in a database of its own, `<name>_load`).
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections import Counter

import httpx
import pytest

from tests.live import LiveForum, fresh_postgres, gather_bounded, new_category, new_participant, new_topic, sign_in

pytestmark = pytest.mark.slow

WRITERS, POSTS_EACH, TOPICS = 50, 100, 10
TIME_LIMIT = 240  # seconds for the whole burst; the run takes far less, this only bounds a hang


class Outcomes:
    def __init__(self) -> None:
        self.acked: dict[str, int] = {}  # marker -> post id the server answered with
        self.refused: dict[str, int] = {}  # marker -> 4xx status
        self.failed: list[str] = []  # 5xx answers and lost connections, with what was said
        self.statuses: Counter = Counter()
        self.locked_messages = 0


async def _writer(client, topic_id: int, writer: int, out: Outcomes, run: str) -> None:
    for n in range(POSTS_EACH):
        marker = f"{run}-w{writer}-n{n}"
        body = f"Reply {n} from writer {writer} ({marker}): does the backup keep running while we post?"
        try:
            response = await client.api("POST", f"/api/v1/topics/{topic_id}/posts", {"body": body})
        except httpx.HTTPError as exc:
            out.failed.append(f"{marker}: {exc!r}")
            continue
        out.statuses[response.status_code] += 1
        if "locked" in response.text.lower() and "database" in response.text.lower():
            out.locked_messages += 1
        if response.status_code == 201:
            out.acked[marker] = response.json()["id"]
        elif 400 <= response.status_code < 500:
            out.refused[marker] = response.status_code
        else:
            out.failed.append(f"{marker}: {response.status_code} {response.text[:200]}")


async def _burst(forum: LiveForum, bases: list[str]) -> tuple[Outcomes, str, float]:
    email, password = forum.prepare_result
    admin = await sign_in(bases[0], email, password)
    category = await new_category(admin)
    run = "load" + uuid.uuid4().hex[:6]
    limits = httpx.Limits(max_connections=2, max_keepalive_connections=2)
    writers = await gather_bounded([new_participant(bases[w % len(bases)], limits=limits) for w in range(WRITERS)],
                                   120)
    topics = [await new_topic(writers[t], category, f"Load topic {t} {run}") for t in range(TOPICS)]
    out = Outcomes()
    started = time.monotonic()
    await gather_bounded([_writer(client, topics[w % TOPICS], w, out, run) for w, client in enumerate(writers)],
                         TIME_LIMIT)
    elapsed = time.monotonic() - started
    for client in [admin, *writers]:
        await client.aclose()
    return out, run, elapsed


async def _check_stored(forum: LiveForum, out: Outcomes, run: str) -> None:
    rows = await forum.query("SELECT id, source FROM post WHERE source LIKE ?", f"%({run}-w%")
    stored: dict[str, list[int]] = {}
    for post_id, source in rows:
        marker = source.split("(", 1)[1].split(")", 1)[0]
        stored.setdefault(marker, []).append(post_id)
    doubled = {m: ids for m, ids in stored.items() if len(ids) > 1}
    missing = [m for m, post_id in out.acked.items() if stored.get(m) != [post_id]]
    stored_but_refused = [m for m in out.refused if m in stored]
    assert not doubled, f"stored more than once: {list(doubled.items())[:5]}"
    assert not missing, f"acknowledged but not stored: {missing[:5]}"
    assert not stored_but_refused, f"refused but stored: {stored_but_refused[:5]}"
    assert len(rows) == len(out.acked)
    # the counters the topic page relies on were updated in the same transactions
    bad = await forum.query(
        "SELECT t.id FROM topic t WHERE t.title LIKE ? AND (t.post_count != (SELECT COUNT(*) FROM post p "
        "WHERE p.topic_id = t.id) OR t.last_number != (SELECT MAX(number) FROM post p WHERE p.topic_id = t.id))",
        f"%{run}")
    assert bad == []


def _assert_clean(out: Outcomes, forum: LiveForum) -> None:
    assert out.failed == [], out.failed[:5]
    assert out.locked_messages == 0
    assert out.refused == {}, Counter(out.refused.values())  # nothing here breaks a rule: all must be taken
    assert len(out.acked) == WRITERS * POSTS_EACH
    assert "database is locked" not in forum.log_text()
    assert "Traceback" not in forum.log_text()


async def _run(forum: LiveForum, capsys) -> None:
    forum.prepare_result = forum.prepare()
    try:
        _, a = forum.start()
        _, b = forum.start()
        out, run, elapsed = await _burst(forum, [a, b])
    finally:
        forum.stop_all()
    _assert_clean(out, forum)
    await _check_stored(forum, out, run)
    if forum.sqlite_file:
        assert (await forum.query("PRAGMA integrity_check")) == [("ok",)]
    with capsys.disabled():
        print(f"\n[load] {forum.database_url.split(':')[0]}: {len(out.acked)} posts by {WRITERS} writers "
              f"through 2 processes in {elapsed:.1f} s ({len(out.acked) / elapsed:.0f}/s), "
              f"statuses {dict(out.statuses)}")


async def test_fifty_writers_on_two_processes_lose_and_double_nothing_on_sqlite(tmp_path, capsys):
    await _run(LiveForum(tmp_path), capsys)


@pytest.mark.skipif(not os.environ.get("FORUM_TEST_DATABASE_URL"), reason="needs FORUM_TEST_DATABASE_URL (CI sets it)")
async def test_fifty_writers_on_two_processes_lose_and_double_nothing_on_postgres(tmp_path, capsys):
    url = await fresh_postgres(os.environ["FORUM_TEST_DATABASE_URL"], "load")
    await _run(LiveForum(tmp_path, url), capsys)


async def test_a_burst_with_only_sqlite_busy_waits_never_surfaces_database_is_locked(tmp_path):
    """A second process holds the write lock for a while; writers wait for it instead of failing."""
    import sqlite3

    forum = LiveForum(tmp_path)
    forum.prepare_result = forum.prepare()
    try:
        _, base = forum.start()
        email, password = forum.prepare_result
        admin = await sign_in(base, email, password)
        category = await new_category(admin)
        writer = await new_participant(base)
        topic = await new_topic(writer, category, "Held lock")
        blocker = sqlite3.connect(forum.sqlite_file, timeout=30, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        sends = [asyncio.create_task(writer.api("POST", f"/api/v1/topics/{topic}/posts",
                                                {"body": f"Waiting writer {n}"})) for n in range(5)]
        await asyncio.sleep(2)
        blocker.execute("COMMIT")
        blocker.close()
        answers = await gather_bounded(sends, 60)
        await writer.aclose()
        await admin.aclose()
    finally:
        forum.stop_all()
    assert [r.status_code for r in answers] == [201] * 5
    assert len(await forum.query("SELECT id FROM post WHERE source LIKE 'Waiting writer %'")) == 5
