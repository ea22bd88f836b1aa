"""The mail worker: claims due mail from the outbox, composes it, sends it, records the outcome.

`forum serve` runs one in every app process (FORUM_MAIL_WORKER=on, the default); `forum mail-worker` runs one
on its own. Any number may run at once: the outbox's claim gives each mail to one of them.

An idle worker sleeps until it is woken: by mail queued in its own process, on PostgreSQL by the NOTIFY that
mail queued in any process sends on commit (the hub's LISTEN connection), or when the next queued mail falls due
(a notification waits a few minutes, a retry its backoff). SQLite has no notifications between processes, so
there it also polls every second; so does PostgreSQL while the LISTEN connection is down.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime

from forum import db, i18n, mail
from forum.i18n import gettext as _
from forum.models import MailKind
from forum.services import outbox
from forum.services.background import first_of
from forum.services.composed_mail import Composed, Drop, MailContext
from forum.services.mail_compose import Facts, compose, read_facts, recipient, text_of

log = logging.getLogger("forum.mail")
TOKEN_KINDS = (MailKind.VERIFY.value, MailKind.REGISTER_EXISTS.value, MailKind.RESET_REQUEST.value,
               MailKind.EMAIL_CHANGE.value)
BATCH = 50
POLL_SECONDS = 1.0
LISTENING_POLL_SECONDS = 30.0  # PostgreSQL while notifications flow: a safety net only
MIN_WAIT_SECONDS = 0.05
DIGEST_EVERY_SECONDS = 60.0


def context_for(app) -> MailContext:
    settings = app.state.settings
    template = app.state.templates.env.get_template("mail/message.html")
    return MailContext(settings=settings,
                       url=lambda name, **params: settings.base_url + app.url_path_for(name, **params),
                       render_html=lambda values: template.render(values))


class MailWorker:
    def __init__(self, app) -> None:
        self.app = app
        self.ctx = context_for(app)
        self.transport = mail.transport_for(app.state.settings)

    def _message(self, row: dict, composed: Composed, to: str, text: str, html: str):

        domain = self.ctx.domain
        created = row["created_at"] or datetime.now(UTC)
        headers: dict[str, str] = {}
        user_id = composed.user_id or row["user_id"]
        if user_id is not None:
            link = self._unsubscribe_url(user_id, composed.unsubscribe_scope)
            headers["List-Unsubscribe"] = f"<{link}>"
            headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        topic_id = composed.topic_id or row["topic_id"]
        if topic_id is not None:  # a mail client groups a topic's mails under one thread
            headers["In-Reply-To"] = f"<topic.{topic_id}@{domain}>"
            headers["References"] = f"<topic.{topic_id}@{domain}>"
        return mail.build_message(sender=self.transport.sender, to=to, subject=composed.subject, text=text,
                                  html=html, message_id=f"<mail.{row['id']}.{int(created.timestamp())}@{domain}>",
                                  headers=headers)

    def _unsubscribe_url(self, user_id: int, scope: str) -> str:
        from forum.services.mail_choices import unsubscribe_token

        return self.ctx.url("mail_unsubscribe", token=unsubscribe_token(self.ctx.settings.secret_key, user_id, scope))

    def _render(self, composed: Composed) -> tuple[str, str]:
        settings_url = self.ctx.url("settings") + "#mail"
        unsubscribe = self._unsubscribe_url(composed.user_id, composed.unsubscribe_scope) if composed.user_id else ""
        text = text_of(composed, settings_url, unsubscribe)
        html = self.ctx.render_html({"composed": composed, "settings_url": settings_url, "unsubscribe_url": unsubscribe,
                                     "lang": i18n.get_locale(),
                                     "settings_label": _("Choose what mail you get"),
                                     "unsubscribe_label": _("Unsubscribe with one click")})
        return text, html

    async def _compose(self, row: dict, token: str, facts: Facts | None) -> tuple[Composed, str, str]:
        if row["body_text"] is not None:  # a token mail composed at an earlier attempt
            composed = Composed(subject=row["subject"] or "", paragraphs=[], user_id=row["user_id"])
            return composed, row["body_text"], row["body_html"] or ""
        if row["kind"] in TOKEN_KINDS:
            async with db.write_transaction() as conn:
                composed = await compose(row, self.ctx, conn)
                text, html = self._render(composed)
                await outbox.store_composed(conn, row["id"], token, user_id=composed.user_id,
                                            subject=composed.subject, text=text, html=html)
            return composed, text, html
        composed = await compose(row, self.ctx, None, facts)
        text, html = self._render(composed)
        return composed, text, html

    async def deliver(self, row: dict, token: str, deadline: float, now: datetime | None = None, *,
                      facts: Facts | None = None, outcomes: outbox.Outcomes | None = None) -> str:
        """One mail of a claim. Drops and sends are recorded in `outcomes` (together with the next send, or at the
        end of the claim); without it (a single mail), at once."""
        alone = outcomes is None
        outcomes = outcomes or outbox.Outcomes(token)
        try:
            return await self._deliver(row, token, deadline, now, facts, outcomes)
        finally:
            if alone:
                await outcomes.record()

    async def _deliver(self, row: dict, token: str, deadline: float, now: datetime | None, facts: Facts | None,
                       outcomes: outbox.Outcomes) -> str:
        if row["kind"] == MailKind.FANOUT.value:
            await outbox.expand_fanout(row, token)
            return "expanded"
        previous = i18n.get_locale()
        try:
            try:
                composed, text, html = await self._compose(row, token, facts)
            except Drop as exc:
                outcomes.dropped(row["id"], str(exc))
                return "dropped"
            except Exception as exc:  # a bug composing one mail must not stop the others
                log.exception("composing mail %s failed", row["id"])
                return await outbox.record_failure(row, token, f"compose: {type(exc).__name__}", permanent=False,
                                                  now=now)
            to = row["to_address"]
            if not to:
                account = (facts.accounts.get(composed.user_id or row["user_id"]) if facts else None) \
                    or await recipient(composed.user_id or row["user_id"])
                if account is None:
                    outcomes.dropped(row["id"], "no account")
                    return "dropped"
                to = account["email"]
            message = self._message(row, composed, to, text, html)
        finally:
            i18n.set_locale(previous)
        remaining = deadline - time.monotonic()
        if remaining <= 1:
            return "late"  # the lease is nearly over: leave it to the next claim rather than risk two senders
        try:
            # what the earlier mails of the claim ended as is durable before this one's data goes (the transport
            # awaits `outcomes.record` between the envelope and the data): only this one can be in doubt if the
            # worker dies now, and the commit overlaps the server's answers to the envelope
            await asyncio.wait_for(self.transport.send(message, ready=outcomes.record), timeout=remaining - 1)
        except mail.NotReady:
            return "lost"
        except mail.PermanentFailure as exc:
            log.warning("mail %s refused: %s", row["id"], exc)
            return await outbox.record_failure(row, token, str(exc), permanent=True, now=now)
        except (mail.TransientFailure, TimeoutError) as exc:
            log.warning("mail %s not sent yet: %s", row["id"], exc or "timed out")
            return await outbox.record_failure(row, token, str(exc) or "timed out", permanent=False, now=now)
        except Exception as exc:  # a bug sending one mail must not stop the others (nor retry it in a tight loop)
            log.exception("sending mail %s failed", row["id"])
            return await outbox.record_failure(row, token, f"send: {type(exc).__name__}", permanent=False, now=now)
        outcomes.sent(row["id"], in_doubt=row["last_error"] == outbox.IN_DOUBT)
        return "sent"

    async def deliver_due(self, limit: int = BATCH, now: datetime | None = None) -> dict[str, int]:
        """One claim and its mails; returns how many ended how. `now` lets tests look ahead. The notification
        mails of the claim are composed from facts read for all of them at once (`read_facts`), and each mail's
        outcome is recorded in the statement before the next send: about one statement per mail besides the
        send, where each took about ten."""
        token, rows = await outbox.claim(limit, now)
        deadline = time.monotonic() + outbox.CONFIG.lease
        done: dict[str, int] = {}
        outcomes = outbox.Outcomes(token)
        try:
            facts = await read_facts(rows) if rows else None
            for row in rows:
                outcome = await self.deliver(row, token, deadline, now, facts=facts, outcomes=outcomes)
                done[outcome] = done.get(outcome, 0) + 1
                if outcome == "lost":
                    break  # the lease ran out and another worker claimed the rest: it sends them
        finally:
            if rows:
                try:
                    await outcomes.record()
                finally:
                    await outbox.release(token)  # what was not reached (a stop, an error) goes back at once
        return done

    async def run(self, stop: asyncio.Event) -> None:
        from forum.hub import hub
        from forum.services.digests import schedule_digests

        wake = outbox.wake_event()
        next_digest = 0.0
        with hub.subscribe(outbox.WAKE_KEY) as notified:  # before the first read, so no NOTIFY is missed
            while not stop.is_set():
                handled = 0
                try:
                    if time.monotonic() >= next_digest:
                        await schedule_digests()
                        next_digest = time.monotonic() + DIGEST_EVERY_SECONDS
                    handled = sum((await self.deliver_due()).values())
                except asyncio.CancelledError:
                    raise
                except Exception:  # the database busy or away for a moment: try again shortly
                    log.exception("mail worker round failed")
                if handled:
                    continue
                wake.clear()
                seconds = await self._idle_seconds(hub.listening, next_digest)
                try:
                    await asyncio.wait_for(first_of(stop.wait(), wake.wait(), notified.wait(seconds)),
                                           timeout=seconds)
                except TimeoutError:
                    pass
        await self.transport.close()

    async def _idle_seconds(self, listening: bool, next_digest: float) -> float:
        """How long an idle worker may sleep: a second while it must poll; while PostgreSQL notifications flow,
        until the next queued mail falls due or the next digest round (a safety net of 30 s at most)."""
        if not listening:
            return POLL_SECONDS
        seconds = min(LISTENING_POLL_SECONDS, next_digest - time.monotonic())
        try:
            due = await outbox.next_due()
        except Exception:  # noqa: BLE001 (the database away for a moment: poll as without notifications)
            return POLL_SECONDS
        if due is not None:
            seconds = min(seconds, (due - datetime.now(UTC)).total_seconds())
        return max(MIN_WAIT_SECONDS, seconds)


def start(app) -> tuple[asyncio.Task, asyncio.Event]:
    stop = asyncio.Event()
    task = asyncio.get_running_loop().create_task(MailWorker(app).run(stop), name="mail-worker")
    return task, stop
