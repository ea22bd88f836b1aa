"""Moderation's part in every post write (forum.events): sanctions, limits, watched words, detectors.

POST_WRITING runs inside the write's transaction before the post is stored: it refuses (a DomainError), masks
censored words, or sets `hold_reason` so the post is stored hidden pending review. POST_CREATED and POST_EDITED
then open the review case and tell the author why. TITLE_WRITING checks a staff rename's title as a new topic's
(a title cannot be held, only refused). Detected values are never echoed: notices and the audit
log name only the kind of data found.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from forum import db, events, markup
from forum.errors import N_, Conflict, Forbidden, RateLimited, ValidationFailed
from forum.models import Post, User
from forum.services import rate_limits
from moderation import audit, cases, config, notices, words
from moderation.detectors import PERSONAL_DATA, SECURITY, scan
from moderation.models import WordAction
from moderation.sanctions import check_not_sanctioned


@dataclass(frozen=True)
class Decided:
    """What POST_WRITING found, handed to POST_CREATED/POST_EDITED of the same write (same task)."""

    hold_reason: str | None
    kinds: list[str]
    flag_word: bool


_decided: ContextVar[Decided | None] = ContextVar("moderation_decided", default=None)


async def check_posting_limits(draft: events.PostDraft, user: User | None = None) -> None:
    """`user` is read here when not given, and only when limits apply (no read inside the write lock else).
    Runs inside the post's write transaction: the account's posts take turns from here to the commit
    (rate_limits.serialise), so parallel posts cannot all pass the counts and the duplicate check."""
    if not config.rate_limits() or draft.is_edit:
        return
    if user is None:
        user = await User.get(id=draft.author_id)
    if user.is_staff:
        return
    conn = db.connection()  # inside the write's transaction: the counts below see every earlier post of theirs
    await rate_limits.serialise(conn, "post", user.id)
    now = datetime.now(UTC)
    mine = Post.filter(author_id=user.id).using_db(conn)
    if await mine.filter(created_at__gte=now - timedelta(minutes=1)).count() >= config.POSTS_PER_MINUTE or \
            await mine.filter(created_at__gte=now - timedelta(hours=1)).count() >= config.POSTS_PER_HOUR:
        raise RateLimited(N_("You are posting very quickly. Please wait a little before posting again."),
                          code="post_rate_limited")
    if await mine.filter(source=draft.source, deleted_at__isnull=True,
                         created_at__gte=now - config.DUPLICATE_WINDOW).exists():
        raise Conflict(N_("You just posted exactly the same text. Write something new, or edit the earlier post."),
                       code="duplicate_post")
    if _links(draft.source) > config.NEW_USER_LINKS and await mine.count() < config.NEW_USER_POSTS:
        raise Forbidden(N_("New members may include at most two links in each of their first posts."),
                        code="new_user_link_limit")


def _links(source: str) -> int:
    """Counted from the tokens the post is cooked from (forum.markup), so a link counts however it is written."""
    try:
        return markup.count_links(source)
    except markup.MarkupError:
        return 0  # cooking refuses this source with its own message


def check_title(title: str, hits: dict) -> None:
    """A topic title shows in every list and cannot be held back like a post: refuse what a post would hold."""
    if WordAction.BLOCK in hits:
        raise ValidationFailed(code="watched_word_blocked", fields={
            "title": N_("The title contains a word or phrase that is not allowed here.")})
    if scan(title):
        raise ValidationFailed(code="title_personal_data", fields={
            "title": N_("The title seems to contain personal data or a secret. Remove it: titles are shown "
                        "everywhere.")})


async def on_participating(participation: events.Participation) -> None:
    """A silenced member may read and take their own like back, but adds nothing: no post, edit, like, profile
    text, and no draft either (a draft is written to be posted, and saved drafts would be storage the silence
    leaves open; issue 25). (A suspended member has no session.)"""
    if participation.action != "unlike":
        await check_not_sanctioned(participation.user_id, participation.conn)


async def on_post_writing(draft: events.PostDraft) -> None:
    _decided.set(None)  # sanctions were checked at the participation gate, just before
    await check_posting_limits(draft)
    watched = await words.load()
    if draft.title is not None:
        check_title(draft.title, words.find(draft.title, watched))
    hits = words.find(draft.source, watched)
    if WordAction.BLOCK in hits:
        raise ValidationFailed(N_("Your post contains a word or phrase that is not allowed here."),
                               code="watched_word_blocked",
                               fields={"body": N_("Your post contains a word or phrase that is not allowed here.")})
    if WordAction.CENSOR in hits:
        draft.source = words.censor(draft.source, watched)
    findings = scan(draft.source)
    for text in draft.attached_texts:  # text files attached to the post are read like its text
        findings += [f for f in scan(text) if f not in findings]
    if findings:
        draft.hold_reason = SECURITY if any(f.reason == SECURITY for f in findings) else PERSONAL_DATA
    _decided.set(Decided(draft.hold_reason, [f.kind for f in findings], WordAction.FLAG in hits))


async def on_title_writing(draft: events.TitleDraft) -> None:
    check_title(draft.title, words.find(draft.title, await words.load()))


async def on_post_stored(event: events.PostEvent) -> None:
    conn = event.conn
    decided = _decided.get()
    _decided.set(None)
    if decided is None:  # the write did not pass through on_post_writing in this task: look again
        post = await Post.get(id=event.post_id).using_db(conn)
        findings = scan(post.source) if post.hidden_reason in cases.HOLD_REASONS else []
        decided = Decided(post.hidden_reason if findings else None, [f.kind for f in findings],
                          WordAction.FLAG in words.find(post.source, await words.load()))
    if decided.hold_reason and decided.kinds:
        await cases.open_case(conn, event.post_id, detector_reason=decided.hold_reason, kinds=decided.kinds)
        await notices.notify(conn, event.author_id, N_(
            "Your post is hidden until a moderator has looked at it, because it seems to contain %(kinds)s. "
            "Remove it from the post; never share such data on the forum."),
            post_id=event.post_id, topic_id=event.topic_id, kinds=decided.kinds)
        await audit.record(conn, actor_id=None, action="auto_hold", target_kind="post", target_id=event.post_id,
                           detail=f"{decided.hold_reason}:{','.join(decided.kinds)}"[:100])
        return
    if decided.flag_word:
        await cases.open_case(conn, event.post_id, detector_reason="watched_word")
        await audit.record(conn, actor_id=None, action="auto_flag", target_kind="post", target_id=event.post_id,
                           detail="watched_word")
