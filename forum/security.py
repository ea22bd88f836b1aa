"""CSRF tokens and the security headers every response carries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ANON_COOKIE = "forum_anon"
SESSION_COOKIE = "forum_session"
LANG_COOKIE = "forum_lang"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
]


_hash_key: bytes | None = None


def set_hash_key(secret_key: str) -> None:
    """Called by the app factory: rows keyed by an address or an email are keyed by an HMAC with this key."""
    global _hash_key
    _hash_key = hashlib.sha256(b"forum keyed hash|" + secret_key.encode()).digest()


def keyed_hash(purpose: str, value: str) -> str:
    """HMAC-SHA256 of `value` under the forum's secret key: an unkeyed hash of an IPv4 address or a known email
    is reversed by trying them all, this one only with the key. `purpose` keeps the uses apart."""
    if _hash_key is None:
        raise RuntimeError("forum.security.set_hash_key was not called")
    return hmac.new(_hash_key, purpose.encode() + b"|" + value.encode("utf-8", "replace"), hashlib.sha256).hexdigest()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_token(secret_key: str, binding: str) -> str:
    """A token tied to the session (or, before sign-in, to the anonymous cookie); nothing is stored."""
    digest = hmac.new(secret_key.encode(), b"csrf|" + binding.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def csrf_matches(secret_key: str, binding: str | None, submitted: str | None) -> bool:
    if not binding or not submitted or len(submitted) > 128 or not submitted.isascii():
        return False  # compare_digest refuses non-ASCII text (a 500 found by tests/test_fuzz_routes.py)
    return hmac.compare_digest(csrf_token(secret_key, binding), submitted)


class SecurityHeadersMiddleware:
    """Adds the headers to every response, HTML, JSON, static and errors alike."""

    def __init__(self, app: ASGIApp, *, hsts: bool = False, form_targets: tuple[str, ...] = ()) -> None:
        self.app = app
        self.hsts = hsts
        # origins a form's answer may redirect to besides 'self' (the identity provider: sign-out, linking)
        self.headers = [(name, (value.decode().replace("form-action 'self'", "form-action 'self' "
                                                        + " ".join(form_targets)).encode()
                                if form_targets and name == b"content-security-policy" else value))
                        for name, value in HEADERS]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                own_policy = "content-security-policy" in headers  # an attached file's (forum/web/files.py)
                for name, value in self.headers:
                    if not (own_policy and name == b"content-security-policy"):
                        headers.raw.append((name, value))
                if self.hsts:
                    headers.raw.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
                if "cache-control" not in headers:
                    headers["cache-control"] = "no-cache, private"
            await send(message)

        await self.app(scope, receive, send_with_headers)
