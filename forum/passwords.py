"""argon2id password hashing, off the event loop (a hash costs ~160 ms of CPU and 64 MiB of memory).

Hashes run at most `at_once` at a time per process: each one takes its profile's memory for as long as it runs
(RFC 9106's low-memory profile: 64 MiB), so a burst of sign-ins, registrations or wrong passwords would otherwise
take 64 MiB per request in flight (up to the thread pool's 40: 2.5 GB) and could push a worker out of memory.
Sign-ins wait their turn instead; on 2 cores more than one or two hashes at once only share the same CPU."""

from __future__ import annotations

import asyncio

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from starlette.concurrency import run_in_threadpool

PROFILES = {
    "rfc9106_low_memory": argon2.profiles.RFC_9106_LOW_MEMORY,
    # for tests only: keeps a suite with hundreds of sign-ins fast
    "cheapest": argon2.profiles.CHEAPEST,
}


class Passwords:
    def __init__(self, profile: str, at_once: int = 1) -> None:
        self.hasher = argon2.PasswordHasher.from_parameters(PROFILES[profile])
        self._slots = asyncio.Semaphore(at_once)
        self._dummy: str | None = None

    async def _run(self, work, *args):
        async with self._slots:
            return await run_in_threadpool(work, *args)

    def _decoy(self) -> str:
        """Verified against when the email is unknown, so a miss costs what a wrong password costs; made at the
        first miss (in a hash slot) rather than at start, where it set every worker's peak memory."""
        if self._dummy is None:
            self._dummy = self.hasher.hash("not a real password, only a timing decoy")
        return self._dummy

    async def hash(self, password: str) -> str:
        return await self._run(self.hasher.hash, password)

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        def check() -> bool:
            try:
                return self.hasher.verify(stored_hash or self._decoy(), password) and stored_hash is not None
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return False

        return await self._run(check)

    def needs_rehash(self, stored_hash: str) -> bool:
        try:
            return self.hasher.check_needs_rehash(stored_hash)
        except InvalidHashError:
            return True
