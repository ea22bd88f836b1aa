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
    env.filters.update(datetime=_datetime, ago=_ago, number=_number, iso=_iso)
    env.globals["get_locale"] = i18n.get_locale
    env.globals["asset"] = asset
    env.globals["post_card"] = post_card
    env.globals["nav_links"] = hooks.nav_links
    env.globals["unread_cap"] = UNREAD_CAP
    env.filters["unread_badge"] = _unread_badge
    return Jinja2Templates(env=env)
