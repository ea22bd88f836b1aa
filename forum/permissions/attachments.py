"""Seeing an attached file: the access of its post, and then the file's own state.

Who may not see the post (a category they cannot read, a deleted topic, a hidden or deleted post) gets "not
found" for its files too; a picture OCR hid waits for a moderator; a removed file (its author withdrew) is gone.
Only a file everyone may see may be cached anywhere (`is_public_file`).
"""

from __future__ import annotations

from typing import NamedTuple

from forum.models import ReadAccess
from forum.permissions import NOT_FOUND, Refusal, enforce
from forum.permissions.facts import PostFacts, TopicFacts
from forum.permissions.posts import can_see_text
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
