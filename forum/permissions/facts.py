"""The few facts about a topic and a post that the rules look at, as small frozen values.

Services load ORM objects (`Topic` with its category, `Post`), the hot pages read hand-written SQL rows;
both turn into these, so the same rule answers for both and a rule cannot read a field one of them lacks.
"""

from __future__ import annotations

from typing import NamedTuple

from forum.models import Post, Topic, TopicKind

_QUESTION = TopicKind.QUESTION.value


class TopicFacts(NamedTuple):
    """Immutable, and a tuple: the topic page builds one per post (PostFacts), where a frozen dataclass's
    __init__ cost three times as much. Change one with `_replace`."""

    id: int
    author_id: int | None
    kind: str                 # TopicKind value
    locked: bool
    deleted: bool
    read_access: str          # its category's ReadAccess value
    accepted_post_id: int | None

    @property
    def is_question(self) -> bool:
        return self.kind == _QUESTION

    @property
    def solved(self) -> bool:
        """A question with an accepted answer (see `is_solved`)."""
        return is_solved(self.kind, self.accepted_post_id)

    @classmethod
    def of(cls, topic: Topic) -> TopicFacts:
        """From a Topic loaded with its category."""
        return cls(topic.id, topic.author_id, _value(topic.kind), bool(topic.locked), topic.deleted_at is not None,
                   _value(topic.category.read_access), topic.accepted_post_id)

    @classmethod
    def of_row(cls, row: dict) -> TopicFacts:
        """From a hand-written read's row (forum.services.topic_queries.TOPIC_SQL)."""
        return cls(row["id"], row["author_id"], row["kind"], bool(row["locked"]), row["deleted_at"] is not None,
                   row["read_access"], row["accepted_post_id"])


# "solved" as a filter on a topic list or search (t = the topic table); TopicFacts.solved says the same
SOLVED_SQL = "t.kind = 'question' AND t.accepted_post_id IS NOT NULL"
UNSOLVED_SQL = "t.kind = 'question' AND t.accepted_post_id IS NULL"


def is_solved(kind: str, accepted_post_id: int | None) -> bool:
    """A question with an accepted answer: the one definition of "solved", for topics and list rows alike
    (`SOLVED_SQL` is the same rule as a filter)."""
    return kind == _QUESTION and accepted_post_id is not None


class PostFacts(NamedTuple):
    id: int
    topic_id: int
    number: int
    author_id: int | None
    author_role: str | None   # None: a former member (or not read)
    deleted: bool
    hidden: bool
    edited: bool

    @property
    def visible(self) -> bool:
        return not self.deleted and not self.hidden

    @classmethod
    def of(cls, post: Post) -> PostFacts:
        """From a Post; its author's role is read by forum.services.access.access_post_by_id (`author_role`)."""
        return cls(post.id, post.topic_id, post.number, post.author_id, getattr(post, "author_role", None),
                   post.deleted_at is not None,
                   post.hidden_at is not None, post.edited_at is not None)

    @classmethod
    def of_row(cls, row: dict, topic_id: int) -> PostFacts:
        """From a hand-written read's row (forum.services.topic_queries.POSTS_SQL)."""
        return cls(row["id"], topic_id, row["number"], row["author_id"], row["author_role"],
                   row["deleted_at"] is not None, row["hidden_at"] is not None, row["edited_at"] is not None)


def _value(enum_or_str) -> str:
    return getattr(enum_or_str, "value", enum_or_str)
