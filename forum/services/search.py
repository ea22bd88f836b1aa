"""Full-text search over posts: one service in front of SQLite FTS5 and PostgreSQL tsvector.

Writers keep the index in step by calling `index_post` / `remove_post` inside their own transaction.
`search` is hand-written SQL (TOOLCHAIN §11) shaped for large forums: the full-text index picks the best
candidates first (ORDER BY rank LIMIT), and only those are joined to post/topic/category by primary key,
filtered by visibility, and given a snippet. If filtering leaves the page short while more candidates
exist, the query runs once more without the candidate window, so a filter never hides a match.

User input never reaches the query syntax of either database: every term is quoted (FTS5) or reduced to
its letters and digits (tsquery). Snippets come back with control characters around matches; the text
is HTML-escaped in Python and only then are those turned into <mark>, so nothing else is ever markup.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

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
# how many best-ranked candidates the index hands over before visibility filters run
CANDIDATES = 500
# a prefix query over a 1- or 2-letter stem touches a large part of the index
MIN_PREFIX_CHARS = 3
# ts_headline parses the whole text it is given; a match further in falls back to an unmarked snippet
HEADLINE_CHARS = 20_000

_START, _STOP = "\x02", "\x03"
# PostgreSQL's parser takes "<word ...>" for a tag, and ts_headline drops tags; \x01 stands in for "<"
_LT = "\x01"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_WORD = re.compile(r"[^\W_]+")
_MARKS = re.compile(f"([{_START}{_STOP}])")
_HEADLINE_OPTIONS = f"StartSel={_START}, StopSel={_STOP}, MaxWords=30, MinWords=12"


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
    """What goes into the index: NFC (so a decomposed "å" matches a composed one), no control characters
    (they would collide with the snippet markers)."""
    return _CONTROL.sub(" ", unicodedata.normalize("NFC", text or ""))


# -- writes: called by the services that create, edit, delete, hide and restore posts --------------------

def _dialect(conn) -> str:
    return (conn or db.connection()).capabilities.dialect


async def index_post(post_id: int, *, title: str, cooked: str, conn=None) -> None:
    """Add or replace the post's entry. `title` is the topic title for a topic's first post, else ""."""
    params = [post_id, clean_text(title), clean_text(markup.plain_text(cooked))]
    if _dialect(conn) == "sqlite":
        sql = "INSERT OR REPLACE INTO search_index (rowid, title, body) VALUES (?, ?, ?)"
    else:
        sql = ("INSERT INTO search_index (post_id, title, body) VALUES (?, ?, ?) "
               "ON CONFLICT (post_id) DO UPDATE SET title = EXCLUDED.title, body = EXCLUDED.body")
    await db.execute(sql, params, conn)


async def remove_post(post_id: int, *, conn=None) -> None:
    column = "rowid" if _dialect(conn) == "sqlite" else "post_id"
    await db.execute(f"DELETE FROM search_index WHERE {column} = ?", [post_id], conn)


# -- the query language: whitespace-separated terms, all required, the last one also as a prefix ---------

@dataclass(frozen=True)
class _Term:
    raw: str
    words: tuple[str, ...]
    prefix: bool


def parse_query(q: str) -> list[_Term]:
    """Terms that contain at least one letter or digit; punctuation-only input gives no terms."""
    q = unicodedata.normalize("NFC", _CONTROL.sub(" ", q or "")).strip()[:MAX_QUERY_CHARS]
    found = [(raw, tuple(_WORD.findall(raw))) for raw in q.split()]
    found = [(raw, words) for raw, words in found if words][:MAX_TERMS]
    terms = [_Term(raw, words, False) for raw, words in found]
    if terms:
        last = terms[-1]
        # "sjåf" means "sjåf…"; "C++" does not mean "c…"
        prefix = _WORD.fullmatch(last.raw[-1]) is not None and len(last.words[-1]) >= MIN_PREFIX_CHARS
        terms[-1] = _Term(last.raw, last.words, prefix)
    return terms


def fts5_match(terms: list[_Term]) -> str:
    """Every term a quoted FTS5 string (a phrase if it tokenizes to several words): no operators."""
    return " ".join('"' + t.raw.replace('"', '""') + '"' + ("*" if t.prefix else "") for t in terms)


def pg_tsquery(terms: list[_Term]) -> str:
    """to_tsquery text built from letters and digits only, so user syntax can never reach it."""
    parts = []
    for t in terms:
        words = list(t.words)
        if t.prefix:
            words[-1] += ":*"
        parts.append(words[0] if len(words) == 1 else "(" + " <-> ".join(words) + ")")
    return " & ".join(parts)


# -- the read ------------------------------------------------------------------------------------------

_PAGE = """
page AS (
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
)"""

_SQLITE = """
WITH cand AS (
    SELECT rowid AS post_id, rank FROM search_index
    WHERE search_index MATCH ? AND rank MATCH 'bm25(5.0, 1.0)'
    {window}
), {page}
SELECT page.*, {candidates} AS candidates,
       snippet(search_index, 1, char(2), char(3), '…', 24) AS body_snippet,
       snippet(search_index, 0, char(2), char(3), '…', 24) AS title_snippet
FROM page JOIN search_index ON search_index.rowid = page.post_id
WHERE search_index MATCH ?
ORDER BY page.rank, page.post_id DESC
"""

_POSTGRES = """
WITH cand AS (
    SELECT s.post_id, ts_rank(s.tsv, to_tsquery('simple', ?), 1) AS rank
    FROM search_index s
    WHERE s.tsv @@ to_tsquery('simple', ?)
    {window}
), {page}
SELECT page.*, {candidates} AS candidates,
       ts_headline('simple', replace(left(s.body, {headline_chars}), '<', chr(1)), to_tsquery('simple', ?), ?)
           AS body_snippet,
       ts_headline('simple', replace(s.title, '<', chr(1)), to_tsquery('simple', ?), ?) AS title_snippet
FROM page JOIN search_index s ON s.post_id = page.post_id
ORDER BY page.rank DESC, page.post_id DESC
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
        where.append("pr.username_key = ?")
        params.append(username_key(author))
    if solved is not None:
        where.append("t.kind = ?")
        where.append("t.accepted_post_id IS NOT NULL" if solved else "t.accepted_post_id IS NULL")
        params.append(TopicKind.QUESTION.value)
    return " AND ".join(where), params


def _statement(dialect: str, terms: list[_Term], where: str, where_params: list, limit: int, offset: int,
               window: int | None) -> tuple[str, list]:
    sqlite = dialect == "sqlite"
    direction = "" if sqlite else "DESC"
    page = _PAGE.format(where=where, direction=direction)
    # With a window the candidates are materialised once (also for the count); without, the planner is
    # free to drive the query from whichever side is most selective.
    window_sql = f"ORDER BY rank {direction} LIMIT ?" if window else ""
    candidates = "(SELECT count(*) FROM cand)" if window else "NULL"
    if sqlite:
        match = fts5_match(terms)
        sql = _SQLITE.format(window=window_sql, page=page, candidates=candidates)
        params = [match, *([window] if window else []), *where_params, limit, offset, match]
    else:
        tsq = pg_tsquery(terms)
        sql = _POSTGRES.format(window=window_sql, page=page, candidates=candidates,
                               headline_chars=HEADLINE_CHARS)
        params = [tsq, tsq, *([window] if window else []), *where_params, limit, offset,
                  tsq, _HEADLINE_OPTIONS, tsq, _HEADLINE_OPTIONS]
    return sql, params


async def search(viewer: Viewer | None, q: str, *, category: str | None = None, author: str | None = None,
                 solved: bool | None = None, limit: int = 20, offset: int = 0) -> list[Hit]:
    """Visible posts matching every term of `q`, best first. Title matches weigh five times body matches."""
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
        # filters ate the window and there may be more matches beyond it
        rows = await db.fetch_all(*_statement(dialect, terms, where, where_params, limit, offset, None))
    return [_hit(row) for row in rows]


def _hit(row: dict) -> Hit:
    body, title = _fix_lt(row["body_snippet"]), _fix_lt(row["title_snippet"])
    snippet = body if _START in body or _START not in title else title
    return Hit(
        topic_id=row["topic_id"], post_id=row["post_id"], post_number=row["number"], title=row["title"],
        snippet=marked_html(snippet), category_slug=row["category_slug"], author=row["author"],
        created_at=db.as_datetime(row["created_at"]), topic_slug=row["topic_slug"],
    )


def _fix_lt(text: str | None) -> str:
    return (text or "").replace(_LT, "<")


def marked_html(snippet: str) -> str:
    """Escape everything, then turn the match markers into <mark>…</mark>, always balanced."""
    out, inside = [], False
    for part in _MARKS.split(snippet):
        if part == _START:
            if not inside:
                out.append("<mark>")
            inside = True
        elif part == _STOP:
            if inside:
                out.append("</mark>")
            inside = False
        else:
            out.append(html.escape(part, quote=True))
    if inside:
        out.append("</mark>")
    return "".join(out)
