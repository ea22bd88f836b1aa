"""Numbers in requests are ASCII digits within a range (forum/params.py), everywhere: "²" passes str.isdigit()
and then made int() raise (500) on pages, forms and cursors; an oversized id in a cursor overflowed the column."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from forum.models import Notification, Post
from forum.params import cursor_param, parse_id, parse_int
from tests.conftest import new_reply, new_topic, unique
from tests.test_bad_input import assert_error_shape

# Nd (Arabic-Indic, fullwidth, Devanagari), No (superscript, circled, vulgar fraction), Cf, Zs around digits
ODD_NUMBERS = ["²", "①", "½", "١٢", "１２", "१", "1\u200b", "\u00a01", "1\u2003", "\ufeff1", " 1", "1_0", "+1",
               "-1", "0x1", "1e3", "99999999999999999999999", "2147483648", ""]


@pytest.mark.parametrize("raw", ODD_NUMBERS)
def test_only_ascii_digits_in_range_are_numbers(raw):
    assert parse_id(raw) is None or raw in ("",)
    assert parse_int("12", low=0, high=12) == 12 and parse_int("13", low=0, high=12) is None
    assert parse_int("-3", low=-5, high=5) == -3 and parse_int("-3", low=0, high=5) is None


def test_cursors_take_ascii_digits_and_a_time_within_range():
    from forum.errors import NotFound

    when, topic_id = cursor_param("2026-01-01T00:00:00+00:00_42")
    assert topic_id == 42 and when.tzinfo is not None
    for bad in ("2026-01-01T00:00:00_99999999999999999999999", "2026-01-01T00:00:00_²", "2026-01-01T00:00:00_١٢",
                "0001-01-01T00:00:00-23:59_1", "_1", "2026-01-01_", "x" * 200):
        with pytest.raises(NotFound):
            cursor_param(bad)


async def test_unicode_digits_and_huge_numbers_in_pages_cursors_and_queries_are_4xx(participant, moderator, category):
    topic = await new_topic(participant, category.slug)
    await new_reply(participant, topic["id"])
    tid = topic["id"]
    for odd in ("²", "١٢", "１", "9" * 25):
        q = quote(odd)
        cursor = quote(f"2026-01-01T00:00:00_{odd}")
        for client, path in ((participant, f"/t/{tid}/x?page={q}"), (participant, f"/t/{tid}/x?quote={q}"),
                             (participant, f"/t/{tid}/x?reply_to={q}"), (participant, f"/t/{tid}/_posts?after={q}"),
                             (moderator, f"/mod/audit?before={q}"), (moderator, f"/api/v1/mod/audit?before={q}"),
                             (participant, f"/?before={cursor}"), (participant, f"/c/{category.slug}?before={cursor}"),
                             (participant, f"/api/v1/categories/{category.slug}/topics?before={cursor}"),
                             (participant, f"/api/v1/categories/{category.slug}/topics?page={q}"),
                             (participant, f"/api/v1/topics/{tid}?page={q}")):
            response = await client.get(path)
            if response.status_code >= 400:
                assert_error_shape(response)
            assert response.status_code in (200, 301, 400, 404), (path, response.status_code)


async def test_unicode_digits_in_the_reply_notification_and_sanction_forms_are_refused_or_ignored(
        participant, make_user, moderator, category):
    topic = await new_topic(participant, category.slug)
    other = await make_user()
    await new_reply(other, topic["id"], body=f"@{participant.user['username']} hei")
    unread = await Notification.filter(user_id=participant.user["id"], read_at=None).count()
    assert unread >= 1
    reply = await participant.post_form(f"/t/{topic['id']}/reply", {"body": "Svar med rart tall", "reply_to": "²"},
                                        token_from="/")
    assert reply.status_code == 303, reply.text[:300]
    saved = await Post.filter(topic_id=topic["id"], source="Svar med rart tall").first()
    assert saved is not None and saved.reply_to_id is None
    for odd in ("²", "١", "9" * 20):
        marked = await participant.post_form("/notifications/read", {"id": odd}, token_from="/")
        assert_error_shape(marked, 400)
    # junk never falls back to "mark everything read"
    assert await Notification.filter(user_id=participant.user["id"], read_at=None).count() == unread
    target = await make_user(username=unique("target"))
    for odd in ("²", "١٠", "1" * 30):
        sanction = await moderator.post_form("/mod/users/sanction", {"username": target.user["username"], "days": odd,
                                                                    "kind": "silence", "reason": "Test"},
                                             token_from="/")
        assert_error_shape(sanction, 400)
        action = await moderator.post_form(f"/mod/posts/{topic['first_post_id']}/action",
                                           {"action": "silence", "days": odd, "reason": "Test"}, token_from="/")
        assert_error_shape(action, 400)


async def test_a_category_position_in_other_digits_is_refused(admin, category):
    for odd in ("²", "١٢", "9" * 30):
        response = await admin.post_form(f"/admin/categories/{category.slug}",
                                         {"name": category.name, "description": "", "read": "public",
                                          "start_topics": "participants", "position": odd},
                                         token_from=f"/admin/categories/{category.slug}")
        assert_error_shape(response, 400)


@pytest.mark.parametrize("raw", [n for n in ODD_NUMBERS if n])
def test_an_unsubscribe_token_names_its_account_in_ascii_digits_only(raw):
    """The one-click unsubscribe token's account id goes through forum.params like every other id."""
    from forum.services.mail_choices import _mac, read_unsubscribe_token, unsubscribe_token

    secret = "s" * 32
    assert read_unsubscribe_token(secret, unsubscribe_token(secret, 12, "all")) == (12, "all")
    assert read_unsubscribe_token(secret, f"{raw}.all.{_mac(secret, 1, 'all')}") is None
    assert read_unsubscribe_token(secret, "12.all") is None and read_unsubscribe_token(secret, "12.nope.x") is None
