"""What a visitor's page was rendered from, read with one cheap query: the validator of the visitors' page cache.

A validator is a tuple that changes whenever anything the page shows to a signed-out visitor changes, because
every write that does so bumps a counter in its own transaction (`topic.version` in the services, the
`page_version` rows by the triggers of migration 0014). None means "do not cache": the page is missing or not
public, and the handler answers as it would without a cache.
"""

from __future__ import annotations

from forum import db
from forum.models import ReadAccess

PUBLIC = ReadAccess.PUBLIC.value

TOPIC_SQL = """
SELECT t.version, t.deleted_at, c.read_access, g.version AS shared
FROM topic t JOIN category c ON c.id = t.category_id JOIN page_version g ON g.kind = 'g' AND g.id = 0
WHERE t.id = ?
"""
CATEGORY_SQL = """
SELECT c.id, c.read_access, pc.version, g.version AS shared
FROM category c LEFT JOIN page_version pc ON pc.kind = 'c' AND pc.id = c.id
JOIN page_version g ON g.kind = 'g' AND g.id = 0
WHERE c.slug = ?
"""
HOME_SQL = "SELECT COALESCE(SUM(version), 0) AS total, COUNT(*) AS n FROM page_version"


async def topic(topic_id: int) -> tuple | None:
    row = await db.fetch_point(TOPIC_SQL, [topic_id])
    if row is None or row["deleted_at"] is not None or row["read_access"] != PUBLIC:
        return None
    return ("t", topic_id, row["version"], row["shared"])


async def category(slug: str) -> tuple | None:
    row = await db.fetch_point(CATEGORY_SQL, [slug])
    if row is None or row["read_access"] != PUBLIC:
        return None
    return ("c", row["id"], row["version"] or 0, row["shared"])


async def home() -> tuple:
    """The front page lists topics of every public category: every counter is summed (each only grows)."""
    row = await db.fetch_point(HOME_SQL)
    return ("h", int(row["total"]), int(row["n"]))
