"""Atom feeds of the latest indexable topics (forum.services.findable), forum-wide and per public category.

One query gives the entries and the validator: each entry's `version` (bumped with every change to its page) and
the shared counter of names (`page_version ('g', 0)`), so a feed is revalidated (ETag, 304) from that query.
"""

from __future__ import annotations

from forum import db
from forum.errors import NotFound
from forum.services.findable import FIRST_POST_JOIN, INDEXABLE_SQL, LASTMOD_SQL, indexable_category

ENTRIES = 30

FEED_SQL = f"""
SELECT t.id, t.slug, t.title, t.kind, t.created_at, {LASTMOD_SQL} AS updated, t.version, p.cooked,
       pr.username, pr.display_name, c.slug AS category_slug, c.name AS category_name,
       (SELECT version FROM page_version WHERE kind = 'g' AND id = 0) AS shared
FROM topic t JOIN category c ON c.id = t.category_id {FIRST_POST_JOIN} LEFT JOIN profile pr ON pr.user_id = p.author_id
WHERE {INDEXABLE_SQL} {{where}}
ORDER BY t.last_posted_at DESC, t.id DESC LIMIT {ENTRIES}
"""


def _dates(rows: list[dict]) -> list[dict]:
    for row in rows:
        row["created_at"], row["updated"] = db.as_datetime(row["created_at"]), db.as_datetime(row["updated"])
    return rows


async def latest_entries() -> list[dict]:
    return _dates(await db.fetch_all(FEED_SQL.format(where="")))


async def category_feed(slug: str) -> tuple[dict, list[dict]]:
    """The public category and its entries; NotFound for any other (a restricted category has no feed, also
    for those who may read it)."""
    category = await db.fetch_one("SELECT id, slug, name, description, read_access FROM category WHERE slug = ?",
                                  [slug]) if isinstance(slug, str) and len(slug) <= 64 else None
    if category is None or not indexable_category(category["read_access"]):
        raise NotFound()
    rows = await db.fetch_all(FEED_SQL.format(where="AND t.category_id = ?"), [category["id"]])
    return category, _dates(rows)


def validator(entries: list[dict]) -> tuple:
    return tuple((e["id"], e["version"]) for e in entries) + ((entries[0]["shared"],) if entries else ())
