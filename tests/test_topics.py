"""Topics, replies, edits, deletes, likes, accepted answers: pages and JSON, checked against the database."""

from __future__ import annotations

import pytest

from forum.models import Post, PostLike, PostRevision, Topic
from tests.conftest import QueryCounter, new_category, new_reply, new_topic, unique


async def test_member_starts_a_question_and_it_is_listed(participant, anon, category):
    created = await new_topic(participant, category.slug, title="Hvordan eksporterer jeg data?", kind="question")
    topic = await Topic.get(id=created["id"])
    assert topic.kind == "question" and topic.post_count == 1 and topic.slug == "hvordan-eksporterer-jeg-data"
    first = await Post.get(id=created["first_post_id"])
    assert first.number == 1 and first.cooked.startswith("<p>")
    page = await anon.get(f"/c/{category.slug}")
    assert "Hvordan eksporterer jeg data?" in page.text
    assert (await anon.get("/")).text.count("Hvordan eksporterer jeg data?") == 1


async def test_topic_form_creates_and_redirects_to_slugged_url(participant, category):
    token = await participant.form_token(f"/c/{category.slug}/new")
    response = await participant.post(f"/c/{category.slug}/new", data={
        "csrf_token": token, "title": "Bøker og ærlige svar på åpne spørsmål", "body": "**Hei**", "kind": "discussion"})
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.endswith("/boker-og-aerlige-svar-paa-aapne-sporsmaal")
    page = await participant.get(location)
    assert "<strong>Hei</strong>" in page.text


@pytest.mark.parametrize("title,body,field", [("kort", "tekst", "title"), ("x" * 201, "tekst", "title"),
                                               ("Gyldig tittel", "", "body"), ("Gyldig tittel", "x" * 50_001, "body"),
                                               ("Gyldig tittel", ">" * 5000 + " dypt", "body")])
async def test_bad_topics_are_refused_and_nothing_is_stored(participant, category, title, body, field):
    before = await Topic.filter(category_id=category.id).count()
    response = await participant.api("POST", "/api/v1/topics", {"category": category.slug, "title": title, "body": body,
                                                          "kind": "question"})
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert await Topic.filter(category_id=category.id).count() == before


async def test_form_shows_errors_and_keeps_the_text(participant, category):
    token = await participant.form_token(f"/c/{category.slug}/new")
    response = await participant.post(f"/c/{category.slug}/new", data={"csrf_token": token, "title": "kort",
                                                                   "body": "Min lange tekst", "kind": "question"})
    assert response.status_code == 400
    assert "Min lange tekst" in response.text and 'aria-invalid="true"' in response.text


async def test_training_topics_only_by_staff_in_staff_led_categories(participant, staff):
    led = await new_category(start_topics="staff")
    open_category = await new_category()
    refused = await participant.api("POST", "/api/v1/topics", {"category": led.slug, "title": "Jeg vil starte",
                                                         "body": "tekst", "kind": "discussion"})
    assert refused.status_code == 403
    wrong_place = await staff.api("POST", "/api/v1/topics", {"category": open_category.slug, "title": "Opplæring 1",
                                                            "body": "tekst", "kind": "training"})
    assert wrong_place.status_code == 403
    assert wrong_place.json()["error"]["code"] == "training_needs_staff_category"
    created = await new_topic(staff, led.slug, kind="training")
    pin = await staff.api("PATCH", f"/api/v1/topics/{created['id']}", {"pinned": True})
    assert pin.status_code == 200 and pin.json()["topic"]["pinned"] is True
    reply = await new_reply(participant, created["id"], "Takk for opplæringen!")
    assert reply["number"] == 2
    listing = (await participant.get(f"/api/v1/categories/{led.slug}/topics")).json()
    assert listing["topics"][0]["id"] == created["id"] and listing["topics"][0]["pinned"]


async def test_members_cannot_pin_lock_or_move(participant, category):
    created = await new_topic(participant, category.slug)
    response = await participant.api("PATCH", f"/api/v1/topics/{created['id']}", {"pinned": True})
    assert response.status_code == 404
    assert not (await Topic.get(id=created["id"])).pinned


async def test_staff_rename_and_move(staff, participant, category):
    other = await new_category()
    created = await new_topic(participant, category.slug)
    response = await staff.api("PATCH", f"/api/v1/topics/{created['id']}", {"title": "Nytt navn på emnet",
                                                                           "category": other.slug})
    assert response.status_code == 200
    topic = await Topic.get(id=created["id"])
    assert topic.title == "Nytt navn på emnet" and topic.slug == "nytt-navn-paa-emnet" and topic.category_id == other.id


async def test_locked_topic_refuses_replies_except_from_staff(participant, staff, make_user, category):
    created = await new_topic(participant, category.slug)
    await staff.api("PATCH", f"/api/v1/topics/{created['id']}", {"locked": True})
    other = await make_user()
    refused = await other.api("POST", f"/api/v1/topics/{created['id']}/posts", {"body": "Hei"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "topic_locked"
    assert (await new_reply(staff, created["id"], "Staff kan svare"))["number"] == 2
    assert await Post.filter(topic_id=created["id"]).count() == 2


async def test_stored_html_is_sanitised_at_write_time(participant, category):
    body = ('<script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)> '
            '[y](https://example.com) `<b>kode</b>`')
    created = await new_topic(participant, category.slug, body=body)
    cooked = (await Post.get(id=created["first_post_id"])).cooked
    assert "<script" not in cooked and 'href="javascript' not in cooked.lower() and "<img" not in cooked
    assert 'rel="nofollow ugc noopener"' in cooked
    assert "&lt;b&gt;kode&lt;/b&gt;" in cooked


async def test_reply_with_reply_to_quote_and_mention_notifies_each_once(make_user, category):
    asker, helper, mentioned = await make_user(), await make_user(), await make_user()
    created = await new_topic(asker, category.slug)
    answer = await new_reply(helper, created["id"], "Prøv innstillingene.")
    body = (f"[quote post={answer['id']}]\nPrøv innstillingene.\n[/quote]\n\n"
            f"Enig, og @{mentioned.user['username']} vet mer.")
    reply = await new_reply(asker, created["id"], body, reply_to=answer["id"])
    post = await Post.get(id=reply["id"])
    assert post.reply_to_id == answer["id"]
    assert f'data-post="{answer["id"]}"' in post.cooked and helper.user["username"] in post.cooked
    assert f'href="/u/{mentioned.user["username"]}"' in post.cooked
    helper_notes = (await helper.get("/api/v1/notifications")).json()["notifications"]
    assert [n["kind"] for n in helper_notes if n["post_id"] == reply["id"]] == ["quote"]
    mentioned_notes = (await mentioned.get("/api/v1/notifications")).json()["notifications"]
    assert [n["kind"] for n in mentioned_notes] == ["mention"]
    asker_notes = (await asker.get("/api/v1/notifications")).json()["notifications"]
    assert [n["kind"] for n in asker_notes] == ["reply"]   # the helper's answer, not their own post


async def test_reply_to_a_post_of_another_topic_is_refused(participant, category):
    first, second = await new_topic(participant, category.slug), await new_topic(participant, category.slug)
    response = await participant.api("POST", f"/api/v1/topics/{first['id']}/posts",
                                {"body": "x", "reply_to": second["first_post_id"]})
    assert response.status_code == 400 and "reply_to" in response.json()["error"]["fields"]


async def test_edit_keeps_revisions_and_shows_edited(participant, make_user, moderator, category):
    created = await new_topic(participant, category.slug, body="Første versjon")
    post_id = created["first_post_id"]
    response = await participant.api("PATCH", f"/api/v1/posts/{post_id}", {"body": "Andre versjon"})
    assert response.status_code == 200 and "Andre versjon" in response.json()["cooked"]
    revisions = await PostRevision.filter(post_id=post_id).order_by("number").values_list("source", flat=True)
    assert revisions == ["Første versjon", "Andre versjon"]
    history = (await participant.get(f"/api/v1/posts/{post_id}/revisions")).json()["revisions"]
    assert history[0]["source"] == "Første versjon"
    assert (await moderator.get(f"/api/v1/posts/{post_id}/revisions")).status_code == 200
    stranger = await make_user()
    assert (await stranger.get(f"/api/v1/posts/{post_id}/revisions")).status_code == 404
    assert (await stranger.api("PATCH", f"/api/v1/posts/{post_id}", {"body": "kapret"})).status_code == 403
    page = await participant.get(f"/t/{created['id']}/x", follow_redirects=True)
    assert "redigert" in page.text


async def test_soft_delete_by_author_and_by_moderator(participant, moderator, make_user, category):
    created = await new_topic(participant, category.slug)
    other = await make_user()
    reply = await new_reply(other, created["id"], "Skal slettes")
    assert (await participant.api("DELETE", f"/api/v1/posts/{reply['id']}")).status_code == 403
    assert (await other.api("DELETE", f"/api/v1/posts/{reply['id']}")).status_code == 200
    post = await Post.get(id=reply["id"])
    assert post.deleted_at is not None and not post.deleted_by_moderator
    page = (await participant.get(f"/api/v1/topics/{created['id']}")).json()
    assert page["posts"][1]["deleted"] and page["posts"][1]["cooked"] is None
    second = await new_reply(other, created["id"], "Moderator sletter")
    assert (await moderator.api("DELETE", f"/api/v1/posts/{second['id']}")).status_code == 200
    assert (await Post.get(id=second["id"])).deleted_by_moderator


async def test_likes_one_per_user_not_own_not_deleted(participant, make_user, category):
    created = await new_topic(participant, category.slug)
    fan = await make_user()
    post_id = created["first_post_id"]
    assert (await fan.api("POST", f"/api/v1/posts/{post_id}/like")).json()["like_count"] == 1
    assert (await fan.api("POST", f"/api/v1/posts/{post_id}/like")).json()["like_count"] == 1
    assert await PostLike.filter(post_id=post_id).count() == 1
    own = await participant.api("POST", f"/api/v1/posts/{post_id}/like")
    assert own.status_code == 403
    assert (await fan.api("DELETE", f"/api/v1/posts/{post_id}/like")).json()["like_count"] == 0
    reply = await new_reply(participant, created["id"], "slettes")
    await participant.api("DELETE", f"/api/v1/posts/{reply['id']}")
    assert (await fan.api("POST", f"/api/v1/posts/{reply['id']}/like")).status_code == 404


async def test_likes_are_batched_in_one_notification(participant, make_user, category):
    created = await new_topic(participant, category.slug)
    for _ in range(3):
        fan = await make_user()
        await fan.api("POST", f"/api/v1/posts/{created['first_post_id']}/like")
    likes = [n for n in (await participant.get("/api/v1/notifications")).json()["notifications"] if n["kind"] == "like"]
    assert len(likes) == 1 and likes[0]["count"] == 3


async def test_accepted_answer_by_asker_shows_solved(participant, make_user, staff, category):
    created = await new_topic(participant, category.slug, kind="question")
    helper = await make_user()
    answer = await new_reply(helper, created["id"], "Slik gjør du det.")
    assert (await helper.api("POST", f"/api/v1/posts/{answer['id']}/accept")).status_code == 403
    assert (await participant.api("POST", f"/api/v1/posts/{created['first_post_id']}/accept")).status_code == 400
    response = await participant.api("POST", f"/api/v1/posts/{answer['id']}/accept")
    assert response.status_code == 200 and response.json()["accepted_post_id"] == answer["id"]
    assert (await Topic.get(id=created["id"])).accepted_post_id == answer["id"]
    page = await participant.get(f"/t/{created['id']}/x", follow_redirects=True)
    assert "Godkjent svar" in page.text and page.text.index("accepted-answer") < page.text.index('id="post-2"')
    listing = (await participant.get(f"/api/v1/categories/{category.slug}/topics")).json()["topics"]
    assert next(t for t in listing if t["id"] == created["id"])["solved"]
    unsolved = await participant.get(f"/c/{category.slug}?kind=question&solved=no")
    assert created["slug"] not in unsolved.text
    notes = (await helper.get("/api/v1/notifications")).json()["notifications"]
    assert "accepted" in [n["kind"] for n in notes]
    # staff may change it
    other = await new_reply(helper, created["id"], "Enda bedre svar.")
    assert (await staff.api("POST", f"/api/v1/posts/{other['id']}/accept")).status_code == 200


async def test_deleted_post_cannot_be_accepted_or_quoted(participant, make_user, category):
    created = await new_topic(participant, category.slug, kind="question")
    helper = await make_user()
    answer = await new_reply(helper, created["id"], "Slettes snart")
    await helper.api("DELETE", f"/api/v1/posts/{answer['id']}")
    assert (await participant.api("POST", f"/api/v1/posts/{answer['id']}/accept")).status_code == 404
    reply = await new_reply(participant, created["id"], f"[quote post={answer['id']}]\nSlettes snart\n[/quote]\n\nHm")
    cooked = (await Post.get(id=reply["id"])).cooked
    assert "data-post" not in cooked and helper.user["username"] not in cooked


async def test_discussion_has_no_accepted_answer(participant, make_user, category):
    created = await new_topic(participant, category.slug, kind="discussion")
    reply = await new_reply(await make_user(), created["id"])
    assert (await participant.api("POST", f"/api/v1/posts/{reply['id']}/accept")).status_code == 400


@pytest.mark.parametrize("read", ["members", "staff"])
async def test_categories_hidden_from_those_who_cannot_read_them(read, anon, participant, staff):
    hidden = await new_category(read=read)
    created = await new_topic(staff, hidden.slug, kind="discussion", body=f"hemmelig{read}ord")
    readers = [staff] if read == "staff" else [staff, participant]
    outsiders = [anon] if read == "members" else [anon, participant]
    for client in outsiders:
        assert (await client.get(f"/c/{hidden.slug}")).status_code == 404
        assert (await client.get(f"/api/v1/topics/{created['id']}")).status_code == 404
        assert (await client.get(f"/t/{created['id']}/x")).status_code == 404
        assert (await client.get(f"/p/{created['first_post_id']}")).status_code == 404
        assert hidden.slug not in (await client.get("/api/v1/categories")).text
        assert created["slug"] not in (await client.get("/")).text
        assert (await client.get(f"/api/v1/search?q=hemmelig{read}ord")).json()["hits"] == []
    for client in readers:
        assert (await client.get(f"/api/v1/topics/{created['id']}")).status_code == 200
        assert len((await client.get(f"/api/v1/search?q=hemmelig{read}ord")).json()["hits"]) == 1


async def test_only_admins_create_categories(admin, staff):
    slug = unique("ny").lower()
    body = {"slug": slug, "name": "Ny kategori", "read": "public", "start_topics": "participants"}
    assert (await staff.api("POST", "/api/v1/categories", body)).status_code == 404
    created = await admin.api("POST", "/api/v1/categories", body)
    assert created.status_code == 201 and created.json()["slug"] == slug
    assert (await admin.api("POST", "/api/v1/categories", body)).status_code == 409


async def test_search_stays_in_step_with_edits_and_deletes(participant, category, anon):
    word, new_word = unique("gammelord"), unique("nyttord")
    created = await new_topic(participant, category.slug, body=f"Teksten har {word}")
    assert len((await anon.get(f"/api/v1/search?q={word}")).json()["hits"]) == 1
    await participant.api("PATCH", f"/api/v1/posts/{created['first_post_id']}", {"body": f"Nå står det {new_word}"})
    assert (await anon.get(f"/api/v1/search?q={word}")).json()["hits"] == []
    hit = (await anon.get(f"/api/v1/search?q={new_word}")).json()["hits"][0]
    assert "<mark>" in hit["snippet"]
    await participant.api("DELETE", f"/api/v1/posts/{created['first_post_id']}")
    assert (await anon.get(f"/api/v1/search?q={new_word}")).json()["hits"] == []


async def test_search_page_finds_norwegian_words(participant, category, anon):
    word = "sjåførløsning" + unique("q")[-3:]
    await new_topic(participant, category.slug, body=f"Om {word} og Ærlighet")
    page = await anon.get(f"/search?q={word}")
    assert page.status_code == 200 and "<mark>" in page.text


async def test_deep_pages_use_post_numbers_and_keep_query_count(participant, category):
    created = await new_topic(participant, category.slug, kind="discussion")
    for n in range(45):
        await new_reply(participant, created["id"], f"Svar nummer {n}")
    page3 = (await participant.get(f"/api/v1/topics/{created['id']}?page=3")).json()
    assert page3["pages"] == 3 and [p["number"] for p in page3["posts"]] == list(range(41, 47))
    assert (await participant.get(f"/api/v1/topics/{created['id']}?page=4")).status_code == 404
    counts = []
    for page in (1, 2, 3):
        with QueryCounter() as counter:
            response = await participant.get(f"/t/{created['id']}/{created['slug']}?page={page}")
        assert response.status_code == 200
        counts.append(counter.count)
    assert counts[0] == counts[1] and counts[0] <= 6, counts


async def test_topic_page_query_count_does_not_grow_with_posts(anon, participant, category):
    small = await new_topic(participant, category.slug, kind="discussion")
    big = await new_topic(participant, category.slug, kind="discussion")
    for n in range(30):
        await new_reply(participant, big["id"], f"@{participant.user['username']} svar {n}")
    with QueryCounter() as few:
        await anon.get(f"/t/{small['id']}/{small['slug']}")
    with QueryCounter() as many:
        await anon.get(f"/t/{big['id']}/{big['slug']}")
    assert few.count == many.count <= 3


async def test_watching_a_topic_notifies_on_replies(participant, make_user, category):
    created = await new_topic(participant, category.slug)
    watcher = await make_user()
    token = await watcher.form_token(f"/t/{created['id']}/{created['slug']}")
    await watcher.post(f"/t/{created['id']}/watch", data={"csrf_token": token, "watch": "1"})
    await new_reply(participant, created["id"], "Noe nytt")
    notes = (await watcher.get("/api/v1/notifications")).json()["notifications"]
    assert [n["kind"] for n in notes] == ["watched_topic"]


async def test_notifications_mark_read_and_unread_count(participant, make_user, category):
    created = await new_topic(participant, category.slug)
    await new_reply(await make_user(), created["id"], "Hei")
    listing = (await participant.get("/api/v1/notifications")).json()
    assert listing["unread"] == 1
    page = await participant.get("/notifications")
    assert "is-unread" in page.text
    await participant.api("POST", "/api/v1/notifications", {})
    assert (await participant.get("/api/v1/notifications")).json()["unread"] == 0


async def test_notifications_list_unread_first_then_newest_first_without_unreadable_topics(participant, staff,
                                                                                           category):
    from datetime import UTC, datetime, timedelta

    from forum import db
    from forum.models import Notification

    staff_only = await new_category(read="staff")
    visible = await Topic.get(id=(await new_topic(participant, category.slug))["id"])
    hidden = await Topic.get(id=(await new_topic(staff, staff_only.slug, kind="discussion"))["id"])
    await Notification.filter(user_id=participant.user["id"]).delete()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = []  # 40 read and 40 unread, interleaved in time, and the newest unread ones about an unreadable topic
    for i in range(80):
        rows.append(Notification(user_id=participant.user["id"], kind="watched_topic", message=f"n{i}",
                                 topic_id=hidden.id if i >= 77 else visible.id, created_at=start + timedelta(hours=i),
                                 read_at=start + timedelta(days=9) if i % 2 else None))
    await Notification.bulk_create(rows)
    await db.execute("UPDATE notification SET created_at = ? WHERE message = 'n10'",
                     [db.time_param(start + timedelta(hours=20))])  # ties on created_at go newest id first
    listed = (await participant.get("/api/v1/notifications")).json()["notifications"]
    unread = [f"n{i}" for i in range(76, -1, -2) if i != 10]  # n78 is about the staff-only topic
    unread.insert(unread.index("n20") + 1, "n10")
    seen = [f"n{i}" for i in range(75, -1, -2)]  # n77 and n79 are about the staff-only topic
    assert [n["message"] for n in listed] == (unread + seen)[:50]
    assert [n["read"] for n in listed] == [False] * 39 + [True] * 11


async def test_the_notifications_api_counts_every_unread_notification_not_only_the_listed_ones(participant):
    from forum.models import Notification

    await Notification.filter(user_id=participant.user["id"]).delete()
    await Notification.bulk_create([Notification(user_id=participant.user["id"], kind="moderation",
                                                 message=f"n{i}") for i in range(55)])
    listing = (await participant.get("/api/v1/notifications")).json()
    assert len(listing["notifications"]) == 50 and listing["unread"] == 55


async def test_the_notifications_list_reads_each_half_in_index_order_without_sorting_it():
    """A user's page costs the same with 100,000 notifications as with 50: only the two halves' page-sized
    results are sorted, never all of a user's notifications (EXPLAIN QUERY PLAN; SQLite decides it by schema)."""
    from forum import db
    from forum.services.notifications import list_sql

    if db.dialect() != "sqlite":
        pytest.skip("PostgreSQL's plan depends on table statistics: bench/pg_explain.py covers it")
    plan = [row["detail"] for row in await db.fetch_all("EXPLAIN QUERY PLAN " + list_sql(2),
                                                        [1, "public", "members", 50] * 2 + [50])]
    reads = [line for line in plan if line.startswith("SEARCH n ") or line == "SCAN n"]
    assert reads == ["SEARCH n USING INDEX notification_user_unread (user_id=?)",
                     "SEARCH n USING INDEX notification_user_newest (user_id=?)", "SCAN n"], plan
    assert plan.count("USE TEMP B-TREE FOR ORDER BY") == 1, plan  # the outer sort of at most 2 x 50 rows


async def test_profile_page_shows_post_count_and_topics(participant, category, anon):
    created = await new_topic(participant, category.slug, title="Profilens eget emne")
    page = await anon.get(f"/u/{participant.user['username']}")
    assert page.status_code == 200 and "Profilens eget emne" in page.text
    assert (await anon.get("/u/finnesikke")).status_code == 404
    assert created["id"]


async def test_reply_page_form_and_quote_prefill(participant, make_user, category):
    created = await new_topic(participant, category.slug)
    other = await make_user()
    url = f"/t/{created['id']}/{created['slug']}"
    token = await other.form_token(url)
    response = await other.post(f"/t/{created['id']}/reply", data={"csrf_token": token, "body": "Svar fra skjema"})
    assert response.status_code == 303
    page = await other.get(response.headers["location"], follow_redirects=True)
    assert "Svar fra skjema" in page.text
    empty = await other.post(f"/t/{created['id']}/reply", data={"csrf_token": token, "body": "   "})
    assert empty.status_code == 400 and 'role="alert"' in empty.text


async def test_profile_edit_shows_display_name_and_bio(participant, anon):
    response = await participant.api("PATCH", "/api/v1/me/profile",
                                     {"display_name": "Kari Nordmann", "bio": "Regnskap"})
    assert response.status_code == 200 and response.json()["display_name"] == "Kari Nordmann"
    page = await anon.get(f"/u/{participant.user['username']}")
    assert "Kari Nordmann" in page.text and "Regnskap" in page.text
    bad = await participant.api("PATCH", "/api/v1/me/profile", {"display_name": "x" * 65})
    assert bad.status_code == 400


async def test_admin_page_is_for_admins_only(admin, staff, anon):
    assert (await staff.get("/admin")).status_code == 404
    assert (await anon.get("/admin")).status_code == 303
    page = await admin.get("/admin")
    assert page.status_code == 200
    slug = unique("adm").lower()
    token = await admin.form_token("/admin")
    response = await admin.post("/admin/categories", data={"csrf_token": token, "slug": slug, "name": "Via admin",
                                                           "description": "", "read": "members",
                                                           "start_topics": "staff"})
    assert response.status_code == 303
    from forum.models import Category

    created = await Category.get(slug=slug)
    assert created.read_access == "members" and created.start_topics == "staff"


async def test_admins_edit_and_reorder_categories(admin, staff, category, anon):
    body = {"name": "Nytt navn", "read": "members", "position": 0}
    assert (await staff.api("PATCH", f"/api/v1/categories/{category.slug}", body)).status_code == 404
    response = await admin.api("PATCH", f"/api/v1/categories/{category.slug}", body)
    assert response.status_code == 200 and response.json()["name"] == "Nytt navn"
    assert (await anon.get(f"/c/{category.slug}")).status_code == 404
    bad = await admin.api("PATCH", f"/api/v1/categories/{category.slug}", {"read": "everyone"})
    assert bad.status_code == 400
    assert (await admin.api("PATCH", "/api/v1/categories/finnes-ikke", {"name": "Navn"})).status_code == 404
