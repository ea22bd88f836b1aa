"""The real app over HTTP (ASGI), against a real SQLite file, or PostgreSQL when FORUM_TEST_DATABASE_URL is set."""

from __future__ import annotations

import os
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from asgi_lifespan import LifespanManager

from forum.app import create_app
from forum.migrate import apply_migrations, empty_postgres
from forum.models import Role
from forum.services import search
from forum.settings import load_settings

TEST_SECRET = "test-secret-key-" + "x" * 40
pytest_plugins = ["tests.mail_helpers"]  # the `smtp` fixture: a real local SMTP server
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def unique(prefix: str = "user") -> str:
    """Unique per call, also across the two module objects pytest may make of this conftest."""
    return f"{prefix}{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("FORUM_TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite://{tmp_path_factory.mktemp('db') / 'forum.sqlite3'}"


@pytest.fixture(scope="session")
def settings(database_url):
    # rate limits off: tests post and flag quickly; tests/test_moderation_limits.py turns them on where it checks them.
    # Email verification off: fixtures register and sign in at once (tests/test_mail_accounts.py turns it on).
    # No background mail worker: tests deliver the outbox when they choose (tests/mailbox.py).
    return load_settings(database_url=database_url, secret_key=TEST_SECRET, argon2_profile="cheapest",
                         default_locale="nb", rate_limits=False, email_verification=False, mail_worker=False,
                         ocr_worker=False)


def _per_request_state(app):
    """asgi-lifespan hands every request the same lifespan `state` dict (uvicorn gives each a copy), so
    concurrent requests in a test would overwrite each other's request.state (the viewer!). Copy it per request."""

    async def wrapped(scope, receive, send):
        if scope["type"] in ("http", "websocket") and "state" in scope:
            scope = {**scope, "state": dict(scope["state"])}
        await app(scope, receive, send)

    return wrapped


@pytest_asyncio.fixture(scope="session")
async def app(settings):
    if not settings.sqlite:
        await empty_postgres(settings.database_url)
    await apply_migrations(settings.database_url, quiet=True)
    application = create_app(settings)
    async with LifespanManager(_per_request_state(application)) as manager:
        from forum.services.consent import publish_missing_policies

        await publish_missing_policies(version="test-1")
        application.state.asgi = manager.app  # the lifespan-aware wrapper the transport must call
        yield application


class Client(httpx.AsyncClient):
    """An HTTP client with its own cookie jar, that knows how to send CSRF tokens."""

    csrf: str | None = None
    user: dict | None = None

    async def form_token(self, page: str = "/login") -> str:
        response = await self.get(page)
        match = CSRF_FIELD.search(response.text)
        assert match, f"no csrf token on {page}"
        return match.group(1)

    async def post_form(self, path: str, data: dict | None = None, *, token_from: str = "/login", **kwargs):
        body = dict(data or {})
        body.setdefault("csrf_token", await self.form_token(token_from))
        return await self.post(path, data=body, **kwargs)

    async def api(self, method: str, path: str, json=None, **kwargs):
        headers = kwargs.pop("headers", {})
        if self.csrf:
            headers.setdefault("X-CSRF-Token", self.csrf)
        if json is not None:
            return await self.request(method, path, json=json, headers=headers, **kwargs)
        if method in ("POST", "PUT", "PATCH", "DELETE"):
            headers.setdefault("content-type", "application/json")
        return await self.request(method, path, headers=headers, **kwargs)


@pytest.fixture
def client_factory(app):
    clients: list[Client] = []

    def make() -> Client:
        transport = httpx.ASGITransport(app=app.state.asgi, raise_app_exceptions=False)
        client = Client(transport=transport, base_url="http://testserver", follow_redirects=False)
        clients.append(client)
        return client

    yield make


@pytest.fixture
def anon(client_factory) -> Client:
    return client_factory()


PASSWORD = "correct horse battery"
EMPLOYMENT_ROLES = (Role.STAFF, Role.ADMIN)  # FORUM_EMPLOYMENT_ROLES' default


@pytest.fixture
def make_user(app, client_factory):
    """Registers through the API and signs in; returns a signed-in client with `.user` and `.csrf`."""

    async def make(role: Role = Role.MEMBER, username: str | None = None, password: str = PASSWORD,
                   consented: bool = True) -> Client:
        from forum.models import User

        client = client_factory()
        username = username or unique()
        email = f"{username.lower()}@example.test"
        response = await client.api("POST", "/api/v1/users", {"username": username, "email": email,
                                                              "password": password})
        assert response.status_code == 201, response.text
        # the address counts as confirmed (tests/test_mail.py follows the mailed link instead)
        await User.filter(email=email).update(email_verified_at=datetime.now(UTC))
        if role != Role.MEMBER:
            await User.filter(email=email).update(role=role)
        response = await client.api("POST", "/api/v1/session", {"email": email, "password": password})
        assert response.status_code == 200, response.text
        client.csrf = response.json()["csrf_token"]
        client.user = {**response.json()["user"], "email": email, "password": password}
        if consented and role not in EMPLOYMENT_ROLES:  # staff take part on the employment basis, unasked
            policy = (await client.get("/api/v1/consent")).json()["policy"]
            granted = await client.api("POST", "/api/v1/consent", {"policy_version": policy["version"]})
            assert granted.status_code == 201, granted.text
        return client

    return make


@pytest_asyncio.fixture
async def member(make_user) -> Client:
    """Signed in, not (yet) consented: may read and flag, not take part."""
    return await make_user(consented=False)


@pytest_asyncio.fixture
async def participant(make_user) -> Client:
    """Signed in and consented to the current policy."""
    return await make_user()


@pytest_asyncio.fixture
async def staff(make_user) -> Client:
    return await make_user(Role.STAFF)


@pytest_asyncio.fixture
async def moderator(make_user) -> Client:
    return await make_user(Role.MODERATOR)


@pytest_asyncio.fixture
async def admin(make_user) -> Client:
    return await make_user(Role.ADMIN)


def pytest_collection_modifyitems(config, items):
    root = Path(__file__).parent
    for item in items:
        if "browser" in str(Path(item.fspath).relative_to(root)):
            item.add_marker(pytest.mark.slow)


@pytest_asyncio.fixture
async def category(app):
    """A fresh public category where participants start topics."""
    from forum.services.categories import create_category_as_system

    slug = unique("cat").lower()
    return await create_category_as_system(slug=slug, name=f"Kategori {slug}", description="", read="public",
                                           start_topics="participants")


async def new_category(read: str = "public", start_topics: str = "participants"):
    from forum.services.categories import create_category_as_system

    slug = unique("cat").lower()
    return await create_category_as_system(slug=slug, name=f"Kategori {slug}", description="", read=read,
                                           start_topics=start_topics)


async def new_topic(client, category_slug: str, *, kind: str = "question", title: str | None = None,
                    body: str = "Hvordan gjør jeg dette?") -> dict:
    response = await client.api("POST", "/api/v1/topics", {"category": category_slug, "title": title or unique("Emne "),
                                                          "body": body, "kind": kind})
    assert response.status_code == 201, response.text
    return response.json()


async def new_reply(client, topic_id: int, body: str = "Et svar", **extra) -> dict:
    response = await client.api("POST", f"/api/v1/topics/{topic_id}/posts", {"body": body, **extra})
    assert response.status_code == 201, response.text
    return response.json()


class QueryCounter:
    """Counts the SQL statements Tortoise sends while the block runs."""

    def __init__(self):
        import logging

        self.queries: list[str] = []
        self.logger = logging.getLogger("tortoise.db_client")

    def __enter__(self):
        import logging

        handler = logging.Handler()
        handler.emit = lambda record: self.queries.append(record.getMessage())
        self.handler = handler
        self.level = self.logger.level
        self.logger.setLevel(logging.DEBUG)
        self.logger.addHandler(handler)
        return self

    def __exit__(self, *exc):
        self.logger.removeHandler(self.handler)
        self.logger.setLevel(self.level)

    @property
    def count(self) -> int:
        return len(self.queries)


@pytest.fixture
def recent_tier(request):
    """The search index's recent tier size (forum/services/search.py) for one test, restored after it.
    Parametrize indirectly, e.g. with 4, so that a handful of posts spans both tiers."""
    before = search.RECENT_POSTS
    search.configure(getattr(request, "param", before))
    yield search.RECENT_POSTS
    search.configure(before)


def migrate_in_a_process(url: str, target: str | None) -> None:
    """Migrations in a process of their own: they set up and close Tortoise, which this session's app uses."""
    import subprocess
    import sys

    script = ("import asyncio, sys\n"
              "from tortoise.migrations.api import migrate\n"
              "from tortoise import Tortoise\n"
              "from forum.db.config import tortoise_config\n"
              "async def main():\n"
              "    try:\n"
              "        await migrate(config=tortoise_config(sys.argv[1]), target=sys.argv[2] or None)\n"
              "    finally:\n"
              "        await Tortoise.close_connections()\n"
              "asyncio.run(main())\n")
    subprocess.run([sys.executable, "-c", script, url, target or ""], check=True, timeout=120)
