"""Seeing an attached file: the access of its post, and then the file's own state.

Who may not see the post (a category they cannot read, a deleted topic, a hidden or deleted post) gets "not
found" for its files too; a picture OCR hid waits for a moderator; a removed file (its author withdrew) is gone.
Replacing a picture OCR hid: its post's author (or a moderator who may change the post).
Only a file everyone may see may be cached anywhere (`is_public_file`).
"""

from __future__ import annotations

from typing import NamedTuple

from forum.errors import N_, Forbidden
from forum.models import ReadAccess
from forum.permissions import NOT_FOUND, SIGN_IN, Refusal, enforce
from forum.permissions.facts import PostFacts, TopicFacts
from forum.permissions.posts import OWN_ONLY_EDIT, can_see_text, refuse_change
from forum.permissions.topics import refuse_see
from forum.viewer import Viewer

_PUBLIC = ReadAccess.PUBLIC.value


class FileFacts(NamedTuple):
    removed: bool
    hidden: bool

    @classmethod
    def of_row(cls, row: dict) -> FileFacts:
        return cls(row["removed_at"] is not None, row["hidden_at"] is not None)


def refuse_see_file(viewer: Viewer | None, topic: TopicFacts, post: PostFacts, file: FileFacts) -> Refusal | None:
    if refusal := refuse_see(viewer, topic):
        return refusal
    if not can_see_text(viewer, post) or file.removed:
        return NOT_FOUND
    if file.hidden and not (viewer is not None and viewer.is_moderator):
        return NOT_FOUND
    return None


def check_can_see_file(viewer: Viewer | None, topic: TopicFacts, post: PostFacts, file: FileFacts) -> None:
    enforce(refuse_see_file(viewer, topic, post, file))


def can_see_file(viewer: Viewer | None, topic: TopicFacts, post: PostFacts, file: FileFacts) -> bool:
    return refuse_see_file(viewer, topic, post, file) is None


def is_public_file(topic: TopicFacts, post: PostFacts, file: FileFacts) -> bool:
    """A signed-out visitor may see it: the only kind of file a shared cache may keep."""
    return refuse_see_file(None, topic, post, file) is None and topic.read_access == _PUBLIC


ONLY_HELD = Refusal(Forbidden, N_("Only a picture hidden for review is replaced here; edit the post for the others."),
                    "not_held")


def refuse_replace_file(viewer: Viewer | None, topic: TopicFacts, post: PostFacts,
                        file: FileFacts) -> Refusal | None:
    """A picture OCR hid (its post held for review): the post's author may replace or remove it, and so may a
    moderator who may change the post. Whoever may not see the held post is told it does not exist."""
    if viewer is None:
        return SIGN_IN
    if refuse_see(viewer, topic) or post.deleted or file.removed:
        return NOT_FOUND
    if post.author_id != viewer.id and not can_see_text(viewer, post):
        return NOT_FOUND
    if not file.hidden:
        return ONLY_HELD
    return refuse_change(viewer, post, OWN_ONLY_EDIT)


def check_can_replace_file(viewer: Viewer | None, topic: TopicFacts, post: PostFacts, file: FileFacts) -> None:
    enforce(refuse_replace_file(viewer, topic, post, file))


def can_replace_file(viewer: Viewer | None, topic: TopicFacts, post: PostFacts, file: FileFacts) -> bool:
    return refuse_replace_file(viewer, topic, post, file) is None
