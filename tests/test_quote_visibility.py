"""Quotes are resolved with the topic page's visibility, in the preview and on save: a post of a deleted topic
(or of a category the writer may not read) is not named, linked or notified. Quoting a post of a deleted topic
showed its author's handle in the preview and notified them on save, while the topic itself answered 404."""

from __future__ import annotations

from forum.models import Notification, NotificationKind, PostQuote, Role
from tests.conftest import new_category, new_reply, new_topic


async def test_a_post_of_a_deleted_topic_is_not_quoted_by_name_nor_notified(participant, make_user, category):
    author = await make_user()
    gone = await new_topic(author, category.slug, kind="discussion", body="Det jeg angrer på")
    reply = await new_reply(author, gone["id"], body="Et svar i et emne som blir borte")
    deleted = await author.api("DELETE", f"/api/v1/posts/{gone['first_post_id']}")
    assert deleted.status_code == 200, deleted.text
    assert (await participant.get(f"/t/{gone['id']}")).status_code == 410  # gone (issue 26): engines drop it
    handle = author.user["username"]
    for quoted in (gone["first_post_id"], reply["id"]):
        source = f"[quote post={quoted}]\nsitat\n[/quote]\n\nEnig."
        preview = await participant.api("POST", "/api/v1/preview", {"source": source})
        assert preview.status_code == 200, preview.text
        assert handle not in preview.json()["html"] and f"/p/{quoted}" not in preview.json()["html"]
        elsewhere = await new_topic(participant, category.slug, kind="discussion", body=source)
        assert not await PostQuote.filter(post_id=elsewhere["first_post_id"]).exists()
    assert not await Notification.filter(user_id=author.user["id"], kind=NotificationKind.QUOTE).exists()


async def test_a_post_of_a_live_topic_is_still_quoted_and_notified(participant, make_user, category):
    author = await make_user()
    topic = await new_topic(author, category.slug, kind="discussion", body="Noe verdt å sitere")
    source = f"[quote post={topic['first_post_id']}]\nsitat\n[/quote]\n\nEnig."
    preview = (await participant.api("POST", "/api/v1/preview", {"source": source})).json()["html"]
    assert author.user["username"] in preview
    await new_reply(participant, topic["id"], body=source)
    assert await Notification.filter(user_id=author.user["id"], kind=NotificationKind.QUOTE).exists()


async def test_a_post_the_writer_may_not_read_is_not_quoted(participant, make_user):
    staff = await make_user(Role.STAFF)
    secret = await new_category(read="staff", start_topics="staff")
    hidden = await new_topic(staff, secret.slug, kind="discussion", body="Internt")
    source = f"[quote post={hidden['first_post_id']}]\nsitat\n[/quote]"
    preview = (await participant.api("POST", "/api/v1/preview", {"source": source})).json()["html"]
    assert staff.user["username"] not in preview
