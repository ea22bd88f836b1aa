"""Server-side sessions: a random token in the cookie, its SHA-256 in the database."""

from __future__ import annotations

from datetime import UTC, datetime

from forum.models import Session
from forum.security import hash_token, new_token
from forum.viewer import SESSION_LIFETIME


async def start_session(user_id: int, *, replacing: str | None = None, conn=None) -> str:
    """Signs in with a fresh token; the token the browser had before (if any) is revoked (rotation)."""
    if replacing:
        await Session.filter(token_hash=hash_token(replacing)).using_db(conn).delete()
    token = new_token()
    now = datetime.now(UTC)
    await Session.create(token_hash=hash_token(token), user_id=user_id, last_seen_at=now,
                         expires_at=now + SESSION_LIFETIME, using_db=conn)
    return token


async def end_session(token: str) -> None:
    await Session.filter(token_hash=hash_token(token)).delete()


async def end_all_sessions(user_id: int, *, keep: str | None = None, conn=None) -> int:
    query = Session.filter(user_id=user_id).using_db(conn)
    if keep:
        query = query.exclude(token_hash=hash_token(keep))
    return await query.delete()

