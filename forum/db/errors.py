"""Which database errors are bad input or "try again", not bugs: the error handler answers them 400 and 503.
"""

from __future__ import annotations


def is_busy_message(text: str) -> bool:
    text = text.lower()
    return "database is locked" in text or "database is busy" in text or "database table is locked" in text


def _chain(exc: BaseException | None, limit: int = 10):
    """The exception and its causes: Tortoise wraps the driver's errors in its own."""
    while exc is not None and limit > 0:
        yield exc
        exc = exc.__cause__ or exc.__context__
        limit -= 1


def is_unstorable_text(exc: BaseException | None) -> bool:
    """PostgreSQL refuses text it cannot store (a NUL character, say, from `/u/%00`): bad input, not a bug."""
    import asyncpg

    return any(isinstance(e, asyncpg.exceptions.CharacterNotInRepertoireError
                          | asyncpg.exceptions.UntranslatableCharacterError) for e in _chain(exc))


def is_transient(exc: BaseException | None) -> bool:
    """A failure that says "try again" (SQLite busy, PostgreSQL deadlock, serialisation or a statement that ran
    past FORUM_DB_STATEMENT_TIMEOUT), not a bug."""
    import sqlite3

    import asyncpg

    for e in _chain(exc):
        if isinstance(e, sqlite3.OperationalError) and is_busy_message(str(e)):
            return True
        if isinstance(e, asyncpg.exceptions.DeadlockDetectedError | asyncpg.exceptions.SerializationError
                      | asyncpg.exceptions.LockNotAvailableError | asyncpg.exceptions.QueryCanceledError):
            return True
        if type(e).__module__.startswith("tortoise") and is_busy_message(str(e)):
            return True
    return False
