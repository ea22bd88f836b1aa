"""When two pieces of text look the same to a reader: Unicode's confusable skeletons (UTS #39), through ICU.

`skeleton(text)` is the form two strings share when they look alike: NFKC, case folded, with the characters that
render as nothing (default-ignorable: soft hyphen, zero-width space and joiner, BOM, ...) removed, then ICU's
SpoofChecker skeleton (Armenian "օ", Cyrillic "о" and Latin "o" agree; "m" and "rn"; dotless "ı" and "i"), case
folded again. Handles and display names are compared by it (forum/services/name_claims.py), and watched words are
matched on it (moderation/words.py) so that "scam\\u00adcoin" or a Cyrillic "с" does not get past them.

`folded(text)` gives the same character by character (fast, for long posts), and `origins(text)` maps it back to
the positions of `text`, for masking a match in the text as written.
"""

from __future__ import annotations

import unicodedata

import icu

_CHECKER = icu.SpoofChecker()  # getSkeleton only reads the checker's data: safe to share between threads
_IGNORABLE = {ord(c): None for c in icu.UnicodeSet("[:Default_Ignorable_Code_Point:]")}


def strip_ignorable(text: str) -> str:
    """Without the characters that render as nothing (Unicode's Default_Ignorable_Code_Point)."""
    return text.translate(_IGNORABLE)


def skeleton(text: str) -> str:
    """The UTS #39 skeleton of the NFKC, case-folded text without default-ignorable characters, case folded."""
    plain = strip_ignorable(unicodedata.normalize("NFKC", text).casefold())
    return _CHECKER.getSkeleton(0, plain).casefold()


class _Folding(dict):
    """ord -> skeleton of that character, filled in as characters are met: str.translate looks each one up."""

    def __missing__(self, code: int) -> str:
        mapped = self[code] = skeleton(chr(code))
        return mapped


_FOLDING = _Folding()


def folded(text: str) -> str:
    """skeleton() character by character: what watched words are matched against. One str.translate over a
    table that learns each character once (a 59 KB post: a few ms; skeleton() of the whole text takes 90)."""
    return text.translate(_FOLDING)


def origins(text: str) -> list[int]:
    """For each character of folded(text), the index in `text` it came from: to mask a match as written."""
    out: list[int] = []
    for index, ch in enumerate(text):
        out.extend([index] * len(_FOLDING[ord(ch)]))
    return out
