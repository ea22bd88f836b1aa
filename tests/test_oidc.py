"""OpenID Connect sign-in against a real OpenID provider (npm `oidc-provider`, started on 127.0.0.1 by
tests/oidc_provider.py), with the forum in-process over HTTP against the real database.

How the attacks are made. Each test plays the person's browser at the provider with its own httpx client (the
provider's real development login page), and the forum redeems the code at the provider's real token endpoint.
Tokens the provider would never mint (`alg: none`, signed by a foreign key, for another audience, expired, issued
in the future, carrying another session's nonce) are built here with joserfc and put into the token endpoint's
real answer on its way to the forum, by a thin test-only proxy: the forum's HTTP transport to the provider
(`TamperingProxy`), the place a network attacker or a compromised proxy would stand. The forum's own code path is
untouched: discovery, the JWKS, the token request and the validation all run as in production.
Back-channel logout tokens are the provider's own: it posts them to a small receiver here, which hands them to
the forum's endpoint unchanged (the in-process forum has no TCP port for the provider to call).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pytest
import pytest_asyncio
from joserfc import jwt
from joserfc.jwk import RSAKey

from forum.models import OidcIdentity, OidcLoginAttempt, OidcSession, Profile, Role, Session, User
from forum.security import hash_token
from forum.services.oidc_provider import Provider
from forum.settings import OidcSettings
from tests.conftest import PASSWORD, unique
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, OTHER_CLIENT_ID, OpenIdProvider, new_key, provider_login

FORUM = "http://testserver"


class BackChannelReceiver:
    """Where the provider posts logout tokens; the test relays each one to the forum."""

    def __init__(self) -> None:
        self.tokens: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length") or 0)).decode()
                receiver.tokens.extend(parse_qs(body).get("logout_token", []))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/backchannel"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class TamperingProxy(httpx.AsyncBaseTransport):
    """The forum's transport to the provider; `rewrite` (when set) changes the token endpoint's JSON answer."""

    def __init__(self) -> None:
        self.rewrite = None
        self.token_endpoint_down = False
        self.token_answers: list[dict] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.token_endpoint_down and request.url.path == "/token":
            raise httpx.ConnectError("connection refused", request=request)
        async with httpx.AsyncClient() as client:
            response = await client.send(request)
            await response.aread()
        if request.url.path == "/token" and response.status_code == 200:
            data = response.json()
            self.token_answers.append(dict(data))
            if self.rewrite is not None:
                data = self.rewrite(data)
                return httpx.Response(200, json=data)
        return httpx.Response(response.status_code, headers=response.headers, content=response.content)

    async def aclose(self) -> None:
        pass


@pytest.fixture(scope="module")
def backchannel():
    receiver = BackChannelReceiver()
    yield receiver
    receiver.close()


@pytest.fixture(scope="module")
def provider(tmp_path_factory, backchannel):
    op = OpenIdProvider(tmp_path_factory.mktemp("oidc"), FORUM, backchannel_uri=backchannel.url)
    op.start()
    yield op
    op.stop()


def oidc_settings(provider: OpenIdProvider, **changes) -> OidcSettings:
    return replace(OidcSettings(issuer=provider.issuer, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                                scopes="openid email profile groups"), **changes)


@pytest.fixture
def proxy() -> TamperingProxy:
    return TamperingProxy()


@pytest_asyncio.fixture
async def configure(app, provider, proxy):
    """Turns OIDC on for the shared test app (public URL = the test client's), with the given settings."""
    before = (app.state.settings, getattr(app.state, "oidc", None))

    def apply(**changes) -> Provider:
        settings = oidc_settings(provider, **changes)
        app.state.settings = replace(before[0], public_url=FORUM, oidc=settings)
        app.state.oidc = Provider(settings, transport=proxy)
        return app.state.oidc

    apply()
    yield apply
    app.state.settings, app.state.oidc = before


@pytest.fixture
def oidc(configure):
    return configure


async def start_sign_in(client, next_path: str | None = None) -> str:
    """The forum's button: returns the provider URL the browser is sent to."""
    response = await client.get("/auth/oidc/login", params={"next": next_path} if next_path else None)
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    return location


async def at_provider(provider: OpenIdProvider, authorize_url: str, account: str,
                      browser: httpx.AsyncClient | None = None) -> str:
    """The person signs in at the provider; returns the forum callback path with code and state."""
    own = browser is None
    browser = browser or httpx.AsyncClient(base_url=provider.issuer, timeout=10)
    try:
        url = await provider_login(browser, authorize_url, account)
    finally:
        if own:
            await browser.aclose()
    assert url.startswith(FORUM + "/auth/oidc/callback?"), url
    return url.removeprefix(FORUM)


async def sign_in(client, provider: OpenIdProvider, account: str, next_path: str | None = None) -> httpx.Response:
    callback = await at_provider(provider, await start_sign_in(client, next_path), account)
    return await client.get(callback)


def account_id() -> str:
    return unique("emp")


async def signed_in_user(client) -> dict | None:
    response = await client.get("/api/v1/session")
    return response.json()["user"] if response.status_code == 200 else None


# -- the flow --------------------------------------------------------------------------------------------------

async def test_first_sign_in_creates_an_account_that_still_needs_consent(oidc, provider, anon, category):
    who = account_id()
    provider.set_account(who, email=f"{who}@company.test", email_verified=True, name="Kari Nordmann")
    authorize = await start_sign_in(anon)
    query = parse_qs(urlsplit(authorize).query)
    assert authorize.startswith(provider.issuer + "/auth?")
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert query["redirect_uri"] == [FORUM + "/auth/oidc/callback"]
    assert query["response_type"] == ["code"] and query["client_id"] == [CLIENT_ID]
    assert query["nonce"][0] and query["state"][0] and "code_verifier" not in query
    response = await anon.get(await at_provider(provider, authorize, who))
    assert response.status_code == 303 and response.headers["location"].startswith("/consent")
    me = await signed_in_user(anon)
    assert me is not None and me["role"] == "member"
    user = await User.get(id=me["id"])
    assert user.email == f"{who}@company.test" and user.password_hash.startswith("!")
    identity = await OidcIdentity.get(user_id=user.id)
    assert (identity.issuer, identity.subject, identity.email_verified) == (provider.issuer, who, True)
    profile = await Profile.get(user_id=user.id)
    assert profile.display_name == "" and who not in profile.username  # the provider's name is not stored
    assert await OidcSession.filter(identity_id=identity.id).count() == 1
    # consent is not sign-in: taking part still needs it
    anon.csrf = await anon.form_token("/settings")
    refused = await anon.api("POST", "/api/v1/topics", {"category": category.slug, "title": "Et spørsmål her",
                                                       "body": "Tekst", "kind": "question"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "consent_required"


async def test_second_sign_in_finds_the_same_account_and_follows_next(oidc, provider, anon, client_factory):
    who = account_id()
    first = await sign_in(anon, provider, who)
    assert first.status_code == 303
    user_id = (await signed_in_user(anon))["id"]
    again = client_factory()
    response = await sign_in(again, provider, who, next_path="/search?q=lønn")
    assert response.status_code == 303 and unquote(response.headers["location"]) == "/search?q=lønn"
    assert (await signed_in_user(again))["id"] == user_id
    assert await OidcIdentity.filter(subject=who).count() == 1


async def test_an_unverified_email_is_stored_as_unverified(oidc, provider, anon):
    who = account_id()
    provider.set_account(who, email=f"{who}@company.test", email_verified=False)
    assert (await sign_in(anon, provider, who)).status_code == 303
    identity = await OidcIdentity.get(subject=who)
    assert identity.email_verified is False


# -- attacks: each a clear 4xx, nothing signed in ----------------------------------------------------------------

async def assert_refused(client, response: httpx.Response, status: int = 400) -> None:
    assert response.status_code == status, response.text[:300]
    assert "forum_session" not in response.headers.get("set-cookie", "")
    assert await signed_in_user(client) is None


async def test_state_mismatch_is_refused(oidc, provider, anon):
    callback = await at_provider(provider, await start_sign_in(anon), account_id())
    forged = callback.replace("state=", "state=x")
    sessions_before = await Session.all().count()
    await assert_refused(anon, await anon.get(forged))
    assert await Session.all().count() == sessions_before


async def test_a_callback_from_another_browser_is_refused(oidc, provider, anon, client_factory):
    """Login CSRF: the attacker's own code and state, pushed into the victim's browser, do not sign it in."""
    attacker = client_factory()
    callback = await at_provider(provider, await start_sign_in(attacker), account_id())
    victim = anon
    await victim.get("/login")  # the victim has a pre-sign-in session of its own
    await assert_refused(victim, await victim.get(callback))


async def test_a_replayed_code_is_refused(oidc, provider, anon):
    who = account_id()
    callback = await at_provider(provider, await start_sign_in(anon), who)
    assert (await anon.get(callback)).status_code == 303
    state = parse_qs(urlsplit(callback).query)["state"][0]
    assert not await OidcLoginAttempt.filter(state_hash=hash_token(state)).exists()  # spent at its first use
    await anon.post_form("/logout", {}, token_from="/settings")
    assert await signed_in_user(anon) is None
    await assert_refused(anon, await anon.get(callback))  # the same callback again: the attempt is spent
    # the old code with a fresh attempt's state: the provider refuses the spent code
    fresh = parse_qs(urlsplit(await start_sign_in(anon)).query)["state"][0]
    code = parse_qs(urlsplit(callback).query)["code"][0]
    await assert_refused(anon, await anon.get("/auth/oidc/callback", params={"code": code, "state": fresh}))


def _forge(provider: OpenIdProvider, real_id_token: str, *, key: RSAKey | None = None, header: dict | None = None,
           **claims) -> str:
    original = jwt.decode(real_id_token, provider.signing_key.as_dict(private=False) and provider.signing_key)
    payload = {**original.claims, **claims}
    payload = {k: v for k, v in payload.items() if v is not None}
    key = key or provider.signing_key
    return jwt.encode(header or {"alg": "RS256", "kid": key.kid}, payload, key)


async def _sign_in_with_rewritten_token(client, provider, proxy, rewrite) -> httpx.Response:
    proxy.rewrite = lambda data: {**data, "id_token": rewrite(data["id_token"])}
    try:
        return await sign_in(client, provider, account_id())
    finally:
        proxy.rewrite = None


def _unsigned(token: str) -> str:
    import base64

    def b64(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."


@pytest.mark.parametrize("attack", ["alg_none", "foreign_key", "wrong_audience", "other_client_azp", "expired",
                                    "future_iat", "old_iat", "hmac_with_client_secret", "wrong_issuer"])
async def test_a_forged_id_token_is_refused(oidc, provider, proxy, anon, attack):
    now = int(time.time())
    foreign = RSAKey.generate_key(2048, parameters={"kid": provider.signing_key.kid, "alg": "RS256"}, private=True)
    rewrites = {
        "alg_none": _unsigned,
        "foreign_key": lambda t: _forge(provider, t, key=foreign),  # same kid, someone else's key
        "wrong_audience": lambda t: _forge(provider, t, aud=OTHER_CLIENT_ID),
        "other_client_azp": lambda t: _forge(provider, t, aud=[CLIENT_ID, OTHER_CLIENT_ID], azp=OTHER_CLIENT_ID),
        "expired": lambda t: _forge(provider, t, exp=now - 300, iat=now - 900),
        "future_iat": lambda t: _forge(provider, t, iat=now + 3600, exp=now + 7200),
        "old_iat": lambda t: _forge(provider, t, iat=now - 7200, exp=now + 600),
        "wrong_issuer": lambda t: _forge(provider, t, iss="http://127.0.0.1:9"),
    }
    if attack == "hmac_with_client_secret":
        from joserfc.jwk import OctKey

        secret = OctKey.import_key(CLIENT_SECRET)
        rewrites[attack] = lambda t: jwt.encode({"alg": "HS256"}, jwt.decode(t, provider.signing_key).claims, secret,
                                                algorithms=["HS256"])
    users_before = await User.all().count()
    response = await _sign_in_with_rewritten_token(anon, provider, proxy, rewrites[attack])
    await assert_refused(anon, response)
    assert await User.all().count() == users_before


async def test_a_nonce_from_another_session_is_refused(oidc, provider, proxy, anon, client_factory):
    """A valid ID token for this client, but minted for another browser's sign-in (its nonce), injected into
    this browser's token answer."""
    who = account_id()  # the same person, so only the nonce tells the two sign-ins apart
    other = client_factory()
    assert (await sign_in(other, provider, who)).status_code == 303
    stolen = proxy.token_answers[-1]["id_token"]
    proxy.rewrite = lambda data: {**data, "id_token": stolen}
    try:
        response = await sign_in(anon, provider, who)
    finally:
        proxy.rewrite = None
    await assert_refused(anon, response)


async def test_next_that_leaves_the_site_is_refused(oidc, provider, anon):
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"):
        response = await anon.get("/auth/oidc/login", params={"next": target})
        assert response.status_code == 400, target
        assert "location" not in response.headers
    assert await OidcLoginAttempt.filter(next_path__contains="evil").count() == 0


async def test_an_unverified_email_cannot_take_over_an_existing_account(configure, provider, make_user,
                                                                        client_factory):
    configure(link_verified_email=True)
    victim = await make_user(consented=False)
    attacker = client_factory()
    who = account_id()
    provider.set_account(who, email=victim.user["email"], email_verified=False)
    response = await sign_in(attacker, provider, who)
    await assert_refused(attacker, response, status=409)
    assert await OidcIdentity.filter(subject=who).count() == 0
    assert await User.filter(email=victim.user["email"]).count() == 1


async def test_a_verified_email_links_an_existing_account_only_when_the_admin_allows_it(configure, provider,
                                                                                        make_user, client_factory):
    member = await make_user(consented=False)
    who = account_id()
    provider.set_account(who, email=member.user["email"], email_verified=True)
    browser = client_factory()
    await assert_refused(browser, await sign_in(browser, provider, who), status=409)  # off by default
    configure(link_verified_email=True)
    response = await sign_in(browser, provider, who)
    assert response.status_code == 303
    assert (await signed_in_user(browser))["id"] == member.user["id"]
    assert (await OidcIdentity.get(subject=who)).user_id == member.user["id"]


async def test_the_provider_rotating_its_keys_mid_run_signs_in_fine(oidc, provider, proxy, anon, client_factory):
    who = account_id()
    assert (await sign_in(anon, provider, who)).status_code == 303  # the forum now holds the old key set
    provider.restart(keys=[new_key(), provider.signing_key])
    await asyncio.sleep(1.1)  # the forum refetches keys for an unknown key id at most once a second
    again = client_factory()
    response = await sign_in(again, provider, who)
    assert response.status_code == 303, response.text
    assert (await signed_in_user(again))["id"] == (await signed_in_user(anon))["id"]
    assert jwt.decode(proxy.token_answers[-1]["id_token"], provider.signing_key).header["kid"] == \
        provider.signing_key.kid  # signed by the new key


async def test_the_provider_down_the_sign_in_page_says_so_and_passwords_still_work(configure, provider, make_user,
                                                                                  client_factory):
    member = await make_user(consented=False)
    configure(issuer="http://127.0.0.1:9")  # nothing listens there
    visitor = client_factory()
    page = await visitor.get("/login")
    assert page.status_code == 200
    assert 'id="oidc-unavailable"' in page.text and 'id="oidc-sign-in"' not in page.text
    start = await visitor.get("/auth/oidc/login")
    assert start.status_code == 303 and start.headers["location"].startswith("/login?oidc=unavailable")
    followed = await visitor.get(start.headers["location"])
    assert followed.status_code == 200 and 'id="oidc-unavailable"' in followed.text
    response = await visitor.post_form("/login", {"email": member.user["email"], "password": PASSWORD})
    assert response.status_code == 303
    assert (await signed_in_user(visitor))["id"] == member.user["id"]


# -- only the provider: password sign-in and registration off ----------------------------------------------------

async def test_oidc_only_turns_off_registration_and_member_passwords_but_admins_keep_theirs(configure, provider,
                                                                                           make_user, client_factory):
    member = await make_user(consented=False)
    admin = await make_user(Role.ADMIN, consented=False)
    configure(only=True)
    visitor = client_factory()
    page = await visitor.get("/login")
    assert 'id="oidc-sign-in"' in page.text and "/register" not in page.text  # not offered, not even in the header
    assert (await visitor.get("/register")).status_code == 403
    name = unique()
    refused = await visitor.api("POST", "/api/v1/users", {"username": name, "email": f"{name}@example.test",
                                                          "password": PASSWORD})
    assert refused.status_code == 403 and await User.filter(email=f"{name}@example.test").count() == 0
    wrong = await visitor.post_form("/login", {"email": member.user["email"], "password": PASSWORD})
    assert wrong.status_code == 401 and await signed_in_user(visitor) is None
    api = await visitor.api("POST", "/api/v1/session", {"email": member.user["email"], "password": PASSWORD})
    assert api.status_code == 401
    ok = await visitor.post_form("/login", {"email": admin.user["email"], "password": PASSWORD})
    assert ok.status_code == 303 and (await signed_in_user(visitor))["id"] == admin.user["id"]


# -- linking from settings ---------------------------------------------------------------------------------------

async def test_a_signed_in_member_links_and_unlinks_from_settings(oidc, provider, make_user):
    member = await make_user(consented=False)
    who = account_id()
    provider.set_account(who, email="someone.else@company.test", email_verified=False)
    page = await member.get("/settings")
    assert 'id="oidc-status"' in page.text
    response = await member.post_form("/settings/oidc/link", {}, token_from="/settings")
    assert response.status_code == 303 and response.headers["location"].startswith(provider.issuer)
    callback = await at_provider(provider, response.headers["location"], who)
    back = await member.get(callback)
    assert back.status_code == 303 and back.headers["location"] == "/settings?saved=oidc_linked"
    identity = await OidcIdentity.get(subject=who)
    assert identity.user_id == member.user["id"]
    assert (await User.get(id=member.user["id"])).email == member.user["email"]  # the provider's email is not taken
    # the provider's account now signs in to this member's account
    assert "Fjern koblingen" in (await member.get("/settings")).text
    removed = await member.post_form("/settings/oidc/unlink", {}, token_from="/settings")
    assert removed.status_code == 303
    assert await OidcIdentity.filter(subject=who).count() == 0


async def test_a_provider_made_account_cannot_remove_its_only_way_in(oidc, provider, anon):
    who = account_id()
    assert (await sign_in(anon, provider, who)).status_code == 303
    response = await anon.post_form("/settings/oidc/unlink", {}, token_from="/settings")
    assert response.status_code == 400
    assert await OidcIdentity.filter(subject=who).count() == 1


async def test_a_member_cannot_link_a_provider_account_that_belongs_to_another(oidc, provider, anon, make_user):
    who = account_id()
    assert (await sign_in(anon, provider, who)).status_code == 303
    member = await make_user(consented=False)
    response = await member.post_form("/settings/oidc/link", {}, token_from="/settings")
    back = await member.get(await at_provider(provider, response.headers["location"], who))
    assert back.status_code == 409
    assert (await OidcIdentity.get(subject=who)).user_id != member.user["id"]


# -- signing out -------------------------------------------------------------------------------------------------

async def test_sign_out_ends_the_forum_session_and_goes_to_the_provider(oidc, provider, anon):
    assert (await sign_in(anon, provider, account_id())).status_code == 303
    response = await anon.post_form("/logout", {}, token_from="/settings")
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith(provider.issuer + "/session/end?")
    assert parse_qs(urlsplit(location).query)["post_logout_redirect_uri"] == [FORUM + "/"]
    assert await signed_in_user(anon) is None


async def test_a_password_session_signs_out_without_the_provider(oidc, make_user):
    member = await make_user(consented=False)
    response = await member.post_form("/logout", {}, token_from="/settings")
    assert response.status_code == 303 and response.headers["location"] == "/"


async def test_back_channel_logout_from_the_provider_ends_the_members_sessions(oidc, provider, backchannel,
                                                                              client_factory):
    who = account_id()
    provider_browser = httpx.AsyncClient(base_url=provider.issuer, timeout=10)
    forum_browser = client_factory()
    try:
        callback = await at_provider(provider, await start_sign_in(forum_browser), who, browser=provider_browser)
        assert (await forum_browser.get(callback)).status_code == 303
        other_device = client_factory()
        assert (await sign_in(other_device, provider, who)).status_code == 303
        user_id = (await signed_in_user(forum_browser))["id"]
        backchannel.tokens.clear()
        # the person signs out at the provider (its logout page), which notifies the forum's back channel
        page = await provider_browser.get("/session/end", params={"client_id": CLIENT_ID})
        import re

        action = re.search(r'<form[^>]*action="([^"]+)"', page.text).group(1)
        xsrf = re.search(r'name="xsrf" value="([^"]+)"', page.text).group(1)
        await provider_browser.post(action, data={"xsrf": xsrf, "logout": "yes"})
        for _ in range(50):
            if backchannel.tokens:
                break
            await asyncio.sleep(0.1)
        assert backchannel.tokens, "the provider sent no logout token"
    finally:
        await provider_browser.aclose()
    token = backchannel.tokens[-1]
    relay = client_factory()
    refused = await relay.post("/auth/oidc/backchannel-logout", data={"logout_token": token[:-4] + "AAAA"})
    assert refused.status_code == 400 and await signed_in_user(forum_browser) is not None
    response = await relay.post("/auth/oidc/backchannel-logout", data={"logout_token": token})
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    assert await signed_in_user(forum_browser) is None  # the provider session's forum session ended
    assert await signed_in_user(other_device) is not None  # another provider session (sid) is not touched
    assert await Session.filter(user_id=user_id).count() == 1


async def test_a_logout_token_must_be_a_logout_token(oidc, provider, anon, client_factory):
    who = account_id()
    assert (await sign_in(anon, provider, who)).status_code == 303
    now = int(time.time())
    base = {"iss": provider.issuer, "aud": CLIENT_ID, "iat": now, "jti": unique("j"), "sub": who,
            "events": {"http://schemas.openid.net/event/backchannel-logout": {}}}
    key = provider.signing_key
    header = {"alg": "RS256", "kid": key.kid, "typ": "logout+jwt"}
    bad = [
        jwt.encode(header, {**base, "nonce": "n"}, key),          # an ID token's shape
        jwt.encode(header, {**base, "events": {}}, key),          # no logout event
        jwt.encode(header, {**base, "aud": OTHER_CLIENT_ID}, key),
        jwt.encode(header, {**base, "iat": now - 3600}, key),     # stale
        jwt.encode({**header, "typ": "JWT"}, base, key),          # typed as something else
        jwt.encode(header, {k: v for k, v in base.items() if k != "sub"}, key),  # neither sub nor sid
        jwt.encode(header, base, RSAKey.generate_key(2048, parameters={"kid": key.kid}, private=True)),
        "not a token", "",
    ]
    relay = client_factory()
    for token in bad:
        response = await relay.post("/auth/oidc/backchannel-logout", data={"logout_token": token})
        assert response.status_code == 400
    assert (await relay.post("/auth/oidc/backchannel-logout", content=b"{}",
                             headers={"content-type": "application/json"})).status_code == 400
    assert await signed_in_user(anon) is not None
    good = jwt.encode(header, base, key)
    assert (await relay.post("/auth/oidc/backchannel-logout", data={"logout_token": good})).status_code == 200
    assert await signed_in_user(anon) is None  # sub without sid: every session of the account


# -- role mapping ------------------------------------------------------------------------------------------------

async def test_a_group_claim_grants_staff_at_the_next_sign_in_and_takes_it_back_audited(configure, provider,
                                                                                       client_factory):
    from moderation.models import AuditEntry

    configure(staff_claim="groups", staff_value="forum-staff")
    who = account_id()
    provider.set_account(who, groups=["sales"])
    first = client_factory()
    assert (await sign_in(first, provider, who)).status_code == 303
    me = await signed_in_user(first)
    assert me["role"] == "member"
    provider.set_account(who, groups=["sales", "forum-staff"])
    assert (await User.get(id=me["id"])).role == Role.MEMBER  # not before the next sign-in
    second = client_factory()
    assert (await sign_in(second, provider, who)).status_code == 303
    assert (await User.get(id=me["id"])).role == Role.STAFF
    entry = await AuditEntry.filter(target_kind="user", target_id=me["id"]).order_by("-id").first()
    assert (entry.action, entry.actor_id, entry.detail) == ("role_from_provider", None, "staff (groups)")
    provider.set_account(who, groups=["sales"])
    third = client_factory()
    assert (await sign_in(third, provider, who)).status_code == 303
    assert (await User.get(id=me["id"])).role == Role.MEMBER
    assert await AuditEntry.filter(action="role_from_provider", target_id=me["id"]).count() == 2


async def test_the_claim_never_demotes_a_role_it_did_not_grant(configure, provider, client_factory):
    configure(staff_claim="groups", staff_value="forum-staff")
    who = account_id()
    browser = client_factory()
    assert (await sign_in(browser, provider, who)).status_code == 303
    user_id = (await signed_in_user(browser))["id"]
    for role in (Role.MODERATOR, Role.STAFF):  # given by an admin, not by the claim
        await User.filter(id=user_id).update(role=role)
        again = client_factory()
        assert (await sign_in(again, provider, who)).status_code == 303
        assert (await User.get(id=user_id)).role == role


# -- off by default ----------------------------------------------------------------------------------------------

async def test_without_an_issuer_the_routes_are_not_there_and_the_page_has_no_button(anon):
    assert (await anon.get("/auth/oidc/login")).status_code == 404
    assert (await anon.get("/auth/oidc/callback?code=x&state=y")).status_code == 404
    assert (await anon.post("/auth/oidc/backchannel-logout", data={"logout_token": "x"})).status_code == 404
    assert "oidc" not in (await anon.get("/login")).text


def test_the_oidc_migration_goes_forward_and_back(tmp_path):
    """0016 adds the three OIDC tables; back to 0010 removes them; forward again restores them."""
    import sqlite3

    from tests.conftest import migrate_in_a_process

    path = tmp_path / "mig.sqlite3"
    url = f"sqlite:///{path}"
    tables = "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'oidc%' ORDER BY name"

    def oidc_tables() -> list[str]:
        conn = sqlite3.connect(path)
        try:
            return [row[0] for row in conn.execute(tables)]
        finally:
            conn.close()

    migrate_in_a_process(url, None)
    assert oidc_tables() == ["oidc_identity", "oidc_login_attempt", "oidc_session"]
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO account (id, email, password_hash, role, created_at) "
                 "VALUES (1, 'a@example.test', '!oidc-no-password', 'member', '2026-01-01')")
    conn.execute("INSERT INTO oidc_identity (user_id, issuer, subject, email_verified, staff_from_claim, created_at) "
                 "VALUES (1, 'https://id.example', 'abc', 1, 0, '2026-01-01')")
    conn.commit()
    try:
        conn.execute("INSERT INTO oidc_identity (user_id, issuer, subject, email_verified, staff_from_claim, "
                     "created_at) VALUES (1, 'https://id.example', 'abc', 0, 0, '2026-01-01')")
        duplicate = "stored"
    except sqlite3.IntegrityError:
        duplicate = "refused"
    conn.close()
    assert duplicate == "refused"  # one forum account per issuer + subject
    migrate_in_a_process(url, "models.0010_audit_reason_scrub")
    assert oidc_tables() == []
    migrate_in_a_process(url, None)
    assert oidc_tables() == ["oidc_identity", "oidc_login_attempt", "oidc_session"]


async def test_an_account_without_a_password_is_erased_after_signing_in_anew_at_the_provider(oidc, provider, anon):
    from datetime import UTC, datetime, timedelta

    who = account_id()
    assert (await sign_in(anon, provider, who)).status_code == 303
    user_id = (await signed_in_user(anon))["id"]
    page = await anon.get("/settings/erase")
    assert "reauth=1" in page.text and 'name="password"' not in page.text
    await Session.filter(user_id=user_id).update(created_at=datetime.now(UTC) - timedelta(minutes=11))
    stale = await anon.post_form("/settings/erase", {"password": ""}, token_from="/settings/erase")
    assert stale.status_code == 400 and await User.filter(id=user_id).exists()
    again = await start_sign_in(anon, "/settings/erase")
    assert "prompt=login" not in again  # only the erase page's link asks the provider to sign in anew
    fresh = await anon.get("/auth/oidc/login", params={"next": "/settings/erase", "reauth": "1"})
    assert parse_qs(urlsplit(fresh.headers["location"]).query)["prompt"] == ["login"]
    back = await anon.get(await at_provider(provider, fresh.headers["location"], who))
    assert back.status_code == 303 and back.headers["location"] == "/settings/erase"
    erased = await anon.post_form("/settings/erase", {"password": ""}, token_from="/settings/erase")
    assert erased.status_code == 200
    assert not await User.filter(id=user_id).exists() and not await OidcIdentity.filter(subject=who).exists()


async def test_the_data_export_shows_the_link_and_purge_removes_stale_attempts(oidc, provider, anon):
    from datetime import UTC, datetime, timedelta

    from forum.services.retention import purge
    from forum.settings import Retention

    who = account_id()
    assert (await sign_in(anon, provider, who)).status_code == 303
    export = (await anon.get("/settings/export")).json()
    assert [(x["issuer"], x["subject"]) for x in export["identity_provider_links"]] == [(provider.issuer, who)]
    await start_sign_in(anon)  # a sign-in that never comes back
    await OidcLoginAttempt.all().update(expires_at=datetime.now(UTC) - timedelta(minutes=1))
    counts = await purge(Retention())
    assert counts["oidc_login_attempts"] >= 1 and await OidcLoginAttempt.all().count() == 0


def test_the_csp_lets_a_forms_answer_redirect_to_the_provider_origin_only():
    """Signing out and linking post a form whose answer redirects to the provider: its origin (not its path) joins
    form-action. tests/browser/test_oidc_journey.py shows Chromium following it (a CSP refusal fails a journey)."""
    from forum.security import SecurityHeadersMiddleware
    from forum.services.oidc import form_targets

    targets = form_targets(OidcSettings(issuer="https://id.example.com/realms/staff", client_id="forum"))
    assert targets == ("https://id.example.com",)
    csp = dict(SecurityHeadersMiddleware(None, form_targets=targets).headers)[b"content-security-policy"].decode()
    assert "form-action 'self' https://id.example.com;" in csp
    plain = dict(SecurityHeadersMiddleware(None).headers)[b"content-security-policy"].decode()
    assert "form-action 'self';" in plain


@pytest.mark.parametrize("env, message", [
    ({"FORUM_OIDC_ISSUER": "https://id.example"}, "FORUM_PUBLIC_URL"),
    ({"FORUM_OIDC_ISSUER": "https://id.example", "FORUM_PUBLIC_URL": "https://forum.example"}, "CLIENT_ID"),
    ({"FORUM_OIDC_ISSUER": "ftp://id.example", "FORUM_PUBLIC_URL": "https://forum.example"}, "must be an http"),
    ({"FORUM_OIDC_ISSUER": "https://id.example", "FORUM_PUBLIC_URL": "https://f.example", "FORUM_OIDC_CLIENT_ID": "f",
      "FORUM_OIDC_SCOPES": "email"}, "openid"),
    ({"FORUM_OIDC_ISSUER": "https://id.example", "FORUM_PUBLIC_URL": "https://f.example", "FORUM_OIDC_CLIENT_ID": "f",
      "FORUM_OIDC_ALGORITHMS": "RS256,none"}, "FORUM_OIDC_ALGORITHMS"),
    ({"FORUM_OIDC_ISSUER": "https://id.example", "FORUM_PUBLIC_URL": "https://f.example", "FORUM_OIDC_CLIENT_ID": "f",
      "FORUM_OIDC_ALGORITHMS": "HS256"}, "FORUM_OIDC_ALGORITHMS"),
    ({"FORUM_OIDC_ISSUER": "https://id.example", "FORUM_PUBLIC_URL": "https://f.example", "FORUM_OIDC_CLIENT_ID": "f",
      "FORUM_OIDC_STAFF_CLAIM": "groups"}, "go together"),
])
def test_settings_that_cannot_work_stop_the_start(monkeypatch, env, message):
    from forum.settings import SettingsError, load_settings

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=message):
        load_settings(secret_key="x" * 40)


def test_settings_read_from_the_environment(monkeypatch):
    from forum.settings import load_settings

    for name, value in {"FORUM_OIDC_ISSUER": "https://id.example/", "FORUM_PUBLIC_URL": "https://forum.example",
                        "FORUM_OIDC_CLIENT_ID": "forum", "FORUM_OIDC_CLIENT_SECRET": "s3cret", "FORUM_OIDC_ONLY": "on",
                        "FORUM_OIDC_STAFF_CLAIM": "groups", "FORUM_OIDC_STAFF_VALUE": "forum-staff",
                        "FORUM_OIDC_LABEL_EN": "Sign in with Acme"}.items():
        monkeypatch.setenv(name, value)
    oidc = load_settings(secret_key="x" * 40).oidc
    assert (oidc.issuer, oidc.client_id, oidc.only, oidc.staff_claim) == ("https://id.example", "forum", True, "groups")
    assert oidc.label("en") == "Sign in with Acme" and oidc.label("nb") == "Logg inn med bedriftskontoen"
    assert "s3cret" not in repr(oidc) and oidc.algorithms == ("RS256", "ES256", "PS256", "EdDSA")
    monkeypatch.delenv("FORUM_OIDC_ISSUER")
    assert load_settings(secret_key="x" * 40).oidc is None


async def test_the_provider_going_down_mid_sign_in_or_refusing_it_is_no_500(oidc, provider, proxy, anon):
    callback = await at_provider(provider, await start_sign_in(anon), account_id())
    proxy.token_endpoint_down = True
    try:
        response = await anon.get(callback)
    finally:
        proxy.token_endpoint_down = False
    await assert_refused(anon, response, status=503)
    assert "ikke tilgjengelig" in response.text
    cancelled = await anon.get("/auth/oidc/callback", params={"error": "access_denied", "state": "x"})
    await assert_refused(anon, cancelled)
    for junk in ({"state": "x" * 5000, "code": "y"}, {"code": "y"}, {}):
        await assert_refused(anon, await anon.get("/auth/oidc/callback", params=junk))
