"""The outbox with real `forum serve` processes (marked slow): two processes deliver every mail exactly once, on
SQLite and on PostgreSQL, and a process killed during a burst loses nothing and sends again only the one mail
it was sending (the outbox marks it; SMTP cannot tell whether the server took it before the kill)."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
import uuid
from collections import Counter

import httpx
import pytest
from aiosmtpd.controller import Controller

from tests.live import PASSWORD, LiveForum, live_database

pytestmark = pytest.mark.slow


class Counting:
    """Keeps (To, Message-ID) of every accepted mail; `pause` slows each mail down before its DATA."""

    def __init__(self, pause: float = 0.0) -> None:
        self.accepted: list[tuple[str, str]] = []
        self.pause = pause
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if self.pause:
            await asyncio.sleep(self.pause)  # before DATA: a client killed here leaves nothing accepted
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        import email
        import email.policy

        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.accepted.append((str(message["To"]), str(message["Message-ID"]).strip()))
        return "250 OK"


async def _register(bases: list[str], count: int) -> list[str]:
    """Registers `count` accounts, spread over the servers; each registration queues one confirmation mail."""
    emails = [f"m{uuid.uuid4().hex[:10]}@example.test" for _ in range(count)]
    limit = asyncio.Semaphore(8)

    async def one(n: int, email: str) -> None:
        async with limit, httpx.AsyncClient(base_url=bases[n % len(bases)], timeout=60) as client:
            response = await client.post("/api/v1/users", json={"username": "u" + email[1:11], "email": email,
                                                                 "password": PASSWORD})
            assert response.status_code == 201, response.text

    await asyncio.gather(*[one(n, e) for n, e in enumerate(emails)])
    return emails


async def _settled(forum: LiveForum, within: float = 90) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        [(pending,)] = await forum.query("SELECT COUNT(*) FROM mail_outbox WHERE status = 'pending'")
        if pending == 0:
            return
        await asyncio.sleep(0.3)
    raise AssertionError(f"mail still pending after {within} s:\n{forum.log_text()[-3000:]}")


def _env(port: int, **extra: str) -> dict[str, str]:
    return {"FORUM_SMTP_URL": f"smtp://127.0.0.1:{port}", "FORUM_PUBLIC_URL": "https://forum.example",
            "FORUM_MAIL_DELAY_SECONDS": "0", **extra}


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_two_serve_processes_send_each_mail_exactly_once(kind, tmp_path):
    from tests.live import free_port

    inbox = Counting()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    forum = LiveForum(tmp_path, await live_database(kind, "mail"), **_env(controller.port))
    try:
        forum.prepare()
        _, a = forum.start()
        _, b = forum.start()
        emails = await _register([a, b], 60)
        await _settled(forum)
        received = Counter(to for to, _ in inbox.accepted)
        assert {e: received[e] for e in emails} == {e: 1 for e in emails}
        ids = [mid for _, mid in inbox.accepted]
        assert len(ids) == len(set(ids))
        rows = await forum.query("SELECT status, COUNT(*) FROM mail_outbox WHERE kind = 'verify' GROUP BY status")
        assert dict(rows) == {"sent": 60}
        [(bodies,)] = await forum.query("SELECT COUNT(*) FROM mail_outbox WHERE body_text IS NOT NULL")
        assert bodies == 0  # nothing of a delivered mail is kept but the fact
    finally:
        forum.stop_all()
        controller.stop()


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_a_process_killed_during_a_send_burst_loses_nothing_and_sends_again_only_the_mail_in_flight(kind,
                                                                                                     tmp_path):
    from tests.live import free_port

    inbox = Counting(pause=0.05)
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    forum = LiveForum(tmp_path, await live_database(kind, "mail"),
                      **_env(controller.port, FORUM_MAIL_LEASE_SECONDS="5"))
    try:
        forum.prepare()
        # registering goes through a process whose worker is off, so the burst starts when the victim starts
        forum.extra_env["FORUM_MAIL_WORKER"] = "off"
        _, q = forum.start()
        emails = await _register([q], 60)
        forum.extra_env.pop("FORUM_MAIL_WORKER")
        victim, _ = forum.start()
        for _ in range(3000):  # at most 60 s
            if len(inbox.accepted) >= 15:
                break
            await asyncio.sleep(0.02)
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait(timeout=10)
        sent_before = len(inbox.accepted)
        assert 15 <= sent_before < 60, sent_before
        forum.start()  # a new process takes over once the dead one's lease has run out
        await _settled(forum)
        received = Counter(to for to, _ in inbox.accepted)
        lost = {e for e in emails if not received[e]}
        assert lost == set(), await forum.query(  # nothing lost
            "SELECT a.email, o.status, o.attempts, o.last_error FROM mail_outbox o JOIN account a ON a.id = o.user_id "
            f"WHERE a.email IN ({', '.join(repr(e) for e in lost)})")
        # SMTP has no two-phase commit: the one mail the victim was sending may have been accepted just before
        # the kill and before its commit. Only that one may arrive twice, with the same Message-ID, and the
        # outbox says so; every other mail arrives exactly once.
        twice = {e for e in emails if received[e] > 1}
        sent_again = {email for (email,) in await forum.query(
            "SELECT a.email FROM mail_outbox o JOIN account a ON a.id = o.user_id "
            "WHERE o.last_error LIKE 'sent again%'")}
        assert len(sent_again) <= 1 and twice <= sent_again, (twice, sent_again)
        assert {e: received[e] for e in twice} == {e: 2 for e in twice}
        assert all(len({mid for to, mid in inbox.accepted if to == e}) == 1 for e in twice)
        rows = await forum.query("SELECT status, COUNT(*) FROM mail_outbox WHERE kind = 'verify' GROUP BY status")
        assert dict(rows) == {"sent": 60}
        [(doubted,)] = await forum.query("SELECT COUNT(*) FROM mail_outbox WHERE last_error LIKE 'in doubt%'")
        assert doubted == 0
    finally:
        forum.stop_all()
        controller.stop()


async def test_the_embedded_default_writes_a_maildir_and_forum_mail_worker_delivers_alone(tmp_path):
    """No FORUM_SMTP_URL (make run): the confirmation mail is a file beside the database, named in the log. With
    FORUM_MAIL_WORKER=off the server sends nothing; `forum mail-worker` does, and stops cleanly on SIGTERM."""
    import subprocess
    import sys

    forum = LiveForum(tmp_path, None, FORUM_MAIL_DELAY_SECONDS="0", FORUM_MAIL_WORKER="off",
                      FORUM_EMAIL_VERIFICATION="on")
    try:
        forum.prepare()
        _, base = forum.start()
        [email] = await _register([base], 1)
        await asyncio.sleep(1.5)
        [(pending,)] = await forum.query("SELECT COUNT(*) FROM mail_outbox WHERE status = 'pending'")
        assert pending == 1  # the server's own worker is off
        log = tmp_path / "worker.log"
        worker = subprocess.Popen(  # noqa: ASYNC220 (the CLI as an operator starts it)
            [sys.executable, "-m", "forum.cli", "mail-worker"], cwd=tmp_path, env=forum.env(),
            stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
        try:
            await _settled(forum, within=30)
        finally:
            os.killpg(worker.pid, signal.SIGTERM)
            assert worker.wait(timeout=20) == 0, log.read_text()  # noqa: ASYNC101
        [file] = list((tmp_path / "live.sqlite3.maildir" / "new").iterdir())
        content = file.read_text()
        assert f"To: {email}" in content and "/email/confirm/" in content
        assert str(file) in log.read_text()
    finally:
        forum.stop_all()
