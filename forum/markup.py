"""Post Markdown -> stored ("cooked") HTML. Pure functions: no database, no I/O.

Posts are cooked once when saved and the sanitised HTML is stored, so reading a topic never renders
Markdown. All sanitising goes through :func:`sanitize`, so the sanitiser (bleach, now unmaintained)
can be swapped in one place.
"""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import bleach
from bleach.html5lib_shim import Filter, getTreeWalker
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.rules_block import StateBlock
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

MAX_SOURCE_CHARS = 50_000
MAX_NESTING = 20
LINK_REL = "nofollow ugc noopener"
# markdown-it silently drops content nested deeper than maxNesting; keep it above anything we accept
# (a list level costs two token levels) so that we, not the parser, decide what is too deep.
_PARSER_NESTING = 2 * MAX_NESTING + 4


class MarkupError(ValueError):
    """Source we refuse to cook; ``code`` is a stable key the caller turns into a translated message."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True, slots=True)
class QuoteRef:
    """What this reader may see of a quoted post; ``None`` fields are left out of the attribution."""

    author: str | None = None
    url: str | None = None


_INVALID_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
# 3-32 letters/digits/_/-/., not ending in a dot, and not after a word char, "@" or "/": so e-mail
# addresses and URL paths are not mentions.
_MENTION = re.compile(r"(?<![\w.+@/=-])@([\w.-]{2,31}[\w-])(?![\w-]|\.[\w-]|@)")
_QUOTE_OPEN = re.compile(r"\[quote\s+post=([0-9]{1,12})\s*\]", re.IGNORECASE)
_QUOTE_CLOSE = re.compile(r"\[/quote\]", re.IGNORECASE)
_BRACKET = re.compile(r"(?<!\\)[\[\]]")
_CONTAINERS = {"blockquote_open": 1, "bullet_list_open": 1, "ordered_list_open": 1, "quote_open": 1}
_CONTAINERS |= {name.replace("_open", "_close"): -1 for name in _CONTAINERS}


def validate_source(source: str) -> str:
    """Normalise line endings and trailing space, and refuse what must never be stored."""
    source = source.replace("\r\n", "\n").replace("\r", "\n").rstrip()
    if not source:
        raise MarkupError("empty")
    if len(source) > MAX_SOURCE_CHARS:
        raise MarkupError("too_long")
    if _INVALID_CHARS.search(source):  # NUL, other C0 controls, lone surrogates (unencodable)
        raise MarkupError("invalid_characters")
    return source


# --- markdown-it extensions -------------------------------------------------------------------


def _quote_marker(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    """A line that is only ``[quote post=N]`` or ``[/quote]``. Markers are flat tokens paired later in
    one linear pass, so a pile of unbalanced markers cannot make parsing quadratic or recursive."""
    pos = state.bMarks[start] + state.tShift[start]
    if state.sCount[start] - state.blkIndent >= 4 or state.src[pos : pos + 1] != "[":
        return False
    text = state.src[pos : state.eMarks[start]].rstrip()
    opening = _QUOTE_OPEN.fullmatch(text)
    if not opening and not _QUOTE_CLOSE.fullmatch(text):
        return False
    if not silent:
        token = state.push("quote_marker", "", 0)
        token.map, token.content = [start, start + 1], text
        token.meta = {"post": int(opening[1]) if opening else None}
        state.line = start + 1
    return True


def _pair_quotes(tokens: Sequence[Token]) -> None:
    """Turn open/close markers that match within the same container into quote_open/quote_close."""
    frames: list[list[Token]] = [[]]
    for token in tokens:
        if token.nesting == 1:
            frames.append([])
        elif token.nesting == -1 and len(frames) > 1:
            frames.pop()
        elif token.type == "quote_marker":
            if token.meta["post"] is not None:
                frames[-1].append(token)
            elif frames[-1]:
                opener = frames[-1].pop()
                opener.type, opener.nesting = "quote_open", 1
                token.type, token.nesting, token.meta = "quote_close", -1, dict(opener.meta)


def _check_brackets(text: str) -> None:
    depth = 0
    for match in _BRACKET.finditer(text):
        if match[0] == "]":
            depth = max(depth - 1, 0)
        elif (depth := depth + 1) > MAX_NESTING:  # link parsing is quadratic in nested brackets
            raise MarkupError("too_deep")


def _structure_rule(state: StateCore) -> None:
    """Runs after block parsing, before the costly inline pass, so deep nesting is refused early."""
    _pair_quotes(state.tokens)
    depth = 0
    for token in state.tokens:
        depth += _CONTAINERS.get(token.type, 0)
        if depth > MAX_NESTING or token.level >= _PARSER_NESTING - 1:
            raise MarkupError("too_deep")
        if token.type == "inline" and "[" in token.content:
            _check_brackets(token.content)
        elif token.type in ("th_open", "td_open") and token.attrs:
            # markdown-it writes style="text-align:x"; style is never allowed, align is.
            style = str(token.attrs.pop("style", ""))
            if style.startswith("text-align:"):
                token.attrs["align"] = style.removeprefix("text-align:")


def _mention_rule(state: StateCore) -> None:
    """Find (and when cooking, link) @mentions in text tokens only: never in code, links or e-mails."""
    known: Mapping[str, str] | None = state.env.get("mentions")
    found: list[tuple[str, bool]] | None = state.env.get("found")
    quote_depth = 0
    for block in state.tokens:
        if block.type in ("quote_open", "quote_close"):
            quote_depth += block.nesting
        if block.type != "inline" or not block.children:
            continue
        children: list[Token] = []
        link_depth = 0
        for child in block.children:
            if child.type in ("link_open", "link_close"):
                link_depth += child.nesting
            elif child.type == "image" and link_depth:
                child.meta["in_link"] = True
            elif child.type == "text" and not link_depth and "@" in child.content:
                children += _split_mentions(child, known, found, quote_depth > 0)
                continue
            children.append(child)
        block.children = children


def _split_mentions(
    token: Token, known: Mapping[str, str] | None, found: list[tuple[str, bool]] | None, quoted: bool
) -> list[Token]:
    out: list[Token] = []
    text, last, level = token.content, 0, token.level
    for match in _MENTION.finditer(text):
        if found is not None:
            found.append((match[1], quoted))
        url = known.get(match[1].casefold()) if known else None
        if not url:
            continue
        if match.start() > last:
            out.append(Token("text", "", 0, content=text[last : match.start()], level=level))
        out += [
            Token("link_open", "a", 1, attrs={"class": "mention", "href": url}, level=level),
            Token("text", "", 0, content=match[0], level=level + 1),
            Token("link_close", "a", -1, level=level),
        ]
        last = match.end()
    if not last:
        return [token]
    if last < len(text):
        out.append(Token("text", "", 0, content=text[last:], level=level))
    return out


def _render_quote(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: dict) -> str:
    """A quote of a post this reader cannot see (or that is gone) gets no attribution and no link."""
    token = tokens[idx]
    if token.type == "quote_marker":  # unpaired: show it as written
        return f"<p>{escapeHtml(token.content)}</p>\n"
    post = token.meta["post"]
    ref: QuoteRef | None = (env.get("quotes") or {}).get(post)
    if token.nesting == -1:
        return "</blockquote>\n" if ref is None else "</blockquote></aside>\n"
    if ref is None:
        return "<blockquote>\n"
    title = ""
    if ref.author is not None:
        name = escapeHtml(ref.author)
        if ref.url:
            name = f'<a href="{escapeHtml(ref.url)}">{name}</a>'
        title = f'<div class="quote-title">{name}:</div>'
    return f'<aside class="quote" data-post="{post}">{title}<blockquote>\n'


def _render_image(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: dict) -> str:
    """Images become links: there are no uploads, and hotlinked images leak every reader's IP."""
    token = tokens[idx]
    alt = escapeHtml(self.renderInlineAsText(token.children or [], options, env))
    src = str(token.attrGet("src") or "")
    if not src or token.meta.get("in_link"):
        return alt
    return f'<a href="{escapeHtml(src)}">{alt or escapeHtml(src)}</a>'


def _build_markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": True, "maxNesting": _PARSER_NESTING})
    md.enable(["linkify", "strikethrough", "table"])
    interrupts = {"alt": ["paragraph", "reference", "blockquote", "list"]}
    md.block.ruler.before("fence", "quote_marker", _quote_marker, interrupts)
    md.core.ruler.after("block", "forum_structure", _structure_rule)
    md.core.ruler.push("forum_mentions", _mention_rule)
    for name in ("quote_open", "quote_close", "quote_marker"):
        md.add_render_rule(name, _render_quote)
    md.add_render_rule("image", _render_image)
    return md


# --- sanitiser ---------------------------------------------------------------------------------

ALLOWED_TAGS = frozenset(
    "p br hr h1 h2 h3 h4 h5 h6 strong em s del code pre blockquote ul ol li a "
    "table thead tbody tr th td aside div span".split()
)
_ALLOWED_ATTRIBUTES = {  # <a rel> is set by _LinkRel, whatever came in
    "a": {"href", "title", "class"}, "aside": {"class", "data-post"}, "div": {"class"},
    "th": {"align"}, "td": {"align"}, "ol": {"start"}, "code": {"class"},
}  # fmt: skip
_FIXED_CLASS = {"a": "mention", "aside": "quote", "div": "quote-title"}
_LANGUAGE_CLASS = re.compile(r"language-[\w+#.-]{1,40}")
_NUMBER = re.compile(r"[0-9]{1,12}")
_SAFE_HREF = re.compile(r"/|https?:|mailto:", re.IGNORECASE)
_URL_IGNORED = re.compile(r"[\x00-\x20\x7f]+")  # what browsers strip or skip inside a URL


def _allow_attribute(tag: str, name: str, value: str) -> bool:
    if name not in _ALLOWED_ATTRIBUTES.get(tag, ()):
        return False
    if name == "href":  # bleach checks the protocol too; this also refuses scheme-less relative links
        return bool(_SAFE_HREF.match(_URL_IGNORED.sub("", value)))
    if name == "class":
        return value == _FIXED_CLASS.get(tag) or (tag == "code" and bool(_LANGUAGE_CLASS.fullmatch(value)))
    if name == "align":
        return value in ("left", "center", "right")
    if name in ("start", "data-post"):
        return bool(_NUMBER.fullmatch(value))
    return True


class _LinkRel(Filter):  # type: ignore[misc]
    """Every link in a post is user content: say so to search engines and to the target."""

    def __iter__(self):  # type: ignore[no-untyped-def]
        for token in super().__iter__():
            if token["type"] == "StartTag" and token["name"] == "a":
                token["data"][(None, "rel")] = LINK_REL
            yield token


class _LinearTreeWalker(getTreeWalker("etree")):  # type: ignore[misc]
    """html5lib's etree walker calls list.index() on every way up, which is quadratic in the number of
    siblings (a 12,000-row table took 5 s to sanitise). Index each parent's children once instead."""

    def __init__(self, tree: Any) -> None:
        super().__init__(tree)
        self._positions: dict[int, dict[int, int]] = {}

    def getParentNode(self, node: Any) -> Any:  # noqa: N802 (html5lib's name)
        if not isinstance(node, tuple) or node[3] == "text":
            return super().getParentNode(node)
        parents = node[2]
        parent = parents.pop()
        if not parents:
            return parent
        grandparent = parents[-1]
        positions = self._positions.get(id(grandparent))
        if positions is None:
            positions = self._positions[id(grandparent)] = {id(c): i for i, c in enumerate(grandparent)}
        return parent, positions[id(parent)], parents, None


# Built once: both are costly to build. Neither is thread-safe (html5lib and linkify-it keep parse
# state on the instance); the lock lets callers cook in a worker thread to keep the event loop free.
_MD = _build_markdown()
_CLEANER = bleach.Cleaner(
    tags=ALLOWED_TAGS,
    attributes=_allow_attribute,
    protocols=frozenset({"http", "https", "mailto"}),
    strip=True,
    strip_comments=True,
    filters=[_LinkRel],
)
_CLEANER.walker = _LinearTreeWalker
_LOCK = threading.RLock()


def sanitize(html_text: str) -> str:
    """The single sanitiser entry point: everything stored as post HTML passes through here."""
    with _LOCK:
        return _CLEANER.clean(html_text)


# --- public API --------------------------------------------------------------------------------


def _parse(source: str, env: dict[str, Any]) -> list[Token]:
    with _LOCK:
        return _MD.parse(source, env)


def find_mentions(source: str, *, include_quoted: bool = True) -> list[str]:
    """Handles mentioned in ``source``, first spelling wins: for notifications and for cook()'s
    ``mentions``. ``include_quoted=False`` skips quote blocks, so quoting a post does not notify
    everyone it mentioned again. Raises MarkupError("too_deep") where cook() would."""
    if "@" not in source:
        return []
    found: list[tuple[str, bool]] = []
    _parse(source, {"found": found})
    seen: dict[str, str] = {}
    for handle, quoted in found:
        if include_quoted or not quoted:
            seen.setdefault(handle.casefold(), handle)
    return list(seen.values())


def find_quotes(source: str) -> list[int]:
    """Ids of quoted posts (nested ones too), in order, once each: cook() wants a QuoteRef for each."""
    if not _QUOTE_OPEN.search(source):  # most posts quote nothing: skip the parse
        return []
    return list(dict.fromkeys(t.meta["post"] for t in _parse(source, {}) if t.type == "quote_open"))


_OFF_SITE = re.compile(r"[a-z][a-z0-9+.-]*:|[/\\]{2}", re.IGNORECASE)  # a scheme, or protocol-relative


def count_links(source: str) -> int:
    """Links in ``source`` that lead off the site, counted from the token stream cook() renders, so each counts
    by what it is, however it was written: inline or reference-style, absolute, protocol-relative (``//host``),
    autolinked (``<https://…>``, a bare ``www.…``) and images (they render as links). Same-site paths, @mentions
    and quote attributions do not count; code does not link. Raises MarkupError("too_deep") where cook() would."""
    count = 0
    for block in _parse(validate_source(source), {}):
        for token in block.children or ():
            if token.type == "link_open":
                href = str(token.attrGet("href") or "")
            elif token.type == "image":
                href = str(token.attrGet("src") or "")
            else:
                continue
            if _OFF_SITE.match(_URL_IGNORED.sub("", href)):
                count += 1
    return count


def cook(
    source: str,
    *,
    mentions: Mapping[str, str] | None = None,
    quotes: Mapping[int, QuoteRef] | None = None,
) -> str:
    """Render post source to sanitised HTML for storage. Raises MarkupError.

    ``mentions``: casefolded handle -> profile URL; other handles stay plain text. ``quotes``: post id
    -> QuoteRef; other ids render as an unattributed blockquote."""
    source = validate_source(source)
    env = {"mentions": mentions or {}, "quotes": quotes or {}}
    tokens = _parse(source, env)
    with _LOCK:
        rendered = _MD.renderer.render(tokens, _MD.options, env)
    return sanitize(rendered)


_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)(?:[^>\"']|\"[^\"]*\"|'[^']*')*>")
_INLINE_TAGS = frozenset({"a", "strong", "em", "s", "del", "code", "span"})


def plain_text(cooked_html: str) -> str:
    """Text of cooked HTML for search and excerpts. Returns text, not HTML: escape it on output.
    A regex suffices (and beats a parser) because cooked HTML is our own serialised output."""
    text = _TAG.sub(lambda m: "" if m[2].lower() in _INLINE_TAGS else " ", cooked_html)
    return " ".join(html.unescape(text).split())


_PEOPLE = re.compile(r'<a [^>]*class="mention"[^>]*>.*?</a>|<div class="quote-title">.*?</div>', re.DOTALL)


def searchable_text(cooked_html: str) -> str:
    """Plain text for the search index, without @mention links and quote attributions: those name people,
    not content (the author filter finds people), and keeping names out of the full-text index means a
    withdrawal does not have to rewrite the index for every post that ever mentioned the person."""
    return plain_text(_PEOPLE.sub(" ", cooked_html))


def excerpt(cooked_html: str, length: int = 200) -> str:
    """At most ``length`` characters of plain text, cut at a word boundary, with an ellipsis if cut."""
    text = plain_text(cooked_html)
    if len(text) <= length:
        return text
    cut = text[: length - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut).rstrip(" .,;:-") + "…"


def replace_handle(source: str, old: str, new: str) -> str:
    """Replace ``old`` as a whole word (so also ``@old``), ignoring case: for when a user's name must
    disappear from everyone's posts. Whole word: not next to a letter, digit or underscore."""
    if not old:
        return source
    pattern = re.compile(rf"(?<!\w){re.escape(old)}(?!\w)", re.IGNORECASE)
    return pattern.sub(lambda _m: new, source)
