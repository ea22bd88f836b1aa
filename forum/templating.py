"""The Jinja environment: autoescaping, i18n through the per-request locale, a few filters."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import jinja2
from babel import Locale
from babel.dates import (
    format_datetime,
    format_timedelta,
    get_date_format,
    get_datetime_format,
    get_time_format,
    parse_pattern,
)
from babel.numbers import format_decimal
from markupsafe import Markup
from starlette.templating import Jinja2Templates

from forum import hooks, i18n
from forum.services.unread_notifications import UNREAD_CAP
from forum.web.assets import asset
from forum.web.post_cards import post_card

TEMPLATE_DIR = Path(__file__).parent / "templates"


@cache
def _datetime_patterns(fmt: str, locale: str):
    """Babel's `format_datetime` looks up and parses its patterns on every call (about 5x the cost of applying
    them, 20 times a topic page); the same steps, with the parsed patterns kept per format and locale."""
    if fmt not in ("medium", "short"):  # the long forms name the time zone, which needs babel's own steps
        return None
    loc = Locale.parse(locale)
    return (loc, get_datetime_format(fmt, locale=loc).replace("'", ""),
            parse_pattern(get_time_format(fmt, locale=loc)), parse_pattern(get_date_format(fmt, locale=loc)))


def _datetime(value: datetime | None, fmt: str = "medium") -> str:
    if value is None:
        return ""
    locale = i18n.get_locale()
    patterns = _datetime_patterns(fmt, locale)
    if patterns is None:
        return format_datetime(value, fmt, tzinfo=UTC, locale=locale)
    loc, combined, time_pattern, date_pattern = patterns
    value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return combined.replace("{0}", time_pattern.apply(value, loc, reference_date=value.date())).replace(
        "{1}", date_pattern.apply(value, loc))


def _ago(value: datetime | None) -> str:
    if value is None:
        return ""
    delta = value - datetime.now(UTC)
    return format_timedelta(delta, add_direction=True, locale=i18n.get_locale())


def _number(value: int) -> str:
    return format_decimal(value, locale=i18n.get_locale())


def _unread_badge(count: int) -> str:
    """The header's unread count, which is counted only up to UNREAD_CAP: "99+" beyond."""
    return _number(count) if count < UNREAD_CAP else _number(UNREAD_CAP - 1) + "+"


def _iso(value: datetime | None) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds") if value else ""


def N_(message: str) -> str:  # noqa: N802 - marks a message for extraction; translated when used
    return message


# The strings forum.js shows, for the page's `<script id="forum-strings">`. They depend on the locale alone, so
# their JSON is made once per locale rather than with twenty translation calls on every page rendered.
CLIENT_STRINGS = {
    "preview": N_("Preview"), "preview_hide": N_("Hide preview"), "preview_empty": N_("Nothing to preview yet."),
    "preview_failed": N_("The preview could not be loaded."), "chars_used": N_("{count} of {max} characters"),
    "chars_left": N_("{count} characters left"), "sending": N_("Sending…"),
    "reply_posted": N_("Your reply was posted."), "new_reply": N_("A new reply arrived."),
    "more_on_next_page": N_("New replies continue on the next page"),
    "new_replies": N_("{count} new replies arrived."),
    "queue_changed": N_("The review queue has changed: {count} open now."), "reload": N_("Reload the queue"),
    "draft_title": N_("Check this before you post"), "draft_intro": N_("Your text seems to contain:"),
    "draft_line": N_("line {lines}"), "draft_lines": N_("lines {lines}"), "draft_select_line": N_("Select line {line}"),
    "draft_outro": N_("Edit the text and send it again to check it once more. If you post it as it is, it stays "
                      "hidden until a moderator has looked at it."),
    "draft_post_anyway": N_("Post anyway (held for review)"),
    "file_attached": N_("{name} attached. Describe the picture in the field below it."),
    "file_pasted": N_("Pasted picture"), "files_full": N_("No more files fit in this post."),
    "composer_saved": N_("Draft saved"), "composer_save_failed": N_("The draft could not be saved."),
    "similar_solved": N_("Solved"), "similar_accepted": N_("Has an accepted answer"),
    "mention_count": N_("{count} suggestions. Use the arrow keys and Enter to choose."),
    "mention_none": N_("No suggestions."),
}


@cache
def _client_strings(locale: str) -> Markup:
    translations = i18n.translations(locale)
    return jinja2.utils.htmlsafe_json_dumps({key: translations.gettext(message)
                                             for key, message in CLIENT_STRINGS.items()}, sort_keys=True)


def client_strings() -> Markup:
    """`{{ client_strings() }}`: CLIENT_STRINGS translated to the request's locale, as JSON safe in HTML (the
    bytes `| tojson` gave)."""
    return _client_strings(i18n.get_locale())


TEMPLATE_MESSAGES = 4096  # translated template strings kept per process (the templates hold a few hundred)


def _template_gettext():
    """Jinja's newstyle `gettext` (`Markup(translation) % variables`), with the answer for a string without
    variables kept per locale: a signed-in topic page calls it about forty times, and translating, wrapping and
    formatting each string again was a quarter of its render (issue 20). The bytes are Jinja's own."""
    done: dict[tuple[str, str], Markup] = {}

    @jinja2.pass_context
    def gettext(context, message: str, /, **variables):
        if variables or not context.eval_ctx.autoescape:
            text = i18n.gettext(message)
            return (Markup(text) if context.eval_ctx.autoescape else text) % variables
        key = (i18n.get_locale(), message)
        text = done.get(key)
        if text is None:
            text = Markup(i18n.gettext(message)) % {}
            if len(done) < TEMPLATE_MESSAGES:
                done[key] = text
        return text

    return gettext


def make_templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
        auto_reload=False,
    )
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)
    env.globals["_"] = env.globals["gettext"] = _template_gettext()
    env.filters.update(datetime=_datetime, ago=_ago, number=_number, iso=_iso)
    env.globals["get_locale"] = i18n.get_locale
    env.globals["asset"] = asset
    env.globals["post_card"] = post_card
    env.globals["nav_links"] = hooks.nav_links
    env.globals["unread_cap"] = UNREAD_CAP
    env.globals["client_strings"] = client_strings
    env.filters["unread_badge"] = _unread_badge
    return Jinja2Templates(env=env)
