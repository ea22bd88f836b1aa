"""Who may do what, one module per domain: `roles` (with `levels`, its table as SQL), `topics`, `posts`, `answers`,
`categories`. Moderation keeps its own rules in moderation/permissions.py.

Every rule is written once, as a `refuse_*` function that returns the `Refusal` that applies (or None), and
rules compose the way Misago's do: `refuse_edit` asks `refuse_closed` about the topic lock, so "locked" exists
once. Each rule has two faces built from it: `check_*` raises the domain error (services, before a write) and
`can_*` answers yes or no (the page flags the templates read). Returning the refusal instead of raising it lets
the page ask a dozen questions about each of 20 posts without building and catching exceptions.

The rules take the small frozen values of `facts` (TopicFacts, PostFacts), which both ORM rows and the
hand-written SQL reads are turned into, so one rule serves the page, the API and the services alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from forum.errors import DomainError, NotAuthenticated, NotFound


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why not: the domain error a check raises, with its message key and code."""

    error: type[DomainError]
    message: str | None = None
    code: str | None = None

    def exception(self) -> DomainError:
        return self.error(self.message, code=self.code)


def enforce(refusal: Refusal | None) -> None:
    if refusal is not None:
        raise refusal.exception()


SIGN_IN = Refusal(NotAuthenticated)
NOT_FOUND = Refusal(NotFound)
