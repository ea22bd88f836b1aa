"""Accepted answers on questions: the asker or staff mark one reply as the answer.

Marking shows everyone "solved", so it is taking part: the service passes the participation gate too
(consent; moderation refuses a silenced member there).
"""

from __future__ import annotations

from forum.errors import N_, Forbidden, ValidationFailed
from forum.permissions import SIGN_IN, Refusal, enforce
from forum.permissions.facts import PostFacts, TopicFacts
from forum.permissions.posts import refuse_use
from forum.viewer import Viewer

NOT_A_QUESTION = Refusal(ValidationFailed, N_("Only questions have accepted answers."), "not_a_question")
ASKER_ONLY = Refusal(Forbidden, N_("Only the asker or staff can accept an answer."))
NOT_A_REPLY = Refusal(ValidationFailed, N_("The question itself cannot be its answer."), "not_a_reply")


def refuse_mark(viewer: Viewer | None, topic: TopicFacts) -> Refusal | None:
    """Marking or unmarking this question's answer at all."""
    if viewer is None:
        return SIGN_IN
    if not topic.is_question:
        return NOT_A_QUESTION
    if topic.author_id != viewer.id and not viewer.is_staff:
        return ASKER_ONLY
    return None


def refuse_accept(viewer: Viewer | None, topic: TopicFacts, post: PostFacts) -> Refusal | None:
    if refusal := refuse_mark(viewer, topic):
        return refusal
    if refusal := refuse_use(post):
        return refusal
    if post.number == 1:
        return NOT_A_REPLY
    return None


def check_can_accept(viewer: Viewer | None, topic: TopicFacts, post: PostFacts) -> None:
    enforce(refuse_accept(viewer, topic, post))


def can_accept(viewer: Viewer | None, topic: TopicFacts, post: PostFacts) -> bool:
    return refuse_accept(viewer, topic, post) is None


def check_can_unaccept(viewer: Viewer | None, topic: TopicFacts) -> None:
    enforce(refuse_mark(viewer, topic))
