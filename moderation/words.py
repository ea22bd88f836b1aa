"""Watched words: `block` refuses the post, `flag` publishes it and puts it in the queue, `censor` masks the word.

Words are matched case-insensitively on word boundaries, read from the database on every write so that every
app process sees a change at once.
"""

from __future__ import annotations

import re
import unicodedata

from forum.db import write_transaction
from forum.errors import N_, Conflict, NotFound, ValidationFailed
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
    alternatives = "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


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
    text = unicodedata.normalize("NFC", source).casefold()
    for action in WordAction:
        listed = [w for w, a in words if a == action]
        if listed:
            hits = {m[0] for m in _pattern(listed).finditer(text)}
            if hits:
                found[action] = sorted(hits)
    return found


def censor(source: str, words: Listed) -> str:
    listed = [w for w, a in words if a == WordAction.CENSOR]
    if not listed:
        return source
    return _pattern(listed).sub(lambda m: CENSOR_CHAR * len(m[0]), unicodedata.normalize("NFC", source))


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
