"""How a person's name can be written, and finding it: the one matcher that the withdrawal uses for choosing
candidate rows, for matching and for rewriting, on SQLite and PostgreSQL alike.

A name is a sequence of words (letters and digits). It is found in a text when its words follow each other in
the text's *folded* form, whole words, apart by nothing or by anything that is not a letter or a digit (a space,
a no-break space, a line break, two spaces, a hyphen, Markdown link targets), optionally followed by a possessive
ending (-s, -'s, -'). Folding makes spellings of the same word equal:
- HTML entities are decoded (`&Oslash;` and `&#216;` are "Ø"), percent-encoded UTF-8 is decoded ("%C3%98");
- each character with its combining marks is put in compatibility form (NFKC: decomposed "å" is "å", "ﬁ" is "fi",
  a no-break space is a space) and case-folded ("ÆrLeNd" is "ærlend", "ß" is "ss");
- Markdown emphasis and code marks (`* _ ~ \\ `` ` ``) and invisible characters (soft hyphen, zero-width space and
  joiners) are ignored, so `**Ærlend** Østgård` and `Ær**lend**` are the same name.
URLs and e-mail addresses are folded too, so a handle inside `https://…/u/erlendob` or `erlendob@example.com` is
found; rewriting turns such a link into plain text rather than putting the replacement inside a URL.

Candidate selection (`sql_candidates`, and `sqlite_candidate_ids` for the revisions) is a superset of the matcher
by construction: a match means every word of the name is a contiguous run of the folded text, and the SQL side
folds the same way (NFKC, case, the ignored marks) except for entities and percent-encoding, whose rows are
always candidates. tests/test_names.py proves it with generated spellings on both databases.
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote

# ignored inside and around a name: Markdown emphasis and code marks, and characters that show nothing
IGNORED = "*_~`\\" + "\u00ad\u200b\u200c\u200d\u2060\ufeff"
_IGNORED_TABLE = {ord(c): None for c in IGNORED}
# the most non-word characters between two parts of a name ("Ærlend  Østgård", "Ærlend](/u/x) Østgård")
MAX_GAP = 12
POSSESSIVE = r"(?P<poss>['’]s|['’]|s)?"

_ENTITY = r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});"
_PERCENT = r"(?:%[0-9A-Fa-f]{2})+"
_LINK_TARGET = r"\]\([^)\s]*\)"
_SPECIAL = re.compile(rf"(?P<entity>{_ENTITY})|(?P<percent>{_PERCENT})|(?P<target>{_LINK_TARGET})"
                      r"|(?P<other>(?:[A-Za-z](?=[\u0300-\u036f]))?[^\x00-\x7f]+|[*_~`\\]+)")
_WORD = re.compile(r"[^\W_]+")
_CLUSTER = re.compile(r".[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]*", re.S)

# a Markdown link with its text, an autolink, a bare URL, an e-mail address
_URLISH = re.compile(
    r"\[(?P<text>[^\]\n]{0,300})\]\((?P<target>[^)\s]*)\)"
    r"|<(?P<auto>[A-Za-z][A-Za-z0-9+.-]{0,20}:[^<>\s]*)>"
    r"|(?P<bare>(?:[A-Za-z][A-Za-z0-9+.-]{0,20}://|www\.)[^\s<>()\[\]]+)"
    r"|(?P<email>[^\s<>()\[\]@,;:\"']+@[^\s<>()\[\]@,;:\"']+\.[^\s<>()\[\]@,;:\"']+)")


def _fold_piece(piece: str) -> str:
    """NFKC and case folding of a character with its combining marks; ignored characters vanish."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", piece).casefold()).translate(_IGNORED_TABLE)


@dataclass(frozen=True)
class Folded:
    """A text's folded form and, for each folded character, the span of the original it came from."""

    text: str
    starts: Sequence[int]
    ends: Sequence[int]

    def span(self, start: int, end: int) -> tuple[int, int]:
        return self.starts[start], self.ends[end - 1]


class _CharFold(dict):
    """str.translate's table: each character folded on first sight, then looked up (C speed)."""

    def __missing__(self, code: int) -> str:
        folded = _fold_piece(chr(code))
        self[code] = folded
        return folded


_CHAR_FOLD = _CharFold()
_NEEDS_SLOW_FOLD = re.compile(r"[&%\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]|\]\(")
_IGNORED_SET = frozenset(IGNORED)


def fold(text: str, *, link_targets: bool = True) -> Folded:
    """The text folded as described above. `link_targets=False` reads a Markdown link target `](…)` as a space,
    so the link's text and the words after it are one name."""
    if not _NEEDS_SLOW_FOLD.search(text):
        # no entity, %XX, link target, combining mark or ignored mark: character by character
        folded = text.translate(_CHAR_FOLD)
        if len(folded) == len(text):
            return Folded(folded, range(len(text)), range(1, len(text) + 1))
        kept = _kept_positions(text)
        if len(kept) == len(folded):  # only ignored marks left out, every other character one to one
            return Folded(folded, kept, [i + 1 for i in kept])
    return _fold_slowly(text, link_targets)


_IGNORED_RUN = re.compile("[" + re.escape(IGNORED) + "]+")


def _kept_positions(text: str) -> list[int]:
    """The positions of the characters that are not IGNORED, built from the runs between the (few) ignored
    ones: a list comprehension over every character was a sixth of a large withdrawal's Python time."""
    kept: list[int] = []
    at = 0
    for m in _IGNORED_RUN.finditer(text):
        kept.extend(range(at, m.start()))
        at = m.end()
    kept.extend(range(at, len(text)))
    return kept


def _fold_slowly(text: str, link_targets: bool) -> Folded:
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []

    def add(folded: str, start: int, end: int) -> None:
        out.append(folded)
        starts.extend([start] * len(folded))
        ends.extend([end] * len(folded))

    def plain(start: int, end: int) -> None:  # ASCII without special meaning: one to one
        if start < end:
            out.append(text[start:end].lower())
            starts.extend(range(start, end))
            ends.extend(range(start + 1, end + 1))

    at = 0
    for m in _SPECIAL.finditer(text):
        plain(at, m.start())
        at = m.end()
        kind = m.lastgroup
        if kind == "entity":
            add(_fold_text(html.unescape(m.group())), m.start(), m.end())
        elif kind == "percent":
            decoded = unquote(m.group(), errors="strict") if _utf8(m.group()) else None
            if decoded is None:
                plain(m.start(), m.end())
            else:
                add(_fold_text(decoded), m.start(), m.end())
        elif kind == "target":
            if link_targets:
                plain(m.start(), m.start() + 2)
                inner = fold(m.group()[2:-1])
                out.append(inner.text)
                starts.extend(s + m.start() + 2 for s in inner.starts)
                ends.extend(e + m.start() + 2 for e in inner.ends)
                plain(m.end() - 1, m.end())
            else:
                add(" ", m.start(), m.end())
        elif m.group()[0] in "*_~`\\":
            continue
        else:
            base = m.start()
            for c in _CLUSTER.finditer(m.group()):
                add(_fold_piece(c.group()), base + c.start(), base + c.end())
    plain(at, len(text))
    return Folded("".join(out), tuple(starts), tuple(ends))


def _fold_text(text: str) -> str:
    return "".join(_fold_piece(c.group()) for c in _CLUSTER.finditer(text))


def _utf8(encoded: str) -> bool:
    try:
        bytes(int(encoded[i + 1:i + 3], 16) for i in range(0, len(encoded), 3)).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def name_words(name: str) -> tuple[str, ...]:
    """The folded words of a name: "Ærlend Østgård-Bø" -> ("ærlend", "østgård", "bø"); an underscore in a handle
    parts words too ("ola_nordmann" is also "Ola Nordmann" and "olanordmann")."""
    return tuple(_WORD.findall(fold(name.replace("_", " ")).text))


@lru_cache(maxsize=256)
def _pattern(names: tuple[tuple[str, ...], ...], mention: bool = False) -> re.Pattern | None:
    alternatives = [rf"\W{{0,{MAX_GAP}}}".join(re.escape(w) for w in words)
                    for words in sorted(set(names), key=lambda ws: -sum(map(len, ws))) if words]
    if not alternatives:
        return None
    return re.compile(("@" if mention else r"(?<!\w)") + "(?:" + "|".join(alternatives) + ")" + POSSESSIVE + r"(?!\w)")


@dataclass(frozen=True)
class Match:
    start: int  # in the original text
    end: int
    possessive: str


class Matcher:
    """Finds any of a set of names in texts, however they are spelled (see the module's docstring)."""

    def __init__(self, names: list[str] | tuple[str, ...], *, mention: bool = False):
        """`mention`: only "@name" (a handle's mention), not the bare name."""
        self.names = tuple(sorted({n for n in names if name_words(n)}, key=len, reverse=True))
        self.words = tuple(name_words(n) for n in self.names)
        self.pattern = _pattern(self.words, mention)
        self._joined = "\x1f".join(sorted({max(words, key=len) for words in self.words}))

    def may_find(self, text: str) -> bool:
        """The quick test (`sql_fold_contains`): False means the text surely holds no name."""
        return bool(self.pattern and text and sql_fold_contains(text, self._joined))

    def __bool__(self) -> bool:
        return self.pattern is not None

    def _in(self, text: str, link_targets: bool) -> list[Match]:
        folded = fold(text, link_targets=link_targets)
        found = []
        for m in self.pattern.finditer(folded.text):
            start, end = folded.span(m.start(), m.end())
            found.append(Match(start, end, text[folded.starts[m.start("poss")]:end] if m.group("poss") else ""))
        return found

    def finds(self, text: str) -> bool:
        """True when any name is written in `text`, in the text or inside a link target, URL or address."""
        if not self.may_find(text):
            return False
        return bool(self._in(text, True) or self._in(text, False))

    def count(self, text: str) -> int:
        return len(self._in(text, False)) if self.pattern and text else 0

    def matches(self, text: str) -> list[Match]:
        """Every occurrence in the text itself (not inside link targets), in order."""
        return self._in(text, False) if self.pattern and text else []

    def replace(self, text: str, match: Match, replacement: str) -> str:
        """`text` with this one occurrence replaced, as `rewrite` replaces each."""
        start, end = _with_markup(text, match.start, match.end - len(match.possessive))
        return text[:start] + replacement + match.possessive + text[max(end, match.end):]

    def rewrite(self, text: str, replacement: str) -> str:
        """`text` with every occurrence replaced by `replacement` (a possessive ending kept as written). A URL or
        e-mail address holding a name is not rewritten inside: a Markdown link keeps its text as plain text, a
        bare URL or address becomes the replacement, so no broken link is left."""
        if not self.may_find(text):
            return text
        text = self._unlink(text, replacement)
        out, at = [], 0
        for m in self._in(text, False):
            if m.start < at:
                continue
            start, end = _with_markup(text, m.start, m.end - len(m.possessive))
            start -= start > at and text[start - 1] == "@"  # "@erlendob" goes whole
            out += [text[at:start], replacement, m.possessive]
            at = max(end, m.end)
        out.append(text[at:])
        return "".join(out)

    def _unlink(self, text: str, replacement: str) -> str:
        def one(m: re.Match) -> str:
            kind = "target" if m.group("target") is not None else m.lastgroup
            if not self._in(m.group(kind), True):
                return m.group()
            return m.group("text") if kind == "target" else replacement

        return _URLISH.sub(one, text) if _may_hold_url(text) else text


def _may_hold_url(text: str) -> bool:
    """False when `_URLISH` surely finds nothing: each of its forms needs one of these (a Markdown link "](", an
    autolink "<", a bare URL "://" or "www.", an address "@"). Nearly every text has a "." or a "/"."""
    return "](" in text or "<" in text or "://" in text or "www." in text or "@" in text


def _with_markup(text: str, start: int, end: int) -> tuple[int, int]:
    """The span widened over emphasis marks opened before it and closed inside it (`**Ærlend** Østgård`), or
    opened inside it and closed after it, so that no lone `**` is left beside the replacement."""
    inside = text[start:end]
    before = len(text[:start]) - len(text[:start].rstrip("*_~"))
    if before and text[start - before:start] in inside:
        start -= before
    after = len(text[end:]) - len(text[end:].lstrip("*_~"))
    if after and text[end:end + after] in inside:
        end += after
    return start, end


# -- candidate selection in SQL ----------------------------------------------------------------------------
#
# SQLite has no Unicode folding, and a Python function called on every row costs ten times a LIKE. So the
# selection splits the rows in two, and both halves are complete:
# - a *plain* text (no entity, no %XX, no ignored mark between two letters, NFKC already, no letter whose case
#   folding differs from lower-casing) folds to its lower-case form letter by letter, so an ASCII run of the
#   name's folded words is in it, ASCII case aside, exactly when it is in the folded text: LIKE finds it;
# - an *exotic* text (`is_exotic`) goes to the Python function `forum_names_in`, which folds it.
# post_revision, the one large table, keeps which of its rows are exotic (`exotic_revision`, filled by
# `classify_revisions`), so the function only ever sees those.

_JOINING = re.compile(r"[^\W_][" + re.escape(IGNORED) + r"]+[^\W_]")
_ENCODED = re.compile(r"%[0-9A-Fa-f]{2}|&#?[A-Za-z0-9]+;")
_CASEFOLD_SPECIAL = re.compile("[" + re.escape("".join(
    sorted({c for c in map(chr, range(0x80, 0x30000)) if c.casefold() != c.lower()}))) + "]")
_ASCII_RUN = re.compile(r"[a-z0-9]+")
MAX_CASE_VARIANTS = 16


def _joins_words(text: str) -> bool:
    """Whether a run of ignored marks stands between two letters or digits (`Ær**lend`, `mva_kode`): the same
    as `_JOINING.search`, faster for Markdown's many `**` beside spaces."""
    for c in IGNORED:
        at = text.find(c)
        while at != -1:
            end = at + 1
            while end < len(text) and text[end] in _IGNORED_SET:
                end += 1
            if at > 0 and text[at - 1].isalnum() and end < len(text) and text[end].isalnum():
                return True
            at = text.find(c, end)
    return False


def is_exotic(text: str | None) -> bool:
    """Whether folding could make a name appear in `text` that its lower-case form does not show (see above)."""
    if not text:
        return False
    if ("%" in text or "&" in text) and _ENCODED.search(text):
        return True
    if _joins_words(text):
        return True
    if text.isascii():
        return False
    return not unicodedata.is_normalized("NFKC", text) or _CASEFOLD_SPECIAL.search(text) is not None


# the ASCII marks among IGNORED, and the SQL that takes them out of a column (SQLite's replace, at C speed)
ASCII_MARKS = "*_~`\\"
_ASCII_MARKS_TABLE = {ord(c): None for c in ASCII_MARKS}
PLAIN, MARKS_ONLY, FOLD = 0, 1, 2


def exotic_kind(text: str | None) -> int:
    """PLAIN (not exotic); MARKS_ONLY: exotic only because ASCII marks stand inside words (`mva_kode`), and plain
    once they are taken out, so LIKE over `sql_without_marks` finds every name in it; FOLD: only the Python
    function can tell. (Taking the marks out changes the text exactly as folding does: they are IGNORED.)"""
    if not is_exotic(text):
        return PLAIN
    stripped = text.translate(_ASCII_MARKS_TABLE)
    return MARKS_ONLY if stripped != text and not is_exotic(stripped) else FOLD


def sql_without_marks(column: str) -> str:
    sql = column
    for mark in ASCII_MARKS:
        sql = f"replace({sql}, '{mark}', '')"
    return sql


def needles(matcher: Matcher) -> list[str]:
    """One word per name that every match of it contains as a run of the folded text: its longest word."""
    return sorted({max(words, key=len) for words in matcher.words})


def like_patterns(matcher: Matcher) -> list[str] | None:
    """LIKE patterns that find every name in a plain text: per name, the longest ASCII run of its folded words
    (LIKE ignores ASCII case), or the case variants of a word without one. None when a name has neither."""
    patterns = set()
    for words in matcher.words:
        runs = [r for w in words for r in _ASCII_RUN.findall(w)]
        best = max(runs, key=len, default="")
        if len(best) >= 2:
            patterns.add(f"%{best}%")
            continue
        word = max(words, key=len)
        variants = [""]
        for c in word:
            options = {c, c.upper()} if not c.isascii() else {c}
            variants = [v + o for v in variants for o in sorted(options)]
        if len(variants) > MAX_CASE_VARIANTS:
            return None
        patterns.update(f"%{v}%" for v in variants)
    return sorted(patterns)


def sql_fold_contains(text: str | None, joined: str) -> int:
    """The SQLite function `forum_names_in(text, needles)`: 1 when the folded text holds one of the needles
    (joined by U+001F), or when it has an entity or percent-encoding that folding would decode."""
    if not text:
        return 0
    wanted = _split(joined)
    if text.isascii():
        lowered = text.lower()
    else:  # the whole text at once (C speed); the same as folding cluster by cluster
        lowered = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    for n in wanted:
        if n in lowered:
            return 1
    if "%" in text or ("&" in text and ";" in text):
        return 1
    stripped = lowered
    for c in IGNORED:
        if c in stripped:
            stripped = stripped.replace(c, "")
    return int(stripped is not lowered and any(n in stripped for n in wanted))


@lru_cache(maxsize=64)
def _split(joined: str) -> tuple[str, ...]:
    return tuple(joined.split("\x1f"))


SQLITE_FUNCTION = "forum_names_in"
SQLITE_EXOTIC = "forum_text_exotic"
# PostgreSQL folds in SQL: NFKC, lower() (Unicode-aware under a UTF-8 locale; "ß" made "ss" as casefold does),
# the ignored characters removed
_PG_FOLD = ("translate(replace(lower(normalize({col}, NFKC)), 'ß', 'ss'), "
            "'*_~`\\' || chr(173) || chr(8203) || chr(8204) || chr(8205) || chr(8288) || chr(65279), '')")


def sqlite_functions() -> dict:
    """`forum_names_in(text, needles)` and `forum_text_exotic(text)` (its `exotic_kind`): name -> (arguments,
    function)."""
    return {SQLITE_FUNCTION: (2, sql_fold_contains), SQLITE_EXOTIC: (1, exotic_kind)}


async def register_sqlite_function(conn) -> None:
    """Makes the `sqlite_functions` callable on this SQLite connection."""
    for name, (arguments, function) in sqlite_functions().items():
        await conn._connection.create_function(name, arguments, function, deterministic=True)


def sql_candidates(dialect: str, column: str, matcher: Matcher, *, exotic: str | None = None) -> tuple[str, list]:
    """A WHERE clause (and its parameters) true for every row whose `column` the matcher can find a name in.
    SQLite: `exotic` is SQL true for every row that may be exotic, for a table that keeps the list of them (the
    Python function tests those); otherwise each row not found by LIKE is tested with `forum_text_exotic`. The
    largest table's list, with each row's `exotic_kind`, is used by `sqlite_candidate_ids`."""
    wanted = needles(matcher)
    if not wanted:
        return "1 = 0", []
    if dialect == "sqlite":
        joined = "\x1f".join(wanted)
        patterns = like_patterns(matcher)
        if patterns is None:
            return f"{SQLITE_FUNCTION}({column}, ?) = 1", [joined]
        likes = " OR ".join(f"{column} LIKE ?" for _ in patterns)
        if exotic is None:
            return (f"({likes} OR ({SQLITE_EXOTIC}({column}) > {PLAIN} AND {SQLITE_FUNCTION}({column}, ?) = 1))",
                    [*patterns, joined])
        return f"({likes} OR ({exotic} AND {SQLITE_FUNCTION}({column}, ?) = 1))", [*patterns, joined]
    # needles are letters and digits only, so they need no LIKE escaping
    return (f"({column} IS NOT NULL AND ({_PG_FOLD.format(col=column)} LIKE ANY (?::text[]) "
            f"OR strpos({column}, '%') > 0 OR (strpos({column}, '&') > 0 AND strpos({column}, ';') > 0)))"
            ), [[f"%{n}%" for n in wanted]]


def sqlite_candidate_ids(table: str, key: str, column: str, matcher: Matcher, *, marks_only: str,
                         exotic: str) -> tuple[str, list]:
    """SQLite, for a table that keeps the list of its exotic rows with their `exotic_kind`: a SELECT (and its
    parameters) of the `key` of every row whose `column` the matcher can find a name in. `marks_only` selects the
    keys of the rows listed MARKS_ONLY (LIKE without the marks tests them), `exotic` those of every other row that
    may be exotic (the Python function tests them). `table` may name an alias that `key` and `column` use.

    A UNION ALL of three arms rather than one WHERE: the one pass over the whole table runs LIKE alone, and the
    listed rows are reached by key. Tested row by row, the two lists cost more than LIKE itself (1,000,000
    revisions: 1.2-1.5 s as one WHERE, 1.0-1.1 s as arms). Keys may come twice; the caller asks `IN (...)`."""
    wanted = needles(matcher)
    if not wanted:
        return f"SELECT {key} FROM {table} WHERE 1 = 0", []
    joined = "\x1f".join(wanted)
    patterns = like_patterns(matcher)
    if patterns is None:
        return f"SELECT {key} FROM {table} WHERE {SQLITE_FUNCTION}({column}, ?) = 1", [joined]
    likes = " OR ".join(f"{column} LIKE ?" for _ in patterns)
    unmarked = " OR ".join(f"{sql_without_marks(column)} LIKE ?" for _ in patterns)
    return (f"SELECT {key} FROM {table} WHERE {likes} "
            f"UNION ALL SELECT {key} FROM {table} WHERE {key} IN ({marks_only}) AND ({unmarked}) "
            f"UNION ALL SELECT {key} FROM {table} WHERE {key} IN ({exotic}) AND {SQLITE_FUNCTION}({column}, ?) = 1",
            [*patterns, *patterns, joined])


# the start of the statement that lists exotic revisions with their kind (classify_revisions, bench/seed.py)
CLASSIFY = (f"INSERT OR IGNORE INTO exotic_revision (revision_id, marks_only) SELECT id, kind = {MARKS_ONLY} "
            f"FROM (SELECT id, {SQLITE_EXOTIC}(source) AS kind FROM post_revision")


async def classify_revisions(conn, *, going: list[int] = ()) -> int:
    """SQLite: records which revisions written since the last call are exotic (`exotic_revision`), so candidate
    selection needs the Python function for those only. Revisions are written once (only a withdrawal rewrites
    one, with plain text); returns how many were looked at. Called by the withdrawal and by `forum purge`.
    `going`: posts whose revisions the caller deletes in this transaction (a withdrawing member's own), not
    worth the Python function."""
    from forum import db

    start = (await db.fetch_one("SELECT checked_through FROM name_scan WHERE id = 1", [], conn))["checked_through"]
    last = (await db.fetch_one("SELECT coalesce(max(id), 0) AS n FROM post_revision", [], conn))["n"]
    if last <= start:
        return 0
    skip = " AND post_id NOT IN (SELECT value FROM json_each(?))" if going else ""
    await db.execute(CLASSIFY + f" WHERE id > ? AND id <= ?{skip}) WHERE kind > 0",
                     [start, last] + ([json.dumps(list(going))] if going else []), conn)
    await db.execute("UPDATE name_scan SET checked_through = ? WHERE id = 1", [last], conn)
    return last - start
