"""argon2id password hashing, off the event loop (a hash costs ~160 ms of CPU)."""

from __future__ import annotations

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from starlette.concurrency import run_in_threadpool

PROFILES = {
    "rfc9106_low_memory": argon2.profiles.RFC_9106_LOW_MEMORY,
    # for tests only: keeps a suite with hundreds of sign-ins fast
    "cheapest": argon2.profiles.CHEAPEST,
}


class Passwords:
    def __init__(self, profile: str) -> None:
        self.hasher = argon2.PasswordHasher.from_parameters(PROFILES[profile])
        # verified against when the email is unknown, so a miss costs what a wrong password costs
        self._dummy = self.hasher.hash("not a real password, only a timing decoy")

    async def hash(self, password: str) -> str:
        return await run_in_threadpool(self.hasher.hash, password)

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        def check() -> bool:
            try:
                return self.hasher.verify(stored_hash or self._dummy, password) and stored_hash is not None
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return False

        return await run_in_threadpool(check)

    def needs_rehash(self, stored_hash: str) -> bool:
        try:
            return self.hasher.check_needs_rehash(stored_hash)
        except InvalidHashError:
            return True
