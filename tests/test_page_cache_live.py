"""The visitors' page cache across two real `forum serve` processes: a write through one process is seen by the
next visitor's request to the other, on SQLite and on PostgreSQL (FORUM_TEST_DATABASE_URL, a database of its own).
"""

from __future__ import annotations

import os

import httpx
import pytest

from tests.live import LiveForum, fresh_postgres, new_category, new_participant, new_topic, sign_in

pytestmark = pytest.mark.slow


class Reader:
    """A visitor of the second process who remembers each page's ETag, as a browser or a proxy would."""

    def __init__(self, base: str) -> None:
        self.client = httpx.AsyncClient(base_url=base, timeout=30)
        self.etags: dict[str, str] = {}

    async def page(self, path: str) -> str:
        response = await self.client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        assert "set-cookie" not in response.headers
        assert response.headers["cache-control"] == "public, no-cache"
        self.etags[path] = response.headers["etag"]
        again = await self.client.get(path, headers={"if-none-match": response.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
        return response.text

    async def changed(self, path: str) -> str:
        """The page after a write: the old ETag no longer matches, and the body is the new one."""
        old = self.etags[path]
        response = await self.client.get(path, headers={"if-none-match": old})
        assert response.status_code == 200, f"{path}: a 304 for a page a write changed"
        assert response.headers["etag"] != old
        return await self.page(path)


async def _every_write_is_seen_by_the_other_process(forum: LiveForum) -> None:
    email, password = forum.prepare()
    _, a = forum.start()
    _, b = forum.start()
    admin = await sign_in(a, email, password)
    asker, answerer = await new_participant(a), await new_participant(a)
    asker_name = (await asker.get("/api/v1/me")).json()["username"]
    slug = await new_category(admin)
    topic_id = await new_topic(asker, slug, "Cached topic one")
    topic = f"/t/{topic_id}/cached-topic-one"
    category, home = f"/c/{slug}", "/"
    reader = Reader(b)
    for path in (topic, category, home):
        await reader.page(path)
        await reader.page(path)  # the second is served from the cache of process b
    assert asker_name in await reader.page(topic)

    reply = (await answerer.api("POST", f"/api/v1/topics/{topic_id}/posts", {"body": "First answer here."})).json()
    assert "First answer here." in await reader.changed(topic)
    await reader.changed(category)  # two posts now, newer activity
    await reader.changed(home)

    assert (await answerer.api("PATCH", f"/api/v1/posts/{reply['id']}", {"body": "Edited answer."})).status_code == 200
    text = await reader.changed(topic)
    assert "Edited answer." in text and "First answer here." not in text

    assert (await asker.api("POST", f"/api/v1/posts/{reply['id']}/like")).status_code in (200, 201)
    assert "1 like" in await reader.changed(topic)

    hidden = await admin.api("POST", f"/api/v1/mod/posts/{reply['id']}/actions", {"action": "hide", "reason": "Test"})
    assert hidden.status_code == 200, hidden.text
    text = await reader.changed(topic)
    assert "Edited answer." not in text and "hidden by a moderator" in text

    renamed = await admin.api("PATCH", f"/api/v1/categories/{slug}", {"name": "Renamed category"})
    assert renamed.status_code == 200, renamed.text
    assert "Renamed category" in await reader.changed(topic)
    assert "Renamed category" in await reader.changed(category)

    assert (await asker.api("DELETE", "/api/v1/consent")).status_code == 200  # withdrawal rewrites the topic
    text = await reader.changed(topic)
    assert asker_name not in text and "Former member" in text
    assert asker_name not in await reader.changed(category)
    for client in (admin, asker, answerer, reader.client):
        await client.aclose()


async def test_every_write_is_seen_by_the_next_visitor_of_another_process_on_sqlite(tmp_path):
    forum = LiveForum(tmp_path)
    try:
        await _every_write_is_seen_by_the_other_process(forum)
    finally:
        forum.stop_all()
    assert "Traceback" not in forum.log_text()


@pytest.mark.skipif(not os.environ.get("FORUM_TEST_DATABASE_URL"), reason="needs FORUM_TEST_DATABASE_URL (CI sets it)")
async def test_every_write_is_seen_by_the_next_visitor_of_another_process_on_postgres(tmp_path):
    forum = LiveForum(tmp_path, await fresh_postgres(os.environ["FORUM_TEST_DATABASE_URL"], "pagecache"))
    try:
        await _every_write_is_seen_by_the_other_process(forum)
    finally:
        forum.stop_all()
    assert "Traceback" not in forum.log_text()
