"""Watched words: `block` refuses the post, `flag` publishes it and puts it in the queue, `censor` masks the word.

Words are matched on word boundaries in normalised text (forum.lookalike): NFKC, case folded, without the
characters that render as nothing (soft hyphen, zero-width space, ...), and by confusable skeleton, so that
"scam\u00adcoin", "scam\u200bcoin" or "sсamcoin" with a Cyrillic "с" count as "scamcoin". They are read from the
database on every write so that every app process sees a change at once.
"""

from __future__ import annotations

import re
import unicodedata

from forum.db import write_transaction
from forum.errors import N_, Conflict, NotFound, ValidationFailed
from forum.lookalike import folded, origins, skeleton
from forum.viewer import Viewer
from moderation import audit
from moderation.models import WatchedWord, WordAction
from moderation.permissions import check_moderator

CENSOR_CHAR = "■"


def normalize_word(raw: str) -> str:
    word = " ".join(unicodedata.normalize("NFC", raw or "").split()).casefold()
    if not word or len(word) > 100 or not any(c.isalnum() for c in word):
        raise ValidationFailed(fields={"word": N_("Give a word or phrase of at most 100 characters.")})
    return word


def _pattern(words: list[str]) -> re.Pattern[str]:
    """Matches the words' skeletons in folded() text; each alternative is a named group, to tell which word."""
    alternatives = "|".join(f"(?P<w{i}>{_spaced(skeleton(w))})" for i, w in enumerate(words) if skeleton(w).strip())
    return re.compile(rf"(?<!\w)(?:{alternatives or '(?!)'})(?!\w)")


def _spaced(word: str) -> str:
    return r"\s+".join(re.escape(part) for part in word.split())


def _sorted(words: list[str]) -> list[str]:
    return sorted(words, key=lambda w: len(skeleton(w)), reverse=True)  # the longest phrase wins an overlap


Listed = list[tuple[str, WordAction]]


async def load() -> Listed:
    """Every watched word with its action: one small query per write, so every process sees changes at once."""
    from forum import db

    # plain SQL: this runs inside every post write (SQLite's write lock)
    rows = await db.fetch_all("SELECT word, action FROM mod_watched_word")
    return [(r["word"], WordAction(r["action"])) for r in rows]


async def matches(source: str) -> dict[WordAction, list[str]]:
    return find(source, await load())


def find(source: str, words: Listed) -> dict[WordAction, list[str]]:
    """Which watched words the text contains, by action."""
    found: dict[WordAction, list[str]] = {}
    if not words:
        return found
    text = folded(source)
    for action in WordAction:
        listed = _sorted([w for w, a in words if a == action])
        if listed:
            hits = {listed[int(m.lastgroup[1:])] for m in _pattern(listed).finditer(text)}
            if hits:
                found[action] = sorted(hits)
    return found


def censor(source: str, words: Listed) -> str:
    """Masks each match in the text as written, whatever look-alike or invisible characters it was spelt with."""
    listed = _sorted([w for w, a in words if a == WordAction.CENSOR])
    if not listed:
        return source
    source = unicodedata.normalize("NFC", source)
    spans = [(m.start(), m.end()) for m in _pattern(listed).finditer(folded(source))]
    if not spans:
        return source
    origin = origins(source)
    chars = list(source)
    for start, end in spans:
        for index in range(origin[start], origin[end - 1] + 1):
            chars[index] = CENSOR_CHAR
    return "".join(chars)


async def list_words(viewer: Viewer | None) -> list[WatchedWord]:
    check_moderator(viewer)
    return await WatchedWord.all().order_by("word")


async def add_word(viewer: Viewer | None, *, word: str, action: str) -> WatchedWord:
    check_moderator(viewer)
    word = normalize_word(word)
    try:
        word_action = WordAction(action)
    except ValueError:
        raise ValidationFailed(fields={"action": N_("Choose block, flag or censor.")}) from None
    async with write_transaction() as conn:
        if await WatchedWord.filter(word=word).using_db(conn).exists():
            raise Conflict(N_("That word is already watched."), code="word_exists")
        entry = await WatchedWord.create(word=word, action=word_action, using_db=conn)
        await audit.record(conn, actor_id=viewer.id, action="add_word", target_kind="watched_word",
                           target_id=entry.id, detail=word_action.value)
    return entry


async def remove_word(viewer: Viewer | None, word_id: int) -> None:
    check_moderator(viewer)
    async with write_transaction() as conn:
        entry = await WatchedWord.filter(id=word_id).using_db(conn).first()
        if entry is None:
            raise NotFound()
        await WatchedWord.filter(id=entry.id).using_db(conn).delete()
        await audit.record(conn, actor_id=viewer.id, action="remove_word", target_kind="watched_word",
                           target_id=entry.id, detail=entry.action.value)
