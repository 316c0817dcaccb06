"""Logging for loops that retry through an outage: one traceback per streak of failures, not one a second."""

from __future__ import annotations

import logging
import threading
import time


class FailureStreak:
    """Log a retrying loop's failures as a streak.

    The first failure of a streak is logged with its traceback; later ones of the same kind as
    one line at most every `every` seconds, with the count; the first success after them says
    how long the streak lasted. A database away for 15 s then leaves three lines, not a hundred
    tracebacks.
    """

    def __init__(self, log: logging.Logger, what: str, *, every: float = 30.0) -> None:
        self.log, self.what, self.every = log, what, every
        self._lock = threading.Lock()
        self._count = 0
        self._kind: type[BaseException] | None = None
        self._since = self._last = 0.0

    def failed(self, error: BaseException) -> None:
        now = time.monotonic()
        with self._lock:
            self._count += 1
            if self._count == 1 or type(error) is not self._kind:
                self._kind, self._since, self._last = type(error), now, now
                self.log.warning("%s failed; retrying", self.what, exc_info=error)
            elif now - self._last >= self.every:
                self._last = now
                self.log.warning(
                    "%s still failing (%d times in %.0f s): %s: %s",
                    self.what, self._count, now - self._since, type(error).__name__, error,
                )  # fmt: skip

    def succeeded(self) -> None:
        with self._lock:
            if self._count:
                self.log.warning(
                    "%s works again after %d failures in %.0f s",
                    self.what, self._count, time.monotonic() - self._since,
                )  # fmt: skip
            self._count, self._kind = 0, None
