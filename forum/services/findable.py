"""What search engines, link previews and feed readers are told about a page, and what they are kept from.

The one rule (issue 26): a topic is *indexable* when a signed-out visitor reads it in full: its category is public,
it is not deleted, and its first post is shown (not held for review, hidden or deleted). Only indexable topics are
in the sitemap, the feeds and structured data; every other page a crawler may reach through a leaked link says
`noindex`. A profile is indexable only when its member chose so (`profile.public_profile`).

Authors are given as the forum shows them: a member by the name on their post and their profile's address, a
former member (no author left after a withdrawal) not at all, never as a Person with a name.
"""

from __future__ import annotations

import json
from datetime import UTC

from forum import db
from forum.markup import searchable_text
from forum.models import ReadAccess, TopicKind

PUBLIC = ReadAccess.PUBLIC.value
NOINDEX = "noindex"
TITLE_CHARS = 70         # what chat and social link previews show of a title
DESCRIPTION_CHARS = 200  # ... and of a description
ANSWER_CHARS = 500       # each post's text in the JSON-LD: enough for a rich result's snippet, a bounded page weight
# the indexable rule as SQL, for t = topic, c = its category, p = its first post (number 1)
INDEXABLE_SQL = ("t.deleted_at IS NULL AND c.read_access = 'public' AND p.hidden_at IS NULL "
                 "AND p.deleted_at IS NULL")
FIRST_POST_JOIN = "JOIN post p ON p.topic_id = t.id AND p.number = 1"
LASTMOD_SQL = "COALESCE(t.changed_at, t.last_posted_at)"  # changed_at: migration 0020; NULL until a change
OG_LOCALES = {"nb": "nb_NO", "en": "en_GB"}


def indexable_category(read_access: str) -> bool:
    return read_access == PUBLIC


def indexable_topic(topic: dict, first_post: dict | None) -> bool:
    return (topic["deleted_at"] is None and indexable_category(topic["read_access"]) and first_post is not None
            and first_post["hidden_at"] is None and first_post["deleted_at"] is None)


def indexable_profile(person: dict) -> bool:
    return bool(person.get("public_profile"))


async def is_gone(topic_id: int) -> bool:
    """A deleted topic that was public: it answers 410 Gone so engines drop it. A deleted topic of a restricted
    category stays "not found", as its existence was never public."""
    row = await db.fetch_one("SELECT t.deleted_at, c.read_access FROM topic t JOIN category c ON c.id = t.category_id "
                             "WHERE t.id = ?", [topic_id])
    return row is not None and row["deleted_at"] is not None and indexable_category(row["read_access"])


def plain_excerpt(cooked: str, length: int) -> str:
    """Plain text without @mention links and quote attributions (they name people, not content), cut at a word
    like forum.markup.excerpt (which takes HTML: this reads the post's HTML once)."""
    text = searchable_text(cooked) if cooked else ""
    if len(text) <= length:
        return text
    cut = text[: length - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut).rstrip(" .,;:-") + "…"


def script_json(data: dict) -> str:
    """JSON for a <script type="application/ld+json"> element: nothing in it can end the element or start markup.
    Compact and UTF-8 (Jinja's tojson writes every "å" as six bytes)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def short_title(title: str) -> str:
    if len(title) <= TITLE_CHARS:
        return title
    cut = title[: TITLE_CHARS - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut).rstrip(" .,;:-") + "…"


def iso(value) -> str:
    return db.as_datetime(value).astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _author(post: dict, base_url: str) -> dict | None:
    if not post.get("username"):  # a former member: nothing that names or points to a person
        return None
    return {"@type": "Person", "name": post.get("display_name") or post["username"],
            "url": f"{base_url}/u/{post['username']}"}


def _shown(post: dict) -> bool:
    return post.get("deleted_at") is None and post.get("hidden_at") is None


def _item(kind: str, post: dict, base_url: str, content_language: str) -> dict:
    item = {"@type": kind, "text": plain_excerpt(post["cooked"], ANSWER_CHARS), "dateCreated": iso(post["created_at"]),
            "url": f"{base_url}/p/{post['id']}", "inLanguage": content_language}
    if "like_count" in post:
        item["upvoteCount"] = post["like_count"]
    if author := _author(post, base_url):
        item["author"] = author
    return item


def structured_data(topic: dict, posts: list[dict], accepted: dict | None, *, canonical: str, base_url: str,
                    content_language: str) -> dict | None:
    """schema.org JSON-LD for page 1 of an indexable topic: QAPage for a question, DiscussionForumPosting for a
    discussion or a training thread."""
    first = posts[0] if posts and posts[0]["number"] == 1 else None
    if first is None:
        return None
    replies = [p for p in posts[1:] if _shown(p)]
    head = {"text": plain_excerpt(first["cooked"], ANSWER_CHARS), "dateCreated": iso(first["created_at"]),
            "url": canonical, "inLanguage": content_language}
    if author := _author(first, base_url):
        head["author"] = author
    if topic["kind"] == TopicKind.QUESTION.value:
        question = {"@type": "Question", "name": topic["title"], **head, "upvoteCount": first["like_count"],
                    "answerCount": max(0, topic["post_count"] - 1)}
        if accepted is not None:
            question["acceptedAnswer"] = _item("Answer", accepted, base_url, content_language)
        suggested = [_item("Answer", p, base_url, content_language) for p in replies
                     if accepted is None or p["id"] != accepted["id"]]
        if suggested:
            question["suggestedAnswer"] = suggested
        return {"@context": "https://schema.org", "@type": "QAPage", "mainEntity": question}
    posting = {"@context": "https://schema.org", "@type": "DiscussionForumPosting", "headline": topic["title"],
               **head, "commentCount": max(0, topic["post_count"] - 1)}
    if replies:
        posting["comment"] = [_item("Comment", p, base_url, content_language) for p in replies]
    return posting


def topic_head(topic: dict, posts: list[dict], accepted: dict | None, first: dict | None, *, page: int,
               base_url: str, locale: str, content_language: str, site_name: str, for_visitor: bool = True) -> dict:
    """What the topic page's <head> tells engines and link previews: canonical address, description, OpenGraph
    and Twitter card, JSON-LD, or only `noindex` when the topic is not indexable. `for_visitor`: the page a
    crawler reads; a signed-in page gets nothing but its robots rule."""
    if not for_visitor:  # the restricted and the deleted say noindex also here, in case a signed-in link leaks
        public = topic["deleted_at"] is None and indexable_category(topic["read_access"])
        return {"robots": None if public else NOINDEX, "canonical": None}
    if not indexable_topic(topic, first):
        return {"robots": NOINDEX}
    path = f"/t/{topic['id']}/{topic['slug']}"
    canonical = f"{base_url}{path}" + (f"?page={page}" if page > 1 else "")
    description = plain_excerpt(first["cooked"], DESCRIPTION_CHARS) or short_title(topic["title"])
    head = {"robots": None, "canonical": canonical, "title": short_title(topic["title"]),
            "description": description, "site_name": site_name, "og_locale": OG_LOCALES.get(locale, locale),
            "published": iso(first["created_at"]), "json_ld": None}
    if page == 1:
        data = structured_data(topic, posts, accepted, canonical=canonical, base_url=base_url,
                               content_language=content_language)
        head["json_ld"] = script_json(data) if data else None
    return head
