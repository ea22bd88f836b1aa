"""The browser suite: the real app under uvicorn on 127.0.0.1, driven by Debian's Chromium through Playwright.

The server is its own process with its own SQLite file in a temporary folder (seeded by seed.py), whatever
database the rest of the suite uses. Missing tools make these tests FAIL, never skip: `make test` installs them
(tests/browser/install.sh).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from tests.browser.journey import AXE_JS, CHROMIUM, CHROMIUM_ARGS, VNU_JAR, Checks

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).parent
ARTIFACTS = ROOT / "tests" / "artifacts"


def _missing_tools() -> list[str]:
    missing = []
    if not os.access(CHROMIUM, os.X_OK):
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    if not AXE_JS.is_file():
        missing.append(f"{AXE_JS} (npm ci in tests/browser)")
    if not VNU_JAR.is_file():
        missing.append(f"{VNU_JAR} (npm ci in tests/browser)")
    if shutil.which("java") is None:
        missing.append("java (for the Nu Html Checker)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing.append("the playwright Python package (pip install -e '.[test]')")
    return missing


@pytest.fixture(scope="session")
def browser_tools() -> None:
    missing = _missing_tools()
    if missing:
        pytest.fail("browser suite cannot run, missing: " + "; ".join(missing)
                    + ". Run tests/browser/install.sh (make test does).", pytrace=False)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Site:
    def __init__(self, base_url: str, data: dict, log: Path):
        self.base_url = base_url
        self.users: dict = data["users"]
        self.categories: dict = data["categories"]
        self.topic: dict = data["topic"]
        self.log = log


@contextlib.contextmanager
def served_site(folder: Path, port: int, env: dict[str, str], what: str):
    """Seeds a SQLite file in `folder`, serves it with uvicorn on `port` under `env` (FORUM_* of this process left
    out), yields the Site, and stops the server at the end; the server's log must hold no error."""
    database_url = f"sqlite:///{folder / 'forum.sqlite3'}"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("FORUM_")}, **env,
           "FORUM_DATABASE_URL": database_url}
    seeded = subprocess.run([sys.executable, str(HERE / "seed.py"), database_url], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    if seeded.returncode != 0:
        pytest.fail(f"seeding {what} failed:\n{seeded.stderr}", pytrace=False)
    data = json.loads(seeded.stdout.strip().splitlines()[-1])
    log = folder / "server.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "forum.app:create_app", "--factory", "--host", "127.0.0.1",
             "--port", str(port), "--no-access-log", "--timeout-graceful-shutdown", "2"],
            env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):  # bounded: 20 s
            if server.poll() is not None:
                pytest.fail(f"the forum server exited:\n{log.read_text()}", pytrace=False)
            try:
                if httpx.get(base_url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        else:
            pytest.fail(f"the forum server did not answer:\n{log.read_text()}", pytrace=False)
        yield Site(base_url, data, log)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=5)
    errors = [line for line in log.read_text().splitlines() if "Traceback" in line or "ERROR" in line]
    assert not errors, f"the server logged errors during {what}:\n{log.read_text()[-4000:]}"


@pytest.fixture(scope="session")
def site(browser_tools, tmp_path_factory):
    """The forum, served by uvicorn from a seeded SQLite file; stopped (by its pid) at the end of the session."""
    port = _free_port()
    env = dict(FORUM_SECRET_KEY="browser-suite-secret-" + "x" * 40, FORUM_ARGON2_PROFILE="cheapest",
               FORUM_RATE_LIMITS="off", FORUM_DEFAULT_LOCALE="nb", FORUM_SECURE_COOKIES="off",
               FORUM_EMAIL_VERIFICATION="off", FORUM_MAIL_DELAY_SECONDS="1",
               FORUM_PUBLIC_URL=f"http://127.0.0.1:{port}")  # links in mails (the maildir beside the database)
    with served_site(tmp_path_factory.mktemp("browser-site"), port, env, "the browser suite") as served:
        yield served


@pytest_asyncio.fixture(scope="session")
async def browser(browser_tools):
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        chromium = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


@pytest_asyncio.fixture
async def checks(request, browser, site):
    """Opens visitors (browser contexts) for one journey; axe checks each page they show, and the journey ends
    with `await checks.finish()`, which runs vnu over every HTML document the browser received."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    c = Checks(browser, site, ARTIFACTS, request.node.name)
    yield c
    await c.close()
