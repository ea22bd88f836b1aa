"""Sign-in throttling: growing waits after repeated failures, per account and per client address.

Kept in the database (`sign_in_throttle`), so every app process sees the same counts. The account key is the
email as typed (normalised), whether or not an account has it: a throttled unknown address answers exactly
like a throttled account, so the throttle reveals nothing about who is registered.
"""

from __future__ import annotations

import hashlib
import math
import time

from forum import db
from forum.db import write_transaction
from forum.errors import N_, RateLimited

# failures allowed before the waits begin; an office behind one address gets more room than one account
ACCOUNT_FREE_FAILURES = 5
ADDRESS_FREE_FAILURES = 30
MAX_WAIT_SECONDS = 15 * 60
# a key whose last failure is older than this starts counting again from one
WINDOW_SECONDS = 60 * 60


def account_key(email: str) -> str:
    return "account:" + hashlib.sha256((email or "").strip().lower().encode("utf-8", "replace")).hexdigest()


def address_key(address: str | None) -> str | None:
    return "address:" + hashlib.sha256(address.encode()).hexdigest() if address else None


def wait_after(failures: int, free: int) -> float:
    """No wait for the first `free` failures, then 1, 2, 4, 8 … seconds, at most MAX_WAIT_SECONDS."""
    if failures <= free:
        return 0.0
    return float(min(2 ** min(failures - free - 1, 20), MAX_WAIT_SECONDS))


def _keys(email: str, address: str | None) -> list[tuple[str, int]]:
    keys = [(account_key(email), ACCOUNT_FREE_FAILURES)]
    if address_key(address):
        keys.append((address_key(address), ADDRESS_FREE_FAILURES))
    return keys


class SignInThrottled(RateLimited):
    code = "sign_in_throttled"
    default_message = N_("Too many failed sign-in attempts. Please wait a little and try again.")

    def __init__(self, retry_after: int) -> None:
        super().__init__()
        self.retry_after = retry_after


async def check_sign_in_allowed(email: str, address: str | None, now: float | None = None) -> None:
    now = now or time.time()
    keys = [k for k, _ in _keys(email, address)]
    row = await db.fetch_one(
        f"SELECT MAX(blocked_until) AS until FROM sign_in_throttle WHERE key IN ({', '.join('?' for _ in keys)})",
        keys)
    until = float(row["until"] or 0) if row else 0.0
    if until > now:
        raise SignInThrottled(retry_after=max(1, math.ceil(until - now)))


UPSERT = """
INSERT INTO sign_in_throttle (key, failures, last_failed_at, blocked_until) VALUES (?, 1, ?, 0)
ON CONFLICT (key) DO UPDATE SET
    failures = CASE WHEN sign_in_throttle.last_failed_at < ? THEN 1 ELSE sign_in_throttle.failures + 1 END,
    last_failed_at = excluded.last_failed_at
RETURNING failures
"""


async def record_sign_in_failure(email: str, address: str | None, now: float | None = None) -> None:
    """Counts the failure for both keys in one transaction; the increments are atomic across processes."""
    now = now or time.time()
    async with write_transaction() as conn:
        for key, free in _keys(email, address):
            row = await db.fetch_one(UPSERT, [key, now, now - WINDOW_SECONDS], conn)
            wait = wait_after(int(row["failures"]), free)
            if wait:
                await db.execute("UPDATE sign_in_throttle SET blocked_until = ? WHERE key = ?", [now + wait, key], conn)


async def clear_account_failures(email: str) -> None:
    """A correct password ends the account's count; the address keeps its own (it may be guessing others)."""
    await db.execute("DELETE FROM sign_in_throttle WHERE key = ?", [account_key(email)])


async def purge_stale(now: float | None = None) -> int:
    now = now or time.time()
    return await db.execute("DELETE FROM sign_in_throttle WHERE last_failed_at < ? AND blocked_until < ?",
                            [now - WINDOW_SECONDS, now])
