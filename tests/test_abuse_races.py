"""Limits attacked the way an attacker would: parallel bursts against a real `forum serve`, SQLite and PostgreSQL.

Each burst sends 16-50 requests at once from one account (or one address) and checks that the limit held exactly
as it holds one request at a time: the sign-in throttle, posting limits and duplicates, flags, previews, and the
live streams one client may hold. Slow (servers start); runs in `make test` and CI. PostgreSQL in a database of
its own (`<name>_races`) when FORUM_TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections import Counter
from contextlib import AsyncExitStack

import httpx
import pytest
import pytest_asyncio

from forum.services import live, preview, throttle
from moderation import config
from tests.live import (
    PASSWORD,
    LiveForum,
    fresh_postgres,
    gather_bounded,
    new_category,
    new_participant,
    new_topic,
    sign_in,
)

pytestmark = pytest.mark.slow

DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.skipif(
    not os.environ.get("FORUM_TEST_DATABASE_URL"), reason="needs FORUM_TEST_DATABASE_URL (CI sets it)"))]


@pytest_asyncio.fixture(scope="module", params=DATABASES)
async def server(request, tmp_path_factory):
    """One forum with production limits and hashing (FORUM_RATE_LIMITS=on), one process."""
    workdir = tmp_path_factory.mktemp(f"races-{request.param}")
    url = None
    if request.param == "postgres":
        url = await fresh_postgres(os.environ["FORUM_TEST_DATABASE_URL"], "races")
    # the production password hashing: its time in a worker thread is the window the sign-in race used
    forum = LiveForum(workdir, url, FORUM_RATE_LIMITS="on", FORUM_ARGON2_PROFILE="rfc9106_low_memory")
    email, password = forum.prepare()
    try:
        _, base = forum.start()
        admin = await sign_in(base, email, password)  # staff take part on the employment basis, without consent
        category = await new_category(admin)
        topic = await new_topic(admin, category, "Races " + uuid.uuid4().hex[:6])
        yield forum, base, admin, topic
        await admin.aclose()
    finally:
        forum.stop_all()
    assert "Traceback" not in forum.log_text()


async def _register(base: str) -> str:
    """A fresh account that never consented; returns its email."""
    name = "r" + uuid.uuid4().hex[:10]
    async with httpx.AsyncClient(base_url=base, timeout=30) as anon:
        response = await anon.post("/api/v1/users", json={"username": name, "email": f"{name}@example.test",
                                                          "password": PASSWORD})
        assert response.status_code == 201, response.text
    return f"{name}@example.test"


def _statuses(responses) -> Counter:
    return Counter(r.status_code for r in responses)


async def _wait_for_a_fresh_minute(margin: float = 8.0) -> None:
    """Fixed one-minute windows: do not let a burst straddle two of them."""
    if time.time() % 60 > 60 - margin:
        await asyncio.sleep(60 - time.time() % 60 + 0.5)


async def test_sixteen_parallel_sign_ins_get_what_sixteen_in_a_row_would(server):
    forum, base, _admin, _topic = server
    email = await _register(base)
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        async def attempt(password: str) -> httpx.Response:
            return await client.post("/api/v1/session", json={"email": email, "password": password})

        wrong = [asyncio.create_task(attempt(f"wrong {n}")) for n in range(15)]
        await asyncio.sleep(0.01)  # the right password last, while the wrong ones are in flight
        right = asyncio.create_task(attempt(PASSWORD))
        answers = await gather_bounded([*wrong, right], 60)
    statuses = _statuses(answers)
    # one at a time: 5 free failures, the 6th is answered and starts the wait, everything after waits
    assert statuses[401] == throttle.ACCOUNT_FREE_FAILURES + 1, statuses
    assert statuses[429] == 16 - statuses[401], statuses
    assert answers[-1].status_code == 429  # even the right password waits its turn
    rows = await forum.query("SELECT failures FROM sign_in_throttle WHERE key LIKE 'account:%' "
                             "AND failures = ?", throttle.ACCOUNT_FREE_FAILURES + 1)
    assert rows, "the account's row holds exactly the failures that were answered"


async def test_parallel_identical_replies_by_a_new_member_are_taken_once(server):
    _forum, base, _admin, topic = server
    member = await new_participant(base)
    await _wait_for_a_fresh_minute()
    body = {"body": f"Same text {uuid.uuid4().hex[:6]}: is the 2026 release out?"}
    answers = await gather_bounded([member.api("POST", f"/api/v1/topics/{topic}/posts", body)
                                    for _ in range(16)], 60)
    await member.aclose()
    statuses = _statuses(answers)
    assert statuses[201] == 1, statuses
    assert statuses[201] + statuses[409] + statuses[429] == 16, statuses
    assert {r.json()["error"]["code"] for r in answers if r.status_code != 201} <= {"duplicate_post",
                                                                                   "post_rate_limited"}
    stored = await _forum.query("SELECT COUNT(*) FROM post WHERE source = ?", body["body"])
    assert stored == [(1,)]


async def test_parallel_replies_by_a_new_member_keep_to_the_posting_limit(server):
    forum, base, _admin, topic = server
    member = await new_participant(base)
    await _wait_for_a_fresh_minute()
    answers = await gather_bounded([member.api("POST", f"/api/v1/topics/{topic}/posts",
                                               {"body": f"Reply number {n} {uuid.uuid4().hex[:6]}"})
                                    for n in range(16)], 60)
    statuses = _statuses(answers)
    assert statuses[201] == config.POSTS_PER_MINUTE and statuses[429] == 16 - config.POSTS_PER_MINUTE, statuses
    stored = await forum.query("SELECT COUNT(*) FROM post WHERE author_id = ?", member.user_id)
    await member.aclose()
    assert stored == [(config.POSTS_PER_MINUTE,)]


async def test_parallel_flags_keep_to_the_hourly_flag_limit(server):
    forum, base, admin, topic = server
    posts = []
    for n in range(16):  # staff post without limits
        response = await admin.api("POST", f"/api/v1/topics/{topic}/posts", {"body": f"Staff reply {n} {topic}"})
        assert response.status_code == 201, response.text
        posts.append(response.json()["id"])
    flagger = await new_participant(base)
    answers = await gather_bounded([flagger.api("POST", f"/api/v1/posts/{p}/flags", {"reason": "spam"})
                                    for p in posts], 60)
    statuses = _statuses(answers)
    assert statuses[201] == config.FLAGS_PER_HOUR and statuses[429] == 16 - config.FLAGS_PER_HOUR, statuses
    stored = await forum.query("SELECT COUNT(*) FROM mod_flag WHERE reporter_id = ?", flagger.user_id)
    await flagger.aclose()
    assert stored == [(config.FLAGS_PER_HOUR,)]
    # and none of the staff posts was hidden by a member's flag
    assert await forum.query(f"SELECT id FROM post WHERE hidden_at IS NOT NULL AND id IN "
                             f"({', '.join(str(p) for p in posts)})") == []


async def test_parallel_previews_keep_to_the_preview_limit(server):
    _forum, base, _admin, _topic = server
    member = await new_participant(base)
    await _wait_for_a_fresh_minute()
    burst = preview.PREVIEWS_PER_MINUTE + 10
    answers = await gather_bounded([member.api("POST", "/api/v1/preview", {"source": f"**Utkast** {n}"})
                                    for n in range(burst)], 60)
    await member.aclose()
    statuses = _statuses(answers)
    assert statuses[200] == preview.PREVIEWS_PER_MINUTE and statuses[429] == 10, statuses
    assert {r.json()["error"]["code"] for r in answers if r.status_code == 429} == {"preview_rate_limited"}
    assert all(r.headers.get("retry-after") for r in answers if r.status_code == 429)


async def test_a_preview_needs_consent_like_a_post(server):
    _forum, base, _admin, _topic = server
    member = await sign_in(base, await _register(base))
    refused = await member.api("POST", "/api/v1/preview", {"source": "**Utkast** uten samtykke"})
    await member.aclose()
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "consent_required"


async def _open_streams(client: httpx.AsyncClient, stack: AsyncExitStack, path: str, n: int) -> list[int]:
    async def one() -> int:
        response = await stack.enter_async_context(client.stream("GET", path))
        return response.status_code

    return await gather_bounded([one() for _ in range(n)], 60)


async def test_one_client_cannot_take_every_live_stream(server):
    _forum, base, _admin, topic = server
    path = f"/t/{topic}/_events"
    limits = httpx.Limits(max_connections=live.MAX_STREAMS_PER_CLIENT + 5)
    # uvicorn trusts X-Forwarded-For from 127.0.0.1, as behind the documented proxy: two visitors, two addresses
    greedy = httpx.AsyncClient(base_url=base, timeout=30, limits=limits, headers={"x-forwarded-for": "203.0.113.7"})
    other = httpx.AsyncClient(base_url=base, timeout=30, headers={"x-forwarded-for": "203.0.113.8"})
    member = await new_participant(base, limits=limits, headers={"x-forwarded-for": "203.0.113.7"})
    async with greedy, other, AsyncExitStack() as stack:
        opened = await _open_streams(greedy, stack, path, live.MAX_STREAMS_PER_CLIENT)
        assert opened == [200] * live.MAX_STREAMS_PER_CLIENT
        async with greedy.stream("GET", path) as extra:  # (were it a stream, the assertion ends it)
            assert extra.status_code == 429 and extra.headers["retry-after"]
        assert (await _open_streams(other, stack, path, 1)) == [200]
        # a member behind the same address has streams of their own: the header badge keeps working
        assert (await _open_streams(member, stack, "/notifications/_events", 1)) == [200]
    await member.aclose()
    # closed streams give their slots back
    async with httpx.AsyncClient(base_url=base, timeout=30, headers={"x-forwarded-for": "203.0.113.7"}) as again:
        async with AsyncExitStack() as stack:
            assert (await _open_streams(again, stack, path, 1)) == [200]
