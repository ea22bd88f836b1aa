"""Sign-in with the company's identity provider (OpenID Connect authorization code flow with PKCE).

A sign-in is two requests. `begin_sign_in` stores a single-use attempt (state, nonce, PKCE verifier, where to go
next) bound to the browser's pre-sign-in session and sends the browser to the provider. `complete_sign_in` finds
that attempt by its state *and* the same browser's binding, spends it, redeems the code, validates the ID token
(services/oidc_tokens.py) and signs the account in. The provider's account is `issuer` + `subject`; an email alone
never links accounts, except where an admin allows it and the provider says the email is verified.
Signing in is not consent: a new account still gives participation consent on /consent.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from forum import events
from forum.errors import N_, Conflict, Forbidden, NotAuthenticated, ValidationFailed
from forum.models import OidcIdentity, OidcLoginAttempt, OidcSession, Profile, Role, Session, User
from forum.security import hash_token
from forum.services import name_claims, sessions
from forum.services.accounts import handle_available, normalize_email
from forum.services.oidc_provider import PROBE_TTL, Provider
from forum.services.oidc_tokens import OidcRefused, validate_id_token
from forum.services.usernames import username_key, validate_username
from forum.settings import OidcSettings

log = logging.getLogger("forum.oidc")

ATTEMPT_LIFETIME = timedelta(minutes=10)
MAX_ATTEMPTS_PER_BROWSER = 5
# an account made by the provider has no password: not an argon2 hash, so no password ever verifies against it
NO_PASSWORD = "!oidc-no-password"


def make_provider(settings: OidcSettings | None) -> Provider | None:
    return Provider(settings) if settings is not None else None


def form_targets(settings: OidcSettings | None) -> tuple[str, ...]:
    """The provider's origin, for the CSP's form-action: signing out and linking redirect a form's answer there."""
    if settings is None:
        return ()
    scheme, _, rest = settings.issuer.partition("://")
    return (f"{scheme}://{rest.split('/', 1)[0]}",)


def has_password(password_hash: str) -> bool:
    return bool(password_hash) and not password_hash.startswith("!")


def redirect_uri(public_url: str) -> str:
    """Exactly the URI registered at the provider: built from FORUM_PUBLIC_URL, never from the request's Host."""
    return public_url.rstrip("/") + "/auth/oidc/callback"


def check_registration_open(oidc: OidcSettings | None) -> None:
    """FORUM_OIDC_ONLY: the identity provider is the only way to a new account."""
    if oidc is not None and oidc.only:
        raise Forbidden(N_("New accounts are made by signing in with the identity provider."),
                        code="registration_closed")


def password_sign_in_for_admins_only(oidc: OidcSettings | None) -> bool:
    """FORUM_OIDC_ONLY: password sign-in stays only for admins (made by `forum create-admin`, for recovery)."""
    return oidc is not None and oidc.only


# -- the first leg: to the provider ---------------------------------------------------------------------------

async def begin_sign_in(provider: Provider, *, binding: str, public_url: str, next_path: str = "",
                        link_user_id: int | None = None, reauthenticate: bool = False) -> str:
    """Stores the attempt and returns the provider's authorization URL to send the browser to."""
    metadata = await provider.metadata(max_age=PROBE_TTL)  # a provider that went down: say so, do not send there
    state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(64)
    now = datetime.now(UTC)
    binding_hash = hash_token(binding)
    async with in_transaction() as conn:
        await OidcLoginAttempt.filter(expires_at__lte=now).using_db(conn).delete()
        older = await (OidcLoginAttempt.filter(binding_hash=binding_hash).using_db(conn).order_by("-id")
                       .offset(MAX_ATTEMPTS_PER_BROWSER - 1).values_list("id", flat=True))
        if older:
            await OidcLoginAttempt.filter(id__in=list(older)).using_db(conn).delete()
        await OidcLoginAttempt.create(binding_hash=binding_hash, state_hash=hash_token(state), nonce=nonce,
                                      code_verifier=verifier, next_path=next_path, link_user_id=link_user_id,
                                      expires_at=now + ATTEMPT_LIFETIME, using_db=conn)
    settings = provider.settings
    return prepare_grant_uri(metadata.authorization_endpoint, settings.client_id, "code",
                             redirect_uri=redirect_uri(public_url), scope=settings.scopes, state=state, nonce=nonce,
                             code_challenge=create_s256_code_challenge(verifier), code_challenge_method="S256",
                             **({"prompt": "login"} if reauthenticate else {}))


# -- the second leg: back from the provider -------------------------------------------------------------------

@dataclass(frozen=True)
class SignedIn:
    user_id: int
    token: str              # the new forum session's cookie value ("" when a member only linked their account)
    next_path: str
    created: bool = False   # a new account: it still needs participation consent
    linked: bool = False


async def _spend_attempt(binding: str | None, state: str) -> OidcLoginAttempt:
    """The attempt this browser started with this state, removed so it cannot be used twice."""
    if not binding or not state or len(state) > 200:
        raise OidcRefused(N_("This sign-in could not be completed. Please start again from the sign-in page."),
                          code="state_mismatch")
    attempt = await OidcLoginAttempt.filter(state_hash=hash_token(state)).first()
    if attempt is None or not hmac.compare_digest(attempt.binding_hash, hash_token(binding)):
        raise OidcRefused(N_("This sign-in could not be completed. Please start again from the sign-in page."),
                          code="state_mismatch")
    if not await OidcLoginAttempt.filter(id=attempt.id).delete():  # a second request with the same state lost
        raise OidcRefused(code="state_mismatch")
    if attempt.expires_at <= datetime.now(UTC):
        raise OidcRefused(N_("The sign-in took too long. Please start again."), code="state_expired")
    return attempt


async def _claims(provider: Provider, tokens: dict, nonce: str) -> dict:
    """The ID token's claims, completed from userinfo when it lacks what the account needs (the email, the role
    claim). Userinfo must be about the same subject (Core 1.0 section 5.3.2)."""
    claims = await validate_id_token(provider, tokens.get("id_token"), nonce=nonce)
    wanted = ["email", "email_verified"] + ([provider.settings.staff_claim] if provider.settings.staff_claim else [])
    access_token = tokens.get("access_token")
    if any(name not in claims for name in wanted) and isinstance(access_token, str) and access_token:
        info = await provider.userinfo(access_token)
        if info:
            if info.get("sub") != claims["sub"]:
                raise OidcRefused(code="userinfo_subject")
            claims = {**claims, **{k: info[k] for k in wanted if k in info}}
    return claims


async def complete_sign_in(provider: Provider, *, binding: str | None, state: str, code: str, public_url: str,
                           replacing: str | None = None, locale: str | None = None) -> SignedIn:
    attempt = await _spend_attempt(binding, state)
    if not code or len(code) > 2000:
        raise OidcRefused(code="no_code")
    tokens = await provider.exchange_code(code, attempt.code_verifier, redirect_uri(public_url))
    claims = await _claims(provider, tokens, attempt.nonce)
    settings = provider.settings
    verified = claims.get("email_verified") is True
    async with in_transaction() as conn:
        identity = await (OidcIdentity.filter(issuer=settings.issuer, subject=claims["sub"]).using_db(conn)
                          .select_for_update().first())
        created = linked = False
        if attempt.link_user_id is not None:
            identity = await _link_for_member(conn, identity, attempt.link_user_id, settings.issuer, claims["sub"],
                                              verified)
            linked = True
        elif identity is None:
            identity, created, linked = await _identity_for_new_subject(conn, settings, claims, verified, locale)
        user = await User.filter(id=identity.user_id).using_db(conn).select_for_update().get()
        if attempt.link_user_id is None:
            await events.emit(events.SIGNING_IN, events.SignIn(user.id))  # a suspended account is refused here
        await _apply_role_claim(conn, settings, identity, user, claims)
        identity.email_verified = verified
        identity.last_sign_in_at = datetime.now(UTC)
        await identity.save(using_db=conn, update_fields=["email_verified", "last_sign_in_at", "staff_from_claim"])
        if attempt.link_user_id is not None:
            return SignedIn(user.id, "", attempt.next_path, linked=True)
    token = await sessions.start_session(user.id, replacing=replacing)
    session = await Session.get(token_hash=hash_token(token))
    sid = claims.get("sid") if isinstance(claims.get("sid"), str) else None
    await OidcSession.create(session=session, identity=identity, sid=sid[:255] if sid else None)
    return SignedIn(user.id, token, attempt.next_path, created=created, linked=linked)


async def _link_for_member(conn, identity: OidcIdentity | None, user_id: int, issuer: str, subject: str,
                           verified: bool) -> OidcIdentity:
    """A signed-in member links the provider's account to theirs (from settings)."""
    if identity is not None:
        if identity.user_id != user_id:
            raise Conflict(N_("That identity provider account is already linked to another forum account."),
                           code="identity_taken")
        return identity
    if await OidcIdentity.filter(user_id=user_id, issuer=issuer).using_db(conn).exists():
        raise Conflict(N_("Your account is already linked to another identity provider account."),
                       code="already_linked")
    return await OidcIdentity.create(user_id=user_id, issuer=issuer, subject=subject, email_verified=verified,
                                     using_db=conn)


async def _identity_for_new_subject(conn, settings: OidcSettings, claims: dict, verified: bool,
                                    locale: str | None) -> tuple[OidcIdentity, bool, bool]:
    """First sign-in of this provider account: a new forum account, or (if allowed) the one with the same verified
    email. Returns (identity, created, linked)."""
    try:
        email = normalize_email(claims.get("email") if isinstance(claims.get("email"), str) else "")
    except ValidationFailed:
        raise OidcRefused(N_("The identity provider did not share a usable email address."),
                          code="no_email") from None
    existing = await User.filter(email=email).using_db(conn).first()
    if existing is not None:
        if not (settings.link_verified_email and verified):
            raise Conflict(N_("An account with this email already exists. Sign in with your password, then link "
                              "the identity provider from your settings."), code="email_taken")
        if await OidcIdentity.filter(user_id=existing.id, issuer=settings.issuer).using_db(conn).exists():
            raise Conflict(N_("Your account is already linked to another identity provider account."),
                           code="already_linked")
        identity = await OidcIdentity.create(user_id=existing.id, issuer=settings.issuer, subject=claims["sub"],
                                             email_verified=verified, using_db=conn)
        return identity, False, True
    handle = await _free_handle(claims, conn)
    try:
        user = await User.create(email=email, password_hash=NO_PASSWORD, role=Role.MEMBER, locale=locale,
                                 using_db=conn)
        profile = await Profile.create(user=user, username=handle, username_key=username_key(handle),
                                       display_name="", using_db=conn)
        await name_claims.claim_handle(conn, profile.id, handle)
        identity = await OidcIdentity.create(user_id=user.id, issuer=settings.issuer, subject=claims["sub"],
                                             email_verified=verified, using_db=conn)
    except IntegrityError:
        raise Conflict(N_("That account was created a moment ago. Please sign in again.")) from None
    return identity, True, False


async def _free_handle(claims: dict, conn) -> str:
    """A forum handle for a new account: the provider's preferred_username when it is a valid, free handle,
    otherwise a neutral one; never the email's local part (it often is the person's full name)."""
    wanted = claims.get("preferred_username")
    if isinstance(wanted, str):
        try:
            name = validate_username(wanted)
            if await handle_available(name, conn):
                return name
        except ValidationFailed:
            pass
    for _ in range(20):
        name = f"medlem{secrets.randbelow(10**7):07d}"
        if await handle_available(name, conn):
            return name
    raise Conflict()


async def _apply_role_claim(conn, settings: OidcSettings, identity: OidcIdentity, user: User, claims: dict) -> None:
    """FORUM_OIDC_STAFF_CLAIM: the claim grants the staff role, and takes back a staff role it granted. Moderators
    and admins are never changed by it. Applied at each sign-in; each change is audited (events.ROLE_MAPPED)."""
    if not settings.staff_claim:
        return
    values = claims.get(settings.staff_claim)
    values = values if isinstance(values, list) else [values]
    granted = settings.staff_value in [v for v in values if isinstance(v, str)]
    if granted and user.role == Role.MEMBER:
        new_role, identity.staff_from_claim = Role.STAFF, True
    elif not granted and user.role == Role.STAFF and identity.staff_from_claim:
        new_role, identity.staff_from_claim = Role.MEMBER, False
    else:
        return
    user.role = new_role
    await user.save(using_db=conn, update_fields=["role"])
    await events.emit(events.ROLE_MAPPED, events.RoleMapped(user.id, new_role.value, settings.staff_claim, conn))


# -- the link in settings, and signing out ----------------------------------------------------------------------

async def link_status(user_id: int, issuer: str) -> tuple[bool, bool]:
    """(linked, can be unlinked): the link is removable only when the account also has a password."""
    identity = await OidcIdentity.filter(user_id=user_id, issuer=issuer).first()
    if identity is None:
        return False, False
    user = await User.get(id=user_id)
    return True, has_password(user.password_hash)


async def unlink(viewer, issuer: str) -> None:
    """Removes the link; only when the account has a password, so the member can still sign in."""
    if viewer is None:
        raise NotAuthenticated()
    user = await User.get(id=viewer.id)
    if not has_password(user.password_hash):
        raise ValidationFailed(fields={"oidc": N_("Your account has no password, so the link to the identity "
                                                  "provider is the only way to sign in. It cannot be removed.")})
    await OidcIdentity.filter(user_id=viewer.id, issuer=issuer).delete()


FRESH_SIGN_IN = timedelta(minutes=10)


async def check_fresh_provider_sign_in(session_id: int) -> None:
    """What confirms a grave step (erasing the account) for an account without a password: this session was
    started by the identity provider in the last ten minutes (the erase page asks the provider to sign in anew)."""
    session = await Session.filter(id=session_id).first()
    fresh = session is not None and session.created_at > datetime.now(UTC) - FRESH_SIGN_IN
    if not fresh or not await OidcSession.filter(session_id=session_id).exists():
        raise ValidationFailed(fields={"password": N_("Sign in again with the identity provider to confirm, then "
                                                      "delete the account within ten minutes.")})


async def has_password_for(user_id: int) -> bool:
    user = await User.get(id=user_id)
    return has_password(user.password_hash)


async def session_from_provider(session_id: int) -> bool:
    return await OidcSession.filter(session_id=session_id).exists()


async def back_channel_logout(issuer: str, claims: dict) -> int:
    """A valid logout token (validated by oidc_tokens.validate_logout_token): ends the forum sessions it names,
    those started from the provider's session `sid`, or every session of the account `sub`."""
    sid, sub = claims.get("sid"), claims.get("sub")
    if isinstance(sub, str) and sub:
        identity = await OidcIdentity.filter(issuer=issuer, subject=sub).first()
        if identity is None:
            return 0
        if isinstance(sid, str) and sid:
            ids = await OidcSession.filter(identity_id=identity.id, sid=sid).values_list("session_id", flat=True)
            return await Session.filter(id__in=list(ids)).delete() if ids else 0
        return await sessions.end_all_sessions(identity.user_id)
    ids = await (OidcSession.filter(sid=sid, identity__issuer=issuer).values_list("session_id", flat=True))
    return await Session.filter(id__in=list(ids)).delete() if ids else 0


async def on_purging(purge) -> None:
    """`forum purge`: sign-ins that never came back."""
    from forum import db

    purge.counts["oidc_login_attempts"] = await purge.delete_batches(
        "oidc_login_attempt", "expires_at <= ?", [db.time_param(purge.now)])


async def on_exporting(export) -> None:
    """The data export (GDPR art. 15) shows the link: which provider account signs in here, nothing more."""
    export.sections["identity_provider_links"] = await (
        OidcIdentity.filter(user_id=export.user_id).order_by("id")
        .values("issuer", "subject", "email_verified", "staff_from_claim", "created_at", "last_sign_in_at"))


def install() -> None:
    """Subscribes the forum's own OIDC handlers (called by create_app, like live.install)."""
    events.subscribe(events.EXPORTING, on_exporting)
    events.subscribe(events.PURGING, on_purging)
