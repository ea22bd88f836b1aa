"""Findable (issue 26): robots.txt, the sitemap, Atom feeds, link previews and structured data, and what is kept
from engines: restricted categories, held first posts, deleted topics, profiles that did not opt in, former members."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import extruct
import pytest
from lxml import etree

from forum.models import Topic
from forum.services import sitemap
from tests.conftest import new_category, new_reply, new_topic, unique

# the urlset schema sitemaps.org publishes, as the npm package `sitemap` ships it (tests/browser/install.sh);
# the index schema is the project's own, from the protocol's text (tests/schemas/sitemap-index.xsd)
URLSET_XSD = Path(__file__).parent / "browser" / "node_modules" / "sitemap" / "schema" / "sitemap.xsd"
INDEX_XSD = Path(__file__).parent / "schemas" / "sitemap-index.xsd"
SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
ATOM = "{http://www.w3.org/2005/Atom}"
BASE = "http://127.0.0.1:8000"  # the test settings' base_url: links never come from the Host header


def _schema(path: Path) -> etree.XMLSchema:
    assert path.is_file(), f"{path} is missing: run tests/browser/install.sh (make test does)"
    return etree.XMLSchema(etree.parse(str(path)))


async def _sitemap(anon, *, allow_empty: bool = False) -> dict[str, str]:
    """Every URL in every page of the sitemap, with its lastmod, each document validated against the XSD.
    `allow_empty`: a listed page may answer 404 when its only topics have their first post held (the index reads
    the topic table alone)."""
    index = await anon.get("/sitemap.xml")
    assert index.status_code == 200 and index.headers["content-type"].startswith("application/xml")
    tree = etree.fromstring(index.content)
    _schema(INDEX_XSD).assertValid(tree)
    urls: dict[str, str] = {}
    urlset = _schema(URLSET_XSD)
    for loc in tree.iter(f"{SM}loc"):
        assert loc.text.startswith(f"{BASE}/sitemap/")
        page = await anon.get(loc.text.removeprefix(BASE))
        if allow_empty and page.status_code == 404:
            continue
        assert page.status_code == 200
        doc = etree.fromstring(page.content)
        urlset.assertValid(doc)
        entries = doc.findall(f"{SM}url")
        assert 0 < len(entries) <= 50_000
        for url in entries:
            urls[url.findtext(f"{SM}loc")] = url.findtext(f"{SM}lastmod")
    return urls


def _atom(content: bytes) -> etree._Element:
    feed = etree.fromstring(content)  # well-formed, or this raises
    assert feed.tag == f"{ATOM}feed"
    for name in ("id", "title", "updated"):
        assert feed.findtext(f"{ATOM}{name}"), name
    assert feed.find(f"{ATOM}link[@rel='self']") is not None
    for entry in feed.findall(f"{ATOM}entry"):
        for name in ("id", "title", "updated", "summary"):
            assert entry.findtext(f"{ATOM}{name}"), name
        assert entry.findtext(f"{ATOM}author/{ATOM}name")  # RFC 4287: each entry has an author (none at feed level)
        assert entry.find(f"{ATOM}link[@rel='alternate']").get("href").startswith(f"{BASE}/t/")
    return feed


def _feed_topics(feed: etree._Element) -> set[str]:
    return {e.findtext(f"{ATOM}id") for e in feed.findall(f"{ATOM}entry")}


def _url(topic: dict) -> str:
    return f"{BASE}/t/{topic['id']}/{topic['slug']}"


async def _hide(moderator, post_id: int) -> None:
    response = await moderator.api("POST", f"/api/v1/mod/posts/{post_id}/actions", {"action": "hide", "reason": "x"})
    assert response.status_code == 200, response.text


@pytest.fixture
async def world(participant, staff, moderator, category):
    """One topic in every access level and state."""
    members, staff_only = await new_category("members"), await new_category("staff")
    staff_led = await new_category("public", "staff")
    t = {
        "question": await new_topic(participant, category.slug),
        "solved": await new_topic(participant, category.slug),
        "discussion": await new_topic(participant, category.slug, kind="discussion"),
        "locked": await new_topic(participant, category.slug, kind="discussion"),
        "training": await new_topic(staff, staff_led.slug, kind="training"),
        "deleted": await new_topic(participant, category.slug),
        "held": await new_topic(participant, category.slug),
        "members": await new_topic(participant, members.slug),
        "staff": await new_topic(staff, staff_only.slug, kind="discussion"),
    }
    answer = await new_reply(staff, t["solved"]["id"], body="Slik gjør du det.")
    assert (await participant.api("POST", f"/api/v1/posts/{answer['id']}/accept")).status_code == 200
    assert (await staff.api("PATCH", f"/api/v1/topics/{t['locked']['id']}", {"locked": True})).status_code == 200
    assert (await participant.api("DELETE", f"/api/v1/posts/{t['deleted']['first_post_id']}")).status_code == 200
    await _hide(moderator, t["held"]["first_post_id"])
    indexable = {"question", "solved", "discussion", "locked", "training"}
    return {"topics": t, "indexable": indexable, "category": category, "members": members, "staff": staff_only,
            "staff_led": staff_led}


async def test_the_sitemap_lists_exactly_the_indexable_topics_and_validates(anon, world):
    urls = await _sitemap(anon)
    for name, topic in world["topics"].items():
        assert (_url(topic) in urls) == (name in world["indexable"]), name
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", lastmod) for lastmod in urls.values())


async def test_sitemap_pages_are_ranges_of_ids_and_a_missing_page_is_404(anon, world, monkeypatch):
    monkeypatch.setattr(sitemap, "URLS_PER_PAGE", 2)
    urls = await _sitemap(anon, allow_empty=True)  # every page at most 2 URLs, each validated
    for name, topic in world["topics"].items():
        assert (_url(topic) in urls) == (name in world["indexable"]), name
    assert (await anon.get("/sitemap/topics-999999999.xml")).status_code == 404
    assert (await anon.get("/sitemap/topics-0.xml")).status_code == 404


async def test_the_feeds_list_exactly_the_indexable_topics(anon, world):
    latest = await anon.get("/feed.atom")
    assert latest.status_code == 200 and latest.headers["content-type"].startswith("application/atom+xml")
    listed = _feed_topics(_atom(latest.content))
    for name, topic in world["topics"].items():
        assert (f"{BASE}/t/{topic['id']}" in listed) == (name in world["indexable"]), name
    own = _feed_topics(_atom((await anon.get(f"/c/{world['category'].slug}/feed.atom")).content))
    expected = {f"{BASE}/t/{world['topics'][n]['id']}" for n in ("question", "solved", "discussion", "locked")}
    assert own == expected
    for restricted in (world["members"], world["staff"]):
        assert (await anon.get(f"/c/{restricted.slug}/feed.atom")).status_code == 404


async def test_a_restricted_category_has_no_feed_even_for_those_who_read_it(participant, staff, world):
    assert (await participant.get(f"/c/{world['members'].slug}/feed.atom")).status_code == 404
    assert (await staff.get(f"/c/{world['staff'].slug}/feed.atom")).status_code == 404


async def test_a_feed_answers_304_until_its_topics_change(anon, participant, category):
    topic = await new_topic(participant, category.slug)
    path = f"/c/{category.slug}/feed.atom"
    first = await anon.get(path)
    etag = first.headers["etag"]
    assert (await anon.get(path, headers={"if-none-match": etag})).status_code == 304
    await new_reply(participant, topic["id"])
    changed = await anon.get(path, headers={"if-none-match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    edited = await participant.api("PATCH", f"/api/v1/posts/{topic['first_post_id']}", {"body": "Ny tekst i emnet"})
    assert edited.status_code == 200
    again = await anon.get(path, headers={"if-none-match": changed.headers["etag"]})
    assert again.status_code == 200 and "Ny tekst i emnet" in again.text


async def test_pages_link_their_feeds(anon, world):
    home = await anon.get("/")
    assert 'type="application/atom+xml"' in home.text and 'href="/feed.atom"' in home.text
    page = await anon.get(f"/c/{world['category'].slug}")
    assert f'href="/c/{world["category"].slug}/feed.atom"' in page.text


def _structured(html: str, url: str) -> dict:
    data = extruct.extract(html, base_url=url, syntaxes=["json-ld", "opengraph"], uniform=True)
    assert len(data["json-ld"]) == 1
    return data


async def _page(anon, topic: dict) -> tuple[str, dict]:
    response = await anon.get(f"/t/{topic['id']}/{topic['slug']}")
    assert response.status_code == 200
    assert "x-robots-tag" not in response.headers
    return response.text, _structured(response.text, _url(topic))


async def test_a_solved_question_is_a_qapage_with_its_accepted_answer(anon, participant, staff, make_user, category):
    topic = await new_topic(participant, category.slug, title="Hvordan bytter jeg passord?",
                            body="Jeg finner ikke knappen for å bytte passord.")
    other = await make_user()
    await new_reply(other, topic["id"], body="Prøv innstillingene.")
    answer = await new_reply(staff, topic["id"], body="Under Innstillinger, Passord.")
    assert (await participant.api("POST", f"/api/v1/posts/{answer['id']}/accept")).status_code == 200
    _html, data = await _page(anon, topic)
    page = data["json-ld"][0]
    assert page["@type"] == "QAPage"
    question = page["mainEntity"]
    assert question["@type"] == "Question" and question["name"] == "Hvordan bytter jeg passord?"
    assert question["text"].startswith("Jeg finner ikke knappen")
    assert question["answerCount"] == 2 and question["dateCreated"].endswith("Z")
    assert question["author"] == {"@type": "Person", "name": participant.user["username"],
                                  "url": f"{BASE}/u/{participant.user['username']}"}
    assert question["acceptedAnswer"]["@type"] == "Answer"
    assert question["acceptedAnswer"]["text"] == "Under Innstillinger, Passord."
    assert question["acceptedAnswer"]["url"] == f"{BASE}/p/{answer['id']}"
    assert [a["text"] for a in question["suggestedAnswer"]] == ["Prøv innstillingene."]
    assert question["inLanguage"] == "nb"


async def test_an_unsolved_question_has_no_accepted_answer(anon, participant, make_user, category):
    topic = await new_topic(participant, category.slug)
    _html, data = await _page(anon, topic)
    question = data["json-ld"][0]["mainEntity"]
    assert question["answerCount"] == 0 and "acceptedAnswer" not in question and "suggestedAnswer" not in question
    await new_reply(await make_user(), topic["id"], body="Et forslag")
    _html, data = await _page(anon, topic)
    question = data["json-ld"][0]["mainEntity"]
    assert question["answerCount"] == 1 and "acceptedAnswer" not in question
    assert [a["text"] for a in question["suggestedAnswer"]] == ["Et forslag"]


async def test_a_discussion_is_a_discussion_forum_posting(anon, participant, make_user, category):
    topic = await new_topic(participant, category.slug, kind="discussion", title="Ideer til neste versjon")
    await new_reply(await make_user(), topic["id"], body="Mørk modus!")
    _html, data = await _page(anon, topic)
    posting = data["json-ld"][0]
    assert posting["@type"] == "DiscussionForumPosting" and posting["headline"] == "Ideer til neste versjon"
    assert posting["dateCreated"] and posting["commentCount"] == 1
    assert [c["text"] for c in posting["comment"]] == ["Mørk modus!"]


async def test_link_preview_tags_fit_what_platforms_show(anon, participant, category):
    title = "Et svært langt emne " + "med mange ord " * 12
    body = "Første innlegg " + "med en lang forklaring av problemet " * 20
    topic = await new_topic(participant, category.slug, title=title.strip(), body=body)
    html, data = await _page(anon, topic)
    og = dict(data["opengraph"][0])
    assert og["@type"] == "article" and og["og:url"] == _url(topic) and og["og:locale"] == "nb_NO"
    assert og["og:site_name"] and len(og["og:title"]) <= 70 and og["og:title"].endswith("…")
    assert 100 < len(og["og:description"]) <= 200 and og["og:description"].startswith("Første innlegg")
    assert f'<link rel="canonical" href="{_url(topic)}">' in html
    assert re.search(r'<meta name="description" content="Første innlegg[^"]{50,190}">', html)
    assert '<meta name="twitter:card" content="summary">' in html
    assert "hreflang" not in html  # both languages are served at the same address: no alternate page exists


async def test_the_canonical_link_drops_composer_links_and_keeps_the_page(anon, participant, category):
    topic = await new_topic(participant, category.slug, kind="discussion")
    for n in range(20):
        await new_reply(participant, topic["id"], body=f"Svar nummer {n}")
    page2 = await anon.get(f"/t/{topic['id']}/{topic['slug']}?page=2")
    assert f'<link rel="canonical" href="{_url(topic)}?page=2">' in page2.text
    assert '<meta name="description" content="Hvordan gjør jeg dette?">' in page2.text
    assert "application/ld+json" not in page2.text  # structured data lives on page 1, with the question


async def test_a_former_members_posts_carry_no_name_in_structured_data(anon, participant, make_user, category):
    leaver = await make_user()
    name = leaver.user["username"]
    topic = await new_topic(leaver, category.slug, body="Spørsmålet mitt")
    await new_reply(participant, topic["id"], body="Et svar til deg")
    await new_reply(leaver, topic["id"], body="Takk for svaret")
    assert (await leaver.api("DELETE", "/api/v1/consent")).status_code == 200
    html, data = await _page(anon, topic)
    question = data["json-ld"][0]["mainEntity"]
    assert "author" not in question
    texts = {a["text"]: a for a in question["suggestedAnswer"]}
    assert "author" not in texts["Takk for svaret"]
    assert texts["Et svar til deg"]["author"]["name"] == participant.user["username"]
    ld = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1)
    assert name.lower() not in ld.lower() and "Person" in ld  # the other member is still a Person
    feed = (await anon.get(f"/c/{category.slug}/feed.atom")).text
    assert name.lower() not in feed.lower()


async def test_lastmod_moves_after_a_withdrawal(anon, participant, make_user, category):
    leaver = await make_user()
    topic = await new_topic(participant, category.slug, body="Et spørsmål")
    await new_reply(leaver, topic["id"], body="Mitt svar")
    before = (await _sitemap(anon))[_url(topic)]
    await asyncio.sleep(1.1)  # lastmod is to the second
    assert (await leaver.api("DELETE", "/api/v1/consent")).status_code == 200
    after = (await _sitemap(anon))[_url(topic)]
    assert after > before
    row = await Topic.get(id=topic["id"])
    assert row.changed_at is not None


async def test_lastmod_moves_after_an_edit_and_a_hide(anon, participant, moderator, category):
    topic = await new_topic(participant, category.slug, kind="discussion")
    reply = await new_reply(participant, topic["id"], body="Et svar")
    before = (await _sitemap(anon))[_url(topic)]
    await asyncio.sleep(1.1)
    await _hide(moderator, reply["id"])
    hidden = (await _sitemap(anon))[_url(topic)]
    assert hidden > before


async def test_a_deleted_public_topic_is_gone_and_a_restricted_one_stays_not_found(anon, participant, world):
    deleted = world["topics"]["deleted"]
    for client in (anon, participant):
        assert (await client.get(f"/t/{deleted['id']}/{deleted['slug']}")).status_code == 410
        assert (await client.get(f"/t/{deleted['id']}")).status_code == 410
    members_topic = await new_topic(participant, world["members"].slug)
    assert (await participant.api("DELETE", f"/api/v1/posts/{members_topic['first_post_id']}")).status_code == 200
    assert (await anon.get(f"/t/{members_topic['id']}/{members_topic['slug']}")).status_code == 404
    assert (await anon.get("/t/999999999/none")).status_code == 404
    assert (await anon.api("GET", f"/api/v1/topics/{deleted['id']}")).status_code == 404  # the API is unchanged


async def test_restricted_categories_and_their_topics_say_noindex(participant, staff, world):
    checks = [(participant, f"/c/{world['members'].slug}"), (staff, f"/c/{world['staff'].slug}"),
              (participant, "/t/{id}/{slug}".format(**world["topics"]["members"])),
              (staff, "/t/{id}/{slug}".format(**world["topics"]["staff"]))]
    for client, path in checks:
        response = await client.get(path)
        assert response.status_code == 200, path
        assert response.headers["x-robots-tag"] == "noindex", path
        assert '<meta name="robots" content="noindex">' in response.text, path
        assert "application/ld+json" not in response.text and 'rel="canonical"' not in response.text, path
        assert 'property="og:' not in response.text, path


async def test_a_public_topic_whose_first_post_is_held_says_noindex(anon, world):
    held = world["topics"]["held"]
    for _ in range(2):  # also the second time (never from the visitors' cache without its header)
        response = await anon.get(f"/t/{held['id']}/{held['slug']}")
        assert response.status_code == 200 and response.headers["x-robots-tag"] == "noindex"
        assert '<meta name="robots" content="noindex">' in response.text


async def test_public_pages_say_nothing_against_indexing(anon, world):
    for path in ("/", f"/c/{world['category'].slug}"):
        response = await anon.get(path)
        assert "x-robots-tag" not in response.headers and 'name="robots"' not in response.text


async def test_a_profile_is_noindex_until_its_member_opts_in(anon, participant):
    path = f"/u/{participant.user['username']}"
    response = await anon.get(path)
    assert response.headers["x-robots-tag"] == "noindex"
    assert '<meta name="robots" content="noindex">' in response.text
    settings = await participant.get("/settings")
    assert 'name="public_profile"' in settings.text
    saved = await participant.post_form("/settings/profile", {"display_name": "", "bio": "", "public_profile": "yes"},
                                        token_from="/settings")
    assert saved.status_code == 303
    response = await anon.get(path)
    assert "x-robots-tag" not in response.headers and 'name="robots"' not in response.text
    export = (await participant.api("GET", "/api/v1/me/export")).json()
    assert export["profile"]["public_profile"] is True
    off = await participant.api("PATCH", "/api/v1/me/profile", {"public_profile": False})
    assert off.status_code == 200 and off.json()["public_profile"] is False
    assert (await anon.get(path)).headers["x-robots-tag"] == "noindex"


async def test_opting_in_needs_consent_like_every_profile_change(member):
    response = await member.api("PATCH", "/api/v1/me/profile", {"public_profile": True})
    assert response.status_code in (403, 409), response.text


async def test_robots_txt_names_the_sitemap_and_keeps_crawlers_out(anon):
    response = await anon.get("/robots.txt")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    lines = response.text.splitlines()
    assert lines[0] == "User-agent: *"
    assert f"Sitemap: {BASE}/sitemap.xml" in lines
    for path in ("/search", "/settings", "/consent", "/mod", "/admin", "/api/", "/t/*/_events"):
        assert f"Disallow: {path}" in lines, path
    assert "Disallow: /t/" not in lines and "Disallow: /c/" not in lines
    assert "Disallow: /u/" not in lines  # a profile must be fetched for its noindex to be seen
    for path in ("/sitemap.xml", "/feed.atom"):
        assert "set-cookie" not in (await anon.get(path)).headers
    assert not anon.cookies  # a crawler or feed reader is given no cookie


async def test_a_bad_handle_or_feed_slug_is_a_clean_404(anon):
    assert (await anon.get("/c/" + "x" * 300 + "/feed.atom")).status_code == 404
    assert (await anon.get(f"/c/{unique('none')}/feed.atom")).status_code == 404
    assert (await anon.get("/sitemap/topics-abc.xml")).status_code == 404


async def test_a_signed_in_page_of_a_public_topic_carries_only_what_it_needs(participant, world):
    """Crawlers and link previews read the visitors' page; the private signed-in page stays light (issue 20)."""
    topic = world["topics"]["solved"]
    response = await participant.get(f"/t/{topic['id']}/{topic['slug']}")
    assert response.status_code == 200 and "x-robots-tag" not in response.headers
    assert "application/ld+json" not in response.text and 'name="robots"' not in response.text


async def test_the_sitemap_is_kept_and_revalidated_until_a_topic_changes(anon, participant, category):
    topic = await new_topic(participant, category.slug)
    index = await anon.get("/sitemap.xml")
    page_path = etree.fromstring(index.content).findall(f"{SM}sitemap/{SM}loc")[-1].text.removeprefix(BASE)
    page = await anon.get(page_path)
    for path, response in (("/sitemap.xml", index), (page_path, page)):
        assert (await anon.get(path, headers={"if-none-match": response.headers["etag"]})).status_code == 304
        again = await anon.get(path)
        assert again.content == response.content and again.headers["etag"] == response.headers["etag"]
    await new_reply(participant, topic["id"])
    for path, response in (("/sitemap.xml", index), (page_path, page)):
        assert (await anon.get(path, headers={"if-none-match": response.headers["etag"]})).status_code == 200


async def test_markup_in_a_title_cannot_leave_the_structured_data(anon, participant, category):
    title = 'Hvorfor </script><script>alert(1)</script> & "sitat"?'
    topic = await new_topic(participant, category.slug, kind="discussion", title=title)
    html, data = await _page(anon, topic)
    assert data["json-ld"][0]["headline"] == title
    assert "<script>alert(1)" not in html
