"""`forum backup` while the forum is being written to, then the README's restore steps, then reading it back."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3

import httpx
import pytest

from tests.live import LiveForum, gather_bounded, new_category, new_participant, new_topic, sign_in

pytestmark = pytest.mark.slow


async def test_backup_while_writing_then_restore_and_read_back(tmp_path, capsys):
    forum = LiveForum(tmp_path)
    email, password = forum.prepare()
    acked: list[tuple[int, str]] = []
    backups = []
    try:
        _, base = forum.start()
        admin = await sign_in(base, email, password)
        category = await new_category(admin)
        writers = await gather_bounded([new_participant(base) for _ in range(4)], 60)
        topic = await new_topic(writers[0], category, "Backup topic")
        stop = asyncio.Event()

        async def write(client, w):
            n = 0
            while not stop.is_set() and n < 2000:
                body = f"Backed up w{w} n{n}"
                response = await client.api("POST", f"/api/v1/topics/{topic}/posts", {"body": body})
                assert response.status_code == 201, response.text
                acked.append((response.json()["id"], body))
                n += 1

        tasks = [asyncio.create_task(write(c, w)) for w, c in enumerate(writers)]
        await asyncio.sleep(0.5)
        for n in range(3):  # three backups taken in the middle of the writing
            before = len(acked)
            target = tmp_path / f"backup-{n}.sqlite3"
            result = await asyncio.to_thread(forum.cli, "backup", str(target))
            assert "integrity: ok" in result.stdout
            backups.append((target, acked[:before], len(acked)))
            await asyncio.sleep(0.3)
        stop.set()
        await gather_bounded(tasks, 60)
        for client in [admin, *writers]:
            await client.aclose()
    finally:
        forum.stop_all()
    assert len(acked) > 50
    refused = forum.cli("backup", str(backups[0][0]), ok=False)
    assert refused.returncode == 2  # never overwrites

    target, acked_before, acked_after = backups[-1]
    copy = sqlite3.connect(target)
    in_copy = dict(copy.execute("SELECT id, source FROM post WHERE source LIKE 'Backed up %'").fetchall())
    assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one self-contained file
    copy.close()
    assert all(in_copy.get(post_id) == body for post_id, body in acked_before)  # acknowledged before: all there
    assert len(in_copy) <= acked_after

    # the README's restore: stop the forum, move the database and its -wal/-shm aside, copy the backup in place
    db = forum.sqlite_file
    aside = tmp_path / "replaced"
    aside.mkdir()
    for suffix in ("", "-wal", "-shm"):
        path = db.with_name(db.name + suffix)
        if path.exists():
            shutil.move(path, aside / path.name)
    shutil.copy(target, db)
    forum.cli("migrate")  # nothing is serving now; a blocking call is fine
    try:
        _, base = forum.start()
        async with httpx.AsyncClient(base_url=base, timeout=30) as anon:
            topic_page = (await anon.get("/api/v1/search", params={"q": "Backed"})).status_code
            post_id, body = acked_before[-1]
            page = await anon.get(f"/p/{post_id}", follow_redirects=True)
            assert page.status_code == 200 and body in page.text
            assert topic_page == 200
        restored_writer = await sign_in(base, email, password)  # accounts and sessions table came back too
        assert (await restored_writer.get("/api/v1/session")).status_code == 200
        await restored_writer.aclose()
    finally:
        forum.stop_all()
    with capsys.disabled():
        print(f"\n[backup] 3 online backups during {len(acked)} writes; the last held {len(in_copy)} posts, "
              f"restored and read back")
