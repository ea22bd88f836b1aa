"""The forum's published events: the only way `moderation/` (or anything else) hooks into forum writes.

Handlers run inside the write's transaction (they get its connection), so what they do commits or rolls
back with the write. A handler may raise a DomainError to refuse the write.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

PARTICIPATING = "participating"    # the consent gate of every participating write passed: Participation; may refuse
POST_WRITING = "post_writing"      # before a post is stored: PostDraft; may refuse or alter
POST_CREATED = "post_created"      # after: PostEvent
POST_EDITED = "post_edited"        # after: PostEvent
TITLE_WRITING = "title_writing"    # before a renamed topic's title is stored: TitleDraft; may refuse
POST_CHECKING = "post_checking"    # a draft looked at before saving (composer, confirmation step): DraftCheck;
                                   # handlers add DraftWarnings, never refuse, store nothing
CONSENT_WITHDRAWN = "consent_withdrawn"  # inside the withdrawal's transaction: Withdrawal
ACCOUNT_ERASING = "account_erasing"      # inside the erasure's transaction, before the account row goes: Withdrawal
EXPORTING = "exporting"                  # building a user's data export: Export; add sections to it
SIGNING_IN = "signing_in"                # the password was right, before the session starts: SignIn; may refuse
STAFF_ACTION = "staff_action"            # inside the write: StaffAction (moderation keeps the audit log)
ROLE_MAPPED = "role_mapped"              # the identity provider's claim changed a role at sign-in: RoleMapped
PURPOSE_WITHDRAWN = "purpose_withdrawn"  # inside the write: PurposeWithdrawn (mail's consent withdrawn)
ATTACHMENT_READ = "attachment_read"      # OCR read a picture's text, inside the recording transaction: AttachmentRead
PURGING = "purging"                      # `forum purge` (cron), outside any transaction: Purge; delete what is past
                                         # its retention with purge.delete_batches(...) and add to purge.counts


@dataclass(frozen=True)
class Participation:
    """A participating write about to happen, inside its transaction. `action`: post (a topic or reply), edit,
    like, unlike, accept (marking an answer) or profile (display name and bio)."""

    user_id: int
    action: str
    conn: Any = None


@dataclass
class PostDraft:
    author_id: int
    topic_id: int | None
    source: str
    is_edit: bool
    hold_reason: str | None = None   # a handler may ask to hide the post pending review
    title: str | None = None         # a new topic's title (shown everywhere, so it cannot be held; only refused)
    attached_texts: list[str] = field(default_factory=list)  # the text files attached (read like the post's text)


@dataclass(frozen=True)
class DraftWarning:
    """Something the author should know before saving: its kind (e.g. `national_id`), `personal_data` or
    `security`, the 1-based lines it is on, and two translatable texts (what it is, how to remove it). Never the
    value itself."""

    kind: str
    reason: str
    lines: tuple[int, ...]
    label: str
    help: str


@dataclass
class DraftCheck:
    """A draft of a post, looked at before it is saved. Handlers append to `warnings`."""

    author_id: int | None
    source: str
    warnings: list[DraftWarning] = field(default_factory=list)


@dataclass(frozen=True)
class TitleDraft:
    """A topic renamed by staff (a new topic's title comes with its first post's PostDraft)."""

    editor_id: int
    topic_id: int
    title: str
    conn: Any = None


@dataclass(frozen=True)
class PostEvent:
    post_id: int
    topic_id: int
    author_id: int | None
    conn: Any = None


@dataclass(frozen=True)
class AttachmentRead:
    """The text OCR found in an attached picture (issue 22). Handlers may hide the picture and hold the post."""

    attachment_id: int
    post_id: int
    topic_id: int
    author_id: int | None
    text: str
    conn: Any = None


@dataclass(frozen=True)
class SignIn:
    user_id: int


@dataclass(frozen=True)
class StaffAction:
    """Staff or a moderator acted on something that is not their own: ids and a short code, never text."""

    actor_id: int
    action: str
    target_kind: str
    target_id: int
    detail: str = ""
    conn: Any = None


@dataclass(frozen=True)
class RoleMapped:
    """A role granted or taken back by the identity provider's claim (FORUM_OIDC_STAFF_CLAIM) at sign-in, inside
    the sign-in's transaction. No person acted: the claim's name is the detail."""

    user_id: int
    role: str
    claim: str
    conn: Any = None


@dataclass(frozen=True)
class PurposeWithdrawn:
    """Consent to a purpose that only stops processing (mail) was withdrawn, inside that transaction: whoever
    does the processing stops it there."""

    user_id: int
    purpose: str
    conn: Any = None


@dataclass
class Withdrawal:
    """A user withdrew consent (or is being erased). Handlers must remove what links the user to posts.

    `scrub(text)` replaces every whole-word occurrence of the user's old handle and display name with the
    neutral "former member" wording; use it on any free text that others wrote (flag notes, reasons).
    Handlers add what they changed to `counts` (name -> number), which the API reports.
    """

    user_id: int
    post_ids: list[int]
    scrub: Callable[[str], str]
    counts: dict[str, int]
    conn: Any = None


@dataclass
class Export:
    """A user's data export (GDPR art. 15) being built: handlers add JSON-ready sections by name."""

    user_id: int
    sections: dict[str, Any]


@dataclass
class Purge:
    """A retention run (`forum purge`): delete what is older than the periods in `retention`, judged against
    `now` (passed in, so tests fix the clock). Runs must be idempotent: a second run finds nothing.

    `delete_batches` (set by the forum) deletes `table` rows matching `where` (with `?` params) in batches, each in
    its own short transaction, and returns how many went; handlers should use it rather than one big DELETE."""

    now: Any                      # datetime, aware UTC
    retention: Any                # forum.settings.Retention
    counts: dict[str, int]
    delete_batches: Callable[[str, str, list], Awaitable[int]]


Handler = Callable[[Any], Awaitable[None]]
_handlers: dict[str, list[Handler]] = defaultdict(list)


def subscribe(event: str, handler: Handler) -> None:
    if handler not in _handlers[event]:
        _handlers[event].append(handler)


async def emit(event: str, payload: Any) -> None:
    for handler in _handlers[event]:
        await handler(payload)
