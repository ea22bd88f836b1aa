"""Sign-in throttling, password reset by email (a real local SMTP server), sessions and cookie flags."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from datetime import UTC, datetime, timedelta

import httpx

from forum.models import PasswordResetToken, Session, SignInThrottle, User
from forum.security import SESSION_COOKIE, hash_token
from forum.services import throttle
from tests.conftest import PASSWORD, Client, unique
from tests.mail_helpers import Inbox, deliver, link


def client_at(app, address: str) -> Client:
    """A client from its own address, so each test's failures throttle only itself."""
    transport = httpx.ASGITransport(app=app.state.asgi, raise_app_exceptions=False, client=(address, 40000))
    return Client(transport=transport, base_url="http://testserver", follow_redirects=False)


def fresh_address() -> str:
    n = int(unique("")[:6], 16)
    return f"198.51.{n % 250}.{n // 250 % 250 + 1}"


async def _wrong(client, email: str):
    return await client.api("POST", "/api/v1/session", {"email": email, "password": "wrong password here"})


# -- throttling ------------------------------------------------------------------------------------------------

def test_waits_grow_after_the_free_failures_and_are_capped():
    free = throttle.ACCOUNT_FREE_FAILURES
    waits = [throttle.wait_after(n, free) for n in range(1, free + 12)]
    assert waits[:free] == [0] * free
    assert waits[free:free + 4] == [1, 2, 4, 8]
    assert throttle.wait_after(10_000, free) == throttle.MAX_WAIT_SECONDS


async def test_an_account_is_throttled_and_the_answer_is_the_same_for_an_unknown_address(app, make_user):
    user = await make_user()
    ghost = f"{unique('ghost')}@example.test"
    answers = {}
    for address in (user.user["email"], ghost):
        client = client_at(app, fresh_address())
        statuses = [(await _wrong(client, address)).status_code for _ in range(throttle.ACCOUNT_FREE_FAILURES + 1)]
        assert statuses == [401] * (throttle.ACCOUNT_FREE_FAILURES + 1)
        throttled = await _wrong(client, address)
        assert throttled.status_code == 429
        assert int(throttled.headers["retry-after"]) >= 1
        answers[address] = throttled.json()
        # even the right password waits: the throttle is checked before the password
        right = await client.api("POST", "/api/v1/session", {"email": address, "password": PASSWORD})
        assert right.status_code == 429
    known, unknown = answers.values()
    assert known == unknown  # nothing tells whether the account exists
    assert known["error"]["code"] == "sign_in_throttled"
    # the same account from another address waits too (it is the account that is being guessed)
    other = client_at(app, fresh_address())
    assert (await other.api("POST", "/api/v1/session", {"email": user.user["email"], "password": PASSWORD})
            ).status_code == 429
    row = await SignInThrottle.get(key=throttle.account_key(user.user["email"]))
    assert row.failures == throttle.ACCOUNT_FREE_FAILURES + 1 and row.blocked_until > time.time()
    assert user.user["email"] not in row.key  # stored hashed


async def test_the_wait_ends_and_a_correct_password_clears_the_account_count(app, make_user):
    user = await make_user()
    email = user.user["email"]
    client = client_at(app, fresh_address())
    for _ in range(throttle.ACCOUNT_FREE_FAILURES + 1):
        await _wrong(client, email)
    assert (await _wrong(client, email)).status_code == 429
    await SignInThrottle.filter(key=throttle.account_key(email)).update(blocked_until=time.time() - 1)
    ok = await client.api("POST", "/api/v1/session", {"email": email, "password": PASSWORD})
    assert ok.status_code == 200
    assert not await SignInThrottle.filter(key=throttle.account_key(email)).exists()


async def test_one_address_guessing_many_accounts_is_throttled(app):
    address = fresh_address()
    client = client_at(app, address)
    for n in range(throttle.ADDRESS_FREE_FAILURES + 1):
        assert (await _wrong(client, f"victim{n}-{unique()}@example.test")).status_code == 401
    assert (await _wrong(client, f"another-{unique()}@example.test")).status_code == 429
    elsewhere = client_at(app, fresh_address())  # other addresses are not affected
    assert (await _wrong(elsewhere, f"another-{unique()}@example.test")).status_code == 401


async def test_the_sign_in_page_is_throttled_too(app, make_user):
    user = await make_user()
    client = client_at(app, fresh_address())
    for _ in range(throttle.ACCOUNT_FREE_FAILURES + 1):
        await client.post_form("/login", {"email": user.user["email"], "password": "wrong password here"})
    page = await client.post_form("/login", {"email": user.user["email"], "password": PASSWORD})
    assert page.status_code == 429 and "retry-after" in page.headers
    assert 'role="alert"' in page.text and SESSION_COOKIE not in page.headers.get("set-cookie", "")


async def test_failures_counted_concurrently_are_all_counted(app):
    email = f"{unique('race')}@example.test"
    clients = [client_at(app, fresh_address()) for _ in range(4)]
    await asyncio.gather(*[_wrong(c, email) for c in clients])
    assert (await SignInThrottle.get(key=throttle.account_key(email))).failures == 4


# -- password reset by email --------------------------------------------------------------------------------------

def _resets(inbox: Inbox, address: str) -> list:
    return [m for m in inbox.to(address) if "/password/reset/" in m.get_body(("plain",)).get_content()]


async def _reset_link(inbox: Inbox, address: str, before: int = 0) -> str:
    await deliver(inbox.app)
    resets = _resets(inbox, address)
    assert len(resets) == before + 1
    return link(resets[-1], "/password/reset/").rsplit("/", 1)[1]


async def test_reset_by_email_sets_the_password_ends_every_session_and_works_once(app, make_user, client_factory,
                                                                                   smtp):
    user = await make_user()
    email = user.user["email"]
    second = client_factory()
    await second.api("POST", "/api/v1/session", {"email": email, "password": PASSWORD})
    anon = client_factory()
    page = await anon.post_form("/password/forgot", {"email": email}, token_from="/password/forgot")
    assert page.status_code == 200 and 'role="status"' in page.text
    token = await _reset_link(smtp, email)
    stored = await PasswordResetToken.get(user__email=email)
    assert stored.token_hash == hash_token(token) and token not in str(stored.__dict__)  # only the hash is kept
    assert stored.expires_at - stored.created_at <= timedelta(hours=1, seconds=5)

    form = await anon.get(f"/password/reset/{token}")
    assert form.status_code == 200 and 'name="new_password"' in form.text
    short = await anon.post_form(f"/password/reset/{token}", {"new_password": "short"}, token_from="/password/forgot")
    assert short.status_code == 400  # a rule broken: the token is not spent
    done = await anon.post_form(f"/password/reset/{token}", {"new_password": "a brand new passphrase"},
                                token_from="/password/forgot")
    assert done.status_code == 200 and 'role="status"' in done.text
    assert await Session.filter(user__email=email).count() == 0  # every session ended
    assert (await user.get("/api/v1/session")).status_code == 401
    assert (await second.get("/api/v1/session")).status_code == 401
    again = await anon.post_form(f"/password/reset/{token}", {"new_password": "yet another passphrase"},
                                 token_from="/password/forgot")
    assert again.status_code == 400 and 'role="alert"' in again.text  # single use
    old = await anon.api("POST", "/api/v1/session", {"email": email, "password": PASSWORD})
    assert old.status_code == 401
    new = await anon.api("POST", "/api/v1/session", {"email": email, "password": "a brand new passphrase"})
    assert new.status_code == 200


async def test_reset_api_answers_alike_for_unknown_addresses_and_refuses_expired_tokens(anon, make_user, smtp):
    user = await make_user()
    known = await anon.api("POST", "/api/v1/password/forgot", {"email": user.user["email"]})
    unknown = await anon.api("POST", "/api/v1/password/forgot", {"email": f"{unique('nobody')}@example.test"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json() == {"sent": True}
    token = await _reset_link(smtp, user.user["email"])
    assert [m["To"] for m in smtp.messages if "/password/reset/" in m.get_body(("plain",)).get_content()] \
        == [user.user["email"]]
    await PasswordResetToken.filter(user__email=user.user["email"]).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1))
    expired = await anon.api("POST", "/api/v1/password/reset", {"token": token, "new_password": "fresh passphrase"})
    assert expired.status_code == 400 and expired.json()["error"]["code"] == "invalid_token"
    bogus = await anon.api("POST", "/api/v1/password/reset", {"token": "x" * 43, "new_password": "fresh passphrase"})
    assert bogus.json() == expired.json()
    assert (await anon.get("/password/reset/" + "x" * 43)).status_code == 400


async def test_a_token_used_twice_at_once_resets_once(anon, make_user, smtp, client_factory):
    user = await make_user()
    await anon.api("POST", "/api/v1/password/forgot", {"email": user.user["email"]})
    token = await _reset_link(smtp, user.user["email"])
    racers = [client_factory() for _ in range(3)]
    answers = await asyncio.gather(*[c.api("POST", "/api/v1/password/reset",
                                           {"token": token, "new_password": f"racing passphrase {n}"})
                                     for n, c in enumerate(racers)])
    assert sorted(a.status_code for a in answers) == [200, 400, 400]
    assert await PasswordResetToken.filter(user__email=user.user["email"], used_at=None).count() == 0


async def test_reset_links_per_account_are_limited(anon, make_user, smtp):
    user = await make_user()
    for _ in range(5):
        assert (await anon.api("POST", "/api/v1/password/forgot", {"email": user.user["email"]})).status_code == 202
    await deliver(smtp.app)
    assert len(_resets(smtp, user.user["email"])) == 3
    assert await PasswordResetToken.filter(user__email=user.user["email"]).count() == 3


async def test_mail_link_uses_the_configured_address_not_the_host_header(anon, make_user, smtp):
    user = await make_user()
    await anon.api("POST", "/api/v1/password/forgot", {"email": user.user["email"]},
                   headers={"host": "evil.example"})
    await _reset_link(smtp, user.user["email"])
    assert "evil.example" not in _resets(smtp, user.user["email"])[-1].as_string()


# -- sessions and cookies --------------------------------------------------------------------------------------------

async def test_cookies_are_httponly_samesite_and_secure_when_configured(app, make_user, client_factory):
    user = await make_user()
    plain = client_factory()
    response = await plain.api("POST", "/api/v1/session", {"email": user.user["email"], "password": PASSWORD})
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie and "secure" not in cookie
    original = app.state.settings
    app.state.settings = dataclasses.replace(original, secure_cookies=True)  # FORUM_SECURE_COOKIES=on
    try:
        secure = client_factory()
        response = await secure.api("POST", "/api/v1/session", {"email": user.user["email"], "password": PASSWORD})
        page = await client_factory().get("/login")
    finally:
        app.state.settings = original
    cookie = response.headers["set-cookie"].lower()
    assert "secure" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert f"max-age={30 * 24 * 3600}" in cookie
    anon_cookie = page.headers["set-cookie"].lower()
    assert "forum_anon=" in anon_cookie and "secure" in anon_cookie and "httponly" in anon_cookie


async def test_a_session_past_its_expiry_is_refused_and_purged(member):
    await Session.filter(user_id=member.user["id"]).update(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert (await member.get("/api/v1/session")).status_code == 401
    assert (await member.api("POST", "/api/v1/consent", {"policy_version": "x"})).status_code in (401, 403)
    from forum.services.retention import purge_expired_sessions

    assert await purge_expired_sessions() >= 1
    assert not await Session.filter(user_id=member.user["id"]).exists()


async def test_sign_out_everywhere_ends_sessions_in_other_browsers(make_user, client_factory):
    user = await make_user()
    others = [client_factory() for _ in range(2)]
    for other in others:
        assert (await other.api("POST", "/api/v1/session", {"email": user.user["email"], "password": PASSWORD})
                ).status_code == 200
    page = await user.post_form("/logout/everywhere", {}, token_from="/")
    assert page.status_code == 303
    for client in (user, *others):
        assert (await client.get("/api/v1/session")).status_code == 401
    assert not await Session.filter(user_id=user.user["id"]).exists()
    assert await User.filter(id=user.user["id"]).exists()  # the account itself stays


# -- keyed hashes (issue 18) -----------------------------------------------------------------------------------

async def test_throttle_rows_are_keyed_by_hmacs_not_by_plain_hashes(app):
    import hashlib

    address, email = fresh_address(), f"{unique()}@example.test"
    async with client_at(app, address) as client:
        assert (await _wrong(client, email)).status_code == 401
    keys = set(await SignInThrottle.all().values_list("key", flat=True))
    assert throttle.address_key(address) in keys and throttle.account_key(email) in keys
    plain = {"address:" + hashlib.sha256(address.encode()).hexdigest(),
             "account:" + hashlib.sha256(email.encode()).hexdigest()}
    assert not plain & keys  # what trying every IPv4 address (or a list of emails) would find


def test_migration_0012_drops_the_unkeyed_rows_and_goes_back(tmp_path):
    import importlib
    import sqlite3

    from tests.conftest import migrate_in_a_process

    previous = importlib.import_module("forum.migrations.0012_keyed_rate_limits").Migration.dependencies[0][1]
    before = "models." + previous
    url = f"sqlite://{tmp_path / 'keyed.sqlite3'}"
    migrate_in_a_process(url, before)
    conn = sqlite3.connect(tmp_path / "keyed.sqlite3")
    conn.execute("INSERT INTO sign_in_throttle (key, failures, last_failed_at, blocked_until) "
                 "VALUES ('address:0123', 3, 0, 0)")
    conn.commit()
    conn.close()
    migrate_in_a_process(url, None)
    conn = sqlite3.connect(tmp_path / "keyed.sqlite3")
    assert conn.execute("SELECT COUNT(*) FROM sign_in_throttle").fetchone() == (0,)
    conn.execute("INSERT INTO rate_count (key, window_start, hits) VALUES ('preview:1/60', 0, 1)")
    conn.commit()
    conn.close()
    migrate_in_a_process(url, before)
    conn = sqlite3.connect(tmp_path / "keyed.sqlite3")
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    conn.close()
    assert "rate_count" not in tables and "sign_in_throttle" in tables
