"""Validating the provider's signed tokens (ID tokens, back-channel logout tokens) with joserfc: the signature
against the provider's published keys, only the allowed algorithms (never `none`, never an HMAC keyed by the
client secret), and the claims OpenID Connect Core 1.0 section 3.1.3.7 and Back-Channel Logout 1.0 section 2.6
ask for. Every refusal is an OidcRefused (400): nothing is signed in or out."""

from __future__ import annotations

import logging
import time

from joserfc import jws, jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from forum.errors import N_, DomainError
from forum.services.oidc_provider import Provider

log = logging.getLogger("forum.oidc")

LEEWAY = 60                  # seconds of clock difference allowed with the provider
MAX_TOKEN_AGE = 600          # an ID token issued longer ago than this is not accepted (a sign-in takes minutes)
MAX_TOKEN_LENGTH = 16_384
BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"


class OidcRefused(DomainError):
    status = 400
    code = "oidc_refused"
    default_message = N_("This sign-in could not be completed. Please start again from the sign-in page.")


def _refuse(why: str, *args) -> OidcRefused:
    log.info("identity provider token refused: " + why, *args)
    return OidcRefused()


async def _verified(provider: Provider, raw: object) -> jwt.Token:
    if not isinstance(raw, str) or not raw or len(raw) > MAX_TOKEN_LENGTH:
        raise _refuse("missing or oversized token")
    try:
        header = jws.extract_compact(raw.encode("ascii")).headers()
    except (JoseError, ValueError, UnicodeError):
        raise _refuse("not a compact JWS") from None
    algorithm = header.get("alg")
    if algorithm not in provider.settings.algorithms:
        raise _refuse("algorithm %r not allowed", algorithm)
    keys: KeySet = await provider.keys()
    for attempt in (1, 2):
        try:
            return jwt.decode(raw, keys, algorithms=[algorithm])
        except InvalidKeyIdError:
            if attempt == 2:
                raise _refuse("no key %r at the provider", header.get("kid")) from None
            keys = await provider.keys(unknown_kid=True)  # the provider may have rotated its keys
        except (JoseError, ValueError, TypeError):
            raise _refuse("bad signature or payload") from None
    raise AssertionError("unreachable")


def _check(registry: jwt.JWTClaimsRegistry, claims: dict) -> None:
    try:
        registry.validate(claims)
    except JoseError as exc:
        raise _refuse("claims: %s", exc) from None


async def validate_id_token(provider: Provider, raw: object, *, nonce: str) -> dict:
    """The ID token's claims, when every check passes."""
    token = await _verified(provider, raw)
    claims = token.claims
    settings = provider.settings
    _check(jwt.JWTClaimsRegistry(
        leeway=LEEWAY, iss={"essential": True, "value": settings.issuer}, sub={"essential": True},
        aud={"essential": True, "value": settings.client_id}, exp={"essential": True}, iat={"essential": True},
        nonce={"essential": True, "value": nonce}), claims)
    audience = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if (len(audience) > 1 or "azp" in claims) and claims.get("azp") != settings.client_id:
        raise _refuse("azp %r", claims.get("azp"))
    if claims["iat"] < time.time() - MAX_TOKEN_AGE:
        raise _refuse("issued too long ago")
    if not isinstance(claims["sub"], str) or len(claims["sub"]) > 255:
        raise _refuse("subject too long")
    return claims


async def validate_logout_token(provider: Provider, raw: object) -> dict:
    """A back-channel logout token's claims (section 2.6): it has `sub` or `sid`, the logout event, no nonce."""
    token = await _verified(provider, raw)
    if token.header.get("typ") not in (None, "logout+jwt"):
        raise _refuse("typ %r", token.header.get("typ"))
    claims = token.claims
    settings = provider.settings
    _check(jwt.JWTClaimsRegistry(leeway=LEEWAY, iss={"essential": True, "value": settings.issuer},
                                 aud={"essential": True, "value": settings.client_id}, iat={"essential": True},
                                 jti={"essential": True}), claims)
    if claims["iat"] < time.time() - MAX_TOKEN_AGE:
        raise _refuse("logout token issued too long ago")
    events = claims.get("events")
    if not isinstance(events, dict) or not isinstance(events.get(BACKCHANNEL_EVENT), dict):
        raise _refuse("no back-channel logout event")
    if "nonce" in claims:
        raise _refuse("a logout token has no nonce")
    sub, sid = claims.get("sub"), claims.get("sid")
    if not (isinstance(sub, str) and sub) and not (isinstance(sid, str) and sid):
        raise _refuse("neither sub nor sid")
    return claims
