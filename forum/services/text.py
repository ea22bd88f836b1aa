"""What any stored text must be, whichever door it came in by (form, JSON, CLI)."""

from __future__ import annotations


def text_is_clean(value: str) -> bool:
    """No NUL bytes and no lone surrogates: neither can be stored or shown safely."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
