"""What mail a member takes: one choice per kind of activity, and a digest. All off until the member turns them on.

Mail about forum activity is its own purpose, apart from taking part. Two functions are the seam to the consent
ledger (issue 24 records per purpose): `mail_allowed` answers "may this member get activity mail now", and
`set_mail_choice` is the only way a choice changes (settings page, one-click unsubscribe, the first-reply offer).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

from forum import db
from forum.errors import N_, ValidationFailed
from forum.models import MailPreference
from forum.params import parse_id
from forum.services.mail_kinds import KINDS, MailChoices, choices_of
from forum.services.purposes import MAIL

DIGESTS = ("off", "daily", "weekly")
EXPLANATIONS = {
    "reply": N_("Replies to your topics and to your posts."),
    "mention": N_("Someone mentions you with @ and your username."),
    "quote": N_("Someone quotes one of your posts."),
    "accepted": N_("Your answer to a question is marked as the accepted answer."),
    "watched": N_("New posts in topics and categories you watch."),
    "moderation": N_("A moderator hides, restores or removes one of your posts, and why."),
}
LABELS = {
    "reply": N_("Replies"), "mention": N_("Mentions"), "quote": N_("Quotes"), "accepted": N_("Accepted answers"),
    "watched": N_("Watched topics and categories"), "moderation": N_("Moderation of my posts"),
}


async def mail_choices(user_id: int, conn=None) -> MailChoices:
    return choices_of(await MailPreference.filter(user_id=user_id).using_db(conn).first())


async def mail_allowed(conn, user_id: int) -> bool:
    return user_id in await mail_allowed_for(conn, [user_id])


async def mail_allowed_for(conn, user_ids) -> set[int]:
    """Of these members, who may get activity mail at all right now: a confirmed address, consent to the mail
    purpose (its own decision in the ledger, issue 24), and taking part (consent, or the employment basis for
    staff): withdrawing either stops mail at once. The per-kind choice is checked beside it. Three queries
    however many members (a worker's batch)."""
    from forum.models import Role
    from forum.services.consent import ConsentStatus, consent_statuses, on_employment_basis

    ids = sorted({int(u) for u in user_ids})
    if not ids:
        return set()
    rows = await db.fetch_all(f"SELECT id, email_verified_at, role FROM account WHERE id IN ({db.marks(len(ids))})",
                              ids, conn)
    confirmed = {int(r["id"]): r["role"] for r in rows if r["email_verified_at"] is not None}
    if not confirmed:
        return set()
    mail = await consent_statuses(confirmed, conn, purpose=MAIL.name)
    takers = [u for u in confirmed if mail[u] == ConsentStatus.GRANTED]
    members = [u for u in takers if not on_employment_basis(Role(confirmed[u]))]  # staff: employment basis
    forum = await consent_statuses(members, conn) if members else {}
    return {u for u in takers if u not in forum or forum[u] == ConsentStatus.GRANTED}


LEDGER_CHANNELS = {"unsubscribe": "mail", "api": "api"}  # anything else was chosen on a page


async def _record_mail_purpose(conn, user_id: int, *, on: bool, channel: str, locale: str | None) -> None:
    """Turning the first kind of mail on gives consent to the mail purpose, turning the last one off withdraws
    it: each is a ledger event with its receipt, the text shown being the mail purpose's current version."""
    from forum.models import ConsentAction
    from forum.services.consent import ConsentStatus, consent_status, current_policy, record_event

    status = await consent_status(user_id, conn, purpose=MAIL.name)
    given = status in (ConsentStatus.GRANTED, ConsentStatus.OUTDATED)
    if on == (status == ConsentStatus.GRANTED) or (not on and not given):
        return
    policy = await current_policy(conn, MAIL.name)
    if policy is None:
        raise ValidationFailed(fields={"mail": NO_MAIL_TEXT})
    await record_event(conn, user_id=user_id, purpose=MAIL, policy=policy, locale=locale or "nb",
                       action=ConsentAction.GRANTED if on else ConsentAction.WITHDRAWN,
                       channel=LEDGER_CHANNELS.get(channel, "page"))


NO_MAIL_TEXT = N_("Mail about forum activity is not offered yet: no text for it has been published.")


async def set_mail_choice(conn, user_id: int, *, kinds: dict[str, bool] | None = None, digest: str | None = None,
                          channel: str, locale: str | None = None) -> MailChoices:
    """The one place a mail choice changes. `kinds` may name some kinds only (the others stay); `channel` says
    where (settings, unsubscribe, offer). To be recorded in the consent ledger as the mail purpose (issue 24), with
    the explanation texts shown in `locale`."""
    kinds = kinds or {}
    if any(k not in KINDS for k in kinds) or (digest is not None and digest not in DIGESTS):
        raise ValidationFailed(fields={"mail": N_("Not one of the allowed values.")})
    row = await MailPreference.filter(user_id=user_id).using_db(conn).first()
    if row is None:
        if not any(kinds.values()) and digest in (None, "off"):
            await _record_mail_purpose(conn, user_id, on=False, channel=channel, locale=locale)
            return await mail_choices(user_id, conn)  # nothing on: nothing to store
        row = MailPreference(user_id=user_id)
    for kind, on in kinds.items():
        setattr(row, kind, bool(on))
    if digest is not None:
        if digest != row.digest:
            row.digest_sent_at = datetime.now(UTC) if digest != "off" else None  # the first digest covers from now
        row.digest = digest
    await row.save(using_db=conn)
    await _record_mail_purpose(conn, user_id, on=any(getattr(row, k) for k in KINDS) or row.digest != "off",
                               channel=channel, locale=locale)
    off = [k for k, on in kinds.items() if not on]
    if off or digest == "off":  # what was turned off stops at once, queued mail included
        from forum.services.outbox import drop_activity_mail

        await drop_activity_mail(conn, user_id, kinds=off, digest=digest == "off")
    return await mail_choices(user_id, conn)


async def switch_all_off(conn, user_id: int) -> None:
    """Every kind and the digest off, and queued activity mail dropped: what unsubscribing from all does, without
    a ledger event of its own (the caller records the decision)."""
    from forum.services.outbox import drop_activity_mail

    await MailPreference.filter(user_id=user_id).using_db(conn).update(
        **{k: False for k in KINDS}, digest="off", digest_sent_at=None, updated_at=datetime.now(UTC))
    await drop_activity_mail(conn, user_id, kinds=list(KINDS), digest=True)


async def _on_purpose_withdrawn(payload) -> None:
    """Withdrawing the mail purpose on the consent dashboard (or the API) switches the kinds off as the settings
    page does, so giving it again later does not silently bring back old choices."""
    if payload.purpose == MAIL.name:
        await switch_all_off(payload.conn, payload.user_id)


def install() -> None:
    from forum import events

    events.subscribe(events.PURPOSE_WITHDRAWN, _on_purpose_withdrawn)


async def mark_offered(conn, user_id: int) -> None:
    """The first-reply offer is shown once."""
    now = db.time_param(datetime.now(UTC), conn)
    updated = await db.execute("UPDATE mail_preference SET offered_at = ? WHERE user_id = ? AND offered_at IS NULL",
                               [now, user_id], conn)
    if not updated and not await MailPreference.filter(user_id=user_id).using_db(conn).exists():
        await MailPreference.create(user_id=user_id, offered_at=datetime.now(UTC), using_db=conn)


async def take_reply_offer(user_id: int) -> bool:
    """The first reply to a member's question offers mail about replies, once: True when the offer is to be shown
    now (and it is then marked shown). Nothing is offered to a member who already takes that mail."""
    from forum.db import write_transaction

    choices = await mail_choices(user_id)
    if choices.offered or choices.kinds["reply"]:
        return False
    replied = await db.fetch_one("SELECT 1 AS x FROM notification n JOIN topic t ON t.id = n.topic_id "
                                 "WHERE n.user_id = ? AND n.kind = 'reply' AND t.kind = 'question' "
                                 "AND t.author_id = ? LIMIT 1", [user_id, user_id])
    if replied is None:
        return False
    async with write_transaction() as conn:
        await mark_offered(conn, user_id)
    return True


# -- the signed one-click unsubscribe link (works without signing in) ----------------------------------------------

SCOPES = (*KINDS, "digest", "all")


def _mac(secret: str, user_id: int, scope: str) -> str:
    digest = hmac.new(secret.encode(), f"unsubscribe:{user_id}:{scope}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


def unsubscribe_token(secret: str, user_id: int, scope: str) -> str:
    return f"{user_id}.{scope}.{_mac(secret, user_id, scope)}"


def read_unsubscribe_token(secret: str, token: str) -> tuple[int, str] | None:
    parts = token.split(".") if isinstance(token, str) and len(token) <= 100 else []
    user_id = parse_id(parts[0]) if len(parts) == 3 else None
    if user_id is None or parts[1] not in SCOPES:
        return None
    if not hmac.compare_digest(parts[2], _mac(secret, user_id, parts[1])):
        return None
    return user_id, parts[1]


async def unsubscribe(secret: str, token: str) -> str | None:
    """Turns off what the link names; returns the scope, None for a bad link. Idempotent."""
    from forum.db import write_transaction

    found = read_unsubscribe_token(secret, token)
    if found is None:
        return None
    user_id, scope = found
    async with write_transaction() as conn:
        if scope == "all":
            await set_mail_choice(conn, user_id, kinds={k: False for k in KINDS}, digest="off", channel="unsubscribe")
        elif scope == "digest":
            await set_mail_choice(conn, user_id, digest="off", channel="unsubscribe")
        else:
            await set_mail_choice(conn, user_id, kinds={scope: False}, channel="unsubscribe")
    return scope
