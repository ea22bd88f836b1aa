"""Similar questions for the new-topic composer: the topics whose titles share the most words (by stem) with
what the member is writing, from the search index, solved ones first.

A title of a few words rarely matches another one word for word, so unlike `search` the words are ORed and the
ranking decides (bm25 on the title stems on SQLite, ts_rank on the title's weight A on PostgreSQL); Norwegian
stop words are left out (they would match most titles). The cost is bounded as search's is: the index streams
the newest RANK_DEPTH matches of a tier, only POOL of the best are joined to their topics and filtered by what
the viewer may read (hidden and deleted posts and topics never show), and the older tier is read only when the
recent one gives fewer than POOL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from forum import db
from forum.permissions.facts import is_solved
from forum.services import search
from forum.services.participation import check_can_participate
from forum.services.stemming import STOP_WORDS, stem
from forum.viewer import Viewer

MIN_TITLE_CHARS = 10   # below this a title says too little to look for
LIMIT = 5
POOL = 20              # the best-ranked visible topics that the solved ones are picked from first
MAX_TITLE_TERMS = 8
MAX_BODY_TERMS = 4     # the body's first words that are not in the title yet
# a topic is like the new one when its title shares this many of the words looked for (all of them when the title
# has fewer): one common word ("spørsmål", "faktura") alone says little, and would stop most new questions
MIN_SHARED = 2
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class SimilarTopic:
    topic_id: int
    title: str
    slug: str
    category_slug: str
    category_name: str
    solved: bool          # a question with an accepted answer
    accepted: bool        # it has an accepted answer
    post_count: int


def content_stems(text: str, most: int, known: list[str] | None = None) -> list[str]:
    """The stems of up to `most` content words of `text` (no stop words, no one-letter words) not in `known`."""
    stems: list[str] = []
    for word in _WORD.findall(search.clean_text(text)):
        if len(stems) == most:
            break
        if len(word) < 2 or word.casefold() in STOP_WORDS:
            continue
        s = stem(word)
        if s not in stems and s not in (known or ()):
            stems.append(s)
    return stems


def lookup_stems(title: str, body: str = "") -> tuple[list[str], list[str]]:
    """The stems to look for: the title's content words, and a few more of the body's."""
    in_title = content_stems(title, MAX_TITLE_TERMS)
    return in_title, content_stems(body[:2_000], MAX_BODY_TERMS, in_title)


_SQLITE = """
WITH matches AS (
    SELECT rowid AS post_id, bm25({table}, 0.0, 0.0, 1.0, 0.0) AS rank FROM {table} WHERE {table} MATCH ?
    ORDER BY rowid DESC LIMIT {depth}
), best AS (SELECT post_id, rank FROM matches ORDER BY rank LIMIT {window})
SELECT t.id, t.title, t.slug, t.kind, t.accepted_post_id, t.post_count, c.slug AS category_slug,
       c.name AS category_name
FROM best JOIN post p ON p.id = best.post_id JOIN topic t ON t.id = p.topic_id JOIN category c ON c.id = t.category_id
WHERE p.number = 1 AND {where} AND t.id NOT IN ({seen})
ORDER BY best.rank, best.post_id DESC LIMIT ?
"""

_POSTGRES = """
WITH matches AS (
    SELECT post_id, tsv FROM search_index WHERE tsv @@ to_tsquery('simple', ?) ORDER BY post_id DESC LIMIT {depth}
), best AS (
    SELECT post_id, ts_rank(tsv, to_tsquery('simple', ?)) AS rank FROM matches ORDER BY rank DESC LIMIT {window}
)
SELECT t.id, t.title, t.slug, t.kind, t.accepted_post_id, t.post_count, c.slug AS category_slug,
       c.name AS category_name
FROM best JOIN post p ON p.id = best.post_id JOIN topic t ON t.id = p.topic_id JOIN category c ON c.id = t.category_id
WHERE p.number = 1 AND {where} AND t.id NOT IN ({seen})
ORDER BY best.rank DESC, best.post_id DESC LIMIT ?
"""


async def similar_topics(viewer: Viewer | None, title: str, body: str = "", *,
                         limit: int = LIMIT) -> list[SimilarTopic]:
    """Up to `limit` topics the viewer may read that are like this title (and body), solved ones first."""
    if len(search.clean_text(title).strip()) < MIN_TITLE_CHARS:
        return []
    in_title, in_body = lookup_stems(title, body)
    stems = in_title + in_body
    if not in_title:
        return []
    where, where_params = search.visible_where(viewer)
    rows: list[dict] = []
    if db.dialect() == "sqlite":
        match = "{title_stems} : (" + " OR ".join(search.quoted(s) for s in stems) + ")"
        for table in (search.RECENT, search.OLDER):
            rows += await _pool(_SQLITE.format(table=table, depth=search.RANK_DEPTH, window=POOL * 2, where=where,
                                               seen="{seen}"), [match], where_params, rows)
            if len(rows) >= POOL:
                break
    else:
        query = " | ".join(f"{s}:A" for s in stems)
        rows = await _pool(_POSTGRES.format(depth=search.RANK_DEPTH, window=POOL * 2, where=where, seen="{seen}"),
                           [query, query], where_params, rows)
    wanted, shared = set(stems), min(MIN_SHARED, len(in_title))
    found = [SimilarTopic(r["id"], r["title"], r["slug"], r["category_slug"], r["category_name"],
                          is_solved(r["kind"], r["accepted_post_id"]), r["accepted_post_id"] is not None,
                          r["post_count"]) for r in rows
             if len(wanted & set(content_stems(r["title"], 50))) >= shared]
    # solved first, each group in rank order (sorted() is stable)
    return sorted(found, key=lambda s: not s.solved)[:limit]


async def similar_before_posting(viewer: Viewer | None, title: str, body: str) -> list[SimilarTopic]:
    """The new-topic form's confirmation step without JavaScript: the similar topics to show before posting, for a
    member who may post (the participation gate first, as posting runs it: nobody is shown a step they could not
    get past, and a refusal is the same as posting's)."""
    await check_can_participate(viewer, db.connection(), action="post")
    return await similar_topics(viewer, title, body)


async def _pool(sql: str, match_params: list, where_params: list, already: list[dict]) -> list[dict]:
    seen = [r["id"] for r in already] or [0]
    sql = sql.format(seen=", ".join("?" * len(seen)))
    return await db.fetch_all(sql, [*match_params, *where_params, *seen, POOL - len(already)])
