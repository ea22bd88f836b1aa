"""Real `forum serve` processes on 127.0.0.1 for the load, fault and shutdown checks (marked slow).

The in-process ASGI fixtures cannot show what several processes sharing one database do, nor what a SIGKILL
leaves behind, so these tests start the command line as an operator would and look at the database afterwards.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx

from forum.migrate import asyncpg_dsn, empty_postgres, ensure_postgres_database

ROOT = Path(__file__).resolve().parent.parent
SECRET = "live-test-secret-" + "y" * 40
PASSWORD = "correct horse battery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def fresh_postgres(base_url: str, suffix: str) -> str:
    """A database of our own beside the suite's (the suite resets its schema at start), emptied."""
    admin_url, _, name = base_url.rpartition("/")
    url = f"{admin_url}/{name.split('?')[0]}_{suffix}"
    await ensure_postgres_database(url)
    await empty_postgres(url)
    return url


async def live_database(kind: str, suffix: str) -> str | None:
    """The database of a live test: None for SQLite (the forum's own file), or a fresh PostgreSQL database beside
    the suite's. Without FORUM_TEST_DATABASE_URL the PostgreSQL case is skipped, except in CI, which always runs it."""
    import pytest

    if kind == "sqlite":
        return None
    base = os.environ.get("FORUM_TEST_DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql://")):
        if os.environ.get("CI", "").lower() != "true":
            pytest.skip("needs FORUM_TEST_DATABASE_URL=postgres://… (CI always runs it)")
        base = "postgres://postgres@127.0.0.1:5432/forum_ci"
    return await fresh_postgres(base, suffix)


class LiveForum:
    """One database, any number of server processes, the CLI, and direct SQL for checking the outcome."""

    def __init__(self, workdir: Path, database_url: str | None = None, **env: str) -> None:
        self.workdir = workdir
        self.database_url = database_url or f"sqlite://{workdir / 'live.sqlite3'}"
        self.extra_env = env
        self.servers: list[subprocess.Popen] = []
        self.logs: list[Path] = []

    @property
    def sqlite_file(self) -> Path | None:
        if self.database_url.startswith("sqlite:"):
            return Path(self.database_url.split("://", 1)[1])
        return None

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FORUM_")}
        env.update(FORUM_DATABASE_URL=self.database_url, FORUM_SECRET_KEY=SECRET, FORUM_ARGON2_PROFILE="cheapest",
                   FORUM_RATE_LIMITS="off", FORUM_DEFAULT_LOCALE="en", PYTHONUNBUFFERED="1",
                   FORUM_EMAIL_VERIFICATION="off")
        env.update(self.extra_env)
        return env

    def cli(self, *args: str, ok: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        result = subprocess.run([sys.executable, "-m", "forum.cli", *args], cwd=self.workdir, env=self.env(),
                                capture_output=True, text=True, timeout=timeout)
        if ok:
            assert result.returncode == 0, result.stdout + result.stderr
        return result

    def prepare(self) -> tuple[str, str]:
        """Migrates, publishes the policy and creates an admin; returns the admin's email and password."""
        self.cli("migrate")
        self.cli("policy", "publish", str(ROOT / "forum/policy/forum-policy-1.md"), "--version", "live-1")
        email = f"admin{uuid.uuid4().hex[:6]}@example.test"
        out = self.cli("create-admin", "--email", email, "--username", "Admin" + uuid.uuid4().hex[:6]).stdout
        return email, re.search(r"shown once\): (\S+)", out).group(1)

    def start(self, port: int | None = None, *extra: str) -> tuple[subprocess.Popen, str]:
        port = port or free_port()
        log = self.workdir / f"server-{port}-{len(self.logs)}.log"
        self.logs.append(log)
        proc = subprocess.Popen([sys.executable, "-m", "forum.cli", "serve", "--host", "127.0.0.1",
                                 "--port", str(port), *extra], cwd=self.workdir, env=self.env(),
                                stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
        self.servers.append(proc)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    return proc, base
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError("server did not start:\n" + log.read_text())

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.logs if p.exists())

    def stop_all(self) -> None:
        for proc in self.servers:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.servers:
            try:
                proc.wait(timeout=25)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)

    async def query(self, sql: str, *params) -> list[tuple]:
        """Reads the database directly (`?` placeholders), not through the app under test."""
        if self.sqlite_file:
            conn = sqlite3.connect(self.sqlite_file, timeout=30)
            try:
                return conn.execute(sql, params).fetchall()
            finally:
                conn.close()
        parts = sql.split("?")
        sql = parts[0] + "".join(f"${n}{p}" for n, p in enumerate(parts[1:], start=1))
        conn = await asyncpg.connect(asyncpg_dsn(self.database_url))
        try:
            return [tuple(r) for r in await conn.fetch(sql, *params)]
        finally:
            await conn.close()


class ApiUser(httpx.AsyncClient):
    csrf: str = ""
    user_id: int = 0

    async def api(self, method: str, path: str, json=None) -> httpx.Response:
        return await self.request(method, path, json=json, headers={"X-CSRF-Token": self.csrf})


async def sign_in(base: str, email: str, password: str = PASSWORD, **client_options) -> ApiUser:
    client = ApiUser(base_url=base, timeout=60, **client_options)
    response = await client.post("/api/v1/session", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    client.csrf = response.json()["csrf_token"]
    client.user_id = response.json()["user"]["id"]
    return client


async def new_participant(base: str, **client_options) -> ApiUser:
    name = "w" + uuid.uuid4().hex[:10]
    async with httpx.AsyncClient(base_url=base, timeout=60) as anon:
        response = await anon.post("/api/v1/users", json={"username": name, "email": f"{name}@example.test",
                                                          "password": PASSWORD})
        assert response.status_code == 201, response.text
    client = await sign_in(base, f"{name}@example.test", **client_options)
    version = (await client.get("/api/v1/consent")).json()["policy"]["version"]
    assert (await client.api("POST", "/api/v1/consent", {"policy_version": version})).status_code == 201
    return client


async def new_category(admin: ApiUser) -> str:
    slug = "live" + uuid.uuid4().hex[:8]
    response = await admin.api("POST", "/api/v1/categories", {"slug": slug, "name": f"Live {slug}",
                                                              "read": "public", "start_topics": "participants"})
    assert response.status_code == 201, response.text
    return slug


async def new_topic(client: ApiUser, category: str, title: str) -> int:
    response = await client.api("POST", "/api/v1/topics", {"category": category, "title": title,
                                                           "body": f"Opening post of {title}.", "kind": "discussion"})
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def gather_bounded(coros, limit_seconds: float):
    return await asyncio.wait_for(asyncio.gather(*coros), timeout=limit_seconds)
