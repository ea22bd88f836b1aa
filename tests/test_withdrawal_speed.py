"""Issue 16: the withdrawal's reads before its rewrite go by index, so their cost follows the member's rows, not
the forum's size (at 1,000,000 posts a scan of every post added 0.7 s to the withdrawal)."""

from __future__ import annotations

import pytest

from forum import db
from forum.services import withdrawal_scope
from tests.conftest import new_reply, new_topic


async def test_the_topics_about_a_member_are_found_by_index_without_a_scan_of_every_post(app):
    if db.dialect() != "sqlite":
        pytest.skip("SQLite's query plan; PostgreSQL plans by table statistics (a small test table is scanned)")
    plan = [row["detail"] for row in await db.fetch_all(
        f"EXPLAIN QUERY PLAN {withdrawal_scope.RELATED_TOPICS}", [1] * withdrawal_scope.RELATED_TOPICS.count("?"))]
    assert plan and not [step for step in plan if step.startswith("SCAN")], plan


async def test_a_topic_where_the_member_was_replied_to_is_one_about_them(participant, make_user, category):
    """Replies to the member are in the topics they wrote in (a reply stays in its post's topic), so the rule
    'replied to there' holds without a query of its own."""
    other = await make_user()
    topic = await new_topic(other, category.slug, title="Et spørsmål", body="Hvordan gjør jeg dette?")
    theirs = await new_reply(participant, topic["id"], "Slik gjør du det.")
    answer = await other.api("POST", f"/api/v1/topics/{topic['id']}/posts",
                             {"body": "Takk!", "reply_to": theirs["id"]})
    assert answer.status_code == 201, answer.text
    elsewhere = await new_topic(other, category.slug, title="Noe annet", body="Ikke om dem.")
    related = await withdrawal_scope.related_topics(db.connection(), participant.user["id"])
    assert topic["id"] in related and elsewhere["id"] not in related
    reply = await db.fetch_one("SELECT p.topic_id FROM post p JOIN post o ON o.id = p.reply_to_id WHERE o.id = ?",
                               [theirs["id"]])
    assert reply["topic_id"] in related
