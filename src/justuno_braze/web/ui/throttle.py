"""Failed sign-ins per email and client IP, to stop password guessing (in memory, per
process: a restart forgets them, which is acceptable for a limit of this size).

After :data:`MAX_FAILURES` failures within :data:`WINDOW` seconds, that email from that
IP is refused until the oldest failure leaves the window — even with the right password,
so the refusal does not tell a guesser they found it. A success clears the count.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

MAX_FAILURES = 10
WINDOW = 15 * 60.0  # seconds


class SignInThrottle:
    def __init__(
        self,
        *,
        max_failures: int = MAX_FAILURES,
        window: float = WINDOW,
        clock: Callable[[], float] = time.monotonic,
        limit: int = 10_000,
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self.clock = clock
        self.limit = limit
        self._failures: dict[tuple[str, str], deque[float]] = {}

    def retry_after(self, email: str, ip: str) -> int | None:
        """Seconds until ``email`` may try again from ``ip``; None when it may now."""
        failures = self._recent((email.strip().lower(), ip))
        if failures is None or len(failures) < self.max_failures:
            return None
        return max(1, math.ceil(self.window - (self.clock() - failures[0])))

    def failed(self, email: str, ip: str) -> None:
        key = (email.strip().lower(), ip)
        if len(self._failures) >= self.limit and key not in self._failures:
            self._failures.clear()  # bounded memory; an attacker gains a fresh window at most
        self._failures.setdefault(key, deque()).append(self.clock())

    def succeeded(self, email: str, ip: str) -> None:
        self._failures.pop((email.strip().lower(), ip), None)

    def _recent(self, key: tuple[str, str]) -> deque[float] | None:
        failures = self._failures.get(key)
        if failures is None:
            return None
        now = self.clock()
        while failures and now - failures[0] >= self.window:
            failures.popleft()
        if not failures:
            del self._failures[key]
            return None
        return failures
