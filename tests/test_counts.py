"""Counts agree with lists, for every viewer: the unread count (header badge, API, live stream) counts only the
notifications the list shows, i.e. those about topics the viewer may read. A mention in a staff-only topic
raised a member's count while their list stayed empty: the member learnt that something happened there."""

from __future__ import annotations

import asyncio

import pytest

from forum.models import Notification
from forum.services import live
from tests.conftest import new_category, new_reply, new_topic


def badge(page_text: str) -> int:
    import re

    match = re.search(r'class="badge-count">(\d+)<', page_text)
    return int(match.group(1)) if match else 0


async def counts(client) -> dict:
    listed = (await client.get("/api/v1/notifications")).json()
    page = await client.get("/notifications")
    return {"listed_unread": sum(1 for n in listed["notifications"] if not n["read"]), "api": listed["unread"],
            "badge": badge(page.text), "live": await live.unread_count(client.user["id"])}


@pytest.fixture
def quick(monkeypatch):
    monkeypatch.setattr(live, "KEEPALIVE_SECONDS", 0.2)
    monkeypatch.setattr(live, "STREAM_SECONDS", 0.3)


async def test_a_mention_where_the_member_cannot_read_is_neither_listed_nor_counted(participant, staff, make_user,
                                                                                   quick):
    from forum.models import Role

    colleague = await make_user(Role.STAFF)
    secret = await new_category(read="staff", start_topics="staff")
    await new_topic(staff, secret.slug, kind="discussion",
                    body=f"Internt om @{participant.user['username']} og @{colleague.user['username']}")
    assert await counts(participant) == {"listed_unread": 0, "api": 0, "badge": 0, "live": 0}
    stream = await participant.get("/notifications/_events")
    assert '"count": 0' in stream.text and '"count": 1' not in stream.text
    # staff may read the category: for them the same kind of notification is listed and counted
    assert await counts(colleague) == {"listed_unread": 1, "api": 1, "badge": 1, "live": 1}


async def test_counts_follow_a_topic_that_is_deleted_or_moved_out_of_reach(participant, make_user, staff, category):
    other = await make_user()
    first = await new_topic(participant, category.slug, kind="discussion")
    second = await new_topic(participant, category.slug, kind="discussion")
    await new_reply(other, first["id"], body="Svar én")
    await new_reply(other, second["id"], body="Svar to")
    assert await counts(participant) == {"listed_unread": 2, "api": 2, "badge": 2, "live": 2}
    secret = await new_category(read="staff", start_topics="staff")
    moved = await staff.api("PATCH", f"/api/v1/topics/{second['id']}", {"category": secret.slug})
    assert moved.status_code == 200, moved.text
    assert await counts(participant) == {"listed_unread": 1, "api": 1, "badge": 1, "live": 1}
    deleted = await participant.api("DELETE", f"/api/v1/posts/{first['first_post_id']}")
    assert deleted.status_code == 200, deleted.text
    assert await counts(participant) == {"listed_unread": 0, "api": 0, "badge": 0, "live": 0}
    # the notifications are kept (the topic may come back): only what is shown and counted changes
    assert await Notification.filter(user_id=participant.user["id"], read_at=None).count() == 2
    assert asyncio.iscoroutinefunction(live.unread_count)


async def test_the_badge_counts_up_to_its_cap_and_the_api_counts_everything(participant, make_user, category):
    """The count runs on every signed-in request, so it stops at UNREAD_CAP (the badge shows "99+")."""
    from forum.models import NotificationKind
    from forum.services.unread_notifications import UNREAD_CAP

    other = await make_user()
    topic = await new_topic(participant, category.slug, kind="discussion")
    from forum.models import Role

    secret = await new_topic(await make_user(Role.STAFF), (await new_category(read="staff")).slug,
                             kind="discussion")
    await Notification.bulk_create(
        [Notification(user_id=participant.user["id"], kind=NotificationKind.REPLY, topic_id=topic["id"],
                      actor_id=other.user["id"]) for _ in range(UNREAD_CAP + 1)]
        + [Notification(user_id=participant.user["id"], kind=NotificationKind.REPLY, topic_id=secret["id"],
                        actor_id=other.user["id"]) for _ in range(5)])
    page = await participant.get("/notifications")
    assert badge(page.text.replace(f">{UNREAD_CAP - 1}+<", f">{UNREAD_CAP - 1}<")) == UNREAD_CAP - 1
    assert f'class="badge-count">{UNREAD_CAP - 1}+<' in page.text
    assert await live.unread_count(participant.user["id"]) == UNREAD_CAP
    assert (await participant.get("/api/v1/notifications")).json()["unread"] == UNREAD_CAP + 1
