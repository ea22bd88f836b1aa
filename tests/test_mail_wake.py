"""How an idle mail worker learns of new mail (marked slow: real processes). On PostgreSQL a mail queued by one
process wakes `forum mail-worker` in another through LISTEN/NOTIFY, and the idle worker does not poll in between;
on SQLite (no notifications between processes) it finds the mail by its one-second poll."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest
from aiosmtpd.controller import Controller

from forum.migrate import asyncpg_dsn
from tests.live import PASSWORD, LiveForum, free_port, live_database

pytestmark = pytest.mark.slow


class Arrivals:
    def __init__(self) -> None:
        self.times: dict[str, float] = {}
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        with self.lock:
            for to in envelope.rcpt_tos:
                self.times[to] = time.monotonic()
        return "250 OK"


async def _register(base: str) -> str:
    email = f"w{uuid.uuid4().hex[:10]}@example.test"
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        response = await client.post("/api/v1/users", json={"username": "w" + email[1:11], "email": email,
                                                             "password": PASSWORD})
    assert response.status_code == 201, response.text
    return email


async def _arrival(inbox: Arrivals, email: str, within: float) -> float:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if email in inbox.times:
            return inbox.times[email]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no mail to {email} within {within} s")


async def _busy_backends(url: str, since: datetime) -> list[str]:
    """The queries other app connections ran since `since` (the LISTEN connection and this one left out)."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        rows = await conn.fetch("SELECT query FROM pg_stat_activity WHERE datname = current_database() "
                                "AND pid <> pg_backend_pid() AND application_name <> 'forum-listener' "
                                "AND state_change > $1", since)
    finally:
        await conn.close()
    # asyncpg resets a connection as it goes back to its pool: that is the end of work done before, not a query
    return [r["query"] for r in rows if not r["query"].startswith("SELECT pg_advisory_unlock_all();")]


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_mail_queued_in_one_process_wakes_the_worker_in_another(kind, tmp_path):
    inbox = Arrivals()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    forum = LiveForum(tmp_path, await live_database(kind, "mailwake"),
                      FORUM_SMTP_URL=f"smtp://127.0.0.1:{controller.port}", FORUM_PUBLIC_URL="https://forum.example",
                      FORUM_MAIL_DELAY_SECONDS="0", FORUM_MAIL_WORKER="off")
    log = tmp_path / "worker.log"
    worker = None
    try:
        forum.prepare()
        _, base = forum.start()  # registers, sends nothing (its worker is off)
        worker = subprocess.Popen(  # noqa: ASYNC220 (the CLI as an operator starts it)
            [sys.executable, "-m", "forum.cli", "mail-worker"], cwd=tmp_path, env=forum.env(),
            stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
        for _ in range(300):  # at most 30 s until it runs (PostgreSQL: and LISTENs)
            if kind == "sqlite" or "listening for live events" in log.read_text(errors="replace"):
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.5)  # its first round is done: now it is idle
        if kind == "postgres":
            since = datetime.now(UTC)
            await asyncio.sleep(3.5)
            # idle and listening, it sleeps: no query in 3.5 s (a one-second poll would have run three)
            assert await _busy_backends(forum.database_url, since - timedelta(seconds=0.2)) == [], log.read_text()
        for _ in range(2):
            queued = time.monotonic()
            email = await _register(base)
            arrived = await _arrival(inbox, email, within=20)
            # PostgreSQL: NOTIFY wakes it at once (its safety poll is 30 s); SQLite: within its 1 s poll
            assert arrived - queued < (5 if kind == "postgres" else 6), (arrived - queued, log.read_text())
            await asyncio.sleep(1)
    finally:
        if worker is not None:
            os.killpg(worker.pid, signal.SIGTERM)
            assert worker.wait(timeout=25) == 0, log.read_text()  # noqa: ASYNC101
        forum.stop_all()
        controller.stop()
