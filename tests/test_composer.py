"""The composer (issue 25) over HTTP: similar topics, drafts kept on the server, mention suggestions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from forum import db
from forum.models import Role
from forum.services import retention
from forum.settings import Retention
from tests.conftest import new_category, new_reply, new_topic, unique
from tests.test_search_service import word
from tests.test_withdrawal import database_bytes, withdraw


async def submit(client, path: str, data: dict):
    """A form as the browser sends it, with the signed-in member's token."""
    return await client.post_form(path, data, token_from="/drafts")


async def similar(client, title: str, body: str = "") -> list[dict]:
    response = await client.get("/api/v1/similar-topics", params={"title": title, "body": body})
    assert response.status_code == 200, response.text
    return response.json()["topics"]


# --- similar topics ----------------------------------------------------------------------------------

async def test_similar_topics_come_solved_first_with_their_category_and_accepted_answer(
        make_user, participant, category):
    w = word("lign")
    helper = await make_user()
    open_one = await new_topic(participant, category.slug, title=f"Spørsmål om {w} og eksport")
    solved = await new_topic(participant, category.slug, title=f"Hvordan bruker jeg {w} til eksport?")
    answer = await new_reply(helper, solved["id"], "Slik gjør du det")
    assert (await participant.api("POST", f"/api/v1/posts/{answer['id']}/accept")).status_code == 200
    await new_topic(participant, category.slug, title=f"Noe helt annet {word('annet')}")

    found = await similar(participant, f"Problem med {w} og eksporten")
    assert await similar(participant, f"Problem med {w} i dag") == []  # one shared word of three is not enough
    assert [t["id"] for t in found] == [solved["id"], open_one["id"]]
    assert found[0]["solved"] is True and found[0]["accepted_answer"] is True
    assert found[1]["solved"] is False and found[1]["accepted_answer"] is False
    assert found[0]["category"] == category.slug and found[0]["category_name"] == category.name
    assert found[0]["url"] == f"/t/{solved['id']}/{solved['slug']}"


async def test_similar_topics_match_inflected_forms_and_need_ten_characters(participant, category):
    w = word("fakt")
    topic = await new_topic(participant, category.slug, title=f"Eksport av {w}aer til regnskapet")
    assert [t["id"] for t in await similar(participant, f"Finner ikke {w}aen i regnskap")] == [topic["id"]]
    assert await similar(participant, f"{w}"[:9]) == []
    assert await similar(participant, "hvordan kan jeg") == []  # stop words only


async def test_similar_topics_respect_category_access_and_hidden_and_deleted_posts(
        participant, staff, moderator, anon, category):
    w = word("skjult")
    staff_only = await new_category(read="staff")
    members_only = await new_category(read="members")
    public = await new_topic(participant, category.slug, title=f"Offentlig om {w}")
    internal = await new_topic(staff, staff_only.slug, title=f"Internt om {w}")
    for_members = await new_topic(participant, members_only.slug, title=f"Medlemmer om {w}")
    hidden = await new_topic(participant, category.slug, title=f"Skjult om {w}")
    hide = await moderator.api("POST", f"/api/v1/mod/posts/{hidden['first_post_id']}/actions",
                               {"action": "hide", "reason": "Test"})
    assert hide.status_code == 200, hide.text
    deleted = await new_topic(participant, category.slug, title=f"Slettet om {w}")
    assert (await participant.api("DELETE", f"/api/v1/posts/{deleted['first_post_id']}")).status_code == 200

    title = f"Hva med {w} nå"
    assert {t["id"] for t in await similar(anon, title)} == {public["id"]}
    assert {t["id"] for t in await similar(participant, title)} == {public["id"], for_members["id"]}
    assert {t["id"] for t in await similar(staff, title)} == {public["id"], for_members["id"], internal["id"]}
    assert hidden["id"] not in {t["id"] for t in await similar(moderator, title)}
    assert deleted["id"] not in {t["id"] for t in await similar(moderator, title)}


async def test_without_javascript_the_first_submit_asks_whether_a_similar_topic_answered_it(
        participant, category):
    w = word("nojs")
    existing = await new_topic(participant, category.slug, title=f"Hvordan sletter jeg {w}?")
    form = {"title": f"Kan jeg slette {w} selv?", "body": "Jeg finner ingen knapp for det.", "kind": "question"}
    before = await db.fetch_one("SELECT count(*) AS n FROM topic")

    step = await submit(participant, f"/c/{category.slug}/new", form)
    assert step.status_code == 200
    assert "Did any of these answer it?" in step.text or "Svarte noen av disse på det?" in step.text
    assert f'href="/t/{existing["id"]}/{existing["slug"]}"' in step.text
    assert 'name="confirm_similar" value="1"' in step.text
    assert form["body"] in step.text  # nothing the member wrote is lost
    assert (await db.fetch_one("SELECT count(*) AS n FROM topic"))["n"] == before["n"]

    posted = await submit(participant, f"/c/{category.slug}/new", {**form, "confirm_similar": "1"})
    assert posted.status_code == 303
    assert (await db.fetch_one("SELECT count(*) AS n FROM topic WHERE title = ?", [form["title"]]))["n"] == 1


async def test_a_title_like_no_other_posts_at_the_first_submit(participant, category):
    form = {"title": f"{word('ny')} {word('ny')}", "body": f"{word('tekst')} {word('tekst')}", "kind": "question"}
    assert (await submit(participant, f"/c/{category.slug}/new", form)).status_code == 303


# --- drafts --------------------------------------------------------------------------------------------

async def save(client, **data):
    return await client.api("PUT", "/api/v1/drafts", {"title": "", "body": "", "kind": "", **data})


async def test_drafts_round_trip_and_go_when_posted(participant, category):
    topic = await new_topic(participant, category.slug)
    body = f"Et halvferdig svar {word('utkast')}"
    saved = await save(participant, topic_id=topic["id"], body=body)
    assert saved.status_code == 200 and saved.json()["saved"] is True
    page = await participant.get(f"/t/{topic['id']}/{topic['slug']}")
    assert body in page.text and ("Your draft was restored." in page.text or "Utkastet ditt" in page.text)

    title = f"Et nytt emne {word('nytt')}"
    assert (await save(participant, category=category.slug, title=title, body="Tekst", kind="discussion")
            ).status_code == 200
    new_page = await participant.get(f"/c/{category.slug}/new")
    assert f'value="{title}"' in new_page.text and 'value="discussion" checked' in new_page.text
    listing = await participant.get("/drafts")
    assert listing.status_code == 200 and title in listing.text and body[:40] in listing.text

    await new_reply(participant, topic["id"], "Det ferdige svaret")
    rows = await db.fetch_all("SELECT slot FROM composer_draft WHERE user_id = ?", [participant.user["id"]])
    assert [r["slot"] for r in rows] == ["new"]
    posted = await submit(participant, f"/c/{category.slug}/new", {"title": title, "body": "Tekst",
                                                                   "kind": "discussion", "confirm_similar": "1"})
    assert posted.status_code == 303
    assert await db.fetch_all("SELECT id FROM composer_draft WHERE user_id = ?", [participant.user["id"]]) == []


async def test_the_save_draft_button_works_without_javascript(participant, category):
    topic = await new_topic(participant, category.slug)
    body = f"Lagret uten skript {word('knapp')}"
    response = await submit(participant, "/drafts/save", {"topic_id": str(topic["id"]), "body": body})
    assert response.status_code == 303
    assert response.headers["location"].startswith(f"/t/{topic['id']}/{topic['slug']}?draft=saved")
    row = await db.fetch_one("SELECT body FROM composer_draft WHERE user_id = ? AND slot = ?",
                             [participant.user["id"], f"topic:{topic['id']}"])
    assert row["body"] == body
    emptied = await submit(participant, "/drafts/save", {"topic_id": str(topic["id"]), "body": "  "})
    assert emptied.status_code == 303
    assert await db.fetch_one("SELECT id FROM composer_draft WHERE user_id = ? AND slot = ?",
                              [participant.user["id"], f"topic:{topic['id']}"]) is None


async def test_a_draft_is_private_to_its_owner_for_every_role(participant, make_user, anon, category):
    topic = await new_topic(participant, category.slug)
    secret = f"Bare mitt {word('privat')}"
    await save(participant, topic_id=topic["id"], body=secret)
    draft_id = (await db.fetch_one("SELECT id FROM composer_draft WHERE user_id = ?",
                                   [participant.user["id"]]))["id"]
    others = [await make_user(consented=False), await make_user(), await make_user(Role.STAFF),
              await make_user(Role.MODERATOR), await make_user(Role.ADMIN)]
    for other in others:
        for path in ("/drafts", f"/t/{topic['id']}/{topic['slug']}", "/api/v1/me/export",
                     f"/api/v1/topics/{topic['id']}"):
            response = await other.get(path)
            assert response.status_code == 200, (path, response.status_code)
            assert secret not in response.text, (other.user["role"], path)
        refused = await submit(other, f"/drafts/{draft_id}/delete", {})
        assert refused.status_code == 404
        # saving their own draft for the topic never touches the owner's
        await save(other, topic_id=topic["id"], body="Mitt eget")
    assert (await anon.get("/drafts")).status_code in (302, 303, 401)
    assert (await anon.api("PUT", "/api/v1/drafts", {"body": "x"})).status_code == 401
    row = await db.fetch_one("SELECT body FROM composer_draft WHERE id = ?", [draft_id])
    assert row["body"] == secret
    export = (await participant.get("/api/v1/me/export")).json()
    assert [d["body"] for d in export["drafts"]] == [secret]


async def test_saving_a_draft_needs_consent_and_a_readable_topic(member, participant, category):
    topic = await new_topic(participant, category.slug)
    assert (await save(member, topic_id=topic["id"], body="Hei")).status_code == 403
    hidden = await new_category(read="staff")
    assert (await save(participant, category=hidden.slug, title="Et utkast her", body="x")).status_code == 404
    assert (await save(participant, topic_id=2_000_000_000, body="x")).status_code == 404
    assert (await save(participant, body="x" * 50_001)).status_code == 400
    assert (await save(participant, kind="nonsense", body="x")).status_code == 400
    assert await db.fetch_all("SELECT id FROM composer_draft WHERE user_id IN (?, ?)",
                              [member.user["id"], participant.user["id"]]) == []


async def test_a_silenced_or_suspended_member_cannot_save_drafts(make_user, moderator, category):
    """Issue 25: drafts pass the posting gate as posts do (consent, and no sanction): 403 `silenced`."""
    from tests.test_moderation_rules import _sanction

    topic = await new_topic(await make_user(), category.slug)
    for kind in ("silence", "suspend"):
        member = await make_user()
        assert (await save(member, topic_id=topic["id"], body="Før straffen")).status_code == 200
        assert (await _sanction(moderator, member.user["id"], kind)).status_code == 201
        refused = await save(member, topic_id=topic["id"], body="Etter straffen")
        if kind == "silence":
            assert refused.status_code == 403 and refused.json()["error"]["code"] == "silenced"
        else:  # a suspension ends the member's sessions: nothing signed in to save with
            assert refused.status_code in (401, 403)
        row = await db.fetch_one("SELECT body FROM composer_draft WHERE user_id = ?", [member.user["id"]])
        assert row["body"] == "Før straffen"


async def test_a_member_keeps_at_most_draft_max_drafts(app, make_user, category):
    from forum.services import composer_drafts

    member = await make_user()
    topics = [await new_topic(member, category.slug) for _ in range(3)]
    before = composer_drafts.CONFIG.most
    composer_drafts.CONFIG.most = 2
    try:
        for topic in topics[:2]:
            assert (await save(member, topic_id=topic["id"], body="Et utkast")).status_code == 200
        refused = await save(member, topic_id=topics[2]["id"], body="Ett for mye")
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "too_many_drafts"
        assert (await save(member, topic_id=topics[0]["id"], body="Erstattet")).status_code == 200  # a slot kept
        assert (await save(member, topic_id=topics[1]["id"], body="")).status_code == 200  # emptied: deleted
        assert (await save(member, topic_id=topics[2]["id"], body="Nå er det plass")).status_code == 200
    finally:
        composer_drafts.CONFIG.most = before
    rows = await db.fetch_all("SELECT slot, body FROM composer_draft WHERE user_id = ? ORDER BY slot",
                              [member.user["id"]])
    assert sorted(r["body"] for r in rows) == ["Erstattet", "Nå er det plass"]
    assert app.state.settings.draft_max == 100


async def test_saving_drafts_is_rate_limited(app, make_user, category, monkeypatch):
    import dataclasses

    from forum.services import composer_drafts

    monkeypatch.setattr(composer_drafts, "SAVES_PER_MINUTE", 3)
    original = app.state.settings
    app.state.settings = dataclasses.replace(original, rate_limits=True)
    try:
        member = await make_user()
        topic = await new_topic(member, category.slug)
        codes = [(await save(member, topic_id=topic["id"], body=f"Versjon {n}")).status_code for n in range(5)]
    finally:
        app.state.settings = original
    if codes[3] == 200:  # the minute's window turned over between the saves: the next ones count anew
        codes = codes[1:]
    assert codes[:3] == [200, 200, 200] and 429 in codes[3:], codes
    row = await db.fetch_one("SELECT body FROM composer_draft WHERE user_id = ?", [member.user["id"]])
    assert row["body"] in ("Versjon 2", "Versjon 3")


async def test_drafts_expire_after_the_retention_period(participant, category):
    topic = await new_topic(participant, category.slug)
    await save(participant, topic_id=topic["id"], body="Gammelt utkast")
    await save(participant, category=category.slug, title="Nytt utkast i dag", body="Nytt")
    old = datetime.now(UTC) - timedelta(days=91)
    await db.execute("UPDATE composer_draft SET updated_at = ? WHERE user_id = ? AND slot = ?",
                     [db.time_param(old), participant.user["id"], f"topic:{topic['id']}"])
    counts = await retention.purge(Retention())
    assert counts["composer_drafts"] >= 1
    rows = await db.fetch_all("SELECT slot FROM composer_draft WHERE user_id = ?", [participant.user["id"]])
    assert [r["slot"] for r in rows] == ["new"]
    assert (await retention.purge(Retention(draft_days=1)))["composer_drafts"] == 0  # saved today: kept


async def test_drafts_go_at_withdrawal_bytes_included(participant, settings, category):
    topic = await new_topic(participant, category.slug)
    secret = f"Qzv{word('bytes')}"
    await save(participant, topic_id=topic["id"], body=f"Utkast med {secret}")
    response = await withdraw(participant)
    assert response.status_code == 200, response.text
    assert response.json()["removed_drafts"] == 1
    assert await db.fetch_all("SELECT id FROM composer_draft WHERE user_id = ?", [participant.user["id"]]) == []
    if settings.sqlite:
        assert secret.lower().encode() not in database_bytes(settings)


# --- mention suggestions -------------------------------------------------------------------------------

async def suggest(client, q: str, **params) -> list[str]:
    response = await client.get("/api/v1/mention-suggestions", params={"q": q, **params})
    assert response.status_code == 200, response.text
    return [u["username"] for u in response.json()["users"]]


async def test_mention_suggestions_only_name_members_a_mention_reaches(make_user, moderator, participant,
                                                                       category):
    prefix = "Mx" + unique("")[-6:].replace("-", "")
    consented = await make_user(username=f"{prefix}Anna")
    await make_user(username=f"{prefix}Bente", consented=False)
    withdrawn = await make_user(username=f"{prefix}Cato")
    assert (await withdraw(withdrawn)).status_code == 200
    suspended = await make_user(username=f"{prefix}Dina")
    sanction = await moderator.api("POST", f"/api/v1/mod/users/{suspended.user['id']}/suspensions",
                                   {"until": (datetime.now(UTC) + timedelta(days=7)).isoformat(), "reason": "Test",
                                    "kind": "suspend"})
    assert sanction.status_code in (200, 201), sanction.text
    silenced = await make_user(username=f"{prefix}Eli")
    assert (await moderator.api("POST", f"/api/v1/mod/users/{silenced.user['id']}/suspensions",
                                {"until": (datetime.now(UTC) + timedelta(days=7)).isoformat(), "reason": "Test",
                                 "kind": "silence"})).status_code in (200, 201)
    staff = await make_user(Role.STAFF, username=f"{prefix}Frode")

    topic = await new_topic(participant, category.slug)
    assert await suggest(participant, prefix.lower(), topic_id=topic["id"]) == [
        f"{prefix}Anna", f"{prefix}Eli", f"{prefix}Frode"]
    staff_category = await new_category(read="staff")
    internal = await new_topic(staff, staff_category.slug)
    assert await suggest(staff, prefix, topic_id=internal["id"]) == []  # staff themselves are left out
    assert await suggest(moderator, prefix, topic_id=internal["id"]) == [f"{prefix}Frode"]
    assert await suggest(participant, prefix, category=category.slug) == [f"{prefix}Anna", f"{prefix}Eli",
                                                                         f"{prefix}Frode"]
    assert consented.user["id"] != participant.user["id"]
    assert await suggest(participant, prefix[:1]) == []  # one letter is too few
    response = await participant.get("/api/v1/mention-suggestions", params={"q": prefix,
                                                                            "topic_id": internal["id"]})
    assert response.status_code == 404  # a topic the member cannot read


async def test_mention_suggestions_check_consent_in_one_query_however_many_candidates(make_user, participant,
                                                                                   category):
    """Issue 25: consent was read once per candidate (up to 40 queries); now once for all of them."""
    from tests.conftest import QueryCounter

    prefix = "Qc" + unique("")[-6:].replace("-", "")
    topic = await new_topic(participant, category.slug)
    counts = []
    for many in (2, 12):
        while len(await suggest(participant, prefix, topic_id=topic["id"])) < min(many, 8):
            await make_user(username=f"{prefix}{unique('')[-5:]}")
        with QueryCounter() as queries:
            found = await suggest(participant, prefix, topic_id=topic["id"])
        counts.append(len([q for q in queries.queries if q.lstrip().upper().startswith("SELECT")]))
        assert len(found) == min(many, 8)
    assert counts[0] == counts[1], counts
    consent = [q for q in queries.queries if "consent_event" in q]
    assert len(consent) == 1, consent


async def test_mention_suggestions_match_display_names_of_members_a_mention_reaches(make_user, participant,
                                                                                  category):
    prefix = "Dn" + unique("")[-6:].replace("-", "")
    shown = await make_user(username=unique("h"))
    assert (await shown.api("PATCH", "/api/v1/me/profile", {"display_name": f"{prefix} Solberg"})).status_code == 200
    hidden = await make_user(username=unique("h"))
    assert (await hidden.api("PATCH", "/api/v1/me/profile", {"display_name": f"{prefix}a Lie"})).status_code == 200
    assert (await withdraw(hidden)).status_code == 200  # no profile, no display name: not suggested
    topic = await new_topic(participant, category.slug)
    response = await participant.get("/api/v1/mention-suggestions", params={"q": prefix.lower(),
                                                                            "topic_id": topic["id"]})
    assert response.status_code == 200
    assert response.json()["users"] == [{"username": shown.user["username"], "display_name": f"{prefix} Solberg"}]
    assert await suggest(participant, f"{prefix}Sol") == [shown.user["username"]]  # spaces are not letters
    assert await suggest(participant, "Solberg" + prefix) == []


async def test_the_confirmation_step_is_only_for_members_who_may_post(member, participant, category):
    w = word("gate")
    await new_topic(participant, category.slug, title=f"Hvordan sletter jeg {w}?")
    form = {"title": f"Kan jeg slette {w} selv?", "body": "Tekst", "kind": "question"}
    refused = await submit(member, f"/c/{category.slug}/new", form)  # no consent: refused as posting is
    assert refused.status_code == 403
    assert "Did any of these answer it?" not in refused.text and "Svarte noen av disse" not in refused.text


async def test_drafts_go_at_erasure(participant, category):
    topic = await new_topic(participant, category.slug)
    await save(participant, topic_id=topic["id"], body="Et utkast som skal bort")
    await save(participant, category=category.slug, title="Et nytt emne som skal bort", body="Tekst")
    erased = await participant.api("DELETE", "/api/v1/me", {"password": participant.user["password"]})
    assert erased.status_code == 200, erased.text
    assert erased.json()["removed_drafts"] == 2
    assert await db.fetch_all("SELECT id FROM composer_draft WHERE user_id = ?", [participant.user["id"]]) == []
