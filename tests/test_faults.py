"""A server killed mid-burst loses no acknowledged write; a stopped server finishes what it had started."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import uuid

import httpx
import pytest

from tests.live import LiveForum, gather_bounded, new_category, new_participant, new_topic, sign_in

pytestmark = pytest.mark.slow


async def _setup(forum: LiveForum, base: str, writers: int):
    email, password = forum.prepare_result
    admin = await sign_in(base, email, password)
    category = await new_category(admin)
    await admin.aclose()
    clients = await gather_bounded([new_participant(base) for _ in range(writers)], 60)
    topic = await new_topic(clients[0], category, "Fault topic " + uuid.uuid4().hex[:6])
    return clients, topic


async def test_sigkill_in_a_write_burst_keeps_every_acknowledged_write_and_a_sound_database(tmp_path, capsys):
    forum = LiveForum(tmp_path)
    forum.prepare_result = forum.prepare()
    acked: dict[str, int] = {}
    lost: list[str] = []
    kills = 0
    try:
        for round_ in range(3):  # three kills, each in the middle of a burst of ten writers
            proc, base = forum.start()
            clients, topic = await _setup(forum, base, 10)
            enough = asyncio.Event()
            round_acked = 0

            async def write(client, w, topic=topic, enough=enough, round_=round_):
                nonlocal round_acked
                for n in range(200):
                    marker = f"k{round_}-w{w}-n{n}"
                    try:
                        r = await client.api("POST", f"/api/v1/topics/{topic}/posts", {"body": f"Burst [{marker}]"})
                    except httpx.HTTPError:
                        lost.append(marker)  # in flight when the server died: may or may not be stored
                        return
                    assert r.status_code == 201, r.text
                    acked[marker] = r.json()["id"]
                    round_acked += 1
                    if round_acked >= 150:
                        enough.set()

            tasks = [asyncio.create_task(write(c, w)) for w, c in enumerate(clients)]
            await asyncio.wait_for(enough.wait(), 60)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
            kills += 1
            await gather_bounded(tasks, 60)
            for client in clients:
                await client.aclose()
        # restart on the same file: SQLite recovers the WAL, the app serves again
        _, base = forum.start()
        async with httpx.AsyncClient(base_url=base, timeout=30) as anon:
            assert (await anon.get("/healthz")).status_code == 200
    finally:
        forum.stop_all()
    assert await forum.query("PRAGMA integrity_check") == [("ok",)]
    assert await forum.query("PRAGMA foreign_key_check") == []
    for table in ("search_recent", "search_index"):  # the two tiers of the search index
        await forum.query(f"INSERT INTO {table}({table}) VALUES('integrity-check')")  # raises if damaged
    unindexed = await forum.query("SELECT COUNT(*) FROM post WHERE id NOT IN "
                                  "(SELECT rowid FROM search_recent UNION ALL SELECT rowid FROM search_index)")
    assert unindexed == [(0,)]  # each post and its index row were committed together
    rows = await forum.query("SELECT id, source FROM post WHERE source LIKE 'Burst [%'")
    stored: dict[str, list[int]] = {}
    for post_id, source in rows:
        stored.setdefault(source[7:-1], []).append(post_id)
    assert [m for m, post_id in acked.items() if stored.get(m) != [post_id]] == []
    assert set(stored) <= set(acked) | set(lost)
    assert all(len(ids) == 1 for ids in stored.values())
    partial = await forum.query(
        "SELECT t.id FROM topic t WHERE t.post_count != (SELECT COUNT(*) FROM post p WHERE p.topic_id = t.id) "
        "OR t.last_number != (SELECT MAX(number) FROM post p WHERE p.topic_id = t.id)")
    assert partial == []
    with capsys.disabled():
        print(f"\n[faults] {kills} SIGKILLs mid-burst: {len(acked)} acknowledged writes all kept, "
              f"{len(lost)} in flight ({sum(m in stored for m in lost)} of them committed)")


async def _raw_post_head(base: str, client, path: str, body: bytes):
    """Opens a connection and sends the headers and half the body: the request is in flight, not finished."""
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    cookies = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nX-CSRF-Token: {client.csrf}\r\nCookie: {cookies}\r\n"
            "Connection: close\r\n\r\n").encode()
    writer.write(head + body[: len(body) // 2])
    await writer.drain()
    return reader, writer


async def test_sigterm_lets_requests_in_flight_finish_and_refuses_new_ones(tmp_path):
    forum = LiveForum(tmp_path)
    forum.prepare_result = forum.prepare()
    try:
        proc, base = forum.start()
        clients, topic = await _setup(forum, base, 1)
        client = clients[0]
        bodies = [json.dumps({"body": f"In flight {n} {uuid.uuid4().hex}"}).encode() for n in range(5)]
        opened = [await _raw_post_head(base, client, f"/api/v1/topics/{topic}/posts", b) for b in bodies]
        await asyncio.sleep(0.3)
        os.killpg(proc.pid, signal.SIGTERM)
        await asyncio.sleep(1.0)
        assert proc.poll() is None  # still finishing the five requests
        with pytest.raises(httpx.ConnectError):  # but no longer accepting
            async with httpx.AsyncClient(base_url=base, timeout=5) as late:
                await late.get("/healthz")
        answers = []
        for (reader, writer), body in zip(opened, bodies, strict=True):
            writer.write(body[len(body) // 2:])
            await writer.drain()
            answers.append(await asyncio.wait_for(reader.read(), 20))
            writer.close()
        await client.aclose()
        # uvicorn re-raises the signal after its graceful shutdown, so the exit status is "killed by SIGTERM"
        assert proc.wait(timeout=25) in (0, -signal.SIGTERM)
    finally:
        forum.stop_all()
    assert "Finished server process" in forum.log_text()
    assert all(a.startswith(b"HTTP/1.1 201") for a in answers), [a[:80] for a in answers]
    stored = await forum.query("SELECT source FROM post WHERE source LIKE 'In flight %'")
    assert sorted(s for (s,) in stored) == sorted(json.loads(b)["body"] for b in bodies)
