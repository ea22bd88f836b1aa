"""The identity provider as the forum sees it: discovery, its signing keys (cached, refetched on an unknown key id),
the token and userinfo endpoints. Every call is bounded in time; a provider that does not answer raises
ProviderUnavailable, which the pages turn into a sentence, never a 500."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from urllib.parse import quote

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from forum.errors import N_, DomainError
from forum.settings import OidcSettings

log = logging.getLogger("forum.oidc")

DISCOVERY_TTL = 3600.0        # seconds a good discovery document is kept
PROBE_TTL = 5.0               # the sign-in page and a new sign-in ask again after this long (is it still up?)
FAILURE_TTL = 15.0            # seconds a failed discovery is remembered (the sign-in page asks on every view)
JWKS_TTL = 3600.0
JWKS_REFETCH_MIN = 1.0        # an unknown key id refetches the key set at most this often (a flood of bad tokens)
TIMEOUT = httpx.Timeout(5.0, connect=3.0)


class ProviderUnavailable(DomainError):
    status = 503
    code = "identity_provider_unavailable"
    default_message = N_("Sign-in with the identity provider is not available right now. Please try again later.")


@dataclass(frozen=True)
class Metadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    end_session_endpoint: str | None


class Provider:
    """One per app (app.state.oidc). `transport` lets tests put a proxy between the forum and the provider."""

    def __init__(self, settings: OidcSettings, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        self.transport = transport
        self._metadata: Metadata | None = None
        self._metadata_at = 0.0
        self._failed_at = 0.0
        self._keys: KeySet | None = None
        self._keys_at = 0.0

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=TIMEOUT, transport=self.transport, follow_redirects=False)

    async def _get_json(self, url: str, **kwargs) -> dict:
        try:
            async with self._client() as client:
                response = await client.get(url, headers={"accept": "application/json"}, **kwargs)
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("identity provider: GET %s failed: %s", url, exc)
            raise ProviderUnavailable() from None
        if not isinstance(data, dict):
            raise ProviderUnavailable()
        return data

    async def metadata(self, *, max_age: float = DISCOVERY_TTL) -> Metadata:
        """The discovery document; `max_age=PROBE_TTL` also checks that the provider still answers."""
        now = time.monotonic()
        if self._metadata and now - self._metadata_at < max_age:
            return self._metadata
        if self._failed_at and now - self._failed_at < FAILURE_TTL:
            raise ProviderUnavailable()
        try:
            data = await self._get_json(self.settings.issuer + "/.well-known/openid-configuration")
            if data.get("issuer") != self.settings.issuer:  # OpenID Connect Discovery 1.0, section 4.3
                log.error("identity provider: discovery names issuer %r, expected %r", data.get("issuer"),
                          self.settings.issuer)
                raise ProviderUnavailable()
            metadata = Metadata(issuer=data["issuer"], authorization_endpoint=_url(data, "authorization_endpoint"),
                                token_endpoint=_url(data, "token_endpoint"), jwks_uri=_url(data, "jwks_uri"),
                                userinfo_endpoint=_url(data, "userinfo_endpoint", required=False),
                                end_session_endpoint=_url(data, "end_session_endpoint", required=False))
        except (ProviderUnavailable, KeyError, TypeError):
            self._failed_at = now
            raise ProviderUnavailable() from None
        self._metadata, self._metadata_at, self._failed_at = metadata, now, 0.0
        return metadata

    async def available(self) -> bool:
        try:
            await self.metadata(max_age=PROBE_TTL)
        except ProviderUnavailable:
            return False
        return True

    async def keys(self, *, unknown_kid: bool = False) -> KeySet:
        """The provider's public signing keys. A token naming a key id we do not have refetches them (the provider
        rotated its keys), at most every JWKS_REFETCH_MIN seconds."""
        now = time.monotonic()
        fresh = self._keys is not None and now - self._keys_at < JWKS_TTL
        if fresh and not (unknown_kid and now - self._keys_at >= JWKS_REFETCH_MIN):
            return self._keys
        data = await self._get_json((await self.metadata()).jwks_uri)
        try:
            keys = KeySet.import_key_set({"keys": [k for k in data.get("keys", []) if isinstance(k, dict)
                                                   and "d" not in k and k.get("use", "sig") == "sig"]})
        except (JoseError, ValueError, TypeError, KeyError):
            log.error("identity provider: its JWKS could not be read")
            raise ProviderUnavailable() from None
        self._keys, self._keys_at = keys, now
        return keys

    async def exchange_code(self, code: str, code_verifier: str, redirect_uri: str) -> dict:
        """The token request (RFC 6749 4.1.3 with PKCE, client_secret_basic). Returns the JSON answer, or raises
        OidcRefused (the provider refused the code) / ProviderUnavailable."""
        from forum.services.oidc_tokens import OidcRefused

        metadata = await self.metadata()
        auth = httpx.BasicAuth(quote(self.settings.client_id, safe=""), quote(self.settings.client_secret, safe=""))
        try:
            async with self._client() as client:
                response = await client.post(metadata.token_endpoint, auth=auth, headers={"accept": "application/json"},
                                             data={"grant_type": "authorization_code", "code": code,
                                                   "redirect_uri": redirect_uri, "code_verifier": code_verifier})
        except httpx.HTTPError as exc:
            log.warning("identity provider: token request failed: %s", exc)
            raise ProviderUnavailable() from None
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.status_code >= 500 or not isinstance(data, dict):
            raise ProviderUnavailable()
        if response.status_code != 200:
            log.info("identity provider refused the code: %s", data.get("error"))
            raise OidcRefused(N_("The identity provider did not accept this sign-in. Please try again."),
                              code="code_refused")
        return data

    async def userinfo(self, access_token: str) -> dict:
        metadata = await self.metadata()
        if not metadata.userinfo_endpoint:
            return {}
        return await self._get_json(metadata.userinfo_endpoint, params=None,
                                    auth=_Bearer(access_token))


class _Bearer(httpx.Auth):
    def __init__(self, token: str) -> None:
        self.token = token

    def auth_flow(self, request):
        request.headers["authorization"] = f"Bearer {self.token}"
        yield request


def _url(data: dict, name: str, *, required: bool = True) -> str | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.startswith(("https://", "http://")):
        raise KeyError(name)
    return value
