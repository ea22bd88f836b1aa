"""argon2 hashes run a bounded number at a time per process (forum/passwords.py): each takes its profile's memory
(64 MiB in production) while it runs, so a burst of sign-ins must queue, not take 64 MiB per request in flight."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from forum.passwords import Passwords


class Watched:
    """The real hash and check functions (forum/passwords.py runs them in a cooking process, else a thread), with
    how many of their calls ran at once recorded (the memory each of them holds)."""

    def __init__(self) -> None:
        self.running = self.most = 0
        self.lock = threading.Lock()

    def wrap(self, work):
        def timed(*args):
            with self.lock:
                self.running += 1
                self.most = max(self.most, self.running)
            try:
                time.sleep(0.02)  # long enough for the others to start, if they are let in
                return work(*args)
            finally:
                with self.lock:
                    self.running -= 1
        return timed


@pytest.mark.parametrize("at_once", [1, 3])
async def test_a_burst_of_sign_ins_runs_at_most_the_set_number_of_hashes_at_once(at_once, monkeypatch):
    from forum import cook_pool
    from forum import passwords as module

    monkeypatch.setattr(cook_pool, "_pool", None)  # the suite's app may run a pool: here they run in threads
    passwords = Passwords("cheapest", at_once)
    stored = await passwords.hash("riktig passord")
    watched = Watched()
    monkeypatch.setattr(module, "matches", watched.wrap(module.matches))
    monkeypatch.setattr(module, "hash_with", watched.wrap(module.hash_with))
    results = await asyncio.gather(*(passwords.verify(stored if n % 2 else None, "riktig passord" if n % 3 else "feil")
                                     for n in range(12)))
    assert watched.most == at_once
    assert results == [bool(n % 2) and bool(n % 3) for n in range(12)]


def test_no_hash_is_made_before_the_first_password_is_checked():
    passwords = Passwords("cheapest")
    assert passwords._dummy is None  # the decoy used to be hashed at start: every worker's peak memory
