"""argon2id password hashing, off the event loop and out of the app process (a hash costs ~160 ms of CPU and
64 MiB of memory).

Hashes run at most `at_once` at a time per process: each one takes its profile's memory for as long as it runs
(RFC 9106's low-memory profile: 64 MiB), so a burst of sign-ins, registrations or wrong passwords would otherwise
take 64 MiB per request in flight (up to the thread pool's 40: 2.5 GB) and could push a worker out of memory.
Sign-ins wait their turn instead; on 2 cores more than one or two hashes at once only share the same CPU.

Where the app runs its cooking pool (forum/cook_pool.py), a hash runs in one of the pool's processes: its 64 MiB
come and go there, and the app process's peak memory stays what its pages and caches need (one sign-in had set
a worker's peak at 153 MB against 102 MB resident, issue 20). Without the pool (the CLI, tests that start none)
it runs in a thread."""

from __future__ import annotations

import asyncio
from functools import cache

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from forum import cook_pool

PROFILES = {
    "rfc9106_low_memory": argon2.profiles.RFC_9106_LOW_MEMORY,
    # for tests only: keeps a suite with hundreds of sign-ins fast
    "cheapest": argon2.profiles.CHEAPEST,
}
DECOY = "not a real password, only a timing decoy"


@cache
def _hasher(profile: str) -> argon2.PasswordHasher:
    return argon2.PasswordHasher.from_parameters(PROFILES[profile])


def hash_with(profile: str, password: str) -> str:
    """A new hash (in whichever process runs it: its arguments and answer are plain strings)."""
    return _hasher(profile).hash(password)


def matches(profile: str, stored_hash: str, password: str) -> bool:
    try:
        return _hasher(profile).verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


class Passwords:
    def __init__(self, profile: str, at_once: int = 1) -> None:
        self.profile = profile
        self.hasher = _hasher(profile)
        self._slots = asyncio.Semaphore(at_once)
        self._dummy: str | None = None
        self.verified = 0  # verifications run (a decoy's too): what a sign-in cost, for the timing tests

    async def hash(self, password: str) -> str:
        async with self._slots:
            return await cook_pool.run(hash_with, self.profile, password)

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        """Whether `password` is the one `stored_hash` was made from. No hash (an unknown email) is checked
        against a decoy, so a miss costs what a wrong password costs; the decoy is made at the first miss (in a
        hash slot) rather than at start, where it set every worker's peak memory."""
        async with self._slots:
            if stored_hash is None and self._dummy is None:
                self._dummy = await cook_pool.run(hash_with, self.profile, DECOY)
            self.verified += 1
            ok = await cook_pool.run(matches, self.profile, stored_hash or self._dummy, password)
        return ok and stored_hash is not None

    def needs_rehash(self, stored_hash: str) -> bool:
        try:
            return self.hasher.check_needs_rehash(stored_hash)
        except InvalidHashError:
            return True
