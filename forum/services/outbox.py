"""The durable outbox: mail is a row written in the transaction of the event that causes it, so a rollback sends
nothing and a crash loses nothing. Workers (forum/services/mail_worker.py) claim due rows with a lease, send them
and record the outcome here.

Exactly once across processes: a claim is one write transaction that takes due, unleased rows (PostgreSQL:
`FOR UPDATE SKIP LOCKED`, so two workers never take the same row; SQLite: its single writer) and stamps them with
a lease token; only the holder of the token records the outcome. A worker killed mid-send leaves its lease to
expire and the row is sent again, with the same Message-ID. SMTP has no two-phase commit, so one mail per killed
worker stays in doubt: the one it was sending, which the server may have accepted in the moment between its
"250 OK" and the worker's commit. The next claim marks that one (and only that one: a worker sends its claim in
order, so the first unfinished row of a dead lease is the one in flight) and its outcome says it was sent again;
a mail client that sees the same Message-ID twice shows it once.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from forum import db, events
from forum.models import MailKind, MailStatus
from forum.services.mail_kinds import KIND_OF_NOTIFICATION, mail_choices_for

ACTIVITY_KINDS = (MailKind.NOTIFICATION.value, MailKind.DIGEST.value)


@dataclass
class Config:
    delay: float = 300.0            # an unread notification is mailed after this many seconds
    retry_window: float = 24 * 3600.0
    lease: float = 120.0


CONFIG = Config()
_wake: asyncio.Event | None = None


def configure(settings) -> None:
    CONFIG.delay = settings.mail_delay
    CONFIG.retry_window = settings.mail_retry_hours * 3600
    CONFIG.lease = settings.mail_lease


def wake_event() -> asyncio.Event:
    global _wake
    if _wake is None:
        _wake = asyncio.Event()
    return _wake


def _wake_soon() -> None:
    if _wake is not None:
        _wake.set()


WAKE_KEY = "mail:queued"  # the hub's key for new mail (forum/hub.py: NOTIFY on PostgreSQL)


async def _announce(conn) -> None:
    """New mail in this transaction wakes the workers when it commits: this process's at once, and on PostgreSQL
    every process's through NOTIFY (sent on commit, never for a rollback; once per transaction). SQLite's other
    processes find it by their poll."""
    from tortoise.backends.base.client import TransactionalDBClient

    root = conn
    while isinstance(getattr(root, "_parent", None), TransactionalDBClient):
        root = root._parent
    first = _wake_soon not in getattr(root, "_forum_after_commit", ())
    db.after_commit(conn, _wake_soon)
    if first and conn.capabilities.dialect == "postgres":
        from forum.hub import publish

        await publish(WAKE_KEY, conn)


INSERT = ("INSERT INTO mail_outbox (kind, user_id, to_address, topic_id, post_id, detail, message_id, subject, "
          "body_text, body_html, status, attempts, not_before, give_up_at, last_error, created_at) "
          "VALUES (?, ?, ?, ?, ?, ?, '', NULL, NULL, NULL, 'pending', 0, ?, ?, '', ?)")


def _row(conn, kind: str, user_id, to_address: str, topic_id, post_id, detail: str, delay: float,
         now: datetime) -> list:
    return [kind, user_id, to_address, topic_id, post_id, detail,
            db.time_param(now + timedelta(seconds=delay), conn),
            db.time_param(now + timedelta(seconds=delay + CONFIG.retry_window), conn), db.time_param(now, conn)]


async def enqueue(conn, kind: MailKind, *, user_id: int | None = None, to_address: str = "",
                  topic_id: int | None = None, post_id: int | None = None, detail: str = "",
                  delay: float = 0.0) -> None:
    """One mail, inside the caller's transaction; it is composed when a worker sends it."""
    await db.execute(INSERT, _row(conn, kind.value, user_id, to_address, topic_id, post_id, detail, delay,
                                  datetime.now(UTC)), conn)
    await _announce(conn)


async def notifications_written(conn, rows: list[tuple[int, str, int | None, int | None]],
                                now: datetime | None = None) -> int:
    """Notifications just written (user, kind, topic, post): one outbox row in the write's transaction holds
    who was notified (ids and kinds, no text), so a reply to a topic with 1,000 watchers writes one small row;
    the worker expands it into a mail for each recipient who takes that kind (`expand_fanout`). Whether the
    notification is still unread, and what the recipient may read, is decided when each mail is sent."""
    wanted = [list(r) for r in rows if r[1] in KIND_OF_NOTIFICATION]
    if 0 < len(wanted) <= FILTER_AT_MOST:  # most members take no mail (off until chosen): no row for nobody
        choices = await mail_choices_for({r[0] for r in wanted}, conn)
        wanted = [r for r in wanted if choices[r[0]].kinds.get(KIND_OF_NOTIFICATION[r[1]])]
    if not wanted:
        return 0  # nobody notified takes mail of that kind now: no row, and no write for the worker
    now = now or datetime.now(UTC)
    await db.execute("INSERT INTO mail_outbox (kind, user_id, to_address, topic_id, post_id, detail, message_id, "
                     "body_text, status, attempts, not_before, give_up_at, last_error, created_at) "
                     "VALUES (?, NULL, '', ?, ?, '', '', ?, 'pending', 0, ?, ?, '', ?)",
                     [MailKind.FANOUT.value, wanted[0][2], wanted[0][3], json.dumps(wanted, separators=(",", ":")),
                      db.time_param(now, conn), db.time_param(now + timedelta(seconds=CONFIG.retry_window), conn),
                      db.time_param(now, conn)], conn)
    await _announce(conn)
    return 1


# recipients whose choices are read in the write's transaction, so a reply notifying nobody who takes mail writes
# no row (a row for nobody cost the worker a write transaction per post); a longer list (a busy watched topic)
# goes to the row as it is, for the worker to filter, so the replier does not wait on a thousand members' choices
FILTER_AT_MOST = 50


async def expand_fanout(row: dict, token: str) -> int:
    """One mail per recipient who takes that kind, joined to their choices in the database (one statement per
    500 recipients), and the fan-out row marked done, in one transaction: expanded once, whoever claims it."""
    recipients = json.loads(row["body_text"] or "[]")
    created = row["created_at"]
    queued = 0
    async with db.write_transaction() as conn:
        sqlite = conn.capabilities.dialect == "sqlite"
        at = "?" if sqlite else "CAST(? AS TIMESTAMP WITH TIME ZONE)"
        choice = " ".join(f"WHEN '{kind}' THEN m.{column}" for kind, column in KIND_OF_NOTIFICATION.items())
        times = [db.time_param(created + timedelta(seconds=CONFIG.delay), conn),
                 db.time_param(created + timedelta(seconds=CONFIG.delay + CONFIG.retry_window), conn),
                 db.time_param(created, conn)]
        for chunk in db.chunks(recipients, 500):
            values = ", ".join(["(CAST(? AS INTEGER), CAST(? AS VARCHAR(24)), CAST(? AS INTEGER), "
                                "CAST(? AS INTEGER))"] * len(chunk))
            queued += await db.execute(
                f"WITH v (user_id, kind, topic_id, post_id) AS (VALUES {values}) "
                "INSERT INTO mail_outbox (kind, user_id, to_address, topic_id, post_id, detail, message_id, status, "
                "attempts, not_before, give_up_at, last_error, created_at) "
                f"SELECT 'notification', v.user_id, '', v.topic_id, v.post_id, v.kind, '', 'pending', 0, {at}, {at}, "
                f"'', {at} FROM v JOIN mail_preference m ON m.user_id = v.user_id "
                f"WHERE CASE v.kind {choice} ELSE FALSE END",
                [x for r in chunk for x in r] + times, conn)
        if not await _finish(row["id"], token, MailStatus.SENT, f"expanded into {queued} mails", conn):
            raise RuntimeError("the fan-out's lease was lost")  # rolls the children back: another worker has it
    if queued:
        _wake_soon()
    return queued


async def drop_activity_mail(conn, user_id: int, *, kinds: list[str], digest: bool) -> int:
    """Queued activity mail of the kinds a member just turned off is not sent."""
    details = [n for n, choice in KIND_OF_NOTIFICATION.items() if choice in kinds]
    count = 0
    if details:
        count += await db.execute(
            f"DELETE FROM mail_outbox WHERE user_id = ? AND status = 'pending' AND kind = ? "
            f"AND detail IN ({db.marks(len(details))})", [user_id, MailKind.NOTIFICATION.value, *details], conn)
    if digest:
        count += await db.execute("DELETE FROM mail_outbox WHERE user_id = ? AND status = 'pending' AND kind = ?",
                                  [user_id, MailKind.DIGEST.value], conn)
    return count


# -- claiming and recording (the worker's side) --------------------------------------------------------------------

IN_DOUBT = "in doubt: the previous attempt ended during delivery"
SENT_AGAIN = "sent again after an attempt in doubt (the same Message-ID)"


def in_flight(due: list[dict]) -> list[int]:
    """Of rows (in sending order) whose lease ran out, the first of each dead lease: the mail its holder was
    sending when it stopped. The rest of that lease had not been started."""
    seen: set[str] = set()
    first = []
    for row in due:
        if row["lease_token"] and row["lease_token"] not in seen:
            seen.add(row["lease_token"])
            first.append(row["id"])
    return first


async def claim(limit: int, now: datetime | None = None) -> tuple[str, list[dict]]:
    """Takes up to `limit` due rows under a fresh lease; returns the lease token and the rows."""
    now = now or datetime.now(UTC)
    token = secrets.token_hex(12)
    due = await db.fetch_one("SELECT id FROM mail_outbox WHERE status = 'pending' AND not_before <= ? "
                             "AND (lease_until IS NULL OR lease_until < ?) LIMIT 1",
                             [db.time_param(now), db.time_param(now)])
    if due is None:  # an idle poll reads only: no write lock taken every second (SQLite has one writer)
        return token, []
    async with db.write_transaction() as conn:
        sqlite = conn.capabilities.dialect == "sqlite"
        at = db.time_param(now, conn)
        due = await db.fetch_all(
            "SELECT id, lease_token FROM mail_outbox WHERE status = 'pending' AND not_before <= ? "
            "AND (lease_until IS NULL OR lease_until < ?) ORDER BY not_before, id LIMIT ?"
            + ("" if sqlite else " FOR UPDATE SKIP LOCKED"), [at, at, limit], conn)
        if not due:
            return token, []
        ids = [r["id"] for r in due]
        await db.execute(
            f"UPDATE mail_outbox SET attempts = attempts + 1, lease_token = ?, lease_until = ? "
            f"WHERE id IN ({db.marks(len(ids))})",
            [token, db.time_param(now + timedelta(seconds=CONFIG.lease), conn), *ids], conn)
        doubtful = in_flight(due)
        if doubtful:
            await db.execute(f"UPDATE mail_outbox SET last_error = ? WHERE id IN ({db.marks(len(doubtful))})",
                             [IN_DOUBT, *doubtful], conn)
    rows = await db.fetch_in("SELECT * FROM mail_outbox WHERE id IN ({in}) ORDER BY not_before, id", ids)
    for row in rows:
        for name in ("not_before", "give_up_at", "created_at", "lease_until"):
            row[name] = db.as_datetime(row[name])
    return token, rows


async def next_due() -> datetime | None:
    """When the earliest queued mail can next be claimed (a leased one when its lease ends); None when none is.
    Only reads: an idle worker on PostgreSQL sleeps until then unless a NOTIFY wakes it first."""
    row = await db.fetch_one("SELECT MIN(CASE WHEN lease_until IS NULL THEN not_before ELSE lease_until END) AS at "
                             "FROM mail_outbox WHERE status = 'pending'", [])
    return db.as_datetime(row["at"]) if row and row["at"] is not None else None


async def store_composed(conn, row_id: int, token: str, *, user_id: int | None, subject: str, text: str,
                         html: str) -> bool:
    """A token mail keeps what was composed (its link exists only in it) until it is delivered or given up."""
    return bool(await db.execute(
        "UPDATE mail_outbox SET user_id = ?, subject = ?, body_text = ?, body_html = ? "
        "WHERE id = ? AND lease_token = ?",
        [user_id, subject, text, html, row_id, token], conn))


async def _finish_many(token: str, outcomes: list[tuple[int, MailStatus, str]], conn=None) -> int:
    """Sent, failed or dropped, many rows of one lease in one statement: the body and the address go (only the
    facts stay, until `forum purge`). Returns how many rows the lease still held."""
    if not outcomes:
        return 0
    status = " ".join("WHEN ? THEN ?" for _ in outcomes)
    error = " ".join("WHEN ? THEN ?" for _ in outcomes)
    return await db.execute(
        f"UPDATE mail_outbox SET status = CASE id {status} END, done_at = ?, last_error = CASE id {error} END, "
        "lease_until = NULL, lease_token = NULL, subject = NULL, body_text = NULL, body_html = NULL, "
        f"to_address = '' WHERE id IN ({db.marks(len(outcomes))}) AND lease_token = ?",
        [*(x for row_id, done, _e in outcomes for x in (row_id, done.value)),
         db.time_param(datetime.now(UTC), conn),
         *(x for row_id, _s, why in outcomes for x in (row_id, why[:255])),
         *(row_id for row_id, _s, _e in outcomes), token], conn)


async def _finish(row_id: int, token: str, status: MailStatus, error: str = "", conn=None) -> bool:
    return bool(await _finish_many(token, [(row_id, status, error)], conn))


class Outcomes:
    """A claim's outcomes not yet recorded. Each is durable before the worker's next send (and at the end of the
    claim), so a killed worker still leaves exactly one row unfinished among those it had reached, the one it was
    sending (`in_flight` relies on that). A sent mail's record starts at once (`start`) and commits while the next
    mail is composed, and the next send waits for it between its envelope and its data (`record`, the transport's
    `ready`); rows dropped meanwhile go in one statement there. So a mail costs one statement besides the send,
    where it cost about ten, and its commit overlaps the mail server's answers."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.waiting: list[tuple[int, MailStatus, str]] = []
        self._writing: asyncio.Task | None = None
        self.held = True

    def sent(self, row_id: int, *, in_doubt: bool = False) -> None:
        self.waiting.append((row_id, MailStatus.SENT, SENT_AGAIN if in_doubt else ""))
        self.start()

    def dropped(self, row_id: int, reason: str) -> None:
        self.waiting.append((row_id, MailStatus.DROPPED, reason))

    def start(self) -> None:
        """Begins writing what is waiting (after any write still running), without waiting for it."""
        waiting, self.waiting = self.waiting, []
        if waiting:
            self._writing = asyncio.ensure_future(self._write(self._writing, waiting))

    async def _write(self, before: asyncio.Task | None, waiting: list) -> bool:
        held = await before if before is not None else True
        return (await _finish_many(self.token, waiting) == len(waiting)) and held

    async def record(self) -> bool:
        """Everything so far, durable; False when the lease no longer held it all (another worker has the claim
        now: stop sending)."""
        self.start()
        writing = self._writing
        if writing is not None:
            held = await asyncio.shield(writing)  # a send cut off here leaves the write running: the claim's end
            if self._writing is writing:          # awaits it
                self._writing = None
            self.held = held and self.held
        return self.held


async def record_failure(row: dict, token: str, error: str, *, permanent: bool, now: datetime | None = None) -> str:
    """A permanent refusal fails at once; otherwise the next attempt waits longer each time (exponential, with
    jitter), and once the retry window is spent the mail is given up with the reason. Returns the new status."""
    now = now or datetime.now(UTC)
    attempts = int(row["attempts"])
    base = min(30.0, CONFIG.retry_window / 16)
    wait = min(base * 2 ** (attempts - 1), 3600.0) * (0.8 + 0.4 * secrets.randbelow(1000) / 1000)
    if permanent or now + timedelta(seconds=wait) > row["give_up_at"]:
        why = f"refused: {error}" if permanent else f"gave up after {attempts} attempts: {error}"
        await _finish(row["id"], token, MailStatus.FAILED, why)
        return MailStatus.FAILED.value
    await db.execute("UPDATE mail_outbox SET not_before = ?, lease_until = NULL, lease_token = NULL, last_error = ? "
                     "WHERE id = ? AND lease_token = ?",
                     [db.time_param(now + timedelta(seconds=wait)), error[:255], row["id"], token])
    row["not_before"] = now + timedelta(seconds=wait)
    return MailStatus.PENDING.value


async def release(token: str) -> None:
    """A worker stopping cleanly gives back what it claimed and did not start."""
    await db.execute("UPDATE mail_outbox SET lease_until = NULL, lease_token = NULL, attempts = attempts - 1 "
                     "WHERE lease_token = ? AND status = 'pending'", [token])


# -- withdrawal, erasure and retention -------------------------------------------------------------------------------

async def _on_withdrawal(payload: events.Withdrawal) -> None:
    """Withdrawal stops mail at once: the member's choices and every mail to them go, and their names leave the
    mail already composed for others (activity mail is composed at sending, from the rewritten text)."""
    conn = payload.conn
    payload.counts["removed_mail"] = await db.execute("DELETE FROM mail_outbox WHERE user_id = ?",
                                                      [payload.user_id], conn)
    await db.execute("DELETE FROM mail_preference WHERE user_id = ?", [payload.user_id], conn)
    rows = await db.fetch_all("SELECT id, subject, body_text, body_html FROM mail_outbox "
                              "WHERE status = 'pending' AND body_text IS NOT NULL", [], conn)
    updates = []
    for row in rows:
        new = [payload.scrub(row[c] or "") for c in ("subject", "body_text", "body_html")]
        if new != [row[c] or "" for c in ("subject", "body_text", "body_html")]:
            updates.append([*new, row["id"]])
    await db.execute_many("UPDATE mail_outbox SET subject = ?, body_text = ?, body_html = ? WHERE id = ?",
                          updates, conn)
    payload.counts["rewritten_mail"] = len(updates)


async def _on_erasing(payload: events.Withdrawal) -> None:
    await db.execute("DELETE FROM mail_outbox WHERE user_id = ?", [payload.user_id], payload.conn)
    await db.execute("DELETE FROM mail_preference WHERE user_id = ?", [payload.user_id], payload.conn)
    await db.execute("DELETE FROM email_token WHERE user_id = ?", [payload.user_id], payload.conn)


async def _on_purge(purge: events.Purge) -> None:
    """Finished mail is kept as a fact (no body, no address) for the retry window, then deleted."""
    cutoff = purge.now - timedelta(seconds=max(CONFIG.retry_window, 3600))
    purge.counts["mail_records"] = await purge.delete_batches(
        "mail_outbox", "status <> 'pending' AND done_at < ?", [db.time_param(cutoff)])
    purge.counts["email_tokens"] = await purge.delete_batches("email_token", "expires_at < ?", [db.time_param(cutoff)])


def install() -> None:
    events.subscribe(events.CONSENT_WITHDRAWN, _on_withdrawal)
    events.subscribe(events.ACCOUNT_ERASING, _on_erasing)
    events.subscribe(events.PURGING, _on_purge)
