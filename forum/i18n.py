"""Translations: English msgids, Norwegian bokmål (`nb`, the default) and English catalogues.

The `.po` files are compiled in memory at start-up (a few ms), so no build step or committed `.mo` is needed.
The current locale lives in a context variable set per request, so templates and services share it.
"""

from __future__ import annotations

import io
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from forum.settings import LOCALES

LOCALE_DIR = Path(__file__).parent / "locale"
_current: ContextVar[str] = ContextVar("forum_locale", default="nb")


@cache
def translations(locale: str) -> NullTranslations:
    po = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return NullTranslations()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(fp=buf)


def set_locale(locale: str) -> None:
    _current.set(locale if locale in LOCALES else "nb")


def get_locale() -> str:
    return _current.get()


def gettext(message: str) -> str:
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


_ = gettext


def negotiate(accept_language: str | None, default: str) -> str:
    """Best supported locale from an Accept-Language header (q-values honoured; `no`/`nn` read as `nb`)."""
    if not accept_language:
        return default
    choices: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")[:20]):
        tag, _sep, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        primary = tag.strip().lower().split("-")[0]
        primary = "nb" if primary in ("no", "nn", "nb") else primary
        if primary in LOCALES and q > 0:
            choices.append((-q, index, primary))
    return min(choices)[2] if choices else default
