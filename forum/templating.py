"""The Jinja environment: autoescaping, i18n through the per-request locale, a few filters."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import jinja2
from babel.dates import format_datetime, format_timedelta
from babel.numbers import format_decimal
from starlette.templating import Jinja2Templates

from forum import i18n
from forum.web.assets import asset

TEMPLATE_DIR = Path(__file__).parent / "templates"


def _datetime(value: datetime | None, fmt: str = "medium") -> str:
    if value is None:
        return ""
    return format_datetime(value, fmt, tzinfo=UTC, locale=i18n.get_locale())


def _ago(value: datetime | None) -> str:
    if value is None:
        return ""
    delta = value - datetime.now(UTC)
    return format_timedelta(delta, add_direction=True, locale=i18n.get_locale())


def _number(value: int) -> str:
    return format_decimal(value, locale=i18n.get_locale())


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
    return Jinja2Templates(env=env)
