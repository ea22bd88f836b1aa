"""A real OpenID provider on 127.0.0.1 for the OIDC tests: tests/oidc/provider.mjs (npm `oidc-provider`, a
certified implementation) run by Node, started and stopped here. `make test` installs it (tests/oidc/install.sh);
a missing Node or package makes the tests FAIL, never skip.

The signing keys are made here with joserfc and handed to the provider, so a test can rotate them (a restart with
a new key set, the way a provider rolls its keys) and can sign tokens the provider would never mint (expired, for
another audience) with the provider's own key, or with a foreign one.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest
from joserfc.jwk import RSAKey

HERE = Path(__file__).parent / "oidc"
CLIENT_ID, CLIENT_SECRET = "forum", "forum-test-secret-" + "z" * 24
OTHER_CLIENT_ID = "other-app"  # another application at the same provider (tokens for it must not sign in here)
_FORM_ACTION = r'<form[^>]*action="([^"]+)"'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def new_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": uuid.uuid4().hex[:12], "alg": "RS256", "use": "sig"},
                               private=True)


class OpenIdProvider:
    """One provider process; `restart(keys=...)` replaces its process (and keys) on the same port."""

    def __init__(self, workdir: Path, forum_base: str, backchannel_uri: str | None = None) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.forum_base = forum_base
        self.backchannel_uri = backchannel_uri
        self.keys = [new_key()]
        self.accounts: dict[str, dict] = {}
        self.process: subprocess.Popen | None = None
        self.log = workdir / f"oidc-provider-{self.port}.log"

    def clients(self) -> list[dict]:
        forum = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                 "redirect_uris": [f"{self.forum_base}/auth/oidc/callback"],
                 "post_logout_redirect_uris": [f"{self.forum_base}/"],
                 "response_types": ["code"], "grant_types": ["authorization_code"]}
        if self.backchannel_uri:
            forum.update(backchannel_logout_uri=self.backchannel_uri, backchannel_logout_session_required=True)
        other = {"client_id": OTHER_CLIENT_ID, "client_secret": "other-secret-" + "o" * 24,
                 "redirect_uris": ["http://127.0.0.1:9/callback"], "response_types": ["code"],
                 "grant_types": ["authorization_code"]}
        return [forum, other]

    def start(self) -> None:
        node = shutil.which("node")
        if node is None or not (HERE / "node_modules" / "oidc-provider").is_dir():
            pytest.fail("the OIDC tests need Node and tests/oidc/node_modules: run tests/oidc/install.sh "
                        "(make test does)", pytrace=False)
        config = {"port": self.port, "keys": [k.as_dict(private=True) for k in self.keys],
                  "clients": self.clients(), "accounts": self.accounts}
        out = self.log.open("ab")
        self.process = subprocess.Popen([node, str(HERE / "provider.mjs"), json.dumps(config)], cwd=HERE,
                                        stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the OpenID provider exited:\n{self.log.read_text()}", pytrace=False)
            try:
                if httpx.get(f"{self.issuer}/__test/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.stop()
        pytest.fail(f"the OpenID provider did not start:\n{self.log.read_text()}", pytrace=False)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self.process = None

    def restart(self, keys: list[RSAKey] | None = None) -> None:
        """Key rotation: the provider comes back with `keys` (the first one signs)."""
        self.stop()
        if keys is not None:
            self.keys = keys
        self.start()

    def set_account(self, account_id: str, **claims) -> None:
        self.accounts[account_id] = claims
        response = httpx.post(f"{self.issuer}/__test/accounts", json={account_id: claims}, timeout=5)
        assert response.status_code == 200, response.text

    @property
    def signing_key(self) -> RSAKey:
        return self.keys[0]


async def provider_login(provider_client: httpx.AsyncClient, authorize_url: str, account_id: str) -> str:
    """Plays the person at the provider: follows the authorization request through the development login page
    (submitting the account id) and returns the URL the provider sends the browser back to (the callback)."""
    import re

    url = authorize_url
    for _ in range(12):
        response = await provider_client.get(url)
        if response.status_code in (302, 303):
            url = str(response.url.join(response.headers["location"]))
            if not url.startswith(provider_client.base_url.__str__().rstrip("/")) and "/auth/oidc/" in url:
                return url
            continue
        assert response.status_code == 200, (response.status_code, response.text[:500])
        action = re.search(_FORM_ACTION, response.text)
        assert action, response.text[:500]
        data = dict(re.findall(r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', response.text))
        if 'name="login"' in response.text:
            data.update(login=account_id, password="any")
        response = await provider_client.post(str(response.url.join(action.group(1))), data=data)
        assert response.status_code in (302, 303), (response.status_code, response.text[:500])
        url = str(response.url.join(response.headers["location"]))
        if "/auth/oidc/" in url and not url.startswith(str(provider_client.base_url).rstrip("/")):
            return url
    raise AssertionError("the provider never sent the browser back")


def enable_oidc(app, provider: OpenIdProvider, *, public_url: str, transport=None, **changes):
    """Turns OIDC sign-in on for a running test app (the session's shared one); returns a function that undoes it."""
    from dataclasses import replace

    from forum.services.oidc_provider import Provider
    from forum.settings import OidcSettings

    before = (app.state.settings, getattr(app.state, "oidc", None))
    settings = replace(OidcSettings(issuer=provider.issuer, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                                    scopes="openid email profile groups"), **changes)
    app.state.settings = replace(before[0], public_url=public_url, oidc=settings)
    app.state.oidc = Provider(settings, transport=transport)

    def restore() -> None:
        app.state.settings, app.state.oidc = before

    return restore
