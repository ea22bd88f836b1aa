"""Addresses that are confirmed: registering mails a link (single use, 24 hours, stored as SHA-256), and the
account signs in once the link is used (FORUM_EMAIL_VERIFICATION=off lets it sign in before). A new address
replaces the old only after its own link is used.

Registering answers the same whether or not the address has an account: the same work (an argon2 hash and one
mail in the outbox) and the same answer; the owner of an existing account gets a mail saying someone tried.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.exceptions import IntegrityError

from forum import db, events
from forum.db import write_transaction
from forum.errors import N_, Forbidden, ValidationFailed
from forum.i18n import gettext as _
from forum.models import EmailToken, MailKind, User
from forum.passwords import Passwords
from forum.security import hash_token, new_token
from forum.services import accounts, outbox, sessions
from forum.services.composed_mail import Composed, Drop

TOKEN_LIFETIME = timedelta(hours=24)


@dataclass
class Config:
    required: bool = True   # FORUM_EMAIL_VERIFICATION


CONFIG = Config()


def configure(settings) -> None:
    CONFIG.required = settings.email_verification


class InvalidEmailToken(ValidationFailed):
    code = "invalid_token"
    default_message = N_("This confirmation link is not valid. It may have expired or been used already.")


@dataclass(frozen=True)
class Registration:
    username: str
    created: bool           # only for FORUM_EMAIL_VERIFICATION=off, where a new account signs in at once
    user_id: int | None
    token: str | None = None  # the new account's session, when the caller asked to sign it in and it may


async def register_member(passwords: Passwords, *, username: str, email: str, password: str,
                          locale: str | None = None, sign_in: bool = False,
                          replacing: str | None = None) -> Registration:
    """The public registration (page and API). Raises ValidationFailed for bad input or a taken handle only.

    `sign_in`: the caller can hand a session to the browser (the page). A session starts, in the same transaction
    as the account, only for a new account and only when addresses need no confirmation (FORUM_EMAIL_VERIFICATION
    off); `replacing` is the session token the browser had, revoked as at sign-in."""
    name, address = await accounts.check_registration(username=username, email=email, password=password)
    password_hash = await passwords.hash(password)   # also for an existing address: the time taken tells nothing
    token = None
    try:
        async with write_transaction() as conn:
            existing = await User.filter(email=address).using_db(conn).first()
            if existing is not None:
                await outbox.enqueue(conn, MailKind.REGISTER_EXISTS, user_id=existing.id, detail=locale or "")
                return Registration(name, False, None)
            user = await accounts.create_account(conn, username=name, email=address, password_hash=password_hash,
                                                 locale=locale, verified=False)
            await outbox.enqueue(conn, MailKind.VERIFY, user_id=user.id, detail=locale or "")
            if sign_in and not CONFIG.required:
                token = await sessions.start_session(user.id, replacing=replacing, conn=conn)
    except IntegrityError:
        if not await accounts.handle_available(name):
            raise ValidationFailed(fields={"username": accounts.USERNAME_TAKEN}) from None
        return await register_member(passwords, username=username, email=email, password=password, locale=locale,
                                     sign_in=sign_in, replacing=replacing)
    return Registration(name, True, user.id, token)


async def _new_token(conn, user_id: int, purpose: str, new_email: str = "") -> str:
    token = new_token()
    await EmailToken.create(user_id=user_id, purpose=purpose, new_email=new_email, token_hash=hash_token(token),
                            expires_at=datetime.now(UTC) + TOKEN_LIFETIME, using_db=conn)
    return token


async def compose(row: dict, account: dict, ctx, conn):
    """The account mails: a link to confirm, or a note that someone tried to register with the address."""
    kind = row["kind"]
    if kind == MailKind.REGISTER_EXISTS.value and account["email_verified_at"] is None:
        kind = MailKind.VERIFY.value  # registering again is how a lost confirmation mail is sent anew
    if kind == MailKind.VERIFY.value:
        if account["email_verified_at"] is not None:
            raise Drop("already confirmed")
        token = await _new_token(conn, account["id"], "verify")
        return Composed(
            subject=_("Confirm your email address"), user_id=account["id"],
            paragraphs=[_("Welcome to the forum! Confirm that this address is yours to finish registering."),
                        _("The link works once, within 24 hours. If you did not register, ignore this mail and "
                          "no account will be used with your address.")],
            action=(_("Confirm my address"), ctx.url("confirm_email", token=token)))
    if kind == MailKind.REGISTER_EXISTS.value:
        return Composed(
            subject=_("Someone tried to register with your address"), user_id=account["id"],
            paragraphs=[_("Someone (perhaps you) tried to register a new forum account with this address. It "
                          "already has an account, so nothing was created."),
                        _("If it was you, sign in instead; if you forgot your password, ask for a new one from the "
                          "sign-in page. If it was not you, you need not do anything.")],
            action=(_("Sign in"), ctx.url("login")))
    if kind == MailKind.EMAIL_CHANGE.value:
        token = await _new_token(conn, account["id"], "change", new_email=row["to_address"])
        return Composed(
            subject=_("Confirm your new email address"), user_id=account["id"],
            paragraphs=[_("You asked to use this address for your forum account. It replaces the old one when you "
                          "confirm it."),
                        _("The link works once, within 24 hours. If you did not ask for this, ignore this mail.")],
            action=(_("Confirm my new address"), ctx.url("confirm_email", token=token)))
    raise Drop(f"unknown kind {kind}")


async def _live_token(token: str, conn=None) -> EmailToken:
    if not isinstance(token, str) or not 20 <= len(token) <= 128 or not token.isascii():
        raise InvalidEmailToken()
    row = await EmailToken.filter(token_hash=hash_token(token), used_at=None,
                                  expires_at__gt=datetime.now(UTC)).using_db(conn).first()
    if row is None:
        raise InvalidEmailToken()
    return row


async def check_token(token: str) -> str:
    return (await _live_token(token)).purpose


async def confirm(token: str) -> str:
    """Spends the link: confirms the account's address, or puts the new address in place. Returns the purpose.
    Spending is a conditional UPDATE, so a link used twice at once works once."""
    row = await _live_token(token)
    now = datetime.now(UTC)
    async with write_transaction() as conn:
        spent = await EmailToken.filter(id=row.id, used_at=None).using_db(conn).update(used_at=now)
        if spent != 1:
            raise InvalidEmailToken()
        if row.purpose == "change":
            if await User.filter(email=row.new_email).exclude(id=row.user_id).using_db(conn).exists():
                raise InvalidEmailToken()
            try:
                await User.filter(id=row.user_id).using_db(conn).update(email=row.new_email, email_verified_at=now)
            except IntegrityError:
                raise InvalidEmailToken() from None
            await EmailToken.filter(user_id=row.user_id, purpose="change", used_at=None).using_db(conn) \
                .update(used_at=now)
        else:
            await User.filter(id=row.user_id, email_verified_at=None).using_db(conn).update(email_verified_at=now)
    return row.purpose


async def request_email_change(passwords: Passwords, user_id: int, *, new_email: str, password: str,
                               locale: str | None) -> None:
    """Mails a link to the new address; the account keeps the old one until the link is used. The answer is the
    same when the new address belongs to another account (the link then fails when used)."""
    address = accounts.normalize_email(new_email)
    user = await User.get(id=user_id)
    if not await passwords.verify(user.password_hash, password or ""):
        raise ValidationFailed(fields={"password": N_("The current password is wrong.")})
    if address == user.email:
        raise ValidationFailed(fields={"email": N_("That is already your address.")})
    async with write_transaction() as conn:
        await outbox.enqueue(conn, MailKind.EMAIL_CHANGE, user_id=user_id, to_address=address, detail=locale or "")


async def _refuse_unconfirmed(payload: events.SignIn) -> None:
    if not CONFIG.required:
        return
    row = await db.fetch_one("SELECT email_verified_at FROM account WHERE id = ?", [payload.user_id])
    if row is not None and row["email_verified_at"] is None:
        raise Forbidden(N_("Confirm your email address first: open the link in the mail we sent you. To get a new "
                           "link, register again with the same address."), code="email_unconfirmed")


def install(settings) -> None:
    configure(settings)
    events.subscribe(events.SIGNING_IN, _refuse_unconfirmed)


async def mark_verified(user_id: int) -> None:
    """For accounts an operator makes (create-admin, demo): they need no link."""
    await User.filter(id=user_id, email_verified_at=None).update(email_verified_at=datetime.now(UTC))

