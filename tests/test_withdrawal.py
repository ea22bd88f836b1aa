"""Withdrawing consent anonymises for real: the name is gone from pages, the API, the index and the file."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from forum import db
from forum.models import ConsentEvent, ConsentSubject, Post, PostLike, PostRevision, Profile, TopicWatch, User
from forum.services import byte_purge, search
from tests.conftest import PASSWORD, new_reply, new_topic, unique


async def register(client_factory, username: str, *, consent: bool = True):
    client = client_factory()
    email = f"person-{uuid.uuid4().hex[:8]}@example.test"
    response = await client.api("POST", "/api/v1/users", {"username": username, "email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    response = await client.api("POST", "/api/v1/session", {"email": email, "password": PASSWORD})
    client.csrf = response.json()["csrf_token"]
    client.user = {**response.json()["user"], "email": email}
    if consent:
        version = (await client.get("/api/v1/consent")).json()["policy"]["version"]
        assert (await client.api("POST", "/api/v1/consent", {"policy_version": version})).status_code == 201
    return client


def distinctive() -> tuple[str, str]:
    tag = uuid.uuid4().hex[:6]
    letters = "".join(chr(ord("a") + int(c, 16)) for c in tag)
    return f"Zqx{letters}", f"Wilhelmina Quorr{letters}"


async def withdraw(client):
    return await client.api("DELETE", "/api/v1/consent")


def database_bytes(settings) -> bytes:
    path = Path(settings.database_url.removeprefix("sqlite://"))
    data = b""
    for suffix in ("", "-wal", "-journal"):
        file = Path(str(path) + suffix)
        if file.exists():
            data += file.read_bytes()
    return data.lower()


@pytest.fixture
async def story(client_factory, participant, category, recent_tier):
    """A user with a distinctive handle and display name who posts, edits, likes, watches, is mentioned,
    quoted and liked by others, and named in another topic's title."""
    handle, display = distinctive()
    zed = await register(client_factory, handle)
    assert (await zed.api("PATCH", "/api/v1/me/profile", {"display_name": display, "bio": "Om meg"})).status_code == 200
    own = await new_topic(zed, category.slug, title=f"Spørsmål fra {handle} om fakturaer",
                          body=f"Hei, jeg er {display}. Hvordan eksporterer jeg fakturaer?")
    reply = await new_reply(zed, own["id"], f"Tillegg fra {handle}: gjelder versjon 3. Hilsen {display}")
    edited = await zed.api("PATCH", f"/api/v1/posts/{reply['id']}", {"body": "Tillegg: gjelder versjon 3."})
    assert edited.status_code == 200, edited.text
    other_topic = await new_topic(participant, category.slug, title=f"Takk til @{handle} for hjelpen",
                                  body=f"@{handle} hjalp meg med fakturaeksporten i går.")
    mention = await new_reply(participant, own["id"], f"@{handle} prøv menyen Eksport. Hilsen til {display}!")
    quote = await new_reply(participant, own["id"], f"[quote post={reply['id']}]\nTillegg\n[/quote]\n\nEnig med deg.")
    later = await new_reply(participant, other_topic["id"], f"Først: {handle.upper()} har rett.")
    assert (await participant.api("PATCH", f"/api/v1/posts/{later['id']}", {"body": "Først: dette stemmer."})
            ).status_code == 200
    assert (await participant.api("POST", f"/api/v1/posts/{own['first_post_id']}/like")).status_code == 200
    assert (await zed.api("POST", f"/api/v1/posts/{mention['id']}/like")).status_code == 200
    watched = await zed.post_form(f"/t/{other_topic['id']}/watch", {"watch": "1"}, token_from="/settings")
    assert watched.status_code == 303, watched.text
    return {"zed": zed, "other": participant, "handle": handle, "display": display, "own": own, "reply": reply,
            "other_topic": other_topic, "mention": mention, "quote": quote, "later": later}


def assert_absent(text: str, *names: str) -> None:
    for name in names:
        assert name.casefold() not in text.casefold(), f"{name!r} found"


@pytest.mark.parametrize("recent_tier", [10_000, 4], indirect=True, ids=["one-tier", "both-tiers"])
async def test_withdrawn_user_name_appears_nowhere(story, anon, moderator, settings, category, recent_tier):
    s = story
    zed_id = s["zed"].user["id"]
    # a moderator's reason about someone else that names them: the audit log and the warning keep it
    warned = await moderator.api("POST", f"/api/v1/mod/posts/{s['later']['id']}/actions",
                                 {"action": "warn", "reason": f"Svarte frekt til {s['handle']} ({s['display']})"})
    assert warned.status_code == 200, warned.text
    if settings.sqlite:  # the check below can fail: before withdrawal the names are in the file
        assert s["handle"].lower().encode() in database_bytes(settings)
        held = await search.tables_to_merge([s["handle"]])
        assert held == (["search_recent", "search_index"] if search.RECENT_POSTS == 4 else ["search_recent"])
    response = await withdraw(s["zed"])
    assert response.status_code == 200, response.text
    counts = response.json()
    assert counts["status"] == "withdrawn"
    assert counts["anonymised_posts"] == 2 and counts["anonymised_topics"] == 1
    assert counts["rewritten_mentions"] >= 2 and counts["rewritten_quotes"] == 1 and counts["rewritten_titles"] == 2
    assert counts["removed_likes"] == 1 and counts["removed_watches"] >= 1

    pages = ["/", f"/c/{category.slug}", f"/t/{s['own']['id']}", f"/t/{s['other_topic']['id']}",
             f"/p/{s['reply']['id']}/history", f"/p/{s['later']['id']}/history", "/search?q=fakturaer",
             "/notifications", "/mod/audit"]
    for client in (anon, s["other"], moderator):
        for page in pages:
            response = await client.get(page, follow_redirects=True)
            assert response.status_code in (200, 401, 404), (page, response.status_code)
            assert_absent(response.text, s["handle"], s["display"])
    assert (await anon.get(f"/u/{s['handle']}")).status_code == 404
    topic_page = (await anon.get(f"/t/{s['own']['id']}", follow_redirects=True)).text
    assert "Tidligere medlem" in topic_page

    api = [f"/api/v1/topics/{s['own']['id']}", f"/api/v1/topics/{s['other_topic']['id']}",
           f"/api/v1/categories/{category.slug}/topics",
           "/api/v1/search?q=fakturaer", f"/api/v1/posts/{s['later']['id']}/revisions",
           f"/api/v1/posts/{s['reply']['id']}/revisions", "/api/v1/notifications", "/api/v1/mod/audit"]
    for client in (s["other"], moderator):
        for path in api:
            response = await client.get(path)
            assert response.status_code == 200 or ("revisions" in path or "/mod/" in path) and client is s["other"], (
                path, response.text)
            assert_absent(response.text, s["handle"], s["display"])
    assert (await s["other"].get(f"/api/v1/search?q={s['handle']}")).json()["hits"] == []

    # posts kept, author gone, history reduced to the current text
    own_posts = await Post.filter(id__in=[s["own"]["first_post_id"], s["reply"]["id"]])
    assert all(p.author_id is None and p.edited_at is None for p in own_posts)
    assert await PostRevision.filter(post_id=s["reply"]["id"]).count() == 1
    assert not await Profile.filter(user_id=zed_id).exists()
    assert not await PostLike.filter(user_id=zed_id).exists()
    assert not await TopicWatch.filter(user_id=zed_id).exists()
    assert await User.filter(id=zed_id).exists()
    subject = await ConsentSubject.get(user_id=zed_id)
    actions = await ConsentEvent.filter(subject_id=subject.id).order_by("id").values_list("action", flat=True)
    assert [str(a) for a in actions] == ["granted", "withdrawn"]

    for table, column in (("post", "source"), ("post", "cooked"), ("post_revision", "source"), ("topic", "title"),
                          ("topic", "slug"), ("notification", "message"), ("profile", "bio"),
                          ("mod_audit", "reason")):
        rows = await db.fetch_all(f"SELECT {column} AS v FROM {table}")
        assert_absent(" ".join(str(r["v"]) for r in rows), s["handle"], s["display"])
    if settings.sqlite:
        await byte_purge.wait_for_background()  # the answer may come before the purge ends ('pending')
        data = database_bytes(settings)
        assert s["handle"].lower().encode() not in data
        assert s["display"].lower().encode() not in data
        assert s["display"].split()[-1].lower().encode() not in data
        assert s["zed"].user["email"].encode() in data  # the account stays


async def test_a_name_already_edited_out_of_the_index_leaves_no_bytes_after_the_withdrawal(
        client_factory, participant, category, settings):
    """The search index keeps the words of a replaced entry in its segments until they are merged, where no
    query finds them; the withdrawal merges the recent tier whether or not a live entry holds the name."""
    if not settings.sqlite:
        pytest.skip("the bytes of the SQLite file")
    handle, display = distinctive()
    zed = await register(client_factory, handle)
    assert (await zed.api("PATCH", "/api/v1/me/profile", {"display_name": display})).status_code == 200
    topic = await new_topic(participant, category.slug, body=f"Takk til {display} for svaret.")
    edited = await participant.api("PATCH", f"/api/v1/posts/{topic['first_post_id']}", {"body": "Takk for svaret."})
    assert edited.status_code == 200, edited.text
    surname = display.split()[-1].lower().encode()
    assert await search.tables_to_merge([display]) == ["search_recent"]  # no live entry holds it ...
    assert surname in database_bytes(settings)  # ... yet the index's segments (and the revisions) do

    assert (await withdraw(zed)).status_code == 200
    await byte_purge.wait_for_background()
    assert surname not in database_bytes(settings)


async def test_the_answer_waits_for_a_purge_that_can_finish_and_not_for_one_that_cannot(
        client_factory, settings, monkeypatch):
    """A small file's purge is done within the answer's wait ('done'); past ANSWER_WAIT_BYTES (SQLite) the answer
    comes at once ('pending') and the purge still finishes in the background."""
    monkeypatch.setattr(byte_purge, "ANSWER_WAIT", 60.0)  # however slow the machine
    monkeypatch.setattr(byte_purge, "ANSWER_WAIT_BYTES", 2 ** 40)  # however large the suite's file has grown
    first = await register(client_factory, distinctive()[0])
    answer = (await withdraw(first)).json()
    assert answer["byte_purge"] == "done"
    if not settings.sqlite:
        return
    monkeypatch.setattr(byte_purge, "ANSWER_WAIT_BYTES", 0)  # every file is "too large"
    second = await register(client_factory, distinctive()[0])
    answer = (await withdraw(second)).json()
    assert answer["byte_purge"] == "pending"
    await byte_purge.wait_for_background()
    assert (await db.fetch_one("SELECT state FROM byte_purge ORDER BY id DESC LIMIT 1"))["state"] == "done"


async def test_withdrawal_is_refused_without_consent(member, anon):
    response = await withdraw(member)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_consented"
    assert (await anon.api("DELETE", "/api/v1/consent")).status_code == 401


async def test_withdrawn_user_cannot_take_part_until_consenting_again_with_a_new_handle(story, category):
    zed = story["zed"]
    assert (await withdraw(zed)).status_code == 200
    refused = await zed.api("POST", f"/api/v1/topics/{story['own']['id']}/posts", {"body": "Er jeg her?"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "consent_required"
    assert (await zed.get("/api/v1/consent")).json()["status"] == "withdrawn"
    version = (await zed.get("/api/v1/consent")).json()["policy"]["version"]
    missing = await zed.api("POST", "/api/v1/consent", {"policy_version": version})
    assert missing.status_code == 400 and "username" in missing.text
    fresh = unique("Ny")
    assert (await zed.api("POST", "/api/v1/consent", {"policy_version": version, "username": fresh})
            ).status_code == 201
    reply = await new_reply(zed, story["own"]["id"], "Tilbake med nytt navn.")
    post = await Post.get(id=reply["id"])
    assert post.author_id == zed.user["id"]
    old_posts = await Post.filter(id__in=[story["own"]["first_post_id"], story["reply"]["id"]])
    assert all(p.author_id is None for p in old_posts)  # no link from the new identity to the old posts
    page = (await zed.get(f"/u/{fresh}")).text
    assert "Tilbake med nytt navn" in page or fresh in page


async def test_a_fault_halfway_through_withdrawal_changes_nothing(story):
    from forum import events

    zed_id = story["zed"].user["id"]

    async def explode(payload):
        raise RuntimeError("injected fault")

    before = {t: await db.fetch_all(f"SELECT * FROM {t} ORDER BY id") for t in
              ("post", "post_revision", "topic", "profile", "post_like", "notification", "consent_event")}
    events.subscribe(events.CONSENT_WITHDRAWN, explode)
    try:
        response = await withdraw(story["zed"])
    finally:
        events._handlers[events.CONSENT_WITHDRAWN].remove(explode)
    assert response.status_code == 500 or response.status_code >= 500
    after = {t: await db.fetch_all(f"SELECT * FROM {t} ORDER BY id") for t in before}
    assert after == before
    assert await Profile.filter(user_id=zed_id).exists()
    assert (await story["zed"].get("/api/v1/consent")).json()["status"] == "granted"


async def test_a_fault_in_the_revision_scan_changes_nothing(story, monkeypatch):
    from forum.services import withdrawal

    tables = ("post", "post_revision", "topic", "profile", "notification", "consent_event", "name_history")
    before = {t: await db.fetch_all(f"SELECT * FROM {t} ORDER BY id") for t in tables}

    async def failing_scan(conn, rw):
        raise RuntimeError("injected fault")

    monkeypatch.setattr(withdrawal, "_candidate_revisions", failing_scan)
    response = await withdraw(story["zed"])
    assert response.status_code >= 500
    assert {t: await db.fetch_all(f"SELECT * FROM {t} ORDER BY id") for t in tables} == before
    assert (await story["zed"].get("/api/v1/consent")).json()["status"] == "granted"


async def test_withdrawal_from_the_settings_page_takes_one_button_and_a_confirmation(story):
    zed = story["zed"]
    settings_page = (await zed.get("/settings")).text
    assert 'href="/settings/withdraw"' in settings_page
    confirm = await zed.get("/settings/withdraw")
    assert confirm.status_code == 200 and ("Tidligere medlem" in confirm.text or "Former member" in confirm.text)
    token = await zed.form_token("/settings/withdraw")
    done = await zed.post("/settings/withdraw", data={"csrf_token": token})
    if done.status_code == 200:  # a part of the name ("Wilhelmina") is a word of earlier tests' posts: left out
        assert 'id="left-out"' in done.text and "Wilhelmina" in done.text and "2 innlegg" in done.text
    else:
        assert done.status_code == 303 and "saved=withdrawn" in done.headers["location"]
        assert "2" in (await zed.get(done.headers["location"])).text
    page = (await zed.get(f"/t/{story['own']['id']}", follow_redirects=True)).text
    assert "Tidligere medlem" in page and story["handle"] not in page
    assert (await zed.get("/api/v1/consent")).json()["status"] == "withdrawn"
    again = await zed.get("/settings/withdraw")
    assert "nothing to withdraw" in again.text.lower() or "ingenting å trekke" in again.text.lower()
    missing_token = await zed.post("/settings/withdraw", data={})
    assert missing_token.status_code in (400, 403)


async def test_consent_page_asks_a_withdrawn_user_for_a_new_handle(story):
    zed = story["zed"]
    assert (await withdraw(zed)).status_code == 200
    page = await zed.get("/consent")
    assert 'name="username"' in page.text
    token = await zed.form_token("/consent")
    version = (await zed.get("/api/v1/consent")).json()["policy"]["version"]
    refused = await zed.post("/consent", data={"csrf_token": token, "agree": "yes", "policy_version": version,
                                               "locale": "nb", "username": ""})
    assert refused.status_code == 400 and 'aria-invalid="true"' in refused.text
    fresh = unique("Igjen")
    given = await zed.post("/consent", data={"csrf_token": token, "agree": "yes", "policy_version": version,
                                             "locale": "nb", "username": fresh})
    assert given.status_code == 303
    assert await Profile.filter(user_id=zed.user["id"], username=fresh).exists()


async def test_export_holds_everything_the_forum_keeps_about_the_user(story):
    import json

    zed = story["zed"]
    response = await zed.get("/api/v1/me/export")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    data = json.loads(response.text)
    assert data["account"]["email"] == zed.user["email"]
    assert data["profile"]["username"] == story["handle"] and data["profile"]["display_name"] == story["display"]
    assert [e["action"] for e in data["consent"]["history"]] == ["granted"]
    assert data["consent"]["status"] == "granted"
    posts = {p["id"]: p for p in data["posts"]}
    assert set(posts) == {story["own"]["first_post_id"], story["reply"]["id"]}
    reply = posts[story["reply"]["id"]]
    assert [r["number"] for r in reply["revisions"]] == [1, 2]
    assert story["display"] in reply["revisions"][0]["source"]
    assert [t["id"] for t in data["topics_started"]] == [story["own"]["id"]]
    assert [like["post_id"] for like in data["likes"]] == [story["mention"]["id"]]
    assert {w["topic_id"] for w in data["watched_topics"]} >= {story["other_topic"]["id"]}
    assert {n["kind"] for n in data["notifications"]} >= {"mention", "quote", "like"}
    assert data["sessions"]
    page = await zed.get("/settings/export")
    assert page.status_code == 200 and "attachment" in page.headers["content-disposition"]
    assert json.loads(page.text)["account"]["id"] == zed.user["id"]


async def test_export_needs_a_signed_in_user(anon):
    assert (await anon.get("/api/v1/me/export")).status_code == 401


async def test_erasure_anonymises_then_deletes_the_account_and_keeps_the_ledger_detached(story, client_factory):
    zed = story["zed"]
    zed_id = zed.user["id"]
    subject = await ConsentSubject.get(user_id=zed_id)
    wrong = await zed.api("DELETE", "/api/v1/me", {"password": "not it at all"})
    assert wrong.status_code == 400
    assert await User.filter(id=zed_id).exists() and await Profile.filter(user_id=zed_id).exists()
    erased = await zed.api("DELETE", "/api/v1/me", {"password": PASSWORD})
    assert erased.status_code == 200, erased.text
    assert erased.json()["status"] == "erased" and erased.json()["anonymised_posts"] == 2
    assert not await User.filter(id=zed_id).exists()
    assert not await ConsentSubject.filter(user_id=zed_id).exists()
    assert not await db.fetch_all("SELECT id FROM session WHERE user_id = ?", [zed_id])
    actions = await ConsentEvent.filter(subject_id=subject.id).order_by("id").values_list("action", flat=True)
    assert [str(a) for a in actions] == ["granted", "withdrawn"]  # the proof stays, with no link to a person
    assert (await zed.get("/api/v1/me")).status_code == 401
    again = client_factory()
    refused = await again.api("POST", "/api/v1/session", {"email": zed.user["email"], "password": PASSWORD})
    assert refused.status_code == 401
    page = (await again.get(f"/t/{story['own']['id']}", follow_redirects=True)).text
    assert "Tidligere medlem" in page and story["handle"] not in page


async def test_erasure_from_the_settings_page(make_user):
    user = await make_user()
    page = await user.get("/settings/erase")
    assert page.status_code == 200 and 'type="password"' in page.text
    token = await user.form_token("/settings/erase")
    wrong = await user.post("/settings/erase", data={"csrf_token": token, "password": "wrong wrong"})
    assert wrong.status_code == 400 and await User.filter(id=user.user["id"]).exists()
    done = await user.post("/settings/erase", data={"csrf_token": token, "password": PASSWORD})
    assert done.status_code == 200
    assert not await User.filter(id=user.user["id"]).exists()
    assert (await user.get("/settings")).status_code in (302, 303, 401)


async def test_the_ledger_never_changes_through_grant_withdraw_regrant_and_erasure(story, make_user):
    before = await db.fetch_all("SELECT * FROM consent_event ORDER BY id")
    zed = story["zed"]
    assert (await withdraw(zed)).status_code == 200
    version = (await zed.get("/api/v1/consent")).json()["policy"]["version"]
    assert (await zed.api("POST", "/api/v1/consent", {"policy_version": version, "username": unique("Ny")})
            ).status_code == 201
    assert (await zed.api("DELETE", "/api/v1/me", {"password": PASSWORD})).status_code == 200
    other = await make_user()
    assert (await other.api("DELETE", "/api/v1/me", {"password": PASSWORD})).status_code == 200
    after = await db.fetch_all("SELECT * FROM consent_event ORDER BY id")
    assert after[:len(before)] == before
    assert len(after) == len(before) + 1 + 1 + 1 + 1 + 1  # withdrawn, granted, withdrawn (erasure), granted+withdrawn


async def test_a_post_racing_the_withdrawal_is_anonymised_or_refused(story):
    import asyncio

    zed = story["zed"]
    topic_id = story["own"]["id"]

    async def post(n):
        return await zed.api("POST", f"/api/v1/topics/{topic_id}/posts", {"body": f"Samtidig innlegg {n}"})

    results = await asyncio.gather(*(post(n) for n in range(8)), withdraw(zed), *(post(n) for n in range(8, 16)))
    withdrawal = results[8]
    assert withdrawal.status_code == 200
    statuses = {r.status_code for i, r in enumerate(results) if i != 8}
    assert statuses <= {201, 403}
    assert await Post.filter(author_id=zed.user["id"]).count() == 0
    stored = await Post.filter(topic_id=topic_id, source__startswith="Samtidig innlegg").count()
    assert stored == sum(1 for i, r in enumerate(results) if i != 8 and r.status_code == 201)


async def test_a_post_cooked_before_a_mentioned_user_withdrew_is_refused_not_stored(story):
    """Mentions resolve before the write's transaction; the write re-checks them inside it."""
    from forum.db import write_transaction
    from forum.errors import Conflict
    from forum.services.cooking import cook_source
    from forum.services.references import check_references_current
    from forum.viewer import load_viewer

    other = await load_viewer(story["other"].cookies.get("forum_session"))
    cooked = await cook_source(other, f"@{story['handle']} se\n\n[quote post={story['reply']['id']}]\nx\n[/quote]")
    assert cooked.mentioned_user_ids and cooked.quoted_posts
    async with write_transaction() as conn:
        await check_references_current(conn, cooked)  # still current: passes
    assert (await withdraw(story["zed"])).status_code == 200
    with pytest.raises(Conflict):
        async with write_transaction() as conn:
            await check_references_current(conn, cooked)
    fresh = await new_reply(story["other"], story["own"]["id"], f"@{story['handle']} er borte nå")
    post = await Post.get(id=fresh["id"])
    assert "/u/" not in post.cooked  # cooked again after the withdrawal: no link to anyone


async def test_flags_filed_appear_in_the_export_and_stay_without_reporter_after_withdrawal(story):
    import json

    from moderation.models import Flag

    zed, other = story["zed"], story["other"]
    flagged = await zed.api("POST", f"/api/v1/posts/{story['later']['id']}/flags",
                            {"reason": "other", "note": f"Sjekk dette, hilsen {story['handle']}"})
    assert flagged.status_code == 201, flagged.text
    data = json.loads((await zed.get("/api/v1/me/export")).text)
    assert [f["post_id"] for f in data["flags_filed"]] == [story["later"]["id"]]
    assert data["flags_filed"][0]["reason"] == "other"
    assert (await withdraw(zed)).status_code == 200
    flag = await Flag.get(post_id=story["later"]["id"])
    assert flag.reporter_id is None and story["handle"].casefold() not in flag.note.casefold()
    assert other.user["id"] != zed.user["id"]


async def test_every_posts_source_is_its_latest_revision(story):
    """The withdrawal finds text to rewrite by scanning revisions only; this is the invariant it relies on."""
    await story["other"].api("PATCH", f"/api/v1/posts/{story['mention']['id']}", {"body": "Endret igjen"})
    assert (await withdraw(story["zed"])).status_code == 200
    rows = await db.fetch_all(
        "SELECT p.id FROM post p JOIN post_revision r ON r.post_id = p.id "
        "WHERE r.number = (SELECT MAX(number) FROM post_revision x WHERE x.post_id = p.id) AND r.source <> p.source")
    assert rows == []
    ids = [story["own"]["first_post_id"], story["reply"]["id"], story["other_topic"]["first_post_id"],
           story["mention"]["id"], story["quote"]["id"], story["later"]["id"]]
    marks = ",".join("?" * len(ids))
    assert await db.fetch_all(f"SELECT id FROM post p WHERE id IN ({marks}) AND NOT EXISTS "
                              "(SELECT 1 FROM post_revision r WHERE r.post_id = p.id)", ids) == []


async def test_reading_as_a_withdrawn_member_writes_no_read_markers_watches_or_notifications(story, category):
    zed, zed_id = story["zed"], story["zed"].user["id"]
    assert (await withdraw(zed)).status_code == 200
    for path in (f"/t/{story['own']['id']}", f"/t/{story['other_topic']['id']}", f"/api/v1/topics/{story['own']['id']}",
                 f"/t/{story['own']['id']}/posts?after=0"):
        assert (await zed.get(path, follow_redirects=True)).status_code in (200, 404)
    refused = await zed.post_form(f"/t/{story['other_topic']['id']}/watch", {"watch": "1"}, token_from="/settings")
    assert refused.status_code == 403
    refused = await zed.post_form(f"/c/{category.slug}/watch", {"watch": "1"}, token_from="/settings")
    assert refused.status_code == 403
    await new_reply(story["other"], story["own"]["id"], "Et nytt svar i tråden")
    for table, column in (("topic_read", "user_id"), ("topic_watch", "user_id"), ("category_watch", "user_id"),
                          ("notification", "user_id")):
        assert await db.fetch_all(f"SELECT id FROM {table} WHERE {column} = ?", [zed_id]) == [], table


async def test_the_ledger_link_goes_after_the_evidence_period_and_the_events_stay(story, make_user):
    from datetime import UTC, datetime, timedelta

    from forum.services.retention import unlink_withdrawn_subjects
    from forum.settings import Retention

    zed_id = story["zed"].user["id"]
    still = await make_user()  # consented and never withdrew: the link stays however old
    still_id = still.user["id"]
    if not await ConsentSubject.filter(user_id=still_id).exists():
        version = (await still.get("/api/v1/consent")).json()["policy"]["version"]
        assert (await still.api("POST", "/api/v1/consent", {"policy_version": version})).status_code == 201
    assert (await withdraw(story["zed"])).status_code == 200
    subject = await ConsentSubject.get(user_id=zed_id)
    events_before = await db.fetch_all("SELECT * FROM consent_event WHERE subject_id = ? ORDER BY id", [subject.id])
    retention = Retention()
    assert retention.consent_evidence_days == 1096
    now = datetime.now(UTC)
    assert await unlink_withdrawn_subjects(now + timedelta(days=1095), retention) == 0
    assert await ConsentSubject.filter(user_id=zed_id).exists()
    assert await unlink_withdrawn_subjects(now + timedelta(days=1097), retention) >= 1
    assert not await ConsentSubject.filter(user_id=zed_id).exists()
    assert await ConsentSubject.filter(user_id=still_id).exists()
    assert await db.fetch_all("SELECT * FROM consent_event WHERE subject_id = ? ORDER BY id",
                              [subject.id]) == events_before
    assert await unlink_withdrawn_subjects(now + timedelta(days=1097), retention) == 0  # idempotent


async def test_name_history_keeps_every_name_until_the_withdrawal_uses_and_deletes_it(client_factory, participant,
                                                                                       category):
    handle, display = distinctive()
    zed = await register(client_factory, handle)
    first = f"Sigvald Ødegård-Ås{handle[-3:]}"
    for name in (first, "Sigvald Ø."):
        assert (await zed.api("PATCH", "/api/v1/me/profile", {"display_name": name})).status_code == 200
    rows = await db.fetch_all("SELECT kind, name FROM name_history WHERE user_id = ? ORDER BY id", [zed.user["id"]])
    assert [(r["kind"], r["name"]) for r in rows] == [("handle", handle), ("display", first),
                                                      ("display", "Sigvald Ø.")]
    exported = json.loads((await zed.get("/api/v1/me/export")).text)["name_history"]
    assert [e["name"] for e in exported] == [handle, first, "Sigvald Ø."]
    topic = await new_topic(participant, category.slug, title="Om regnskap",
                            body=f"{first} skrev dette i fjor, husker dere?")
    page = await participant.get(f"/t/{topic['id']}", follow_redirects=True)
    assert first in page.text
    assert (await withdraw(zed)).status_code == 200
    page = await participant.get(f"/t/{topic['id']}", follow_redirects=True)
    assert first not in page.text and "Ødegård-Ås" not in page.text
    assert await db.fetch_all("SELECT id FROM name_history WHERE user_id = ?", [zed.user["id"]]) == []


async def test_what_the_member_caused_in_others_inboxes_stays_there_without_them(story):
    """Others' notifications are theirs: a mention by the withdrawing member stays in the recipient's list, with no
    actor and no name; the notice of the member's like goes with the like."""
    s = story
    other, zed_id = s["other"], s["zed"].user["id"]
    mention = await new_reply(s["zed"], s["other_topic"]["id"], f"@{other.user['username']} se menyen Eksport")
    caused = await db.fetch_all("SELECT id, kind FROM notification WHERE actor_id = ? AND user_id = ? ORDER BY id",
                                [zed_id, other.user["id"]])
    assert {n["kind"] for n in caused} == {"mention", "like"}  # the test can fail: both notices exist before
    assert (await withdraw(s["zed"])).status_code == 200
    after = {n["id"]: n for n in await db.fetch_all("SELECT id, kind, actor_id, post_id FROM notification "
                                                    "WHERE user_id = ?", [other.user["id"]])}
    kept = [n for n in caused if n["kind"] == "mention"]
    assert [after[n["id"]]["actor_id"] for n in kept] == [None] and after[kept[0]["id"]]["post_id"] == mention["id"]
    assert all(n["id"] not in after for n in caused if n["kind"] == "like")
    assert not await db.fetch_all("SELECT id FROM notification WHERE actor_id = ?", [zed_id])
    listed = (await other.get("/api/v1/notifications")).json()["notifications"]
    entry = next(n for n in listed if n["post_id"] == mention["id"])
    assert entry["actor"] is None
    page = await other.get("/notifications")
    assert page.status_code == 200
    assert_absent(page.text + json.dumps(listed), s["handle"], s["display"])
