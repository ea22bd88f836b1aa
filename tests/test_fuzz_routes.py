"""Property tests: malformed, oversized, wrongly typed and wrongly encoded requests to every route.

Routes come from the app's own route table, so a new route is fuzzed without anyone listing it. Whatever is
sent, the answer is never a 5xx, and every 4xx has the documented shape (JSON under /api, a page elsewhere).
Requests go as a visitor and as a consented participant with a valid CSRF token, so the checks behind
sign-in and CSRF are reached too.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from urllib.parse import quote_from_bytes

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.routing import Route

from tests.conftest import Client
from tests.test_bad_input import assert_error_shape

EXAMPLES = 600
_PARAM = re.compile(r"{(\w+)(?::(\w+))?}")
# event streams answer forever by design; they are covered by their own tests
STREAMING = re.compile(r"_events")


def fuzzable_routes(app) -> list[tuple[str, str]]:
    out = []
    for route in app.routes:
        if not isinstance(route, Route) or STREAMING.search(route.path):
            continue
        for method in sorted(route.methods or ["GET"]):
            if method != "HEAD":
                out.append((method, route.path))
    return out


BAD_BYTES = [b"\x00", b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b"\xe2\x80\xae", b"\xe2\x80\x8b", b"%", b"&", b"=",
             b"\r\n", b"<script>", b"'", b'"', b"../", b"\xf0\x9f\x92\xa9", b"\xef\xbb\xbf"]
raw_bytes = st.lists(st.one_of(st.sampled_from(BAD_BYTES), st.binary(max_size=8)), max_size=8).map(b"".join)
texts = st.one_of(st.text(max_size=40), st.sampled_from(["", "0", "-1", "1e309", "null", "true", "[]", "{}",
                                                         "9" * 40, "a" * 5000, "\u202eevil", "a\u200bb"]))
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                         st.floats(allow_nan=False), texts)
json_values = st.recursive(json_scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                                   st.dictionaries(texts, inner, max_size=4)),
                           max_leaves=12)
FIELDS = ["body", "title", "category", "kind", "email", "password", "username", "display_name", "bio", "reason",
          "note", "reply_to", "policy_version", "locale", "ids", "pinned", "locked", "slug", "name", "read",
          "start_topics", "q", "next", "action", "until", "current_password", "new_password", "csrf_token"]


@st.composite
def json_bodies(draw) -> bytes:
    kind = draw(st.sampled_from(["object", "any", "bytes", "deep", "escapes", "empty"]))
    if kind == "object":
        keys = draw(st.lists(st.one_of(st.sampled_from(FIELDS), texts), max_size=6))
        return json.dumps({k: draw(json_values) for k in keys}).encode()
    if kind == "any":
        return json.dumps(draw(json_values)).encode()
    if kind == "bytes":
        return draw(raw_bytes)
    if kind == "deep":
        depth = draw(st.integers(100, 50_000))
        return b"[" * depth + b"]" * depth
    if kind == "escapes":  # valid JSON that decodes to text no database or page should get
        field = draw(st.sampled_from(FIELDS))
        value = draw(st.sampled_from(["\\u0000", "\\ud800", "\\udfff\\ud800", "a\\u202eb", "\\u200b\\u200d",
                                      "\\ufeff", "\\uffff"]))
        return f'{{"{field}": "{value}"}}'.encode()
    return b""


@st.composite
def form_bodies(draw, token: str | None) -> bytes:
    pairs = []
    for _ in range(draw(st.integers(0, 6))):
        key = draw(st.one_of(st.sampled_from(FIELDS).map(str.encode), raw_bytes))
        pairs.append(quote_from_bytes(key).encode() + b"=" + quote_from_bytes(draw(raw_bytes)).encode())
    if token and draw(st.booleans()):
        pairs.append(b"csrf_token=" + token.encode())
    if draw(st.integers(0, 9)) == 0:
        pairs.append(b"x=" + b"y" * draw(st.integers(0, 300)) + b"&" * draw(st.integers(0, 80)))
    return b"&".join(pairs)


def fill_path(path: str, draw) -> str:
    def value(match: re.Match) -> str:
        if match.group(2) == "int":
            return str(draw(st.one_of(st.integers(0, 60), st.integers(2**31 - 2, 2**31 + 2),
                                      st.integers(10**19, 10**30))))
        return quote_from_bytes(draw(st.one_of(raw_bytes, st.text(max_size=80).map(str.encode))), safe=b"")
    return _PARAM.sub(value, path)


@st.composite
def requests(draw, routes, token: str | None, csrf: str | None):
    method, path = draw(st.sampled_from(routes))
    if draw(st.integers(0, 19)) == 0:
        method = draw(st.sampled_from(["PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "BREW"]))
    url = fill_path(path, draw)
    if draw(st.booleans()):
        query = [quote_from_bytes(draw(raw_bytes)) + "=" + quote_from_bytes(draw(raw_bytes))
                 for _ in range(draw(st.integers(1, 4)))]
        if draw(st.booleans()):
            query.append(draw(st.sampled_from(["page", "q", "before", "kind", "solved", "next", "locale",
                                               "category", "author", "saved"])) + "=" +
                         quote_from_bytes(draw(raw_bytes)))
        url += "?" + "&".join(query)
    headers = {}
    ctype = draw(st.sampled_from(["application/json", "application/x-www-form-urlencoded", "multipart/form-data",
                                  "multipart/form-data; boundary=x", "text/plain", "application/json; charset=latin-1",
                                  "garbage/\x7f", None]))
    if ctype:
        headers["content-type"] = ctype
    if csrf and draw(st.integers(0, 3)) > 0:
        headers["x-csrf-token"] = csrf
    elif draw(st.booleans()):
        headers["x-csrf-token"] = draw(st.sampled_from(["", "x" * 300, "AAAA", "\u00ff"]))
    if draw(st.integers(0, 4)) == 0:
        headers["accept-language"] = draw(st.sampled_from(["", "*", "xx-YY;q=abc", "nb;q=0.1, en;q=2", "," * 200]))
    if draw(st.integers(0, 4)) == 0:
        headers["origin"] = draw(st.sampled_from(["http://evil.example", "null", "http://testserver"]))
    if method in ("GET", "OPTIONS", "TRACE"):
        body = b"" if draw(st.integers(0, 4)) else draw(raw_bytes)
    elif ctype and "form" in ctype:
        body = draw(form_bodies(token))
    else:
        body = draw(json_bodies())
    return method, url, {k: v.encode("latin-1") for k, v in headers.items()}, body


def _client(app, address: str) -> Client:
    """The fuzzer's own client address, so the sign-in failures it causes throttle no other test's sign-ins."""
    transport = httpx.ASGITransport(app=app.state.asgi, raise_app_exceptions=False, client=(address, 40000))
    return Client(transport=transport, base_url="http://testserver", follow_redirects=False)


async def _signed_in(app, make_user, holder: dict):
    """A participant; replaced when an example signed them out, withdrew or erased them."""
    client = holder.get("client")
    if client is None or (await client.get("/api/v1/session")).status_code != 200:
        made = await make_user()
        client = holder["client"] = _client(app, "192.0.2.11")
        client.cookies = made.cookies
        client.csrf = made.csrf
        holder["token"] = await client.form_token("/")
    return client


@pytest.mark.parametrize("who", ["visitor", "participant"])
async def test_no_request_to_any_route_gets_a_server_error(app, make_user, who):
    anon = _client(app, "192.0.2.10")
    routes = fuzzable_routes(app)
    holder: dict = {}
    assert len(routes) > 60
    counted = {"requests": 0}
    loop = asyncio.get_running_loop()

    def call(coro):
        """Hypothesis drives examples synchronously (in a thread); the app runs on the test's event loop."""
        return asyncio.run_coroutine_threadsafe(coro, loop).result(30)

    @settings(max_examples=EXAMPLES // 2, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
    @given(data=st.data())
    def run(data):
        client = anon if who == "visitor" else call(_signed_in(app, make_user, holder))
        token = holder.get("token") if who == "participant" else None
        method, url, headers, body = data.draw(requests(routes, token, client.csrf))
        response = call(client.request(method, url, headers=headers, content=body))
        counted["requests"] += 1
        counted.setdefault("statuses", Counter())[response.status_code] += 1
        counted.setdefault("routes", set()).add((method, url.split("?")[0]))
        if response.status_code >= 400:
            assert_error_shape(response)
        else:
            assert response.status_code < 500

    await asyncio.to_thread(run)
    assert counted["requests"] >= EXAMPLES // 2
    print(who, counted["requests"], dict(counted["statuses"]), len(routes), "routes")
