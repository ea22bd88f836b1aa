"""The sitemap of indexable topics (forum.services.findable): an index of pages, each a fixed range of topic ids.

A page holds the topics with ids in [(n - 1) * URLS_PER_PAGE, n * URLS_PER_PAGE), so it never passes the protocol's
50,000 URLs, stays the same page as topics come and go, and is read by primary key in batches (streamed, never
OFFSET). Both are kept rendered in the visitors' page cache: the index under `validator()` (four index ends),
each page under `page_validator()` (its own id range), so a change to one topic renders the index and one page.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from forum import db
from forum.services.findable import FIRST_POST_JOIN, INDEXABLE_SQL, LASTMOD_SQL

URLS_PER_PAGE = 5_000  # at most 50,000 by the protocol; smaller pages keep a page rendered afresh fast at 1M posts
BATCH = 2_000
MAX_PAGE = 2**31 // URLS_PER_PAGE + 1  # topic ids are 32-bit


async def _public_categories() -> list[int]:
    return [r["id"] for r in await db.fetch_all("SELECT id FROM category WHERE read_access = 'public' ORDER BY id")]


def _in(ids: list[int]) -> str:
    """The public categories as a filter that no index answers (`+ 0`): a page is a range of the primary key, and
    SQLite would otherwise read it through the category index and sort it (a fresh 5,000-URL page: 28 ms CPU)."""
    return "t.category_id + 0 IN (" + ",".join(str(int(i)) for i in ids) + ")"


def _range(page: int) -> tuple[int, int]:
    return (page - 1) * URLS_PER_PAGE, page * URLS_PER_PAGE


async def pages() -> list[dict]:
    """`[{page, lastmod}]`: the pages that list at least one indexable topic, each with its latest change.

    Page by page, each a range of the primary key (empty ranges skipped by the next id): the latest change among
    the page's topics of public categories, the deleted and held ones included (their deletion or hiding changed
    the page: it lost a URL), and whether it lists any indexable topic (the first one ends that look). Topics of
    restricted categories never count, so the index tells nothing of their activity."""
    categories = await _public_categories()
    listed, low = [], 0
    while categories:
        first = await db.fetch_one("SELECT MIN(id) AS id FROM topic WHERE id >= ?", [low])
        if first is None or first["id"] is None:
            break
        page = int(first["id"]) // URLS_PER_PAGE + 1
        low, high = _range(page)
        row = await db.fetch_one(
            f"SELECT MAX({LASTMOD_SQL}) AS lastmod FROM topic t WHERE t.id >= ? AND t.id < ? AND {_in(categories)}",
            [low, high])
        if row["lastmod"] is not None and await db.fetch_one(
                f"SELECT 1 AS listed FROM topic t CROSS JOIN post p JOIN category c ON c.id = t.category_id "
                f"WHERE p.topic_id = t.id AND p.number = 1 AND t.id >= ? AND t.id < ? AND {_in(categories)} "
                f"AND {INDEXABLE_SQL} LIMIT 1", [low, high]):
            listed.append({"page": page, "lastmod": db.as_datetime(row["lastmod"])})
        low = high
    return listed


def _entry_sql(dialect: str) -> str:
    """Each topic's `<url>` element, built by the database: at thousands of topics a page, building it in Python from
    rows took most of a page's time. Slugs are [a-z0-9-] (forum.services.slugs), ids digits: nothing to escape."""
    if dialect == "sqlite":
        lastmod = f"strftime('%Y-%m-%dT%H:%M:%SZ', {LASTMOD_SQL})"
    else:
        lastmod = f"""to_char({LASTMOD_SQL} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""
    return (f"'<url><loc>' || ? || t.id || '/' || t.slug || '</loc><lastmod>' || {lastmod} || "
            "'</lastmod></url>'")


async def page_entries(page: int, prefix: str) -> AsyncIterator[str]:
    """The page's indexable topics as sitemap `<url>` elements (`prefix`: the escaped `BASE/t/`), in id order, a
    batch at a time, each batch one string."""
    categories = await _public_categories()
    if not categories or not 1 <= page <= MAX_PAGE:
        return
    low, end = _range(page)
    after = low - 1
    entry = _entry_sql(db.dialect())
    while True:
        rows = await db.fetch_all(
            f"SELECT t.id, {entry} AS line FROM topic t JOIN category c ON c.id = t.category_id "
            f"{FIRST_POST_JOIN} WHERE t.id > ? AND t.id < ? AND {_in(categories)} "
            f"AND {INDEXABLE_SQL} ORDER BY t.id LIMIT {BATCH}", [prefix, after, end])
        if not rows:
            return
        yield "\n".join(r["line"] for r in rows) + "\n"
        if len(rows) < BATCH:
            return
        after = rows[-1]["id"]

VALIDATOR_SQL = """
SELECT (SELECT MAX(changed_at) FROM topic) AS changed, (SELECT MAX(last_posted_at) FROM topic) AS posted,
       (SELECT MAX(id) FROM topic) AS newest, (SELECT version FROM page_version WHERE kind = 'g' AND id = 0) AS shared
"""


async def validator() -> tuple:
    """The index's: changes with every change to any topic's page (`changed_at`, migration 0020, indexed), every
    new topic (its id) or post (`last_posted_at`, for rows not changed since 0020) and every category access or
    name change (the shared counter of migration 0014). Four index ends, whatever the forum's size.

    A maximum is enough because stamps follow commit order: SQLite has one writer, and on PostgreSQL migration
    0021 stamps `changed_at` again at commit, one transaction after the other, so a change that commits after
    this was read always carries a later stamp."""
    row = await db.fetch_one(VALIDATOR_SQL)
    return (str(row["changed"]), str(row["posted"]), row["newest"], row["shared"], URLS_PER_PAGE)


# each topic's last change in milliseconds since 1970, as an integer, so that a sum of them is exact
STAMP_MS = {
    "sqlite": f"CAST((julianday({LASTMOD_SQL}) - 2440587.5) * 86400000 AS INTEGER)",
    "postgres": f"CAST(EXTRACT(EPOCH FROM {LASTMOD_SQL}) * 1000 AS BIGINT)",
}


async def page_validator(page: int) -> tuple:
    """Changes with every change to the page's own topics only, so a reply re-renders one page, not all: the
    count, the sum of `version` and the sum of the change stamps of the topics of public categories in the page's
    id range (the primary key's range, at most URLS_PER_PAGE rows), the public categories and the shared counter
    (a category's access changed). Sums, not a maximum: a stamp that commits after a later one still changes
    them, so the ETag does not depend on the order in which PostgreSQL transactions commit. Topics of
    restricted categories never count: a page's ETag tells nothing of their activity."""
    categories = await _public_categories()
    shared = await db.fetch_one("SELECT version FROM page_version WHERE kind = 'g' AND id = 0")
    if not categories or not 1 <= page <= MAX_PAGE:
        return ("empty", shared["version"] if shared else None, URLS_PER_PAGE)
    low, high = _range(page)
    row = await db.fetch_one(
        f"SELECT COUNT(*) AS n, SUM(t.version) AS versions, SUM({STAMP_MS[db.dialect()]}) AS stamps FROM topic t "
        f"WHERE t.id >= ? AND t.id < ? AND {_in(categories)}", [low, high])
    return (row["n"], str(row["versions"]), str(row["stamps"]), tuple(categories),
            shared["version"] if shared else None, URLS_PER_PAGE)
