"""Names that cannot pass for someone else's (forum/services/name_claims.py): handles and display names compared by
their UTS #39 confusable skeleton. Found: any display name was accepted (a member could appear on posts as
"rootadmin"), and look-alike handles passed ("rօօtadmin" with Armenian letters, "rootadmın" with a dotless i)."""

from __future__ import annotations

import asyncio

import pytest

from forum.models import NameClaim, Profile
from tests.conftest import PASSWORD, new_topic, unique


async def _register(anon, username: str):
    return await anon.api("POST", "/api/v1/users", {"username": username, "email": f"{unique()}@example.test",
                                                    "password": PASSWORD})


async def _display(client, name: str):
    return await client.api("PATCH", "/api/v1/me/profile", {"display_name": name})


@pytest.mark.parametrize("lookalike", ["r\u0585\u0585tadmin{n}", "rootadm\u0131n{n}", "ROOTADMIN{n}", "r00tadmin{n}",
                                       "root.admin{n}", "rootadmi\u0578{n}", "rootadrnin{n}", "ro\u043etadmin{n}"])
async def test_a_handle_that_looks_like_a_taken_handle_is_refused(anon, make_user, lookalike):
    tail = unique("x")[-6:]
    await make_user(username=f"rootadmin{tail}")
    name = lookalike.format(n=tail)
    response = await _register(anon, name)
    assert response.status_code in (400, 409), (name, response.text)
    assert not await Profile.filter(username=name).exists()


async def test_a_display_name_may_not_look_like_another_members_name_or_a_staff_role(make_user, category):
    tail = unique("x")[-6:]
    admin_like = await make_user(username=f"rootadm{tail}")
    shown = await make_user()
    assert (await _display(shown, f"Kari {tail}")).status_code == 200
    member = await make_user()
    for name in (f"rootadm{tail}", f"r\u0585\u0585tadm{tail}", f"Root Adm{tail}", f"ROOTADM{tail}",
                 f"kari {tail}", f"K\u0430ri\u00ad {tail}", "Admin", "Moderator", "Moderator Kari", "st\u0430ff"):
        response = await _display(member, name)
        assert response.status_code == 400, (name, response.text)
        assert "display_name" in response.json()["error"]["fields"]
    profile = await Profile.get(user_id=member.user["id"])
    assert profile.display_name == ""
    # one's own handle, another spelling of it, or an unrelated name are fine; a freed name can be taken
    own = member.user["username"]
    assert (await _display(member, own.upper())).status_code == 200
    assert (await _display(member, f"Ola {tail}")).status_code == 200
    assert (await _display(member, f"Per {tail}")).status_code == 200
    assert (await _display(shown, f"Ola {tail}")).status_code == 200  # member gave "Ola" up
    assert await NameClaim.filter(profile__user_id=member.user["id"]).count() == 2  # handle and "Per"
    assert admin_like is not None and category is not None


async def test_posts_show_the_handle_beside_the_display_name(participant, category):
    tail = unique("x")[-6:]
    assert (await _display(participant, f"Ola {tail}")).status_code == 200
    topic = await new_topic(participant, category.slug)
    page = (await participant.get(f"/t/{topic['id']}/{topic['slug']}")).text
    assert f"Ola {tail}" in page and f"@{participant.user['username']}" in page


async def test_two_look_alike_registrations_at_once_give_one_account(anon, client_factory):
    tail = unique("x")[-6:]
    clients = [client_factory() for _ in range(8)]
    names = [f"root{tail}", f"r\u0585\u0585t{tail}", f"ROOT{tail}", f"r00t{tail}", f"ro\u043et{tail}",
             f"root.{tail}", f"root-{tail}", f"root_{tail}"]
    answers = await asyncio.gather(*(_register(c, n) for c, n in zip(clients, names, strict=True)))
    assert sum(a.status_code == 201 for a in answers) == 1, [a.status_code for a in answers]
    assert all(a.status_code in (201, 400, 409) for a in answers)


def test_the_name_claims_migration_backfills_oldest_first_and_goes_back(tmp_path):
    """0013 claims every existing handle and display name; where existing names already look alike the older
    member keeps the claim (nothing is renamed); back to the migration before it drops the table."""
    import importlib
    import sqlite3

    from tests.conftest import migrate_in_a_process

    before = "models." + importlib.import_module("forum.migrations.0013_name_claims").Migration.dependencies[0][1]

    path = tmp_path / "names.sqlite3"
    url = f"sqlite:///{path}"
    migrate_in_a_process(url, before)
    conn = sqlite3.connect(path)
    people = [(1, "rootadmin", ""), (2, "r\u0585\u0585tadmin", ""), (3, "kari", "Root Admin"), (4, "ola", "Ola"),
              (5, "per", "Per Hansen")]
    for user_id, handle, display in people:
        conn.execute("INSERT INTO account (id, email, password_hash, role, created_at) VALUES (?, ?, 'x', 'member', "
                     "'2026-01-01')", (user_id, f"u{user_id}@example.test"))
        conn.execute("INSERT INTO profile (id, user_id, username, username_key, display_name, bio, created_at) "
                     "VALUES (?, ?, ?, ?, ?, '', '2026-01-01')", (user_id, user_id, handle, f"key{user_id}", display))
    conn.commit()
    conn.close()
    migrate_in_a_process(url, None)
    conn = sqlite3.connect(path)
    claims = conn.execute("SELECT profile_id, kind, skeleton FROM name_claim ORDER BY profile_id, kind").fetchall()
    assert claims == [(1, "handle", "rootadrnin"), (3, "handle", "kari"), (4, "handle", "ola"),
                      (5, "display", "perhansen"), (5, "handle", "per")]
    assert conn.execute("SELECT COUNT(*) FROM profile").fetchone() == (5,)  # the look-alikes keep their names
    conn.close()
    migrate_in_a_process(url, before)
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'name_claim'").fetchall() == []
    conn.close()


async def test_a_new_handle_chosen_on_consenting_again_is_checked_and_claimed(make_user, participant):
    other = await make_user(username=f"rootadmin{unique('x')[-6:]}")
    assert (await participant.api("DELETE", "/api/v1/consent")).status_code == 200
    assert not await NameClaim.filter(profile__user_id=participant.user["id"]).exists()  # went with the profile
    version = (await participant.get("/api/v1/consent")).json()["policy"]["version"]
    lookalike = other.user["username"].replace("o", "\u0585")
    refused = await participant.api("POST", "/api/v1/consent", {"policy_version": version, "username": lookalike})
    assert refused.status_code == 400, refused.text
    fresh = unique("ny")
    granted = await participant.api("POST", "/api/v1/consent", {"policy_version": version, "username": fresh})
    assert granted.status_code == 201, granted.text
    assert await NameClaim.filter(profile__user_id=participant.user["id"], kind="handle").count() == 1
