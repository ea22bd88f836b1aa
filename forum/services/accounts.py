"""Registration, sign-in and passwords. The account is email + password; the handle lives in the profile."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from forum import events
from forum.errors import N_, Conflict, Forbidden, NotAuthenticated, ValidationFailed
from forum.models import Profile, Role, User
from forum.passwords import Passwords
from forum.services import consent, name_claims, sessions, throttle
from forum.services.usernames import USERNAME_TAKEN, handle_available, username_key, validate_username

MIN_PASSWORD, MAX_PASSWORD = 10, 1024
_EMAIL = re.compile(r"^[^@\s\x00-\x1f]{1,64}@[^@\s\x00-\x1f]+\.[^@\s\x00-\x1f]{2,}$")


def normalize_email(raw: str) -> str:
    email = (raw or "").strip().lower()
    if len(email) > 254 or not _EMAIL.match(email) or ".." in email:
        raise ValidationFailed(fields={"email": N_("Enter a valid email address.")})
    return email


def check_password_rules(password: str, *, username: str | None, email: str | None) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise ValidationFailed(fields={"password": N_("The password must be at least 10 characters long.")})
    if len(password) > MAX_PASSWORD:
        raise ValidationFailed(fields={"password": N_("The password is too long.")})
    lowered = password.casefold()
    if (username and lowered == username.casefold()) or (email and lowered == email.casefold()):
        raise ValidationFailed(fields={"password": N_("The password must not be your username or email.")})


async def check_registration(*, username: str, email: str, password: str) -> tuple[str, str]:
    """The registration's input rules (and a free handle); returns the normalised handle and address. Whether
    the address has an account is not checked here: the public registration must not tell."""
    errors: dict[str, str] = {}
    name = address = ""
    try:
        name = validate_username(username)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    try:
        address = normalize_email(email)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    if errors:
        raise ValidationFailed(fields=errors)
    check_password_rules(password, username=name, email=address)
    if not await handle_available(name):
        raise ValidationFailed(fields={"username": USERNAME_TAKEN})
    return name, address


async def create_account(conn, *, username: str, email: str, password_hash: str, locale: str | None = None,
                         role: Role = Role.MEMBER, verified: bool = False) -> User:
    """The account and its forum profile, inside the caller's transaction (IntegrityError when taken)."""
    user = await User.create(email=email, password_hash=password_hash, role=role, locale=locale,
                             email_verified_at=datetime.now(UTC) if verified else None, using_db=conn)
    profile = await Profile.create(user=user, username=username, username_key=username_key(username),
                                   display_name="", using_db=conn)
    await name_claims.claim_handle(conn, profile.id, username)
    return user


async def register(passwords: Passwords, *, username: str, email: str, password: str,
                   locale: str | None = None, role: Role = Role.MEMBER, verified: bool = False) -> User:
    """Creates the account and its forum profile together, for the operator's tools (create-admin, demo), which
    say when an address is known to be right (`verified`). The public registration is
    services/verification.register_member, which answers alike for taken addresses."""
    name, address = await check_registration(username=username, email=email, password=password)
    if await User.filter(email=address).exists():
        raise ValidationFailed(fields={"email": N_("An account with that email already exists. Sign in instead.")})
    password_hash = await passwords.hash(password)
    try:
        async with in_transaction() as conn:
            user = await create_account(conn, username=name, email=address, password_hash=password_hash,
                                        locale=locale, role=role, verified=verified)
    except IntegrityError:
        raise Conflict(N_("That username or email was registered a moment ago. Choose another.")) from None
    return user


async def authenticate(passwords: Passwords, *, email: str, password: str, client: str | None = None,
                       admins_only: bool = False) -> User:
    """Same answer, and the same argon2 cost, whether the email is unknown or the password wrong.

    Repeated failures make the account (the email as typed) and the client address wait (services/throttle.py).
    `admins_only` (FORUM_OIDC_ONLY): password sign-in is off except for admins, and any other account answers
    as an unknown one does.
    """
    address = (email or "").strip().lower()[:254]
    await throttle.begin_sign_in_attempt(address, client)  # counted as a failure until the password is right
    user = await User.filter(email=address).first() if address else None
    if admins_only and user is not None and not user.is_admin:
        user = None
    if not isinstance(password, str) or len(password) > MAX_PASSWORD:
        password = ""
    ok = await passwords.verify(user.password_hash if user else None, password)
    if not ok or user is None:
        await throttle.sign_in_failed(client)
        raise NotAuthenticated(N_("Wrong email or password."), code="invalid_credentials")
    await throttle.sign_in_succeeded(address)
    await events.emit(events.SIGNING_IN, events.SignIn(user.id))  # e.g. moderation refuses a suspended account
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = await passwords.hash(password)
        await user.save(update_fields=["password_hash"])
    return user


async def sign_in(passwords: Passwords, *, email: str, password: str, client: str | None = None,
                  admins_only: bool = False, replacing: str | None = None) -> tuple[User, str]:
    """Password sign-in (page and API): `authenticate`, then a new session whose token is returned; the session
    the browser had (`replacing`) is revoked."""
    user = await authenticate(passwords, email=email, password=password, client=client, admins_only=admins_only)
    return user, await sessions.start_session(user.id, replacing=replacing)


async def change_password(passwords: Passwords, user_id: int, *, current: str, new: str,
                          keep_session: str | None = None) -> int:
    """A new password, and every other session of the account ended with it (whoever knew the old one is signed
    out), whether a page, the API or a script asks. `keep_session` is the token of the session that asked: it
    stays signed in. Returns how many sessions were ended."""
    user = await User.get(id=user_id)
    if not await passwords.verify(user.password_hash, current or ""):
        raise ValidationFailed(fields={"current_password": N_("The current password is wrong.")})
    profile = await Profile.filter(user_id=user_id).first()
    check_password_rules(new, username=profile.username if profile else None, email=user.email)
    password_hash = await passwords.hash(new)
    async with in_transaction() as conn:
        await User.filter(id=user_id).using_db(conn).update(password_hash=password_hash)
        return await sessions.end_all_sessions(user_id, keep=keep_session, conn=conn)


async def set_locale(user_id: int, locale: str) -> None:
    await User.filter(id=user_id).update(locale=locale)


async def set_role_by_username(actor, username: str, role: str) -> None:
    """Only admins change roles; an admin cannot demote themselves (there must always be one)."""
    if actor is None or not actor.is_admin:
        raise Forbidden()
    try:
        new_role = Role(role)
    except ValueError:
        raise ValidationFailed(fields={"role": N_("Not one of the allowed values.")}) from None
    profile = await Profile.filter(username_key=username_key(username or "")).first()
    if profile is None:
        raise ValidationFailed(fields={"username": N_("No member has that username.")})
    if profile.user_id == actor.id and new_role != Role.ADMIN:
        raise ValidationFailed(fields={"role": N_("You cannot remove your own admin role.")})
    async with in_transaction() as conn:
        old_role = (await User.get(id=profile.user_id).using_db(conn)).role
        await User.filter(id=profile.user_id).using_db(conn).update(role=new_role)
        await consent.record_role_change(conn, profile.user_id, old_role, new_role)
        await events.emit(events.STAFF_ACTION, events.StaffAction(actor.id, "set_role", "user", profile.user_id,
                                                                  new_role.value, conn))
