"""Turns a post's Markdown into stored HTML, resolving @mentions and quotes against what the author can see."""

from __future__ import annotations

import html
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool

from forum import db, markup
from forum.errors import N_, ValidationFailed
from forum.models import Post, Profile
from forum.services.permissions import levels_for_role, readable_levels
from forum.services.usernames import username_key
from forum.viewer import Viewer

MAX_MENTIONS = 30
MAX_QUOTES = 20
MARKUP_MESSAGES = {
    "empty": N_("Write something first."),
    "too_long": N_("The post is too long: at most 50,000 characters."),
    "too_deep": N_("The post nests quotes or lists too deeply."),
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


async def cook_source(viewer: Viewer, source: str) -> Cooked:
    source = check_source(source)
    try:
        names = markup.find_mentions(source, include_quoted=False)[:MAX_MENTIONS]
        quote_ids = markup.find_quotes(source)[:MAX_QUOTES]
    except markup.MarkupError as exc:
        raise _invalid(exc) from None
    mentions: dict[str, str] = {}
    mentioned: list[int] = []
    if names:
        keys = {username_key(n): n for n in names}
        for profile in await Profile.filter(username_key__in=list(keys)):
            mentions[keys[profile.username_key].casefold()] = f"/u/{profile.username}"
            if profile.user_id != viewer.id:
                mentioned.append(profile.user_id)
    quotes: dict[int, markup.QuoteRef] = {}
    quoted: list[tuple[int, int | None]] = []
    if quote_ids:
        # what the topic page would show this writer: a live post in a live topic of a category they may read
        rows = await (Post.filter(id__in=quote_ids, deleted_at__isnull=True, hidden_at__isnull=True,
                                  topic__deleted_at__isnull=True,
                                  topic__category__read_access__in=readable_levels(viewer))
                      .values("id", "author_id", "author__profile__username"))
        for row in rows:
            name = row["author__profile__username"]
            quotes[row["id"]] = markup.QuoteRef(author=name, url=f"/p/{row['id']}")
            quoted.append((row["id"], row["author_id"]))
    try:
        # off the event loop: a pathological 50 KB post can take a second to render and sanitise
        html = await run_in_threadpool(markup.cook, source, mentions=mentions, quotes=quotes)
    except markup.MarkupError as exc:
        raise _invalid(exc) from None
    return Cooked(source, html, tuple(dict.fromkeys(mentioned)), tuple(quoted))


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
    names: dict[int, list[str]] = {}
    quote_ids: dict[int, list[int]] = {}
    for row in rows:
        try:
            names[row["id"]] = markup.find_mentions(row["source"], include_quoted=False)[:MAX_MENTIONS]
            quote_ids[row["id"]] = markup.find_quotes(row["source"])[:MAX_QUOTES]
        except markup.MarkupError:
            names[row["id"]], quote_ids[row["id"]] = [], []
    keys = {username_key(n) for found in names.values() for n in found}
    urls = {p["username_key"]: f"/u/{p['username']}" for p in await db.fetch_in(
        "SELECT username, username_key FROM profile WHERE username_key IN ({in})", sorted(keys), conn)}
    quoted = {q["id"]: q for q in await db.fetch_in(
        "SELECT p.id, pr.username, c.read_access FROM post p JOIN topic t ON t.id = p.topic_id "
        "JOIN category c ON c.id = t.category_id LEFT JOIN profile pr ON pr.user_id = p.author_id "
        "WHERE p.id IN ({in}) AND p.deleted_at IS NULL AND p.hidden_at IS NULL AND t.deleted_at IS NULL",
        sorted({q for found in quote_ids.values() for q in found}), conn)}
    roles = {a["id"]: a["role"] for a in await db.fetch_in(
        "SELECT id, role FROM account WHERE id IN ({in})",
        sorted({r["author_id"] for r in rows if r["author_id"] is not None}), conn)}
    jobs = []
    for row in rows:
        mentions = {n.casefold(): urls[username_key(n)] for n in names[row["id"]] if username_key(n) in urls}
        levels = levels_for_role(roles.get(row["author_id"]))
        quotes = {q: markup.QuoteRef(author=quoted[q]["username"], url=f"/p/{q}")
                  for q in quote_ids[row["id"]] if q in quoted and quoted[q]["read_access"] in levels}
        jobs.append((row["id"], row["source"], mentions, quotes))
    return Recook(tuple(jobs))


async def recook_many(rows: list[dict], conn) -> dict[int, str]:
    """Cooked HTML for many stored posts at once (see `resolve_recook`), with one trip to the thread pool."""
    if not rows:
        return {}
    return await run_in_threadpool((await resolve_recook(rows, conn)).cook)
