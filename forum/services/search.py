"""Full-text search over posts: one service in front of SQLite FTS5 and PostgreSQL tsvector.

Writers keep the index in step by calling `index_post` / `remove_post` inside their own transaction.

The index has two tiers by post id: the recent tier holds the newest RECENT_POSTS posts (ids from
`search_tier.recent_from` on), the older tier everything before. Results come tier by tier, each ranked
best first: the best matches among recent posts, then the best of the older ones. On SQLite each tier is
its own FTS5 table (`search_recent`, `search_index`), because ranking reads every match of a word in the
table (bm25's IDF) and a prefix term merges the lists of every word it expands to: in a table of bounded
size a query costs the same at a million posts as at ten thousand, and the older table is only read when
the recent one has too few matches for the page. New posts go to the recent table; once it holds
RECENT_POSTS + a step, the oldest step is moved to the older table in one write, which also batches that
table's index updates. On PostgreSQL both tiers are one table split by the same boundary.

Within a tier, `search` is hand-written SQL (the rule: forum/db) whose cost is bounded however common the
words are:
1. the full-text index streams the newest RANK_DEPTH matches (newest first needs no sort, so a word in
   every post costs no more than a rare one) and ranks only those;
2. the best CANDIDATES × (offset + limit) of them are joined to post/topic/category by primary key and
   filtered (joining all of them would cost more as the tables grow: their rows spread over more pages);
3. if the filters leave the page short, step 2 runs again over all RANK_DEPTH, so filters never hide
   a match that step 1 found.
So for a query with more than RANK_DEPTH matches in a tier, the best of its newest RANK_DEPTH are shown.

Each entry also holds the Norwegian stems of its title and text (`title_stems`, `body_stems`; forum/services/
stemming.py, issue 25): a term matches as written (the last one also as a prefix) or by its stem, so "fakturaer"
finds "fakturaen" and "faktura"; a match as written counts in both, so it ranks higher.

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
from forum.permissions.facts import SOLVED_SQL, UNSOLVED_SQL
from forum.permissions.roles import readable_levels
from forum.services.stemming import stem, stems_text
from forum.services.usernames import username_key
from forum.viewer import Viewer

MAX_QUERY_CHARS = 200
MAX_TERMS = 10
MAX_LIMIT = 50
# deeper pages cost more and more; nobody reads them, and crawlers should not make us try
MAX_OFFSET = 200
# how many of the newest matches are ranked at all (bounds the work for very common words)
RANK_DEPTH = 2_000
# how many of the best-ranked matches per hit wanted (offset + limit) are joined and filtered before falling
# back to all RANK_DEPTH: enough for a page when a few matches are hidden, deleted or in staff categories
CANDIDATES = 4
# how many of the newest posts make up the recent tier (FORUM_SEARCH_RECENT_POSTS; `configure` at start-up)
RECENT_POSTS = 10_000
# the most posts one write moves from the recent tier to the older one
MAX_MOVE = 1_024
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

RECENT, OLDER = "search_recent", "search_index"
# the indexed columns: the text as written (snippets, prefixes, phrases) and its stems (inflected forms)
COLUMNS = "title, body, title_stems, body_stems"


def configure(recent_posts: int) -> None:
    global RECENT_POSTS
    RECENT_POSTS = max(1, int(recent_posts))


def move_step() -> int:
    """How far the recent tier may grow past RECENT_POSTS before its oldest posts move to the older tier."""
    return max(1, min(256, RECENT_POSTS // 16))


def _dialect(conn) -> str:
    return (conn or db.connection()).capabilities.dialect


def body_text(cooked: str) -> str:
    """The indexed text of a post's cooked HTML. Writers may compute it before their transaction and pass it
    to `index_post`, so that parsing the HTML does not hold SQLite's write lock."""
    return clean_text(markup.searchable_text(cooked))


def _upsert_sql(conn, table: str) -> str:
    if _dialect(conn) == "sqlite":
        return f"INSERT OR REPLACE INTO {table} (rowid, {COLUMNS}) VALUES (?, ?, ?, ?, ?)"
    return (f"INSERT INTO search_index (post_id, {COLUMNS}) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (post_id) DO UPDATE SET title = EXCLUDED.title, body = EXCLUDED.body, "
            "title_stems = EXCLUDED.title_stems, body_stems = EXCLUDED.body_stems")


def entry(post_id: int, title: str, text: str) -> list:
    """One index row: the post id, its title and text, and their Norwegian stems (forum/services/stemming.py)."""
    title = clean_text(title)
    return [post_id, title, text, stems_text(title), stems_text(text)]


async def _recent_from(conn) -> int:
    return (await db.fetch_one("SELECT recent_from FROM search_tier", [], conn))["recent_from"]


async def index_post(post_id: int, *, title: str, cooked: str, conn=None, text: str | None = None) -> None:
    """Add or replace the post's entry. `title` is the topic title for a topic's first post, else "".
    `text`, when given, is `body_text(cooked)` computed beforehand."""
    params = entry(post_id, title, text if text is not None else body_text(cooked))
    recent_from = await _recent_from(conn)
    await db.execute(_upsert_sql(conn, RECENT if post_id >= recent_from else OLDER), params, conn)
    if post_id - recent_from + 1 > RECENT_POSTS + move_step():
        # a new post filled the recent tier: its oldest posts move on (at most MAX_MOVE per write, so a lowered
        # FORUM_SEARCH_RECENT_POSTS is caught up with over the next posts, not in one long write)
        await _advance(min(post_id - RECENT_POSTS + 1, recent_from + MAX_MOVE), conn)


# SQLite: posts before the new boundary (each statement's one parameter) leave the recent table; the benchmark's
# seed runs the same statements
MOVE_SQL = [
    f"INSERT OR REPLACE INTO {OLDER} (rowid, {COLUMNS}) SELECT rowid, {COLUMNS} FROM {RECENT} WHERE rowid < ?",
    f"DELETE FROM {RECENT} WHERE rowid < ?",
]
ADVANCE_SQL = "UPDATE search_tier SET recent_from = ? WHERE recent_from < ?"


async def _advance(recent_from: int, conn) -> None:
    """Posts before `recent_from` leave the recent tier."""
    if _dialect(conn) == "sqlite":
        for sql in MOVE_SQL:
            await db.execute(sql, [recent_from], conn)
    await db.execute(ADVANCE_SQL, [recent_from] * 2, conn)


async def index_posts(entries: list[tuple[int, str, str]], *, conn=None) -> None:
    """`index_post` for many existing posts (post id, title, cooked) at once: one statement per tier."""
    recent_from = await _recent_from(conn)
    rows = [entry(post_id, title, body_text(cooked)) for post_id, title, cooked in entries]
    for recent in (True, False):
        tier = [row for row in rows if (row[0] >= recent_from) == recent]
        if tier:
            await db.execute_many(_upsert_sql(conn, RECENT if recent else OLDER), tier, conn)


async def remove_post(post_id: int, *, conn=None) -> None:
    if _dialect(conn) == "sqlite":
        for table in (RECENT, OLDER):
            await db.execute(f"DELETE FROM {table} WHERE rowid = ?", [post_id], conn)
    else:
        await db.execute("DELETE FROM search_index WHERE post_id = ?", [post_id], conn)


async def tables_to_merge(phrases: list[str], conn=None) -> list[str]:
    """SQLite: the index tables whose segments must be merged once these phrases are scrubbed, so that no old
    copy of them stays in the file (PostgreSQL: none, it has no segments):
    - the recent table always: entries moved on to the older tier, replaced or removed leave their words in
      its segments, where no query finds them, and merging a table of bounded size costs little;
    - the older table when one of its entries holds a phrase as whole words (its merge costs time in
      proportion to the whole index, so only then)."""
    if _dialect(conn) != "sqlite":
        return []
    for phrase in phrases:
        words = _WORD.findall(clean_text(phrase))
        if words and (await db.fetch_one(f"SELECT EXISTS (SELECT 1 FROM {OLDER} WHERE {OLDER} MATCH ?) AS found",
                                         ['"' + " ".join(words) + '"'], conn))["found"]:
            return [RECENT, OLDER]
    return [RECENT]


async def merge_segments(tables: list[str]) -> None:
    """SQLite: rewrite these FTS5 tables' segments, so entries replaced or deleted leave no old text behind (a
    replaced entry is only marked deleted until its segment is merged)."""
    if db.dialect() != "sqlite":
        return
    for table in tables:
        if table not in (RECENT, OLDER):
            raise ValueError(table)
        await db.execute(f"INSERT INTO {table} ({table}) VALUES ('optimize')")


# -- the query language: whitespace-separated terms, all required, the last one also as a prefix ---------

@dataclass(frozen=True)
class Term:
    raw: str
    words: tuple[str, ...]  # letters and digits; several for "e-post" or "C#.NET", matched as a phrase
    prefix: bool

    @property
    def stems(self) -> str:
        return " ".join(stem(w) for w in self.words)


# search matches a term as written or by its stem ("fakturaer" finds "faktura"); False is the search as it was
# before stemming, kept for the search-quality measurement (tests/test_search_quality.py)
STEMMING = True
_AS_WRITTEN, _STEMMED = "{title body}", "{title_stems body_stems}"


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


def quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def fts5_match(terms: list[Term], stemmed: bool | None = None) -> str:
    """Every term a quoted FTS5 string (a phrase if it tokenizes to several words), as written in the text or,
    stemmed, in the stem columns: no operators from the user."""
    if not (STEMMING if stemmed is None else stemmed):
        return " ".join(quoted(t.raw) + ("*" if t.prefix else "") for t in terms)
    return " AND ".join(f"({_AS_WRITTEN} : {quoted(t.raw)}{'*' if t.prefix else ''} OR "
                        f"{_STEMMED} : {quoted(t.stems)})" for t in terms)


def _tsquery_words(words: list[str]) -> str:
    return words[0] if len(words) == 1 else "(" + " <-> ".join(words) + ")"


def pg_tsquery(terms: list[Term], stemmed: bool | None = None) -> str:
    """to_tsquery text built from letters and digits only, so user syntax can never reach it. The stems are
    indexed in the same tsvector (search_index.tsv), so a term is its words or its stems."""
    parts = []
    for t in terms:
        words = list(t.words)
        if t.prefix:
            words[-1] += ":*"
        part = _tsquery_words(words)
        if STEMMING if stemmed is None else stemmed:
            part = f"({part} | {_tsquery_words(t.stems.split())})"
        parts.append(part)
    return " & ".join(parts)


# -- the read ------------------------------------------------------------------------------------------

_SQLITE_RANKED = """
recent AS (
    SELECT rowid AS post_id, bm25({table}, 5.0, 1.0, 5.0, 1.0) AS rank
    FROM {table} WHERE {table} MATCH ?
    ORDER BY rowid DESC LIMIT {depth}
)"""

_POSTGRES_RANKED = """
recent AS (
    SELECT post_id, tsv FROM search_index
    WHERE tsv @@ to_tsquery('simple', ?) AND post_id {tier} (SELECT recent_from FROM search_tier)
    ORDER BY post_id DESC LIMIT {depth}
), ranked AS (
    SELECT post_id, ts_rank(tsv, to_tsquery('simple', ?), 1) AS rank FROM recent
)"""

_JOINS = """JOIN post p ON p.id = cand.post_id
    JOIN topic t ON t.id = p.topic_id
    JOIN category c ON c.id = t.category_id"""

_SEARCH = """
WITH {ranked}, cand AS (
    SELECT post_id, rank FROM {source} {window}
), page AS (
    SELECT cand.post_id, cand.rank, p.number, p.created_at, p.topic_id, t.title, t.slug AS topic_slug,
           c.slug AS category_slug, pr.username AS author
    FROM cand
    {joins}
    LEFT JOIN profile pr ON pr.user_id = p.author_id
    WHERE {where}
    ORDER BY cand.rank {direction}, cand.post_id DESC
    LIMIT ? OFFSET ?
)
SELECT page.*, {candidates} AS candidates, s.title AS indexed_title, s.body AS indexed_body
FROM page JOIN {table} s ON s.{key} = page.post_id
ORDER BY page.rank {direction}, page.post_id DESC
"""

_COUNT = """
WITH {ranked}
SELECT count(*) AS n FROM {source} cand
    {joins}
    WHERE {where}
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
        where.append(SOLVED_SQL if solved else UNSOLVED_SQL)
    return " AND ".join(where), params


def visible_where(viewer: Viewer | None) -> tuple[str, list]:
    """The filters every read of the index applies (p = post, t = topic, c = category): what the viewer may read,
    never hidden or deleted posts or topics."""
    return _filters(viewer, None, None, None)


@dataclass(frozen=True)
class _Tier:
    """One tier's ranked matches as SQL: the WITH clauses, what they are read from, and their parameters."""
    ranked: str
    source: str
    params: list
    table: str
    key: str
    direction: str


def _tier(dialect: str, recent: bool, terms: list[Term]) -> _Tier:
    if dialect == "sqlite":
        table = RECENT if recent else OLDER
        return _Tier(_SQLITE_RANKED.format(table=table, depth=RANK_DEPTH), "recent", [fts5_match(terms)],
                     table, "rowid", "")
    ranked = _POSTGRES_RANKED.format(tier=">=" if recent else "<", depth=RANK_DEPTH)
    return _Tier(ranked, "ranked", [pg_tsquery(terms)] * 2, OLDER, "post_id", "DESC")


def _statement(tier: _Tier, where: str, where_params: list, limit: int, offset: int,
               window: int | None) -> tuple[str, list]:
    """`window`: rank-sorted candidates to filter; None filters all ranked matches (the fallback)."""
    sql = _SEARCH.format(
        ranked=tier.ranked, source=tier.source, direction=tier.direction, key=tier.key, table=tier.table,
        joins=_JOINS, where=where, window=f"ORDER BY rank {tier.direction} LIMIT ?" if window else "",
        # counting needs the candidates materialised, which only the windowed form wants anyway
        candidates="(SELECT count(*) FROM cand)" if window else "NULL",
    )
    return sql, [*tier.params, *([window] if window else []), *where_params, limit, offset]


def _count(tier: _Tier, where: str, where_params: list) -> tuple[str, list]:
    """How many of the tier's ranked matches the viewer may see with these filters."""
    return (_COUNT.format(ranked=tier.ranked, source=tier.source, joins=_JOINS, where=where),
            [*tier.params, *where_params])


async def search(viewer: Viewer | None, q: str, *, category: str | None = None, author: str | None = None,
                 solved: bool | None = None, limit: int = 20, offset: int = 0) -> list[Hit]:
    """Visible posts matching every term of `q`: the recent tier's best first, then the older tier's; a match
    in the title counts for more than one in the body (bm25 weights 5:1 on SQLite, tsvector weights
    A:B = 1.0:0.4 on PostgreSQL)."""
    terms = parse_query(q)
    if not terms or offset > MAX_OFFSET:
        return []
    limit = max(1, min(limit, MAX_LIMIT))
    offset = max(0, offset)
    dialect = db.dialect()
    where, where_params = _filters(viewer, category, author, solved)
    rows: list[dict] = []
    for recent in (True, False):
        tier = _tier(dialect, recent, terms)
        found = await _search_tier(tier, where, where_params, limit - len(rows), offset)
        rows += found
        if len(rows) == limit:
            break
        # the page goes on in the older tier, after as many of its matches as the offset still skips
        offset = 0 if found or not offset else max(0, offset - (await db.fetch_one(
            *_count(tier, where, where_params)))["n"])
    # a post moved between the tiers while the two were read shows once
    seen: set[int] = set()
    rows = [row for row in rows if not (row["post_id"] in seen or seen.add(row["post_id"]))]
    return [_hit(row, terms) for row in rows]


async def _search_tier(tier: _Tier, where: str, where_params: list, limit: int, offset: int) -> list[dict]:
    window = CANDIDATES * (offset + limit)
    rows = await db.fetch_all(*_statement(tier, where, where_params, limit, offset, window))
    if len(rows) < limit and (not rows or rows[0]["candidates"] >= window):
        # the filters used up the window, and more ranked matches lie beyond it
        rows = await db.fetch_all(*_statement(tier, where, where_params, limit, offset, None))
    return rows


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


def _matches(text: str, terms: list[Term], pattern: re.Pattern) -> list[tuple[int, int, str]]:
    """Where the terms match: as written (`pattern`), and, with stemming, one-word terms by their stem."""
    found = [(m.start(), m.end(), m.lastgroup) for m in islice(pattern.finditer(text), 500)]
    by_stem = {t.stems: f"t{n}" for n, t in enumerate(terms) if len(t.words) == 1} if STEMMING else {}
    if by_stem:
        taken = {start for start, _end, _group in found}
        found += [(m.start(), m.end(), by_stem[stem(m.group())]) for m in islice(_WORD.finditer(text), 5_000)
                  if m.start() not in taken and stem(m.group()) in by_stem]
        found = sorted(found)[:500]
    return found


def snippet(body: str, title: str, terms: list[Term]) -> str:
    """HTML: the part of the body with the most different terms (the title if only it matches), each match
    in <mark>, everything else escaped."""
    pattern = _pattern(terms)
    matches = _matches(body, terms, pattern)
    if not matches and title:
        in_title = _matches(title, terms, pattern)
        if in_title:
            return _marked(title, in_title, 0, len(title))
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
