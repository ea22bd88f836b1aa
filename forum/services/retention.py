"""Retention (`forum purge`, run from cron): delete what has done its job, in short batches.

The forum deletes its own records: expired sessions, stale sign-in throttling rows and old password-reset
requests (the security log). Packages that own other records (moderation: decided flags, closed cases, ended
sanctions) subscribe to `events.PURGING` and delete theirs through `Purge.delete_batches`, judged against the
same `now` and the periods in `Settings.retention`.

Safe to run from cron: every run deletes only what is past its period, so a second run finds nothing; each
batch is its own short transaction, so writers wait at most one batch; and on PostgreSQL batches take a
transaction-level advisory lock, so two overlapping runs take turns instead of deadlocking.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from forum import db, events
from forum.db import write_transaction
from forum.settings import Retention

BATCH = 1000
ADVISORY_LOCK = 7_302_211  # any constant; names the purge's lock on PostgreSQL
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


async def delete_batches(table: str, where: str, params: list, *, batch: int = BATCH) -> int:
    """Deletes the rows of `table` matching `where` (`?` placeholders, datetimes through `db.time_param`), oldest
    ids first, `batch` rows per transaction; returns how many went. `table` and `where` come from code, never
    from input."""
    if not _IDENTIFIER.match(table):
        raise ValueError(f"not a table name: {table!r}")
    total = 0
    while True:
        async with write_transaction() as conn:
            if db.dialect(conn) == "postgres":
                await db.execute("SELECT pg_advisory_xact_lock(?)", [ADVISORY_LOCK], conn)
            chosen = f"SELECT id FROM {table} WHERE {where} ORDER BY id LIMIT {int(batch)}"
            deleted = await db.execute(f"DELETE FROM {table} WHERE id IN ({chosen})", params, conn)
        total += deleted
        if deleted < batch:
            return total


async def purge_expired_sessions(now: datetime | None = None) -> int:
    """Expired sessions, in short batches (the first step of every run)."""
    return await delete_batches("session", "expires_at <= ?", [db.time_param(now or datetime.now(UTC))])


async def purge(retention: Retention, now: datetime | None = None) -> dict[str, int]:
    """One retention run; returns what was deleted, by name."""
    now = now or datetime.now(UTC)
    counts: dict[str, int] = {}
    counts["expired_sessions"] = await purge_expired_sessions(now)
    # sign-in throttling counts (epoch seconds): stale once the last failure is older than the period and no wait
    # is running any more
    stale = (now - timedelta(days=retention.rate_limit_days)).timestamp()
    counts["sign_in_throttle_rows"] = await delete_batches(
        "sign_in_throttle", "last_failed_at < ? AND blocked_until < ?", [stale, now.timestamp()])
    # per-window counts of rate limits (previews): windows that began before the period
    counts["rate_count_rows"] = await delete_batches("rate_count", "window_start < ?", [int(stale)])
    # password-reset requests are the security log of who asked when: kept for the period after use or expiry
    logged = db.time_param(now - timedelta(days=retention.security_log_days))
    counts["password_reset_requests"] = await delete_batches(
        "password_reset_token", "expires_at < ? AND (used_at IS NULL OR used_at < ?)", [logged, logged])
    counts["consent_subject_links"] = await unlink_withdrawn_subjects(now, retention)
    # composer drafts the member has not saved again within the period
    counts["composer_drafts"] = await delete_batches(
        "composer_draft", "updated_at < ?", [db.time_param(now - timedelta(days=retention.draft_days))])
    await events.emit(events.PURGING, events.Purge(now=now, retention=retention, counts=counts,
                                                   delete_batches=delete_batches))
    # last, so the byte purges also take what this run deleted out of the file
    counts.update(await finish_byte_purges())
    return counts


async def unlink_withdrawn_subjects(now: datetime, retention: Retention) -> int:
    """The ledger's link to a person goes once, for every purpose, their last event is a withdrawal and the newest
    of them is older than the evidence period; the events stay as they are, linked to nothing (erasure deletes
    the link at once)."""
    cutoff = db.time_param(now - timedelta(days=retention.consent_evidence_days))
    return await delete_batches(
        "consent_subject",
        "EXISTS (SELECT 1 FROM consent_event e WHERE e.subject_id = consent_subject.id) "
        "AND NOT EXISTS (SELECT 1 FROM consent_event e WHERE e.subject_id = consent_subject.id "
        "AND e.action <> 'withdrawn' AND e.id = (SELECT max(x.id) FROM consent_event x "
        "WHERE x.subject_id = e.subject_id AND x.purpose = e.purpose)) "
        "AND (SELECT max(e.created_at) FROM consent_event e WHERE e.subject_id = consent_subject.id) < ?",
        [cutoff])


async def finish_byte_purges() -> dict[str, int]:
    """Pending byte purges of withdrawals (a reader held a snapshot too long, or the process stopped), and on
    SQLite the new revisions classified for the next withdrawal's name search."""
    from forum.services import byte_purge, names

    counts = {}
    if db.dialect() == "sqlite":
        async with db.write_transaction() as conn:
            await names.register_sqlite_function(conn)
            counts["revisions_classified"] = await names.classify_revisions(conn)
    counts.update(await byte_purge.finish_pending())
    return counts
