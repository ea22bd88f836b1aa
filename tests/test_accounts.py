"""Registration, sign-in, sessions and passwords, over HTTP, checked against what the database holds."""

from __future__ import annotations

from pathlib import Path

import argon2
import pytest

from forum.models import Profile, Session, User
from forum.security import hash_token
from tests.conftest import PASSWORD, unique


async def register(client, username, email=None, password=PASSWORD):
    email = email or f"{unique('e')}@example.test"
    return await client.api("POST", "/api/v1/users", {"username": username, "email": email, "password": password})


async def test_registration_creates_account_and_profile(anon):
    name = unique("Kari")
    response = await register(anon, name, email=f"{name}@Example.TEST")
    assert response.status_code == 201
    body = response.json()
    assert body == {"id": None, "username": name}  # no id: a taken address must answer the same
    user = await User.get(email=f"{name.lower()}@example.test")
    assert user.email == f"{name.lower()}@example.test"
    assert user.password_hash.startswith("$argon2id$")
    profile = await Profile.get(user_id=user.id)
    assert profile.username == name


@pytest.mark.parametrize("name", ["ab", "x" * 33, "has space", "_under", "dot.", "a..b", "zero\u200bwidth",
                                  "rtl\u202eevil", "admin"])
async def test_bad_usernames_are_refused_and_nothing_is_stored(anon, name):
    email = f"{unique('bad')}@example.test"
    response = await register(anon, name, email=email)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert "username" in response.json()["error"]["fields"]
    assert not await User.filter(email=email).exists()


async def test_usernames_are_nfkc_normalised(anon):
    base = unique("fullwidth")
    wide = "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in base)
    response = await register(anon, wide)
    assert response.status_code == 201
    assert response.json()["username"] == base


@pytest.mark.parametrize("transform", [str.upper, str.swapcase,
                                       lambda s: s.replace("o", "\u043e"),   # Cyrillic o in a Cyrillic name
                                       ])
async def test_look_alike_of_existing_name_is_refused(anon, client_factory, transform):
    original = unique("ola")
    assert (await register(anon, original)).status_code == 201
    other = client_factory()
    copy = transform(original)
    response = await register(other, copy)
    assert response.status_code == 400, copy
    assert "username" in response.json()["error"]["fields"]


async def test_cyrillic_homoglyph_of_latin_name_is_refused(anon, client_factory):
    original = "pope" + unique("x")[-3:]
    assert (await register(anon, "rope" + original[4:])).status_code == 201
    spoof = "r\u043epe" + original[4:]   # Cyrillic о mixed into Latin
    response = await register(client_factory(), spoof)
    assert response.status_code == 400


async def test_password_rules(anon):
    name = unique("pw")
    too_short = await register(anon, name, password="short")
    assert too_short.status_code == 400 and "password" in too_short.json()["error"]["fields"]
    same_as_name = await register(anon, name + "long", password=name + "long")
    assert same_as_name.status_code == 400 and "password" in same_as_name.json()["error"]["fields"]


async def test_a_taken_email_answers_like_a_new_one_and_creates_nothing(anon, client_factory):
    email = f"{unique('dup')}@example.test"
    first_name, second_name = unique(), unique()
    first = await register(anon, first_name, email=email)
    second = await register(client_factory(), second_name, email=email.upper())
    assert first.status_code == second.status_code == 201
    assert first.json() == {"id": None, "username": first_name}
    assert second.json() == {"id": None, "username": second_name}
    assert await User.filter(email=email).count() == 1
    assert not await Profile.filter(username=second_name).exists()


async def test_sign_in_is_by_email_and_wrong_password_or_unknown_user_answer_alike(member, anon):
    email = member.user["email"]
    wrong = await anon.api("POST", "/api/v1/session", {"email": email, "password": "wrong password!"})
    unknown = await anon.api("POST", "/api/v1/session", {"email": "nobody@example.test", "password": "whatever12"})
    by_name = await anon.api("POST", "/api/v1/session", {"email": member.user["username"], "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == by_name.status_code == 401
    assert wrong.json() == unknown.json()
    assert "forum_session" not in anon.cookies


async def test_unknown_user_costs_an_argon2_verification(app, anon):
    before = app.state.passwords.verified
    response = await anon.api("POST", "/api/v1/session", {"email": "ghost@example.test", "password": "whatever12"})
    assert response.status_code == 401
    assert app.state.passwords.verified == before + 1


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM back to the resident size now


def _peak_kb() -> int:
    status = Path("/proc/self/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1])


async def test_a_hash_takes_its_memory_in_a_cooking_process_not_in_the_app_process():
    """RFC 9106's profile takes 64 MiB per hash: with the cooking pool running, that memory is the pool
    process's, and the app process's peak (VmHWM, reset through clear_refs) does not move."""
    from forum import cook_pool
    from forum.passwords import Passwords

    passwords = Passwords("rfc9106_low_memory")
    was_running = cook_pool.running()
    if not was_running:
        cook_pool.start(1)
    try:
        await cook_pool.run(cook_pool._ready)  # the worker is up before the peak is reset
        _reset_peak()
        before = _peak_kb()
        stored = await passwords.hash(PASSWORD)
        assert await passwords.verify(stored, PASSWORD) and not await passwords.verify(stored, "wrong one")
        assert _peak_kb() - before < 32 * 1024, (before, _peak_kb())
    finally:
        if not was_running:
            cook_pool.stop()


async def test_session_cookie_flags_and_only_the_hash_is_stored(anon, member):
    email = member.user["email"]
    response = await anon.api("POST", "/api/v1/session", {"email": email, "password": PASSWORD})
    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax") and "Path=/" in cookie
    token = anon.cookies["forum_session"]
    assert not await Session.filter(token_hash=token).exists()
    assert await Session.filter(token_hash=hash_token(token)).exists()


async def test_sign_in_rotates_the_session(member, anon):
    first = await anon.api("POST", "/api/v1/session", {"email": member.user["email"], "password": PASSWORD})
    old = anon.cookies["forum_session"]
    anon.csrf = first.json()["csrf_token"]
    second = await anon.api("POST", "/api/v1/session", {"email": member.user["email"], "password": PASSWORD})
    assert second.status_code == 200
    new = anon.cookies["forum_session"]
    assert new != old
    assert not await Session.filter(token_hash=hash_token(old)).exists()


async def test_sign_out_ends_the_session(member):
    token = member.cookies["forum_session"]
    response = await member.api("DELETE", "/api/v1/session")
    assert response.status_code == 200
    assert not await Session.filter(token_hash=hash_token(token)).exists()
    member.cookies.set("forum_session", token)
    assert (await member.get("/api/v1/me")).status_code == 401


async def test_sign_out_everywhere_ends_every_session(make_user, client_factory):
    first = await make_user()
    second = client_factory()
    login = await second.api("POST", "/api/v1/session", {"email": first.user["email"], "password": PASSWORD})
    second.csrf = login.json()["csrf_token"]
    response = await first.api("DELETE", "/api/v1/sessions")
    assert response.json()["ended_sessions"] == 2
    assert (await second.get("/api/v1/me")).status_code == 401
    assert await Session.filter(user_id=first.user["id"]).count() == 0


async def test_sign_out_everywhere_page(member):
    token = await member.form_token("/settings")
    response = await member.post("/logout/everywhere", data={"csrf_token": token})
    assert response.status_code == 303
    assert await Session.filter(user_id=member.user["id"]).count() == 0


async def test_form_sign_in_and_out(member, anon):
    response = await anon.post_form("/login", {"email": member.user["email"], "password": PASSWORD,
                                               "next": "/settings"})
    assert response.status_code == 303 and response.headers["location"] == "/settings"
    page = await anon.get("/settings")
    assert page.status_code == 200 and member.user["email"] in page.text
    out = await anon.post_form("/logout", token_from="/settings")
    assert out.status_code == 303
    assert (await anon.get("/settings")).status_code == 303


async def test_form_sign_in_refuses_offsite_next(member, anon):
    response = await anon.post_form("/login", {"email": member.user["email"], "password": PASSWORD,
                                               "next": "//evil.example/x"})
    assert response.headers["location"] == "/"


async def test_form_registration_shows_errors_and_keeps_values(anon):
    response = await anon.post_form("/register", {"username": "x", "email": "kari@example.test", "password": "p"})
    assert response.status_code == 400
    assert 'value="kari@example.test"' in response.text
    assert "aria-invalid" in response.text


async def test_form_registration_signs_in(anon):
    name = unique("form")
    response = await anon.post_form("/register", {"username": name, "email": f"{name}@example.test",
                                                  "password": PASSWORD})
    assert response.status_code == 303
    me = await anon.get("/api/v1/me")
    assert me.json()["username"] == name


async def test_change_password_keeps_this_session_and_ends_others(member, client_factory):
    other = client_factory()
    await other.api("POST", "/api/v1/session", {"email": member.user["email"], "password": PASSWORD})
    response = await member.api("POST", "/api/v1/me/password",
                                {"current_password": PASSWORD, "new_password": "a brand new secret"})
    assert response.status_code == 200 and response.json()["ended_other_sessions"] == 1
    assert (await member.get("/api/v1/me")).status_code == 200
    assert (await other.get("/api/v1/me")).status_code == 401
    wrong = await member.api("POST", "/api/v1/me/password",
                             {"current_password": PASSWORD, "new_password": "another new secret"})
    assert wrong.status_code == 400 and "current_password" in wrong.json()["error"]["fields"]


async def test_password_hash_is_upgraded_on_sign_in(app, member, anon):
    weak = argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, hash_len=16, salt_len=8)
    await User.filter(id=member.user["id"]).update(password_hash=weak.hash(PASSWORD))
    response = await anon.api("POST", "/api/v1/session", {"email": member.user["email"], "password": PASSWORD})
    assert response.status_code == 200
    upgraded = (await User.get(id=member.user["id"])).password_hash
    assert not app.state.passwords.needs_rehash(upgraded)
    assert app.state.passwords.hasher.verify(upgraded, PASSWORD)


async def test_expired_session_is_not_accepted(member):
    from datetime import UTC, datetime, timedelta

    await Session.filter(user_id=member.user["id"]).update(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert (await member.get("/api/v1/me")).status_code == 401


async def test_a_password_changed_through_the_service_ends_every_session_but_the_one_kept(app, member, client_factory):
    """A script or the CLI that changes a password calls the service alone: the other sessions end there too,
    not only when a page or the API handler remembers to end them (issue 17)."""
    from forum.services import accounts

    other = client_factory()
    await other.api("POST", "/api/v1/session", {"email": member.user["email"], "password": PASSWORD})
    assert await Session.filter(user_id=member.user["id"]).count() == 2
    ended = await accounts.change_password(app.state.passwords, member.user["id"], current=PASSWORD,
                                           new="a brand new secret")
    assert ended == 2 and await Session.filter(user_id=member.user["id"]).count() == 0
    assert (await other.get("/api/v1/me")).status_code == 401


async def test_a_refused_password_change_ends_no_session(app, member, client_factory):
    from forum.errors import ValidationFailed
    from forum.services import accounts

    other = client_factory()
    await other.api("POST", "/api/v1/session", {"email": member.user["email"], "password": PASSWORD})
    for current, new in ((PASSWORD + "x", "a brand new secret"), (PASSWORD, "short")):
        with pytest.raises(ValidationFailed):
            await accounts.change_password(app.state.passwords, member.user["id"], current=current, new=new)
    assert await Session.filter(user_id=member.user["id"]).count() == 2
    assert (await other.get("/api/v1/me")).status_code == 200


async def test_the_settings_page_password_change_keeps_this_session_and_ends_others(member, client_factory):
    other = client_factory()
    await other.api("POST", "/api/v1/session", {"email": member.user["email"], "password": PASSWORD})
    response = await member.post_form("/settings/password", {"current_password": PASSWORD,
                                                             "new_password": "a brand new secret"})
    assert response.status_code == 303
    assert (await member.get("/api/v1/me")).status_code == 200
    assert (await other.get("/api/v1/me")).status_code == 401
    assert await Session.filter(user_id=member.user["id"]).count() == 1


async def test_registration_that_signs_in_starts_the_session_in_the_service(app):
    """Without address confirmation (imports, scripts, tests) a new account may sign in at once: the service
    starts the session when asked to, so the page does not sequence "register, then sign in" itself."""
    from forum.services import verification

    name = unique("svc")
    done = await verification.register_member(app.state.passwords, username=name, email=f"{name}@example.test",
                                              password=PASSWORD, sign_in=True)
    assert done.created and done.token
    session = await Session.get(token_hash=hash_token(done.token))
    assert session.user_id == done.user_id
    again = await verification.register_member(app.state.passwords, username=unique("svc"),
                                               email=f"{name}@example.test", password=PASSWORD, sign_in=True)
    assert not again.created and again.token is None  # an address that has an account never signs anyone in
    assert await Session.filter(user_id=done.user_id).count() == 1
    quiet = unique("svc")
    unasked = await verification.register_member(app.state.passwords, username=quiet,
                                                 email=f"{quiet}@example.test", password=PASSWORD)
    assert unasked.created and unasked.token is None and not await Session.exists(user_id=unasked.user_id)


async def test_registration_never_signs_in_while_addresses_need_confirmation(app, monkeypatch):
    from forum.services import verification

    monkeypatch.setattr(verification.CONFIG, "required", True)  # FORUM_EMAIL_VERIFICATION=on, the default
    name = unique("svc")
    done = await verification.register_member(app.state.passwords, username=name, email=f"{name}@example.test",
                                              password=PASSWORD, sign_in=True)
    assert done.created and done.token is None and not await Session.exists(user_id=done.user_id)


async def test_signing_in_through_the_service_checks_the_password_and_rotates_the_session(app, member):
    """Sign-in is one service call (the page and the API both make it): the password, then a new session that
    replaces the one the browser had."""
    from forum.errors import NotAuthenticated
    from forum.services import accounts

    with pytest.raises(NotAuthenticated):
        await accounts.sign_in(app.state.passwords, email=member.user["email"], password=PASSWORD + "x")
    before = await Session.filter(user_id=member.user["id"]).count()
    user, token = await accounts.sign_in(app.state.passwords, email=member.user["email"], password=PASSWORD)
    assert user.id == member.user["id"] and await Session.exists(token_hash=hash_token(token))
    user, rotated = await accounts.sign_in(app.state.passwords, email=member.user["email"], password=PASSWORD,
                                           replacing=token)
    assert not await Session.exists(token_hash=hash_token(token)) and await Session.exists(
        token_hash=hash_token(rotated))
    assert await Session.filter(user_id=member.user["id"]).count() == before + 1
