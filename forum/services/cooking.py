"""Turns a post's Markdown into stored HTML, resolving @mentions and quotes against what the author can see."""

from __future__ import annotations

import asyncio
import html
from dataclasses import dataclass

from forum import cook_pool, db, markup
from forum.errors import N_, ValidationFailed
from forum.permissions.levels import levels_for_role
from forum.permissions.roles import readable_levels
from forum.services.usernames import username_key
from forum.viewer import Viewer

MAX_MENTIONS = 30
MAX_QUOTES = 20
MARKUP_MESSAGES = {
    "empty": N_("Write something first."),
    "too_long": N_("The post is too long: at most 50,000 characters."),
    "too_deep": N_("The post nests quotes or lists too deeply."),
    "too_complex": N_("The post has too many lines, links or formatting marks to show. Shorten it or split it up."),
    "invalid_characters": N_("The post contains characters that are not allowed."),
}


@dataclass(frozen=True)
class Cooked:
    source: str
    html: str
    mentioned_user_ids: tuple[int, ...]
    quoted_posts: tuple[tuple[int, int | None], ...]  # (post id, its author id)


def _invalid(exc: markup.MarkupError) -> ValidationFailed:
    return ValidationFailed(fields={"body": MARKUP_MESSAGES.get(exc.code, MARKUP_MESSAGES["too_deep"])})


def check_source(source: str) -> str:
    try:
        return markup.validate_source(source if isinstance(source, str) else "")
    except markup.MarkupError as exc:
        raise _invalid(exc) from None


@dataclass(frozen=True)
class Wanted:
    """What one post's source names: mentions and quoted posts, and whose eyes resolve them."""

    names: list[str]
    quote_ids: list[int]
    author_id: int | None
    levels: list[str]  # what the author may read: a quote of a post they cannot see stays unattributed


@dataclass(frozen=True)
class Resolved:
    mentions: dict[str, str]                    # name as written, casefolded -> profile URL
    mentioned_user_ids: tuple[int, ...]         # without the author
    quotes: dict[int, markup.QuoteRef]
    quoted_posts: tuple[tuple[int, int | None], ...]


async def resolve_references(wanted: list[Wanted], conn=None) -> list[Resolved]:
    """The one resolver of mentions and quotes, for a new post as for many stored ones: two queries however
    many posts (a deleted or hidden post is never quoted with its author's name)."""
    keys = sorted({username_key(n) for w in wanted for n in w.names})
    profiles = {p["username_key"]: p for p in await db.fetch_in(
        "SELECT user_id, username, username_key FROM profile WHERE username_key IN ({in})", keys, conn)}
    quoted = {q["id"]: q for q in await db.fetch_in(
        "SELECT p.id, p.author_id, pr.username, c.read_access FROM post p JOIN topic t ON t.id = p.topic_id "
        "JOIN category c ON c.id = t.category_id LEFT JOIN profile pr ON pr.user_id = p.author_id "
        "WHERE p.id IN ({in}) AND p.deleted_at IS NULL AND p.hidden_at IS NULL AND t.deleted_at IS NULL",
        sorted({q for w in wanted for q in w.quote_ids}), conn)}
    out = []
    for w in wanted:
        mentions: dict[str, str] = {}
        mentioned: list[int] = []
        for name in w.names:
            profile = profiles.get(username_key(name))
            if profile is not None:
                mentions[name.casefold()] = f"/u/{profile['username']}"
                if profile["user_id"] != w.author_id:
                    mentioned.append(profile["user_id"])
        quotes: dict[int, markup.QuoteRef] = {}
        for q in dict.fromkeys(w.quote_ids):
            row = quoted.get(q)
            if row is not None and row["read_access"] in w.levels:
                quotes[q] = markup.QuoteRef(author=row["username"], url=f"/p/{q}")
        out.append(Resolved(mentions, tuple(dict.fromkeys(mentioned)), quotes,
                            tuple((q, quoted[q]["author_id"]) for q in quotes)))
    return out


def _wanted(source: str, author_id: int | None, levels: list[str]) -> Wanted:
    """Raises markup.MarkupError for a source too deep to parse."""
    return Wanted(markup.find_mentions(source, include_quoted=False)[:MAX_MENTIONS],
                  markup.find_quotes(source)[:MAX_QUOTES], author_id, levels)


async def cook_source(viewer: Viewer, source: str) -> Cooked:
    source = check_source(source)
    try:  # parsing a 50 KB post is not cheap either: in a worker process too, on the account's turn
        cheap = markup.is_cheap(source)
        names, quote_ids = (await cook_pool.run(markup.references, source, account=viewer.id, inline=cheap)
                            if markup.may_refer(source) else ([], []))
        wanted = Wanted(names[:MAX_MENTIONS], quote_ids[:MAX_QUOTES], viewer.id, readable_levels(viewer))
    except markup.MarkupError as exc:
        raise _invalid(exc) from None
    (found,) = await resolve_references([wanted])
    try:
        # in a worker process (forum/cook_pool.py), one job at a time per account, so no one stalls the others
        html = await cook_pool.run(markup.cook, source, account=viewer.id, inline=cheap, mentions=found.mentions,
                                   quotes=found.quotes)
    except markup.MarkupError as exc:
        raise _invalid(exc) from None
    return Cooked(source, html, found.mentioned_user_ids, found.quoted_posts)


@dataclass(frozen=True)
class Recook:
    """Stored posts to re-cook, their mentions and quotes already resolved: `cook` is CPU only, so it can run in
    a worker thread while the caller's connection goes on with other statements."""

    jobs: tuple[tuple[int, str, dict[str, str], dict[int, markup.QuoteRef]], ...]

    def cook(self) -> dict[int, str]:
        out = {}
        for post_id, source, mentions, quotes in self.jobs:
            try:
                out[post_id] = markup.cook(source, mentions=mentions, quotes=quotes)
            except markup.MarkupError:  # cooked once before; if a rewrite tipped it over a limit, keep it as text
                out[post_id] = "<p>" + html.escape(source) + "</p>"
        return out


async def resolve_recook(rows: list[dict], conn) -> Recook:
    """Resolves the mentions and quotes of many stored posts ({id, author_id, source} each) as each post's author
    may see them: for rewriting posts after someone's name changed or left. A fixed number of queries."""
    if not rows:
        return Recook(())
    roles = {a["id"]: a["role"] for a in await db.fetch_in(
        "SELECT id, role FROM account WHERE id IN ({in})",
        sorted({r["author_id"] for r in rows if r["author_id"] is not None}), conn)}
    wanted = []
    for row in rows:
        levels = levels_for_role(roles.get(row["author_id"]))
        try:
            wanted.append(_wanted(row["source"], row["author_id"], levels))
        except markup.MarkupError:
            wanted.append(Wanted([], [], row["author_id"], levels))
    found = await resolve_references(wanted, conn)
    return Recook(tuple((row["id"], row["source"], f.mentions, f.quotes) for row, f in zip(rows, found, strict=True)))


# a re-cook of more posts than this is spread over the cooking pool's processes (`cook_stored`)
SPREAD_AT = 200


async def cook_stored(recook: Recook) -> dict[int, str]:
    """`recook.cook()` in the cooking pool's processes (forum/cook_pool.py), else in a thread: either way the
    event loop and the connection go on meanwhile. A large re-cook (a withdrawal's 1,000 mentioning posts: 1.5 s
    in one process on a slow machine) is cut in one part per process, so it takes the pool's cores for a moment
    instead of one core for longer; one trip per process, because each trip waits for the app process's GIL,
    which the withdrawal's scan and classification hold meanwhile (chunks of 100 took twice as long)."""
    if not recook.jobs:
        return {}
    workers = cook_pool.processes()
    if workers < 2 or len(recook.jobs) <= SPREAD_AT:
        return await cook_pool.run(Recook.cook, recook)
    size = -(-len(recook.jobs) // workers)
    out: dict[int, str] = {}
    for part in await asyncio.gather(*(cook_pool.run(Recook.cook, Recook(recook.jobs[at:at + size]))
                                       for at in range(0, len(recook.jobs), size))):
        out.update(part)
    return out


async def recook_many(rows: list[dict], conn) -> dict[int, str]:
    """Cooked HTML for many stored posts at once (see `resolve_recook`), in few trips to the cooking pool."""
    if not rows:
        return {}
    return await cook_stored(await resolve_recook(rows, conn))
