"""A dependency-free progress bar for the long seeding steps (stderr, redrawn at most 5 times a second)."""

from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, label: str, total: int, *, stream=sys.stderr) -> None:
        self.label, self.total, self.stream = label, max(1, total), stream
        self.done = 0
        self.started = time.monotonic()
        self._drawn = 0.0
        self._tty = stream.isatty()

    def __enter__(self) -> Progress:
        self._draw(force=True)
        return self

    def advance(self, n: int = 1) -> None:
        self.done += n
        self._draw()

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._drawn < (0.2 if self._tty else 10.0):
            return
        self._drawn = now
        share = min(1.0, self.done / self.total)
        elapsed = now - self.started
        eta = (elapsed / share - elapsed) if share > 0 else 0.0
        bar = "#" * int(share * 30)
        line = (f"  {self.label:<28} [{bar:<30}] {share * 100:5.1f}% {self.done:>10,}/{self.total:,} "
                f"{elapsed:6.1f}s eta {eta:5.0f}s")
        self.stream.write(("\r" + line) if self._tty else (line + "\n"))
        self.stream.flush()

    def __exit__(self, *exc) -> None:
        self.done = min(self.done, self.total) if exc[0] else self.done
        self._draw(force=True)
        if self._tty:
            self.stream.write("\n")
        self.stream.flush()
