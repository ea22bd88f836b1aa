"""Full-text search over posts: one service in front of SQLite FTS5 and PostgreSQL tsvector.

Writers keep the index in step by calling `index_post` / `remove_post` inside their own transaction.

`search` is hand-written SQL (TOOLCHAIN §11) whose cost is bounded however common the words are:
1. the full-text index streams the newest RANK_DEPTH matches (newest first needs no sort, so a word in
   every post costs no more than a rare one) and ranks only those;
2. the best CANDIDATES of them are joined to post/topic/category by primary key and filtered;
3. if the filters leave the page short, step 2 runs again over all RANK_DEPTH, so filters never hide
   a match that step 1 found.
So for a query with more than RANK_DEPTH matches, the best of the newest RANK_DEPTH are shown.

User input never reaches the query syntax of either database: every term is quoted (FTS5) or reduced to
its letters and digits (tsquery). Snippets are cut and marked here, not by snippet()/ts_headline(): both
databases then give the same snippet, ts_headline's dropping of "<tag>"-like text is avoided, and a
prefix query is not expanded once more just for the snippet. Only <mark> is left unescaped.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from itertools import islice

from forum import db, markup
from forum.models import TopicKind
from forum.services.permissions import readable_levels
from forum.services.usernames import username_key
from forum.viewer import Viewer

MAX_QUERY_CHARS = 200
MAX_TERMS = 10
MAX_LIMIT = 50
# deeper pages cost more and more; nobody reads them, and crawlers should not make us try
MAX_OFFSET = 200
# how many of the newest matches are ranked at all (bounds the work for very common words)
RANK_DEPTH = 2_000
# how many of the best-ranked matches are joined and filtered before falling back to all RANK_DEPTH
CANDIDATES = 500
# shorter stems would match a large part of the index; the SQLite index keeps prefixes of 3 and 4
MIN_PREFIX_CHARS = 3
SNIPPET_CHARS = 200
SNIPPET_CONTEXT = 60

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Hit:
    topic_id: int
    post_id: int
    post_number: int
    title: str
    snippet: str  # HTML: escaped text with <mark> around the matches
    category_slug: str
    author: str | None  # None once the author's profile is gone
    created_at: datetime
    topic_slug: str


def clean_text(text: str) -> str:
    """What goes into the index: NFC, so a decomposed "å" matches a composed one; no control characters."""
    return _CONTROL.sub(" ", unicodedata.normalize("NFC", text or ""))


# -- writes: called by the services that create, edit, delete, hide and restore posts --------------------

def _dialect(conn) -> str:
    return (conn or db.connection()).capabilities.dialect


def body_text(cooked: str) -> str:
    """The indexed text of a post's cooked HTML. Writers may compute it before their transaction and pass it
    to `index_post`, so that parsing the HTML does not hold SQLite's write lock."""
    return clean_text(markup.searchable_text(cooked))


def _upsert_sql(conn) -> str:
    if _dialect(conn) == "sqlite":
        return "INSERT OR REPLACE INTO search_index (rowid, title, body) VALUES (?, ?, ?)"
    return ("INSERT INTO search_index (post_id, title, body) VALUES (?, ?, ?) "
            "ON CONFLICT (post_id) DO UPDATE SET title = EXCLUDED.title, body = EXCLUDED.body")


async def index_post(post_id: int, *, title: str, cooked: str, conn=None, text: str | None = None) -> None:
    """Add or replace the post's entry. `title` is the topic title for a topic's first post, else "".
    `text`, when given, is `body_text(cooked)` computed beforehand."""
    params = [post_id, clean_text(title), text if text is not None else body_text(cooked)]
    await db.execute(_upsert_sql(conn), params, conn)


async def index_posts(entries: list[tuple[int, str, str]], *, conn=None) -> None:
    """`index_post` for many (post id, title, cooked) at once: one statement, many rows."""
    rows = [[post_id, clean_text(title), body_text(cooked)] for post_id, title, cooked in entries]
    await db.execute_many(_upsert_sql(conn), rows, conn)


async def remove_post(post_id: int, *, conn=None) -> None:
    column = "rowid" if _dialect(conn) == "sqlite" else "post_id"
    await db.execute(f"DELETE FROM search_index WHERE {column} = ?", [post_id], conn)


async def count_matching(phrases: list[str], conn=None) -> int:
    """How many index entries contain any of these phrases as whole words (for a withdrawal to know whether
    the index still holds a name)."""
    total = 0
    for phrase in phrases:
        words = _WORD.findall(clean_text(phrase))
        if not words:
            continue
        if _dialect(conn) == "sqlite":
            sql, arg = "SELECT COUNT(*) AS n FROM search_index WHERE search_index MATCH ?", '"' + " ".join(words) + '"'
        else:
            sql = "SELECT COUNT(*) AS n FROM search_index WHERE tsv @@ to_tsquery('simple', ?)"
            arg = " <-> ".join(words)
        total += (await db.fetch_one(sql, [arg], conn))["n"]
    return total


# -- the query language: whitespace-separated terms, all required, the last one also as a prefix ---------

@dataclass(frozen=True)
class Term:
    raw: str
    words: tuple[str, ...]  # letters and digits; several for "e-post" or "C#.NET", matched as a phrase
    prefix: bool


def parse_query(q: str) -> list[Term]:
    """Terms that contain at least one letter or digit; punctuation-only input gives no terms."""
    q = unicodedata.normalize("NFC", _CONTROL.sub(" ", q or "")).strip()[:MAX_QUERY_CHARS]
    found = [(raw, tuple(_WORD.findall(raw))) for raw in q.split()]
    terms = [Term(raw, words, False) for raw, words in found if words][:MAX_TERMS]
    if terms:
        last = terms[-1]
        # "sjåf" means "sjåf…"; "C++" does not mean "c…"
        prefix = _WORD.fullmatch(last.raw[-1]) is not None and len(last.words[-1]) >= MIN_PREFIX_CHARS
        terms[-1] = Term(last.raw, last.words, prefix)
    return terms


def fts5_match(terms: list[Term]) -> str:
    """Every term a quoted FTS5 string (a phrase if it tokenizes to several words): no operators."""
    return " ".join('"' + t.raw.replace('"', '""') + '"' + ("*" if t.prefix else "") for t in terms)


def pg_tsquery(terms: list[Term]) -> str:
    """to_tsquery text built from letters and digits only, so user syntax can never reach it."""
    parts = []
    for t in terms:
        words = list(t.words)
        if t.prefix:
            words[-1] += ":*"
        parts.append(words[0] if len(words) == 1 else "(" + " <-> ".join(words) + ")")
    return " & ".join(parts)


# -- the read ------------------------------------------------------------------------------------------

_SQLITE_RANKED = """
recent AS (
    SELECT rowid AS post_id, bm25(search_index, 5.0, 1.0) AS rank
    FROM search_index WHERE search_index MATCH ?
    ORDER BY rowid DESC LIMIT {depth}
)"""

_POSTGRES_RANKED = """
recent AS (
    SELECT post_id, tsv FROM search_index WHERE tsv @@ to_tsquery('simple', ?)
    ORDER BY post_id DESC LIMIT {depth}
), ranked AS (
    SELECT post_id, ts_rank(tsv, to_tsquery('simple', ?), 1) AS rank FROM recent
)"""

_SEARCH = """
WITH {ranked}, cand AS (
    SELECT post_id, rank FROM {source} {window}
), page AS (
    SELECT cand.post_id, cand.rank, p.number, p.created_at, p.topic_id, t.title, t.slug AS topic_slug,
           c.slug AS category_slug, pr.username AS author
    FROM cand
    JOIN post p ON p.id = cand.post_id
    JOIN topic t ON t.id = p.topic_id
    JOIN category c ON c.id = t.category_id
    LEFT JOIN profile pr ON pr.user_id = p.author_id
    WHERE {where}
    ORDER BY cand.rank {direction}, cand.post_id DESC
    LIMIT ? OFFSET ?
)
SELECT page.*, {candidates} AS candidates, s.title AS indexed_title, s.body AS indexed_body
FROM page JOIN search_index s ON s.{key} = page.post_id
ORDER BY page.rank {direction}, page.post_id DESC
"""


def _filters(viewer: Viewer | None, category: str | None, author: str | None,
             solved: bool | None) -> tuple[str, list]:
    levels = readable_levels(viewer)
    where = ["p.deleted_at IS NULL", "p.hidden_at IS NULL", "t.deleted_at IS NULL",
             f"c.read_access IN ({', '.join('?' * len(levels))})"]
    params: list = list(levels)
    if category is not None:
        where.append("c.slug = ?")
        params.append(category)
    if author is not None:
        # resolved once, so other authors' posts are dropped before their topic is even looked at
        where.append("p.author_id = (SELECT user_id FROM profile WHERE username_key = ?)")
        params.append(username_key(author))
    if solved is not None:
        where.append("t.kind = ?")
        where.append("t.accepted_post_id IS NOT NULL" if solved else "t.accepted_post_id IS NULL")
        params.append(TopicKind.QUESTION.value)
    return " AND ".join(where), params


def _statement(dialect: str, terms: list[Term], where: str, where_params: list, limit: int, offset: int,
               window: int | None) -> tuple[str, list]:
    """`window`: rank-sorted candidates to filter; None filters all ranked matches (the fallback)."""
    if dialect == "sqlite":
        ranked, source, direction, key = _SQLITE_RANKED, "recent", "", "rowid"
        query_params = [fts5_match(terms)]
    else:
        ranked, source, direction, key = _POSTGRES_RANKED, "ranked", "DESC", "post_id"
        query_params = [pg_tsquery(terms)] * 2
    sql = _SEARCH.format(
        ranked=ranked.format(depth=RANK_DEPTH), source=source, direction=direction, key=key, where=where,
        window=f"ORDER BY rank {direction} LIMIT ?" if window else "",
        # counting needs the candidates materialised, which only the windowed form wants anyway
        candidates="(SELECT count(*) FROM cand)" if window else "NULL",
    )
    return sql, [*query_params, *([window] if window else []), *where_params, limit, offset]


async def search(viewer: Viewer | None, q: str, *, category: str | None = None, author: str | None = None,
                 solved: bool | None = None, limit: int = 20, offset: int = 0) -> list[Hit]:
    """Visible posts matching every term of `q`, best first; a match in the title counts for more than one in
    the body (bm25 weights 5:1 on SQLite, tsvector weights A:B = 1.0:0.4 on PostgreSQL)."""
    terms = parse_query(q)
    if not terms or offset > MAX_OFFSET:
        return []
    limit = max(1, min(limit, MAX_LIMIT))
    offset = max(0, offset)
    dialect = db.dialect()
    where, where_params = _filters(viewer, category, author, solved)
    window = max(CANDIDATES, 4 * (offset + limit))
    rows = await db.fetch_all(*_statement(dialect, terms, where, where_params, limit, offset, window))
    if len(rows) < limit and (not rows or rows[0]["candidates"] >= window):
        # the filters used up the window, and more ranked matches lie beyond it
        rows = await db.fetch_all(*_statement(dialect, terms, where, where_params, limit, offset, None))
    return [_hit(row, terms) for row in rows]


def _hit(row: dict, terms: list[Term]) -> Hit:
    return Hit(
        topic_id=row["topic_id"], post_id=row["post_id"], post_number=row["number"], title=row["title"],
        snippet=snippet(row["indexed_body"], row["indexed_title"], terms),
        category_slug=row["category_slug"], author=row["author"],
        created_at=db.as_datetime(row["created_at"]), topic_slug=row["topic_slug"],
    )


# -- snippets ------------------------------------------------------------------------------------------

def _pattern(terms: list[Term]) -> re.Pattern:
    """Matches a term as the index does: whole words, case-insensitive, phrase words apart by non-words."""
    alternatives = []
    for n, t in enumerate(terms):
        body = r"[\W_]+".join(re.escape(w) for w in t.words) + (r"[^\W_]*" if t.prefix else "")
        alternatives.append(rf"(?P<t{n}>{body})")
    return re.compile(r"(?<![^\W_])(?:" + "|".join(alternatives) + r")(?![^\W_])", re.IGNORECASE)


def snippet(body: str, title: str, terms: list[Term]) -> str:
    """HTML: the part of the body with the most different terms (the title if only it matches), each match
    in <mark>, everything else escaped."""
    pattern = _pattern(terms)
    matches = [(m.start(), m.end(), m.lastgroup) for m in islice(pattern.finditer(body), 500)]
    if not matches and title and pattern.search(title):
        return _marked(title, [(m.start(), m.end(), m.lastgroup) for m in pattern.finditer(title)],
                       0, len(title))
    start, end = _window(body, matches)
    return _marked(body, matches, start, end)


def _window(text: str, matches: list[tuple[int, int, str]]) -> tuple[int, int]:
    """About SNIPPET_CHARS of text, cut at spaces, starting a little before the densest run of matches."""
    best_at, best_score = 0, 0
    span = SNIPPET_CHARS - SNIPPET_CONTEXT
    in_view: dict[str, int] = {}  # term -> matches from this one to `ahead`
    ahead = 0
    for at, _end, group in matches:
        while ahead < len(matches) and matches[ahead][0] < at + span:
            in_view[matches[ahead][2]] = in_view.get(matches[ahead][2], 0) + 1
            ahead += 1
        if len(in_view) > best_score:
            best_at, best_score = at, len(in_view)
        in_view[group] -= 1
        if not in_view[group]:
            del in_view[group]
    start = 0 if best_at <= SNIPPET_CONTEXT else best_at - SNIPPET_CONTEXT
    if start:
        space = text.find(" ", start, best_at)
        start = space + 1 if space != -1 else start
    end = start + SNIPPET_CHARS
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start else end
    return start, min(end, len(text))


def _marked(text: str, matches: list[tuple[int, int, str]], start: int, end: int) -> str:
    out = ["…"] if start > 0 else []
    at = start
    for m_start, m_end, _group in matches:
        if m_start < at or m_end > end:
            continue
        out += [html.escape(text[at:m_start]), "<mark>", html.escape(text[m_start:m_end]), "</mark>"]
        at = m_end
    out.append(html.escape(text[at:end]))
    if end < len(text):
        out.append("…")
    return "".join(out)
