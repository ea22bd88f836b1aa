"""Signed-in pages kept by their whole context (forum/web/member_pages.py): a repeat view is the same bytes without a
render, and every change a member's page shows reaches their next view at once."""

from __future__ import annotations

import re
from pathlib import Path

from forum.models import Role, User
from forum.web.member_pages import CACHED
from tests.conftest import new_reply, new_topic

TEMPLATES = Path(__file__).resolve().parent.parent / "forum" / "templates"


def _entries(app, path: str) -> list:
    return [key for key in app.state.member_pages.entries if ("current_path", path) in key]


async def test_a_repeat_view_is_the_same_bytes_without_a_render(app, participant, make_user, category):
    topic = await new_topic(participant, category.slug)
    await new_reply(participant, topic["id"], body="Et svar som leses to ganger")
    path = f"/t/{topic['id']}/{topic['slug']}"
    reader = await make_user()
    await reader.get(path)  # the first view records how far the reader has read: the next view differs from it
    second = await reader.get(path)
    kept = _entries(app, path)
    assert len(kept) == 1
    entry = app.state.member_pages.entries[kept[0]]
    third = await reader.get(path)
    assert third.content == second.content and third.status_code == 200
    assert app.state.member_pages.entries[kept[0]] is entry  # served from what was kept, not rendered anew
    assert third.headers["cache-control"] == "private, no-store"
    assert third.headers["content-type"] == "text/html; charset=utf-8"
    saved, app.state.member_pages.max_bytes = app.state.member_pages.max_bytes, 0
    try:
        rendered = await reader.get(path)  # the same page rendered with the cache off: the very same bytes
    finally:
        app.state.member_pages.max_bytes = saved
    assert rendered.content == third.content


async def test_every_change_a_members_page_shows_reaches_their_next_view(app, participant, make_user, category):
    """What another member does, what the reader does, what staff do to the reader: each shows on the next view."""
    topic = await new_topic(participant, category.slug)
    reply = await new_reply(participant, topic["id"], body="Første svar")
    path = f"/t/{topic['id']}/{topic['slug']}"
    reader = await make_user()
    for _ in range(2):
        page = (await reader.get(path)).text
    assert "Watch topic" in page or "Følg emnet" in page or 'name="watch" value="1"' in page

    await new_reply(participant, topic["id"], body="Et nytt svar fra en annen")  # someone else writes
    assert "Et nytt svar fra en annen" in (await reader.get(path)).text

    assert (await reader.api("POST", f"/api/v1/posts/{reply['id']}/like")).status_code in (200, 201)
    assert 'aria-pressed="true"' in (await reader.get(path)).text  # the reader's own like

    watch = await reader.post(f"/t/{topic['id']}/watch", data={"csrf_token": reader.csrf, "watch": "1"})
    assert watch.status_code == 303
    assert 'name="watch" value="0"' in (await reader.get(path)).text  # now watching: the button stops it

    saved = await reader.api("PUT", "/api/v1/drafts", {"topic_id": topic["id"], "body": "Utkast som huskes"})
    assert saved.status_code == 200 and saved.json()["saved"]
    assert "Utkast som huskes" in (await reader.get(path)).text  # the reader's draft, restored

    own = await new_topic(reader, category.slug)
    await reader.get(path)
    await new_reply(participant, own["id"], body="Svar på leserens emne")  # a notification for the reader
    assert "badge-count" in (await reader.get(path)).text

    english = await reader.post("/language", data={"csrf_token": reader.csrf, "locale": "en", "next": path})
    assert english.status_code == 303
    assert '<html lang="en">' in (await reader.get(path)).text

    await User.filter(id=reader.user["id"]).update(role=Role.MODERATOR)  # staff make the reader a moderator
    assert f'action="/t/{topic["id"]}/moderate"' in (await reader.get(path)).text

    withdrawn = await reader.api("DELETE", "/api/v1/consent")
    assert withdrawn.status_code == 200
    after = (await reader.get(path)).text
    assert 'id="consent-needed"' in after and "Utkast som huskes" not in after


async def test_only_templates_whose_bytes_follow_their_context_are_kept(app, participant, category):
    """A kept template must not read the clock (`ago`, `now`), in itself or in what it includes or extends;
    other signed-in pages are rendered every time."""
    for name in CACHED:
        seen, todo = set(), [name]
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            text = (TEMPLATES / current).read_text()
            assert not re.search(r"\|\s*ago\b|\bnow\s*\(", text), f"{current} depends on the time of the render"
            todo += re.findall(r'{%-?\s*(?:include|extends|import|from)\s+"([^"]+)"', text)
        assert "base.html" in seen and "_post_actions.html" in seen
    before = len(app.state.member_pages.entries)
    await participant.get("/notifications")
    await participant.get("/notifications")
    assert len(app.state.member_pages.entries) == before


async def test_the_kept_pages_stay_within_their_bound(app, participant, category):
    cache = app.state.member_pages
    saved = cache.max_bytes
    cache.max_bytes = 60_000
    try:
        for n in range(12):
            topic = await new_topic(participant, category.slug, title=f"Et emne nummer {n} om grenser")
            await participant.get(f"/t/{topic['id']}/{topic['slug']}")
            assert cache.bytes <= cache.max_bytes
    finally:
        cache.max_bytes = saved


async def test_a_page_with_pictures_is_kept_too(app, participant, make_user, category):
    """A post's files are a list of rows in its card's context: the page's key freezes them, so a page with pictures
    is kept like any other (the bench's topic page with 5 pictures)."""
    from tests import attachment_images as imgs
    from tests.test_uploads_api import upload

    topic = await new_topic(participant, category.slug)
    sent = await upload(participant, "a.jpg", imgs.phone_photo(), "image/jpeg", "Skjermbilde")
    assert sent.status_code == 201, sent.text
    reply = await participant.api("POST", f"/api/v1/topics/{topic['id']}/posts",
                                  {"body": "Se bildet", "attachments": [sent.json()["id"]]})
    assert reply.status_code == 201, reply.text
    path = f"/t/{topic['id']}/{topic['slug']}"
    reader = await make_user()
    await reader.get(path)
    second = await reader.get(path)
    assert len(_entries(app, path)) == 1 and "Skjermbilde" in second.text
