"""Topics: seeing one, starting one, replying, the lock, managing (pin, lock, move, rename)."""

from __future__ import annotations

from forum.errors import N_, Forbidden
from forum.models import Category, StartTopics, TopicKind
from forum.permissions import NOT_FOUND, SIGN_IN, Refusal, enforce
from forum.permissions.facts import TopicFacts
from forum.permissions.roles import may_read
from forum.viewer import Viewer

LOCKED = Refusal(Forbidden, N_("This topic is locked; it takes no new replies."), "topic_locked")
STAFF_CATEGORY = Refusal(Forbidden, N_("Only staff start topics in this category."))
TRAINING_CATEGORY = Refusal(Forbidden, N_("Training topics belong in staff-led categories."),
                            "training_needs_staff_category")
TRAINING_STAFF = Refusal(Forbidden, N_("Only staff start training topics."))


def refuse_see(viewer: Viewer | None, topic: TopicFacts) -> Refusal | None:
    """Not found, whether missing, in a category the viewer cannot read, or deleted (moderators still see
    deleted topics): its existence does not leak."""
    if not may_read(viewer, topic.read_access):
        return NOT_FOUND
    if topic.deleted and not (viewer is not None and viewer.is_moderator):
        return NOT_FOUND
    return None


def refuse_closed(viewer: Viewer | None, topic: TopicFacts) -> Refusal | None:
    """A locked topic takes nothing new (replies, edits, quotes) except from staff."""
    if topic.locked and not (viewer is not None and viewer.is_staff):
        return LOCKED
    return None


def refuse_reply(viewer: Viewer | None, topic: TopicFacts) -> Refusal | None:
    if viewer is None:
        return SIGN_IN
    if topic.deleted:
        return NOT_FOUND
    return refuse_closed(viewer, topic)


def refuse_training_in(kind: TopicKind | str, start_topics: StartTopics | str) -> Refusal | None:
    """Where a training topic may live, whether it is started or moved there."""
    if kind == TopicKind.TRAINING and start_topics != StartTopics.STAFF:
        return TRAINING_CATEGORY
    return None


def refuse_start(viewer: Viewer | None, category: Category, kind: TopicKind) -> Refusal | None:
    """`category` is one the viewer may read (loaded through access_category_by_slug)."""
    if viewer is None:
        return SIGN_IN
    if not may_read(viewer, category.read_access.value):
        return NOT_FOUND
    if category.start_topics != StartTopics.PARTICIPANTS and not viewer.is_staff:
        return STAFF_CATEGORY
    if refusal := refuse_training_in(kind, category.start_topics):
        return refusal
    if kind == TopicKind.TRAINING and not viewer.is_staff:
        return TRAINING_STAFF
    return None


def refuse_manage(viewer: Viewer | None) -> Refusal | None:
    """Staff (and moderators, admins) pin, lock, move and rename topics; to others the tools do not exist."""
    if viewer is None:
        return SIGN_IN
    if not viewer.is_staff:
        return NOT_FOUND
    return None


def check_can_see_topic(viewer: Viewer | None, topic: TopicFacts) -> None:
    enforce(refuse_see(viewer, topic))


def can_see_topic(viewer: Viewer | None, topic: TopicFacts) -> bool:
    return refuse_see(viewer, topic) is None


def check_topic_open(viewer: Viewer | None, topic: TopicFacts) -> None:
    enforce(refuse_closed(viewer, topic))


def check_can_reply(viewer: Viewer | None, topic: TopicFacts) -> None:
    enforce(refuse_reply(viewer, topic))


def can_reply(viewer: Viewer | None, topic: TopicFacts) -> bool:
    return refuse_reply(viewer, topic) is None


def check_training_in(kind: TopicKind | str, start_topics: StartTopics | str) -> None:
    enforce(refuse_training_in(kind, start_topics))


def check_can_start_topic(viewer: Viewer | None, category: Category, kind: TopicKind) -> None:
    enforce(refuse_start(viewer, category, kind))


def can_start_topic(viewer: Viewer | None, category: Category) -> bool:
    """Whether to offer "new topic" here (a training topic needs staff too, checked when it is started)."""
    return viewer is not None and refuse_start(viewer, category, TopicKind.DISCUSSION) is None


def check_can_manage_topic(viewer: Viewer | None) -> Viewer:
    enforce(refuse_manage(viewer))
    return viewer


def can_manage_topic(viewer: Viewer | None) -> bool:
    return refuse_manage(viewer) is None

