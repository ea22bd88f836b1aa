"""A post being written, looked at before it is saved: what the author should know first.

The forum does not know what is sensitive; whoever subscribes to `events.POST_CHECKING` (moderation's
detectors) says so. Nothing is stored or logged, and the warnings carry kinds and line numbers, never the text,
so they are safe to show to the author, who is the only one who sees them.
"""

from __future__ import annotations

from forum import events


async def check_draft(author_id: int | None, source: str) -> list[events.DraftWarning]:
    """The warnings for `source`, in the order the handlers give them; empty when there is nothing to say."""
    check = events.DraftCheck(author_id=author_id, source=source)
    if source.strip():
        await events.emit(events.POST_CHECKING, check)
    return check.warnings
