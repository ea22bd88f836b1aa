"""Turns a post's Markdown into stored HTML, resolving @mentions and quotes against what the author can see."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool

from forum import markup
from forum.errors import N_, ValidationFailed
from forum.models import Post, Profile
from forum.services.permissions import readable_levels
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
        rows = await (Post.filter(id__in=quote_ids, deleted_at__isnull=True, hidden_at__isnull=True,
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
