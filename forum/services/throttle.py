"""Sign-in throttling: growing waits after repeated failures, per account and per client address.

Kept in the database (`sign_in_throttle`), so every app process sees the same counts. The account key is the
email as typed (normalised), whether or not an account has it: a throttled unknown address answers exactly
like a throttled account, so the throttle reveals nothing about who is registered. Keys are HMACs under the
secret key (`forum.security.keyed_hash`), so the table does not give the addresses back.

Check and count are one step for the account: every attempt is counted as a failure *before* the password is
verified, by one upsert that returns the new count (and refuses without counting while a wait runs). Parallel
attempts therefore queue on the account's row and each sees the ones before it; a burst of 16 gets exactly the
answers 16 attempts one after another would. A correct password ends the count (`sign_in_succeeded`). The
address is checked first and counted after a wrong password (`sign_in_failed`).
"""

from __future__ import annotations

import math
import time

from forum import db
from forum.db import write_transaction
from forum.errors import N_, RateLimited
from forum.security import keyed_hash

# failures allowed before the waits begin; an office behind one address gets more room than one account
ACCOUNT_FREE_FAILURES = 5
ADDRESS_FREE_FAILURES = 30
MAX_WAIT_SECONDS = 15 * 60
# a key whose last failure is older than this starts counting again from one
WINDOW_SECONDS = 60 * 60


def account_key(email: str) -> str:
    return "account:" + keyed_hash("sign-in account", (email or "").strip().lower())


def address_key(address: str | None) -> str | None:
    return "address:" + keyed_hash("sign-in address", address) if address else None


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


RESERVE = """
INSERT INTO sign_in_throttle (key, failures, last_failed_at, blocked_until) VALUES (?, 1, ?, 0)
ON CONFLICT (key) DO UPDATE SET
    failures = CASE WHEN sign_in_throttle.blocked_until > ? THEN sign_in_throttle.failures
                    WHEN sign_in_throttle.last_failed_at < ? THEN 1
                    ELSE sign_in_throttle.failures + 1 END,
    last_failed_at = CASE WHEN sign_in_throttle.blocked_until > ? THEN sign_in_throttle.last_failed_at
                          ELSE excluded.last_failed_at END
RETURNING failures, blocked_until
"""


async def begin_sign_in_attempt(email: str, address: str | None, now: float | None = None) -> None:
    """Counts this attempt as a failure for the account, or raises SignInThrottled (counting nothing) while the
    account or the address must wait. One transaction; the upsert holds the account's row until it commits.

    The address is only checked here and counted when a password turns out wrong (`sign_in_failed`): counting
    it up front would make fifty colleagues signing in at once behind one office address wait, although none
    of them failed. A burst against one account is still counted exactly, which is the attack this stops."""
    now = now or time.time()
    async with write_transaction() as conn:
        if key := address_key(address):
            row = await db.fetch_one("SELECT blocked_until FROM sign_in_throttle WHERE key = ?", [key], conn)
            until = float(row["blocked_until"] or 0) if row else 0.0
            if until > now:
                raise SignInThrottled(retry_after=max(1, math.ceil(until - now)))
        await _count(conn, account_key(email), ACCOUNT_FREE_FAILURES, now)


async def _count(conn, key: str, free: int, now: float) -> None:
    row = await db.fetch_one(RESERVE, [key, now, now, now - WINDOW_SECONDS, now], conn)
    until = float(row["blocked_until"] or 0)
    if until > now:
        raise SignInThrottled(retry_after=max(1, math.ceil(until - now)))
    wait = wait_after(int(row["failures"]), free)
    if wait:  # this attempt may go on; the next one waits
        await db.execute("UPDATE sign_in_throttle SET blocked_until = ? WHERE key = ?", [now + wait, key], conn)


async def sign_in_failed(address: str | None, now: float | None = None) -> None:
    """A wrong password: the client address counts one failure (the account's was counted when it began)."""
    if not (key := address_key(address)):
        return
    now = now or time.time()
    async with write_transaction() as conn:
        try:
            await _count(conn, key, ADDRESS_FREE_FAILURES, now)
        except SignInThrottled:
            pass  # the address already waits; this failure was refused nothing


async def sign_in_succeeded(email: str) -> None:
    """The password was right (or was just set by a reset): the account's count ends. The address keeps the
    failures it made (it may be guessing other accounts)."""
    await db.execute("DELETE FROM sign_in_throttle WHERE key = ?", [account_key(email)])


async def purge_stale(now: float | None = None) -> int:
    now = now or time.time()
    return await db.execute("DELETE FROM sign_in_throttle WHERE last_failed_at < ? AND blocked_until < ?",
                            [now - WINDOW_SECONDS, now])
