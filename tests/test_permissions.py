"""The rules of forum.permissions and moderation.permissions, called directly: one test per branch (as Misago's
permission tests do). Each `check_*` raises the domain error and its `can_*` says no; or both let it through."""

from __future__ import annotations

import pytest

from forum.errors import DomainError, Forbidden, NotAuthenticated, NotFound, ValidationFailed
from forum.models import Category, ReadAccess, Role, StartTopics, TopicKind
from forum.permissions.answers import can_accept, check_can_accept, check_can_unaccept
from forum.permissions.facts import PostFacts, TopicFacts, is_solved
from forum.permissions.posts import (
    can_delete,
    can_edit,
    can_like,
    can_quote,
    can_read_history,
    can_see_text,
    check_can_delete,
    check_can_edit,
    check_can_like,
    check_can_quote,
    check_can_read_history,
    check_visible_post,
)
from forum.permissions.roles import outranks
from forum.permissions.topics import (
    can_manage_topic,
    can_reply,
    can_see_topic,
    can_start_topic,
    check_can_manage_topic,
    check_can_reply,
    check_can_see_topic,
    check_can_start_topic,
    check_topic_open,
    check_training_in,
)
from forum.viewer import Viewer
from moderation.permissions import check_can_appeal, check_can_flag, check_can_moderate_post, post_card

ASKER, AUTHOR, OTHER = 10, 20, 30


def viewer(role: Role = Role.MEMBER, user_id: int = OTHER) -> Viewer:
    return Viewer(id=user_id, email=f"{user_id}@example.test", role=role, locale="nb", username=f"u{user_id}",
                  display_name=None, unread_notifications=0, session_id=1, session_token="t")


MEMBER, STAFF, MODERATOR, ADMIN = (viewer(r) for r in (Role.MEMBER, Role.STAFF, Role.MODERATOR, Role.ADMIN))
ASKER_V, AUTHOR_V = viewer(user_id=ASKER), viewer(user_id=AUTHOR)
TOPIC = TopicFacts(id=1, author_id=ASKER, kind="question", locked=False, deleted=False, read_access="public",
                   accepted_post_id=None)
POST = PostFacts(id=5, topic_id=1, number=2, author_id=AUTHOR, author_role="member", deleted=False, hidden=False,
                 edited=False)


def refused(check, *args, error: type[DomainError] = Forbidden, code: str | None = None) -> None:
    with pytest.raises(error) as caught:
        check(*args)
    if code:
        assert caught.value.code == code


# --- topics ---------------------------------------------------------------------------------------

def test_anyone_sees_a_public_topic():
    check_can_see_topic(None, TOPIC)
    assert can_see_topic(None, TOPIC)


def test_a_members_topic_is_not_found_for_a_visitor_and_seen_by_a_member():
    members = TOPIC._replace(read_access="members")
    refused(check_can_see_topic, None, members, error=NotFound)
    assert can_see_topic(MEMBER, members)


def test_a_staff_topic_is_not_found_for_a_member():
    staff_only = TOPIC._replace(read_access="staff")
    refused(check_can_see_topic, MEMBER, staff_only, error=NotFound)
    assert not can_see_topic(MEMBER, staff_only) and can_see_topic(STAFF, staff_only)


def test_a_deleted_topic_is_not_found_except_for_moderators():
    deleted = TOPIC._replace(deleted=True)
    refused(check_can_see_topic, STAFF, deleted, error=NotFound)
    assert can_see_topic(MODERATOR, deleted)


def test_a_locked_topic_is_closed_to_members_and_open_to_staff():
    locked = TOPIC._replace(locked=True)
    refused(check_topic_open, MEMBER, locked, code="topic_locked")
    check_topic_open(STAFF, locked)


def test_replying_needs_a_sign_in():
    refused(check_can_reply, None, TOPIC, error=NotAuthenticated)
    assert not can_reply(None, TOPIC)


def test_replying_to_a_deleted_topic_finds_nothing():
    refused(check_can_reply, MODERATOR, TOPIC._replace(deleted=True), error=NotFound)


def test_replying_to_a_locked_topic_is_the_lock_rule():
    refused(check_can_reply, MEMBER, TOPIC._replace(locked=True), code="topic_locked")
    assert can_reply(STAFF, TOPIC._replace(locked=True))


def test_a_member_replies_to_an_open_topic():
    check_can_reply(MEMBER, TOPIC)
    assert can_reply(MEMBER, TOPIC)


def category(read: str = "public", start: str = "participants") -> Category:
    return Category(id=1, slug="c", name="C", read_access=ReadAccess(read), start_topics=StartTopics(start))


def test_starting_a_topic_needs_a_sign_in():
    refused(check_can_start_topic, None, category(), TopicKind.DISCUSSION, error=NotAuthenticated)
    assert not can_start_topic(None, category())


def test_starting_a_topic_in_an_unreadable_category_finds_nothing():
    refused(check_can_start_topic, MEMBER, category(read="staff"), TopicKind.DISCUSSION, error=NotFound)


def test_only_staff_start_topics_in_a_staff_led_category():
    refused(check_can_start_topic, MEMBER, category(start="staff"), TopicKind.DISCUSSION)
    assert not can_start_topic(MEMBER, category(start="staff")) and can_start_topic(STAFF, category(start="staff"))


def test_a_training_topic_belongs_in_a_staff_led_category():
    refused(check_can_start_topic, STAFF, category(), TopicKind.TRAINING, code="training_needs_staff_category")
    refused(check_training_in, TopicKind.TRAINING, StartTopics.PARTICIPANTS, code="training_needs_staff_category")
    check_training_in(TopicKind.TRAINING, StartTopics.STAFF)
    check_training_in(TopicKind.QUESTION, StartTopics.PARTICIPANTS)


def test_only_staff_start_training_topics():
    # a member cannot start anything in a staff-led category, so the last branch is reached by nobody else
    refused(check_can_start_topic, MEMBER, category(start="staff"), TopicKind.TRAINING)
    check_can_start_topic(STAFF, category(start="staff"), TopicKind.TRAINING)


def test_a_member_starts_a_question():
    check_can_start_topic(MEMBER, category(), TopicKind.QUESTION)
    assert can_start_topic(MEMBER, category())


def test_managing_topics_is_for_staff_and_does_not_exist_for_members():
    refused(check_can_manage_topic, None, error=NotAuthenticated)
    refused(check_can_manage_topic, MEMBER, error=NotFound)
    assert check_can_manage_topic(STAFF) is STAFF and can_manage_topic(MODERATOR) and not can_manage_topic(MEMBER)


def test_solved_is_a_question_with_an_accepted_answer():
    assert TOPIC._replace(accepted_post_id=5).solved and not TOPIC.solved
    assert not TOPIC._replace(kind="discussion", accepted_post_id=5).solved
    assert is_solved("question", 5) and not is_solved("discussion", 5) and not is_solved("question", None)


# --- posts ----------------------------------------------------------------------------------------

def test_a_deleted_or_hidden_post_cannot_be_used():
    refused(check_visible_post, POST._replace(deleted=True), error=NotFound)
    refused(check_visible_post, POST._replace(hidden=True), error=NotFound)
    check_visible_post(POST)


def test_editing_needs_a_sign_in():
    refused(check_can_edit, None, TOPIC, POST, error=NotAuthenticated)


def test_a_deleted_post_cannot_be_edited_even_by_a_moderator():
    refused(check_can_edit, MODERATOR, TOPIC, POST._replace(deleted=True))


def test_the_author_cannot_edit_a_hidden_post_but_a_moderator_can():
    refused(check_can_edit, AUTHOR_V, TOPIC, POST._replace(hidden=True))
    assert can_edit(MODERATOR, TOPIC, POST._replace(hidden=True))


def test_the_author_edits_their_post():
    check_can_edit(AUTHOR_V, TOPIC, POST)
    assert can_edit(AUTHOR_V, TOPIC, POST)


def test_a_member_cannot_edit_another_members_post():
    refused(check_can_edit, MEMBER, TOPIC, POST)
    assert not can_edit(STAFF, TOPIC, POST)


def test_a_moderator_edits_a_members_or_staff_post():
    check_can_edit(MODERATOR, TOPIC, POST)
    check_can_edit(MODERATOR, TOPIC, POST._replace(author_role="staff"))
    check_can_edit(MODERATOR, TOPIC, POST._replace(author_id=None, author_role=None))  # a former member's


@pytest.mark.parametrize("role", ["moderator", "admin"])
def test_a_moderator_cannot_edit_a_peers_or_an_admins_post(role):
    refused(check_can_edit, MODERATOR, TOPIC, POST._replace(author_role=role), code="outranked")
    assert not can_edit(MODERATOR, TOPIC, POST._replace(author_role=role))
    assert can_edit(ADMIN, TOPIC, POST._replace(author_role=role))


def test_editing_in_a_locked_topic_is_the_lock_rule():
    locked = TOPIC._replace(locked=True)
    refused(check_can_edit, AUTHOR_V, locked, POST, code="topic_locked")
    assert not can_edit(AUTHOR_V, locked, POST) and can_edit(MODERATOR, locked, POST)


def test_deleting_needs_a_sign_in():
    refused(check_can_delete, None, POST, error=NotAuthenticated)


def test_deleting_a_deleted_post_changes_nothing_and_is_not_offered():
    check_can_delete(MEMBER, POST._replace(deleted=True))
    assert not can_delete(AUTHOR_V, POST._replace(deleted=True))


def test_the_author_deletes_their_post():
    check_can_delete(AUTHOR_V, POST)
    assert can_delete(AUTHOR_V, POST)


def test_a_member_cannot_delete_another_members_post():
    refused(check_can_delete, MEMBER, POST)


@pytest.mark.parametrize("role", ["moderator", "admin"])
def test_a_moderator_cannot_delete_a_peers_or_an_admins_post(role):
    refused(check_can_delete, MODERATOR, POST._replace(author_role=role), code="outranked")
    assert can_delete(MODERATOR, POST) and can_delete(ADMIN, POST._replace(author_role=role))


def test_history_is_for_the_author_and_moderators():
    refused(check_can_read_history, None, POST, error=NotAuthenticated)
    refused(check_can_read_history, STAFF, POST, error=NotFound)
    check_can_read_history(AUTHOR_V, POST)
    check_can_read_history(MODERATOR, POST._replace(author_role="admin"))  # reading is not changing
    assert not can_read_history(AUTHOR_V, POST)  # never edited: nothing to show
    assert can_read_history(AUTHOR_V, POST._replace(edited=True))


def test_liking_needs_a_sign_in_a_visible_post_and_someone_elses():
    refused(check_can_like, None, POST, error=NotAuthenticated)
    refused(check_can_like, MEMBER, POST._replace(hidden=True), error=NotFound)
    refused(check_can_like, AUTHOR_V, POST, code="own_post")
    check_can_like(MEMBER, POST)
    assert can_like(MEMBER, POST) and not can_like(AUTHOR_V, POST)


def test_quoting_is_replying_to_the_topic_with_a_visible_post():
    refused(check_can_quote, None, TOPIC, POST, error=NotAuthenticated)
    refused(check_can_quote, MEMBER, TOPIC._replace(locked=True), POST, code="topic_locked")
    refused(check_can_quote, MEMBER, TOPIC, POST._replace(deleted=True), error=NotFound)
    assert can_quote(MEMBER, TOPIC, POST) and can_quote(STAFF, TOPIC._replace(locked=True), POST)


def test_a_hidden_posts_text_reaches_moderators_only():
    assert can_see_text(None, POST)
    assert not can_see_text(AUTHOR_V, POST._replace(hidden=True))
    assert can_see_text(MODERATOR, POST._replace(deleted=True))


# --- answers --------------------------------------------------------------------------------------

def test_accepting_needs_a_sign_in():
    refused(check_can_accept, None, TOPIC, POST, error=NotAuthenticated)


def test_only_questions_have_answers():
    refused(check_can_accept, ASKER_V, TOPIC._replace(kind="discussion"), POST, error=ValidationFailed,
            code="not_a_question")
    refused(check_can_unaccept, ASKER_V, TOPIC._replace(kind="discussion"), error=ValidationFailed)


def test_only_the_asker_or_staff_accept():
    refused(check_can_accept, MEMBER, TOPIC, POST)
    refused(check_can_unaccept, MEMBER, TOPIC)
    check_can_accept(STAFF, TOPIC, POST)
    check_can_unaccept(ASKER_V, TOPIC)


def test_a_hidden_or_deleted_reply_cannot_be_the_answer():
    refused(check_can_accept, ASKER_V, TOPIC, POST._replace(hidden=True), error=NotFound)


def test_the_question_itself_cannot_be_its_answer():
    refused(check_can_accept, ASKER_V, TOPIC, POST._replace(number=1), error=ValidationFailed, code="not_a_reply")


def test_the_asker_accepts_a_reply():
    check_can_accept(ASKER_V, TOPIC, POST)
    assert can_accept(ASKER_V, TOPIC, POST) and not can_accept(MEMBER, TOPIC, POST)


# --- rank and moderation ---------------------------------------------------------------------------

def test_rank():
    assert outranks(MODERATOR, "member") and outranks(MODERATOR, "staff") and outranks(MODERATOR, None)
    assert not outranks(MODERATOR, "moderator") and not outranks(MODERATOR, "admin")
    assert outranks(ADMIN, "admin") and not outranks(STAFF, "staff")


@pytest.mark.parametrize("action", ["hide", "delete", "edit"])
def test_a_moderator_cannot_change_a_peers_or_an_admins_post(action):
    for role in ("moderator", "admin"):
        refused(check_can_moderate_post, MODERATOR, POST._replace(author_role=role), action, code="outranked")
        check_can_moderate_post(ADMIN, POST._replace(author_role=role), action)
    check_can_moderate_post(MODERATOR, POST, action)
    check_can_moderate_post(MODERATOR, POST._replace(author_id=MODERATOR.id, author_role="moderator"), action)


def test_judging_flags_on_a_peers_post_stays_open():
    for action in ("restore", "dismiss_flags", "lock"):
        check_can_moderate_post(MODERATOR, POST._replace(author_role="admin"), action)


def test_flagging_needs_a_sign_in_a_visible_post_and_someone_elses():
    refused(check_can_flag, None, POST, error=NotAuthenticated)
    refused(check_can_flag, MEMBER, POST._replace(deleted=True), error=NotFound)
    refused(check_can_flag, AUTHOR_V, POST, code="own_post")
    check_can_flag(MODERATOR, POST._replace(author_role="admin"))  # what a moderator may not change, they flag


def test_only_the_author_appeals_a_hidden_post():
    refused(check_can_appeal, None, POST, error=NotAuthenticated)
    refused(check_can_appeal, MEMBER, POST._replace(hidden=True), error=NotFound)
    refused(check_can_appeal, AUTHOR_V, POST, error=NotFound)
    refused(check_can_appeal, AUTHOR_V, POST._replace(hidden=True, deleted=True), error=NotFound)
    check_can_appeal(AUTHOR_V, POST._replace(hidden=True))


def test_moderations_post_card_hook_answers_from_the_same_rules():
    row: dict = {}
    post_card(AUTHOR_V, POST._replace(hidden=True), row)
    assert row == {"card_actions": (("appeal_post", "Appeal"),)}
    row = {}
    post_card(MEMBER, POST, row)
    assert row == {"card_actions": (("flag_post", "Flag"),)}
    row = {}
    post_card(MODERATOR, POST._replace(author_role="admin"), row)
    assert row == {"card_actions": (("flag_post", "Flag"),)}  # what a moderator may not change, they flag
    row = {}
    post_card(None, POST, row)
    assert row == {"card_actions": ()}


def test_moderations_post_card_hook_says_why_a_post_is_hidden():
    """The forum's card shows the notice moderation gives; it knows none of moderation's hiding reasons."""
    from datetime import UTC, datetime

    for reason, notice in (("moderator", "This post was hidden by a moderator."),
                           ("flags", "This post is hidden pending review."),
                           ("personal_data", "This post is hidden pending review.")):
        row = {"hidden_at": datetime.now(UTC), "hidden_reason": reason}
        post_card(MEMBER, POST._replace(hidden=True), row)
        assert row["hidden_notice"] == notice
    shown = {"hidden_at": None, "hidden_reason": None}
    post_card(MEMBER, POST, shown)
    assert "hidden_notice" not in shown
