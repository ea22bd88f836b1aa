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
# every character Unicode has (less the lone surrogates UTF-8 cannot carry), and, drawn far more often than
# chance would, the ones that look like digits or nothing: Nd (٣, ３), No (², ①), Cf (soft hyphen, ZWSP, BOM)
# and Zs (no-break and other spaces), alone, around ASCII digits, and as a huge number
ODD = ("Nd", "No", "Cf", "Zs")
odd_chars = st.characters(categories=ODD)
numberish = st.one_of(
    st.text(odd_chars, min_size=1, max_size=6),
    st.text(st.characters(categories=("Nd", "No"), exclude_characters="0123456789"), min_size=1, max_size=3),
    st.tuples(st.text(odd_chars, max_size=2), st.integers(0, 2**40).map(str), st.text(odd_chars, max_size=2)).map(
        "".join),
    st.sampled_from(["²", "١٢", "１２", "9" * 25, "-0", "+1", "1_0", " 1", "0x10", "2026-01-01T00:00:00_" + "9" * 23,
                     "2026-01-01T00:00:00_²", "0001-01-01T00:00:00-23:59_1"]))
any_text = st.text(st.characters(codec="utf-8"), max_size=40)
utf8 = st.one_of(numberish, any_text).map(lambda t: t.encode("utf-8"))
raw_bytes = st.lists(st.one_of(st.sampled_from(BAD_BYTES), st.binary(max_size=8), utf8), max_size=8).map(b"".join)
texts = st.one_of(st.text(max_size=40), any_text, numberish,
                  st.sampled_from(["", "0", "-1", "1e309", "null", "true", "[]", "{}",
                                   "9" * 40, "a" * 5000, "\u202eevil", "a\u200bb"]))
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                         st.floats(allow_nan=False), texts)
json_values = st.recursive(json_scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                                   st.dictionaries(texts, inner, max_size=4)),
                           max_leaves=12)
FIELDS = ["body", "title", "category", "kind", "email", "password", "username", "display_name", "bio", "reason",
          "note", "reply_to", "policy_version", "locale", "ids", "pinned", "locked", "slug", "name", "read",
          "start_topics", "q", "next", "action", "until", "current_password", "new_password", "csrf_token",
          "id", "days", "position", "word", "text", "role", "watch", "agree", "version"]
# every query parameter a handler reads
QUERY = ["page", "q", "before", "kind", "solved", "next", "locale", "category", "author", "saved", "quote",
         "reply_to", "after", "done", "posts"]


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
        value = draw(st.one_of(raw_bytes, utf8))
        pairs.append(quote_from_bytes(key).encode() + b"=" + quote_from_bytes(value).encode())
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
        for _ in range(draw(st.integers(0, 3))):
            query.append(draw(st.sampled_from(QUERY)) + "=" + quote_from_bytes(draw(st.one_of(raw_bytes, utf8))))
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


async def _signed_in_admin(app, make_user):
    from forum.models import Role
    from tests.conftest import new_category, new_reply, new_topic

    admin = await make_user(Role.ADMIN)
    category = await new_category()
    topic = await new_topic(admin, category.slug)
    await new_reply(admin, topic["id"])
    client = _client(app, "192.0.2.12")
    client.cookies, client.csrf = admin.cookies, admin.csrf
    return client, admin, category, topic


# kinds of number that broke handlers: No passes isdigit() and then int() raises; Nd non-ASCII, spaces, signs and
# underscores became numbers; 23 digits overflowed a column
KILLERS = ["²", "①", "١٢", "１", "\u00a01", "1_0", "-1", "9" * 23, "2026-01-01T00:00:00_" + "9" * 23,
           "2026-01-01T00:00:00_²"]


async def test_every_route_parameter_and_field_refuses_odd_numbers_without_a_server_error(app, make_user):
    """A sweep, not a sample: every route, with real ids in its path, gets every query parameter a handler reads
    (each alone, and all at once) and every form or JSON field at once, set to each of KILLERS."""
    client, admin, category, topic = await _signed_in_admin(app, make_user)
    token = await client.form_token("/")
    ending = re.compile(r"^/(logout|settings/(erase|withdraw|password|sessions))|/api/v1/(session|me)\b|consent")
    failures, sent = [], 0
    for method, path in fuzzable_routes(app):
        base = _PARAM.sub(lambda m: str(topic["id"] if "topic" in m.group(1) else topic["first_post_id"]
                                        if "post" in m.group(1) else admin.user["id"])
                          if m.group(2) == "int" else category.slug, path)
        if ending.search(base) and method != "GET":
            continue
        for odd in KILLERS:
            if method == "GET":  # each alone (a refused `page` must not hide a `quote`), for the likeliest killers
                requests_ = ([client.get(base, params={name: odd}) for name in QUERY] if odd == KILLERS[0]
                             else [client.get(base, params=dict.fromkeys(QUERY, odd))])
            elif base.startswith("/api/"):
                requests_ = [client.request(method, base, json=dict.fromkeys(FIELDS, odd),
                                            headers={"x-csrf-token": client.csrf})]
            else:
                requests_ = [client.request(method, base, data={**dict.fromkeys(FIELDS, odd), "csrf_token": token})]
            for response in [await r for r in requests_]:
                sent += 1
                if response.status_code >= 500 or (response.status_code >= 400 and not _shape_ok(response)):
                    failures.append((method, str(response.request.url)[:120], response.status_code))
    assert not failures, failures[:20]
    assert sent > 500


def _shape_ok(response) -> bool:
    try:
        assert_error_shape(response)
    except (AssertionError, KeyError):
        return False
    return True


async def test_odd_numbers_in_every_parameter_and_field_never_get_a_server_error(app, make_user):
    """Aimed where the random requests above rarely land: a signed-in admin (past every role check), real ids in
    the path, and query parameters and form fields drawn from digit-like Unicode (Nd, No, Cf, Zs)
    and huge numbers. Found "²" reaching int() on seven routes."""
    client, admin, category, topic = await _signed_in_admin(app, make_user)
    token = await client.form_token("/")
    routes = fuzzable_routes(app)
    loop = asyncio.get_running_loop()
    seen = Counter()

    def call(coro):
        return asyncio.run_coroutine_threadsafe(coro, loop).result(30)

    ids = st.sampled_from([topic["id"], topic["first_post_id"], admin.user["id"]])
    # the requests that would end the admin's session or account would leave the rest of the run signed out
    ending = re.compile(r"^/(logout|settings/(erase|withdraw|password|sessions))|/api/v1/(session|me)\b|consent")

    @settings(max_examples=EXAMPLES // 2, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
    @given(data=st.data())
    def run(data):
        method, path = data.draw(st.sampled_from(routes))
        url = _PARAM.sub(lambda m: str(data.draw(ids)) if m.group(2) == "int" else category.slug, path)
        if ending.search(url) and method != "GET":
            return
        chosen = [name for name in QUERY if data.draw(st.booleans())]  # a bad `page` must not hide a bad `quote`
        url += "?" + "&".join(f"{name}={quote_from_bytes(data.draw(numberish).encode())}" for name in chosen)
        if method == "GET":
            response = call(client.get(url))
        elif url.startswith("/api/"):
            body = {name: data.draw(st.one_of(numberish, st.integers(-(2**70), 2**70))) for name in FIELDS
                    if name != "csrf_token" and data.draw(st.booleans())}
            response = call(client.request(method, url, json=body, headers={"x-csrf-token": client.csrf}))
        else:
            form = {name: data.draw(numberish) for name in FIELDS if name != "csrf_token"}
            response = call(client.request(method, url, data={**form, "csrf_token": token}))
        seen[response.status_code] += 1
        assert response.status_code < 500, (method, url, response.status_code)
        if response.status_code >= 400:
            assert_error_shape(response)

    await asyncio.to_thread(run)
    print("odd numbers", dict(seen))
