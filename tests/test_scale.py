"""Two app processes against one PostgreSQL (issue 9): what one process writes, the other shows at once.

- a reply posted through one arrives as a live event (LISTEN/NOTIFY, not the poll) on a client of the other,
  and so does the topic author's new notification;
- a posting rate limit reached through one holds on the other (limits are counted in the database);
- a consent withdrawal through one is visible immediately through the other.

Slow (real `forum serve` processes). Runs when FORUM_TEST_DATABASE_URL is a PostgreSQL URL, in a database of
its own (`<name>_scale`, or FORUM_TEST_SCALE_DATABASE_URL as given). With CI=true it always runs, against the
machine's PostgreSQL if no URL is given, and FAILS when PostgreSQL cannot be reached.
"""

from __future__ import annotations

import asyncio
import json
import os
import time

import asyncpg
import httpx
import pytest

from forum.migrate import empty_postgres
from tests.live import LiveForum, fresh_postgres, new_category, new_participant, new_topic, sign_in

pytestmark = pytest.mark.slow

CI_DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/forum_ci"
EVENT_WAIT = 10.0   # bound on waiting for one live event; with LISTEN/NOTIFY it takes milliseconds


def _base_url() -> str | None:
    url = os.environ.get("FORUM_TEST_DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        return url
    if os.environ.get("CI", "").lower() == "true":
        return CI_DEFAULT_URL
    return None


async def _database() -> str:
    base = _base_url()
    if base is None:
        pytest.skip("needs FORUM_TEST_DATABASE_URL=postgres://… (CI always runs it)")
    try:
        own = os.environ.get("FORUM_TEST_SCALE_DATABASE_URL")
        if own:
            await empty_postgres(own, connect_within=10)
            return own
        return await fresh_postgres(base, "scale")
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        pytest.fail(f"PostgreSQL at {base} is unreachable ({exc!r}); this check never skips once configured")


class Stream:
    """One open server-sent events response, read line by line."""

    def __init__(self, response: httpx.Response) -> None:
        self.lines = response.aiter_lines()


async def _events(stream: Stream, wanted: str, deadline: float) -> dict:
    """Reads the SSE stream until an event named `wanted`; its data."""
    name = None
    lines = stream.lines
    while True:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no '{wanted}' event in time"
        line = await asyncio.wait_for(anext(lines), remaining)
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: ") and name == wanted:
            return json.loads(line.removeprefix("data: "))
        elif line == "":
            name = None


async def _open_stream(client: httpx.AsyncClient, path: str, stack) -> Stream:
    response = await stack.enter_async_context(client.stream("GET", path))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    return Stream(response)


async def test_two_processes_share_live_events_limits_and_withdrawals(tmp_path, capsys):
    from contextlib import AsyncExitStack

    forum = LiveForum(tmp_path, await _database(), FORUM_RATE_LIMITS="on")
    email, password = forum.prepare()
    clients: list[httpx.AsyncClient] = []
    try:
        _, a = forum.start()
        _, b = forum.start()
        admin = await sign_in(a, email, password)
        clients.append(admin)
        category = await new_category(admin)
        author, replier, hasty, leaver = [await new_participant(a) for _ in range(4)]
        clients += [author, replier, hasty, leaver]
        topic = await new_topic(author, category, "Two processes, one forum")

        # 1. live: streams on B (the author's session cookie works there too: sessions live in the database),
        #    the reply through A
        async with AsyncExitStack() as stack:
            anon_b = await stack.enter_async_context(httpx.AsyncClient(base_url=b, timeout=30))
            author_b = httpx.AsyncClient(base_url=b, timeout=30, cookies=author.cookies)
            await stack.enter_async_context(author_b)
            topic_stream = await _open_stream(anon_b, f"/t/{topic}/_events?after=1", stack)
            unread_stream = await _open_stream(author_b, "/notifications/_events", stack)
            assert (await _events(unread_stream, "unread", time.monotonic() + EVENT_WAIT))["count"] == 0
            started = time.monotonic()
            reply = await replier.api("POST", f"/api/v1/topics/{topic}/posts", {"body": "A reply through A."})
            assert reply.status_code == 201, reply.text
            assert await _events(topic_stream, "posts", started + EVENT_WAIT) == {"last_number": 2}
            topic_latency = time.monotonic() - started
            assert (await _events(unread_stream, "unread", started + EVENT_WAIT))["count"] == 1
            unread_latency = time.monotonic() - started
        # the waiting streams re-read only every 30 s on their own: anything this quick came by NOTIFY
        assert topic_latency < 5 and unread_latency < 5

        # 2. rate limit: three posts a minute through A, the fourth refused through B
        for n in range(3):
            response = await hasty.api("POST", f"/api/v1/topics/{topic}/posts", {"body": f"Quick reply {n} via A."})
            assert response.status_code == 201, response.text
        hasty_b = await sign_in(b, await _email_of(forum, hasty.user_id))  # a second session, on B
        clients.append(hasty_b)
        refused = await hasty_b.api("POST", f"/api/v1/topics/{topic}/posts", {"body": "One too many, via B."})
        assert refused.status_code == 429, refused.text
        assert refused.json()["error"]["code"] == "post_rate_limited"

        # 3. withdrawal through A, visible through B at once (B rendered the topic before, to warm any cache)
        said = await leaver.api("POST", f"/api/v1/topics/{topic}/posts", {"body": "Leaving soon, via A."})
        assert said.status_code == 201, said.text
        username = (await forum.query("SELECT username FROM profile WHERE user_id = ?", leaver.user_id))[0][0]
        async with httpx.AsyncClient(base_url=b, timeout=30, follow_redirects=True) as anon_b:
            page = await anon_b.get(f"/t/{topic}")
            assert username in page.text
            assert (await anon_b.get(f"/u/{username}")).status_code == 200
            withdrawn = await leaver.api("DELETE", "/api/v1/consent")
            assert withdrawn.status_code == 200, withdrawn.text
            page = await anon_b.get(f"/t/{topic}")
            assert page.status_code == 200
            assert username not in page.text and "Former member" in page.text
            assert (await anon_b.get(f"/u/{username}")).status_code == 404
            api = (await anon_b.get(f"/api/v1/topics/{topic}")).json()
            assert username not in json.dumps(api)
    finally:
        for client in clients:
            await client.aclose()
        forum.stop_all()
    assert "Traceback" not in forum.log_text()
    with capsys.disabled():
        print(f"\n[scale] PostgreSQL, 2 processes: reply event after {topic_latency * 1000:.0f} ms, "
              f"notification event after {unread_latency * 1000:.0f} ms")


async def _email_of(forum: LiveForum, user_id: int) -> str:
    return (await forum.query("SELECT email FROM account WHERE id = ?", user_id))[0][0]
