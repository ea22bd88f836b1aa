"""Password reset by email: single-use tokens that expire, stored only as SHA-256; a reset ends every session.

Asking for a link answers the same whether or not the address has an account, in content and in time: the
request does the same two statements for every well-formed address (the account looked up by its unique
address, one row written to the mail outbox holding only the account's id, or none), and the mail worker makes
the token. The address typed is never stored: a stranger's address typed into the form leaves no trace.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from forum.db import write_transaction
from forum.errors import N_, ValidationFailed
from forum.models import MailKind, PasswordResetToken, Profile, Session, User
from forum.passwords import Passwords
from forum.security import hash_token, new_token
from forum.services import outbox, throttle
from forum.services.accounts import check_password_rules, normalize_email

TOKEN_LIFETIME = timedelta(hours=1)
# at most this many links per account per lifetime, so the form cannot be used to flood someone's inbox
MAX_LIVE_TOKENS = 3


class InvalidResetToken(ValidationFailed):
    code = "invalid_token"
    default_message = N_("This password reset link is not valid. It may have expired or been used already.")


async def request_reset(email: str, *, locale: str) -> None:
    """Writes one mail request to the outbox, the same for every well-formed address: the account's id, or none
    (the worker then drops it), so the answer and its timing tell nothing and the address is not kept."""
    from forum import db

    address = normalize_email(email)  # a malformed address is a form error; a well-formed one reveals nothing
    async with write_transaction() as conn:
        account = await db.fetch_one("SELECT id FROM account WHERE email = ?", [address], conn)
        await outbox.enqueue(conn, MailKind.RESET_REQUEST, user_id=account["id"] if account else None,
                             detail=locale)


async def prepare_reset(conn, user_id: int | None) -> tuple[dict, str] | None:
    """The mail worker's half: a fresh token for the account, unless there is none or it already holds
    MAX_LIVE_TOKENS live links (so the form cannot flood someone's inbox). Returns (account row, token)."""
    from forum import db

    if user_id is None:
        return None
    account = await db.fetch_one("SELECT id, email, locale FROM account WHERE id = ?", [user_id], conn)
    if account is None:
        return None
    now = datetime.now(UTC)
    live = await PasswordResetToken.filter(user_id=account["id"], used_at=None, expires_at__gt=now) \
        .using_db(conn).count()
    if live >= MAX_LIVE_TOKENS:
        return None
    token = new_token()
    await PasswordResetToken.create(user_id=account["id"], token_hash=hash_token(token),
                                    expires_at=now + TOKEN_LIFETIME, using_db=conn)
    return account, token


async def _live_token(token: str) -> PasswordResetToken:
    if not isinstance(token, str) or not 20 <= len(token) <= 128 or not token.isascii():
        raise InvalidResetToken()
    row = await PasswordResetToken.filter(token_hash=hash_token(token), used_at=None,
                                          expires_at__gt=datetime.now(UTC)).first()
    if row is None:
        raise InvalidResetToken()
    return row


async def check_token(token: str) -> None:
    await _live_token(token)


async def reset_password(passwords: Passwords, token: str, new_password: str) -> int:
    """Sets the new password, spends the token (and every other one of the account), ends every session.

    Returns how many sessions were ended. Two uses of one token at once: one wins, the other gets
    invalid_token, because spending is a conditional UPDATE inside the transaction.
    """
    row = await _live_token(token)
    user = await User.get(id=row.user_id)
    profile = await Profile.filter(user_id=user.id).first()
    try:
        check_password_rules(new_password, username=profile.username if profile else None, email=user.email)
    except ValidationFailed as exc:
        raise ValidationFailed(fields={"new_password": exc.fields.get("password", exc.message)}) from None
    password_hash = await passwords.hash(new_password)
    now = datetime.now(UTC)
    async with write_transaction() as conn:
        spent = await PasswordResetToken.filter(id=row.id, used_at=None, expires_at__gt=now).using_db(conn) \
            .update(used_at=now)
        if spent != 1:
            raise InvalidResetToken()
        await PasswordResetToken.filter(user_id=user.id, used_at=None).using_db(conn).update(used_at=now)
        await User.filter(id=user.id).using_db(conn).update(password_hash=password_hash)
        ended = await Session.filter(user_id=user.id).using_db(conn).delete()
    await throttle.sign_in_succeeded(user.email)
    return ended


async def purge_spent(now: datetime | None = None) -> int:
    now = now or datetime.now(UTC)
    return await PasswordResetToken.filter(expires_at__lt=now - TOKEN_LIFETIME).delete()
