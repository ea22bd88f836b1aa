"""Faults injected in the middle of multi-step writes: the whole write rolls back, nothing partial remains.

Each case makes one step late in the transaction fail (an event handler or a helper raising, as a bug or a lost
database connection would), checks that every earlier step of that transaction is gone, then removes the fault
and shows the same request now succeeds, so it was the fault, not the rules, that stopped it.
"""

from __future__ import annotations

from contextlib import contextmanager

from forum import events
from forum.models import Category, ConsentEvent, Post, Profile, Topic, User
from tests.conftest import PASSWORD, new_reply, new_topic, unique


class Injected(RuntimeError):
    pass


@contextmanager
def failing_handler(event: str):
    async def fail(_payload) -> None:
        raise Injected(f"fault injected in {event}")

    events.subscribe(event, fail)
    try:
        yield
    finally:
        events._handlers[event].remove(fail)


async def test_topic_creation_fails_after_its_last_step_and_leaves_no_trace(participant, category):
    title = unique("Feil midt i ")
    before = await Category.get(id=category.id)
    body = {"category": category.slug, "title": title, "body": "Tekst", "kind": "discussion"}
    with failing_handler(events.POST_CREATED):
        response = await participant.api("POST", "/api/v1/topics", body)
    assert response.status_code == 500 and "Traceback" not in response.text
    assert not await Topic.filter(title=title).exists()
    assert not await Post.filter(topic__title=title).exists()
    after = await Category.get(id=category.id)
    assert (after.topic_count, after.post_count) == (before.topic_count, before.post_count)
    assert (await participant.api("POST", "/api/v1/topics", body)).status_code == 201


async def test_accepting_an_answer_fails_at_the_notification_and_nothing_is_accepted(participant, make_user,
                                                                                      category, monkeypatch):
    from forum.services import notifications

    topic = await new_topic(participant, category.slug)
    answerer = await make_user()
    reply = await new_reply(answerer, topic["id"], "Slik gjør du det")

    async def fail(*args, **kwargs):
        raise Injected("fault injected in notify_user")

    original = notifications.notify_user
    monkeypatch.setattr(notifications, "notify_user", fail)
    response = await participant.api("POST", f"/api/v1/posts/{reply['id']}/accept")
    assert response.status_code == 500
    t = await Topic.get(id=topic["id"])
    assert t.accepted_post_id is None
    monkeypatch.setattr(notifications, "notify_user", original)
    assert (await participant.api("POST", f"/api/v1/posts/{reply['id']}/accept")).status_code == 200
    assert (await Topic.get(id=topic["id"])).accepted_post_id == reply["id"]
    assert (await Topic.get(id=topic["id"])).version > t.version


async def test_withdrawal_fails_midway_and_the_profile_posts_and_consent_are_untouched(make_user, category):
    user = await make_user()
    topic = await new_topic(user, category.slug)
    events_before = await ConsentEvent.all().count()
    with failing_handler(events.CONSENT_WITHDRAWN):
        response = await user.api("DELETE", "/api/v1/consent")
    assert response.status_code == 500
    assert await Profile.filter(user_id=user.user["id"]).exists()
    assert (await Post.get(id=topic["first_post_id"])).author_id == user.user["id"]
    assert await ConsentEvent.all().count() == events_before
    assert (await user.get("/api/v1/consent")).json()["status"] == "granted"
    assert (await user.api("DELETE", "/api/v1/consent")).status_code == 200
    assert not await Profile.filter(user_id=user.user["id"]).exists()


async def test_erasure_fails_midway_and_the_account_stays_whole(make_user, category):
    user = await make_user()
    topic = await new_topic(user, category.slug)
    with failing_handler(events.ACCOUNT_ERASING):
        response = await user.api("DELETE", "/api/v1/me", {"password": PASSWORD})
    assert response.status_code == 500
    assert await User.filter(id=user.user["id"]).exists()
    assert await Profile.filter(user_id=user.user["id"]).exists()
    assert (await Post.get(id=topic["first_post_id"])).author_id == user.user["id"]
    assert (await user.get("/api/v1/session")).status_code == 200  # the sessions were not ended either
    assert (await user.api("DELETE", "/api/v1/me", {"password": PASSWORD})).status_code == 200
    assert not await User.filter(id=user.user["id"]).exists()


async def test_a_moderator_hide_fails_at_the_notice_and_the_post_stays_visible(participant, moderator, category,
                                                                              monkeypatch):
    from moderation import notices
    from moderation.models import AuditEntry

    topic = await new_topic(participant, category.slug)
    reply = await new_reply(participant, topic["id"], "Et innlegg")

    async def fail(*args, **kwargs):
        raise Injected("fault injected in the notice")

    original = notices.notify
    monkeypatch.setattr(notices, "notify", fail)
    response = await moderator.api("POST", f"/api/v1/mod/posts/{reply['id']}/actions",
                                   {"action": "hide", "reason": "Test"})
    assert response.status_code == 500
    assert (await Post.get(id=reply["id"])).hidden_at is None
    assert not await AuditEntry.filter(target_id=reply["id"], action="hide").exists()
    monkeypatch.setattr(notices, "notify", original)
    done = await moderator.api("POST", f"/api/v1/mod/posts/{reply['id']}/actions", {"action": "hide", "reason": "Test"})
    assert done.status_code == 200, done.text
    assert (await Post.get(id=reply["id"])).hidden_at is not None
