"""The sitemap's pages one by one (issue 26): each page revalidates on its own topics alone, the index lists only
pages with a public URL, a rename or a move between categories moves what engines see, and robots.txt stays
the same size whoever opts in to a public profile."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from lxml import etree

from forum.migrate import asyncpg_dsn
from forum.services import sitemap
from tests.conftest import new_category, new_reply, new_topic
from tests.test_findable import ATOM, BASE, SM, _feed_topics, _hide, _sitemap, _url

PER_PAGE = 2


@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr(sitemap, "URLS_PER_PAGE", PER_PAGE)


def _page_of(topic: dict) -> int:
    return topic["id"] // PER_PAGE + 1


def _page_path(n: int) -> str:
    return f"/sitemap/topics-{n}.xml"


async def _index(anon) -> dict[int, str]:
    """{page number: lastmod} as the index lists them."""
    tree = etree.fromstring((await anon.get("/sitemap.xml")).content)
    listed = {}
    for entry in tree.iter(f"{SM}sitemap"):
        loc = entry.findtext(f"{SM}loc").removeprefix(BASE)
        listed[int(loc.removeprefix("/sitemap/topics-").removesuffix(".xml"))] = entry.findtext(f"{SM}lastmod")
    return listed


async def _page_lastmods(anon, n: int) -> dict[str, str]:
    response = await anon.get(_page_path(n))
    assert response.status_code == 200
    doc = etree.fromstring(response.content)
    return {u.findtext(f"{SM}loc"): u.findtext(f"{SM}lastmod") for u in doc.findall(f"{SM}url")}


async def _topics_on_two_pages(participant, category) -> tuple[dict, dict]:
    first = await new_topic(participant, category.slug)
    while True:
        second = await new_topic(participant, category.slug)
        if _page_of(second) != _page_of(first):
            return first, second


async def test_a_reply_changes_only_its_own_sitemap_page(anon, participant, category, small_pages):
    one, two = await _topics_on_two_pages(participant, category)
    pages = {n: await anon.get(_page_path(n)) for n in (_page_of(one), _page_of(two))}
    index_before = await _index(anon)
    await asyncio.sleep(1.1)  # lastmod is to the second
    await new_reply(participant, one["id"])
    changed = await anon.get(_page_path(_page_of(one)), headers={"if-none-match": pages[_page_of(one)].headers["etag"]})
    assert changed.status_code == 200 and changed.headers["etag"] != pages[_page_of(one)].headers["etag"]
    kept = await anon.get(_page_path(_page_of(two)), headers={"if-none-match": pages[_page_of(two)].headers["etag"]})
    assert kept.status_code == 304
    index = await _index(anon)
    assert index[_page_of(one)] > index_before[_page_of(one)]
    assert index[_page_of(two)] == index_before[_page_of(two)]
    for n in (_page_of(one), _page_of(two)):  # each page's lastmod in the index is its latest URL's
        assert index[n] == max((await _page_lastmods(anon, n)).values())


async def test_a_page_whose_topics_are_all_held_is_not_listed_and_is_404(anon, participant, moderator, category,
                                                                        small_pages):
    while True:  # two topics that fill a page on their own
        first = await new_topic(participant, category.slug)
        if first["id"] % PER_PAGE == 0:
            second = await new_topic(participant, category.slug)
            if _page_of(second) == _page_of(first):
                break
    n = _page_of(first)
    assert n in await _index(anon)
    await _hide(moderator, first["first_post_id"])
    assert n in await _index(anon)
    await _hide(moderator, second["first_post_id"])
    assert n not in await _index(anon)
    assert (await anon.get(_page_path(n))).status_code == 404
    assert (await anon.get(_page_path(max(await _index(anon)) + 1))).status_code == 404  # beyond the end
    await _sitemap(anon)  # every listed page answers 200 and validates


async def test_a_rename_moves_lastmod_and_the_address(anon, participant, staff, category):
    topic = await new_topic(participant, category.slug)
    before = (await _sitemap(anon))[_url(topic)]
    await asyncio.sleep(1.1)
    renamed = await staff.api("PATCH", f"/api/v1/topics/{topic['id']}", {"title": "Et helt nytt navn"})
    assert renamed.status_code == 200, renamed.text
    urls = await _sitemap(anon)
    assert _url(topic) not in urls
    new_url = f"{BASE}/t/{topic['id']}/et-helt-nytt-navn"
    assert urls[new_url] > before


async def test_a_move_to_members_only_leaves_the_sitemap_and_feeds_and_back_returns(anon, participant, staff,
                                                                                 category):
    members = await new_category("members")
    topic = await new_topic(participant, category.slug)
    feed_id = f"{BASE}/t/{topic['id']}"
    before = (await _sitemap(anon))[_url(topic)]
    sitemap_etag = (await anon.get("/sitemap.xml")).headers["etag"]
    await asyncio.sleep(1.1)
    moved = await staff.api("PATCH", f"/api/v1/topics/{topic['id']}", {"category": members.slug})
    assert moved.status_code == 200, moved.text
    assert _url(topic) not in await _sitemap(anon, allow_empty=True)
    assert (await anon.get("/sitemap.xml", headers={"if-none-match": sitemap_etag})).status_code == 200
    assert feed_id not in _feed_topics(etree.fromstring((await anon.get("/feed.atom")).content))
    assert feed_id not in (await anon.get(f"/c/{category.slug}/feed.atom")).text
    page = await participant.get(f"/t/{topic['id']}/{topic['slug']}")
    assert page.headers["x-robots-tag"] == "noindex"
    await asyncio.sleep(1.1)
    back = await staff.api("PATCH", f"/api/v1/topics/{topic['id']}", {"category": category.slug})
    assert back.status_code == 200, back.text
    urls = await _sitemap(anon)
    assert urls[_url(topic)] > before
    latest = etree.fromstring((await anon.get("/feed.atom")).content)
    assert feed_id in _feed_topics(latest)
    entry = next(e for e in latest.findall(f"{ATOM}entry") if e.findtext(f"{ATOM}id") == feed_id)
    assert entry.findtext(f"{ATOM}updated") > before


async def test_robots_txt_stays_the_same_whoever_opts_in(anon, make_user):
    before = (await anon.get("/robots.txt")).text
    for _ in range(3):
        member = await make_user()
        opted = await member.api("PATCH", "/api/v1/me/profile", {"public_profile": True})
        assert opted.status_code == 200, opted.text
    assert (await anon.get("/robots.txt")).text == before
    assert "/u/" not in before  # profiles are reachable; each one's noindex decides (tests/test_findable.py)
    hidden = await make_user()
    response = await anon.get(f"/u/{hidden.user['username']}")
    assert response.status_code == 200 and response.headers["x-robots-tag"] == "noindex"


async def test_a_change_that_commits_late_still_moves_lastmod_past_what_was_seen(anon, participant, category,
                                                                                 settings):
    """A crawler may keep the latest lastmod it saw as a watermark: a change that commits after it must carry a
    later one, however long its transaction ran, and the index's ETag must move with it."""
    if not settings.database_url.startswith("postgres"):
        pytest.skip("SQLite has one writer: a transaction stamps only after the one before it committed")
    slow, quick = await new_topic(participant, category.slug), await new_topic(participant, category.slug)
    dsn = asyncpg_dsn(settings.database_url)
    first, second = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    try:
        late = first.transaction()
        await late.start()  # a long transaction (a withdrawal's rewrite) changes a topic first ...
        await first.execute("UPDATE topic SET version = version + 1 WHERE id = $1", slow["id"])
        await asyncio.sleep(0.05)
        async with second.transaction():  # ... and a quick one, started later, commits before it
            await second.execute("UPDATE topic SET version = version + 1 WHERE id = $1", quick["id"])
        seen = await anon.get("/sitemap.xml")
        watermark = (await _sitemap(anon))[_url(quick)]
        await asyncio.sleep(1.1)  # lastmod is to the second
        await late.commit()
    finally:
        await first.close()
        await second.close()
    assert (await anon.get("/sitemap.xml", headers={"if-none-match": seen.headers["etag"]})).status_code == 200
    assert (await _sitemap(anon))[_url(slow)] > watermark
