"""The hot write path (forum/services/storing.py and the plain SQL in create_reply): the rows a reply stores are
the ones the ORM would store, and the write stays a short run of statements inside the write lock."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from forum import db
from forum.models import Category, Notification, Post, PostRevision, Topic, TopicWatch
from forum.services import search
from tests.conftest import QueryCounter, new_reply, new_topic, unique


async def test_a_reply_stores_what_the_orm_would(participant, make_user, category):
    topic = await new_topic(participant, category.slug)
    replier = await make_user()
    before = await Category.get(id=category.id)
    word = unique("ordet")
    first = await new_reply(replier, topic["id"], f"Første svar med {word}")
    second = await new_reply(replier, topic["id"], "Andre svar")
    post = await Post.get(id=first["id"])
    assert post.number == first["number"] == 2 and second["number"] == 3
    assert post.author_id == replier.user["id"] and post.hidden_at is None and post.like_count == 0
    assert not post.deleted_by_moderator and post.reply_to_id is None
    assert abs(post.created_at - datetime.now(UTC)) < timedelta(minutes=1) and post.created_at.tzinfo is not None
    revision = await PostRevision.get(post_id=post.id)
    assert revision.number == 1 and revision.source == post.source and revision.editor_id == replier.user["id"]
    assert revision.created_at == post.created_at
    # the replier watches the topic once however often they reply
    assert await TopicWatch.filter(user_id=replier.user["id"], topic_id=topic["id"]).count() == 1
    # the topic's author hears of both replies
    kinds = await (Notification.filter(user_id=participant.user["id"], topic_id=topic["id"])
                   .values_list("kind", "count"))
    assert sorted(kinds) == [("reply", 1), ("reply", 1)]
    after = await Category.get(id=category.id)
    assert after.post_count == before.post_count + 2
    assert (await Topic.get(id=topic["id"])).post_count == 3
    hits = await search.search(None, word)
    assert [h.post_id for h in hits] == [post.id]
    # the stored datetime text has the ORM's shape (the topic's first post was written by the ORM)
    rows = await db.fetch_all("SELECT created_at FROM post WHERE topic_id = ? ORDER BY number", [topic["id"]])
    if db.dialect() == "sqlite":
        shape = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?\+00:00$")
        assert all(shape.match(r["created_at"]) for r in rows), rows


async def test_a_reply_is_a_short_run_of_statements(participant, make_user, category):
    topic = await new_topic(participant, category.slug)
    replier = await make_user()
    await new_reply(replier, topic["id"], "Oppvarming")
    with QueryCounter() as counter:
        await new_reply(replier, topic["id"], "Et svar til")
    # the session and the topic are read first; the write itself is a dozen statements (BEGIN and COMMIT
    # are not logged): consent, profile, sanction, watched words, topic, post, revision, category, search
    # tier boundary, search, watchers, notifications, mail for the recipients who take it (issue 21: one
    # statement), watch, the composer's draft (issue 25: one DELETE); PostgreSQL adds the account's FOR SHARE
    # lock and three pg_notify calls (the topic, the notified user, and issue 21's mail workers in other
    # processes: once per transaction)
    assert counter.count <= (17 if db.dialect() == "sqlite" else 21), "\n".join(counter.queries)
