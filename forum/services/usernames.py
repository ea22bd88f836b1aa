"""Forum handle rules: 3–32 characters after NFKC, and no look-alike of an existing handle.

Two handles clash when their *keys* are equal: NFKC, case folded, and with the Cyrillic and Greek letters
that look like Latin ones mapped to those (so "Ola" and "Оla" with a Cyrillic О clash). Handles may not mix
Latin with Cyrillic or Greek letters at all, the classic spoofing trick.
"""

from __future__ import annotations

import re
import unicodedata

from forum.errors import N_, ValidationFailed
from forum.services.name_claims import name_skeleton

MIN_LENGTH, MAX_LENGTH = 3, 32
_ALLOWED = re.compile(r"^[^\W_][\w.\-]*[^\W_]$|^[^\W_]$")
_HOMOGLYPHS = str.maketrans({
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c", "т": "t",
    "у": "y", "х": "x", "ѕ": "s", "і": "i", "ј": "j", "ԁ": "d", "ԛ": "q", "ԝ": "w", "ӏ": "l", "ɡ": "g",
    # Greek
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t",
    "υ": "u", "χ": "x", "ω": "w", "ζ": "z",
})
RESERVED = {"admin", "administrator", "moderator", "mod", "staff", "system", "forum", "api", "static",
            "support", "tidligere-medlem", "former-member", "anonymous", "anonym"}


def normalize(raw: str) -> str:
    return unicodedata.normalize("NFKC", raw).strip()


def username_key(username: str) -> str:
    return normalize(username).casefold().translate(_HOMOGLYPHS)


def _scripts(name: str) -> set[str]:
    scripts = set()
    for ch in name:
        if ch.isalpha():
            uname = unicodedata.name(ch, "")
            scripts.add(uname.split(" ")[0])
    return scripts


def _reserved_lookalike(name: str) -> bool:
    from forum.services.name_claims import RESERVED_SKELETONS

    return name_skeleton(name) in RESERVED_SKELETONS


def validate_username(raw: str) -> str:
    """Returns the normalised handle or raises ValidationFailed on the `username` field."""
    name = normalize(raw or "")
    if not MIN_LENGTH <= len(name) <= MAX_LENGTH:
        raise ValidationFailed(fields={"username": N_("A username must be 3 to 32 characters long.")})
    if not _ALLOWED.match(name) or "__" in name or ".." in name:
        raise ValidationFailed(fields={"username": N_(
            "Use letters, digits, and . - _ between them; start and end with a letter or digit.")})
    if any(unicodedata.category(ch) in ("Cf", "Cc", "Co", "Cn") for ch in name):
        raise ValidationFailed(fields={"username": N_("The username contains invisible characters.")})
    scripts = _scripts(name)
    if "LATIN" in scripts and scripts & {"CYRILLIC", "GREEK"}:
        raise ValidationFailed(fields={"username": N_("Do not mix Latin letters with Cyrillic or Greek ones.")})
    if username_key(name) in RESERVED or _reserved_lookalike(name):
        raise ValidationFailed(fields={"username": N_("That username is reserved.")})
    return name
