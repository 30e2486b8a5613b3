"""Rate limits per endpoint family (braze-api.md §8.1, §8.2).

Braze describes its limits as *N requests per window* with ``X-RateLimit-Reset`` the
window's reset time, so each family is a fixed window aligned on the epoch (a 3-second
window resets at the next multiple of 3 s). The clock is injected: tests move time by hand.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

# Which family each served path belongs to (shared buckets as in §8.1).
FAMILY_OF_PATH: Mapping[str, str] = {
    "/users/track": "users.track",
    "/users/export/ids": "users.export.ids",
    "/users/alias/new": "users.identity",
    "/users/identify": "users.identity",
    "/users/delete": "users.identity",
    "/custom_attributes": "custom_attributes",
    "/subscription/status/set": "subscription.set",
    "/v2/subscription/status/set": "subscription.set",
    "/subscription/status/get": "default",
    "/subscription/user/status": "default",
    "/email/status": "default",
    "/email/unsubscribes": "default",
}


@dataclass(frozen=True, slots=True)
class RateDecision:
    """The outcome of one request against its family's window."""

    allowed: bool
    limit: int
    remaining: int
    reset_at: int  # epoch seconds at which the window resets
    retry_after: int  # whole seconds until then (>= 1)

    def headers(self) -> list[tuple[bytes, bytes]]:
        """The ``X-RateLimit-*`` headers (lower-case, as Braze sends them)."""
        return [
            (b"x-ratelimit-limit", str(self.limit).encode()),
            (b"x-ratelimit-remaining", str(self.remaining).encode()),
            (b"x-ratelimit-reset", str(self.reset_at).encode()),
        ]


class _Window:
    __slots__ = ("count", "limit", "period", "start")

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit
        self.period = period
        self.start = -math.inf
        self.count = 0


class RateLimiter:
    """Fixed-window counters, one per endpoint family."""

    def __init__(self, limits: Mapping[str, tuple[int, float]], clock: Callable[[], float]) -> None:
        self._clock = clock
        self._windows = {name: _Window(n, period) for name, (n, period) in limits.items()}

    def _window(self, family: str) -> _Window:
        window = self._windows.get(family) or self._windows["default"]
        now = self._clock()
        if now >= window.start + window.period:
            window.start = math.floor(now / window.period) * window.period
            window.count = 0
        return window

    def _decision(self, window: _Window, allowed: bool) -> RateDecision:
        end = window.start + window.period
        wait = max(1, math.ceil(end - self._clock()))
        return RateDecision(
            allowed=allowed,
            limit=window.limit,
            remaining=max(0, window.limit - window.count),
            reset_at=math.ceil(end),
            retry_after=wait,
        )

    def hit(self, family: str) -> RateDecision:
        """Count one request; ``allowed`` is False when the window is exhausted."""
        window = self._window(family)
        if window.count >= window.limit:
            return self._decision(window, False)
        window.count += 1
        return self._decision(window, True)

    def peek(self, family: str) -> RateDecision:
        """The family's state without counting a request (for 401/403/404 answers)."""
        window = self._window(family)
        return self._decision(window, window.count < window.limit)
