"""Rate-limit and backoff arithmetic for Braze (pure: time and randomness are arguments).

Braze reports its budget in ``X-RateLimit-Limit`` / ``-Remaining`` / ``-Reset`` and, on a
429 under new pricing, ``X-Ratelimit-Retry-After`` (braze-api.md §8.2). Two Braze pages
disagree on ``Reset`` (epoch seconds vs seconds left), so a value above 10^9 is read as an
epoch and anything smaller as a delta from ``now``. ``Retry-After`` is honoured as seconds
or as an HTTP-date. Header names are matched case-insensitively (Braze sends lower case).

Pieces, each usable on its own:

- :class:`RateInfo` — what one response's headers say (``from_headers(headers, now)``).
- :func:`backoff` — exponential backoff with full jitter; :func:`retry_delay` combines it
  with a server-given ``retry_after``.
- :class:`Aimd` — additive-increase / multiplicative-decrease controller (on 429).
- :class:`RateGate` — next-send-time arithmetic: the AIMD rate as a token bucket plus the
  latest headers; ``delay_before_next(now)`` is how long to wait (0 = send now) and
  ``reserve(now)`` books a send slot. The caller awaits the delay; nothing here sleeps.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

EPOCH_THRESHOLD = 1e9
"""``X-RateLimit-Reset`` values above this are epoch seconds; smaller ones are deltas."""
EPOCH_MS_THRESHOLD = 1e12
"""…and values above this are epoch milliseconds (seen in some gateways)."""
_DECIMAL = re.compile(r"[0-9]{1,20}(?:\.[0-9]{0,9})?")
MAX_WAIT_SECONDS = 24 * 3600.0
"""Longer waits announced by a header are clamped to this (a typo must not stall us forever)."""


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, val in headers.items():
        if key.lower() == lowered:
            return val
    return None


def _number(raw: str | None) -> float | None:
    """A finite, non-negative number, or ``None`` for anything else (garbage is ignored)."""
    if raw is None:
        return None
    text = raw.strip()
    if "," in text:  # a repeated header joined by a proxy: the first value counts
        text = text.split(",", 1)[0].strip()
    if not _DECIMAL.fullmatch(text):  # plain ASCII decimals only: no nan/inf/1e999/"٣"
        return None
    return float(text)


def _seconds_or_http_date(raw: str | None, now: float) -> float | None:
    """``Retry-After``: delay-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    value = _number(raw)
    if value is not None:
        return min(value, MAX_WAIT_SECONDS)
    if raw is None or not raw.strip():
        return None
    try:
        when = parsedate_to_datetime(raw.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # HTTP-dates are GMT by definition
        return None
    return min(max(0.0, when.timestamp() - now), MAX_WAIT_SECONDS)


@dataclass(frozen=True)
class RateInfo:
    """What one Braze response said about the rate limit, times resolved to epoch seconds.

    ``retry_after`` is seconds from ``observed_at`` (``Retry-After`` first, then
    ``X-Ratelimit-Retry-After``); ``reset_at`` is the window reset as epoch seconds whether
    Braze sent an epoch or a delta. Every field is ``None`` when the header was absent or
    unreadable.
    """

    limit: int | None = None
    remaining: int | None = None
    reset_at: float | None = None
    retry_after: float | None = None
    observed_at: float = 0.0

    @classmethod
    def from_headers(cls, headers: Mapping[str, str], now: float) -> RateInfo:
        limit = _number(_header(headers, "X-RateLimit-Limit"))
        remaining = _number(_header(headers, "X-RateLimit-Remaining"))
        reset = _number(_header(headers, "X-RateLimit-Reset"))
        reset_at: float | None = None
        if reset is not None:
            if reset > EPOCH_MS_THRESHOLD:
                reset_at = reset / 1000.0
            elif reset > EPOCH_THRESHOLD:
                reset_at = reset
            else:
                reset_at = now + reset
            reset_at = min(reset_at, now + MAX_WAIT_SECONDS)
        retry_after = _seconds_or_http_date(_header(headers, "Retry-After"), now)
        if retry_after is None:
            ratelimit_retry = _number(_header(headers, "X-Ratelimit-Retry-After"))
            if ratelimit_retry is not None:
                retry_after = min(ratelimit_retry, MAX_WAIT_SECONDS)
        return cls(
            limit=int(limit) if limit is not None else None,
            remaining=int(remaining) if remaining is not None else None,
            reset_at=reset_at,
            retry_after=retry_after,
            observed_at=now,
        )

    @property
    def retry_at(self) -> float | None:
        """Epoch seconds before which Braze asked us not to call again, if it said so."""
        return None if self.retry_after is None else self.observed_at + self.retry_after

    def wait_seconds(self, now: float) -> float:
        """How long these headers alone say to wait before the next call (0 = go).

        ``Retry-After``/``X-Ratelimit-Retry-After`` win; otherwise an exhausted window
        (``remaining == 0``) waits for its reset.
        """
        if self.retry_at is not None:
            return max(0.0, self.retry_at - now)
        if self.remaining is not None and self.remaining <= 0 and self.reset_at is not None:
            return max(0.0, self.reset_at - now)
        return 0.0


def backoff(
    attempt: int, rng: random.Random | None = None, *, base: float = 1.0, cap: float = 600.0
) -> float:
    """Exponential backoff with full jitter: uniform in ``[0, min(cap, base·2^(attempt-1))]``.

    ``attempt`` is the number of attempts that already failed (1 after the first failure;
    smaller values count as 1).
    """
    if base < 0 or cap < 0:
        raise ValueError("backoff base and cap must not be negative")
    exponent = min(max(attempt, 1) - 1, 62)
    ceiling = min(cap, base * float(2**exponent))
    return (rng or random).uniform(0.0, ceiling)


def retry_delay(
    attempt: int,
    *,
    retry_after: float | None = None,
    base: float = 1.0,
    cap: float = 600.0,
    rng: random.Random | None = None,
) -> float:
    """Seconds before retrying: at least Braze's ``retry_after`` when it gave one, else backoff.

    With a ``retry_after`` a little jitter (up to 10 %, at most 1 s) is added so that many
    workers told the same time do not all come back in the same instant.
    """
    if retry_after is not None and retry_after >= 0:
        return retry_after + (rng or random).uniform(0.0, min(1.0, retry_after * 0.1))
    return backoff(attempt, base=base, cap=cap, rng=rng)


class Aimd:
    """Additive-increase / multiplicative-decrease limit (requests per second or concurrency).

    ``on_success()`` adds ``increase`` up to ``maximum``; ``on_throttle()`` multiplies by
    ``decrease_factor`` down to ``minimum``. Many in-flight requests often hit the same 429;
    pass ``now`` and the limit is cut at most once per ``cooldown`` seconds so one burst of
    429s counts as one signal.
    """

    def __init__(
        self,
        initial: float,
        minimum: float,
        maximum: float,
        increase: float = 1.0,
        decrease_factor: float = 0.5,
        *,
        cooldown: float = 1.0,
    ) -> None:
        if not (0 < minimum <= initial <= maximum):
            raise ValueError("Aimd needs 0 < minimum <= initial <= maximum")
        if increase < 0 or not (0 < decrease_factor < 1):
            raise ValueError("Aimd needs increase >= 0 and 0 < decrease_factor < 1")
        self.minimum = float(minimum)
        self.maximum = float(maximum)
        self.increase = float(increase)
        self.decrease_factor = float(decrease_factor)
        self.cooldown = float(cooldown)
        self._current = float(initial)
        self._last_decrease: float | None = None

    @property
    def current(self) -> float:
        return self._current

    @property
    def limit(self) -> int:
        """``current`` as a whole number (≥ 1): use it for a concurrency limit."""
        return max(1, int(self._current))

    def on_success(self) -> None:
        self._current = min(self.maximum, self._current + self.increase)

    def on_throttle(self, now: float | None = None) -> bool:
        """Cut the limit; returns whether it was cut (``False`` inside the cooldown)."""
        last = self._last_decrease
        if now is not None and last is not None and now - last < self.cooldown:
            return False
        if now is not None:
            self._last_decrease = now
        self._current = max(self.minimum, self._current * self.decrease_factor)
        return True

    def __repr__(self) -> str:
        return (
            f"Aimd(current={self._current:g}, minimum={self.minimum:g}, maximum={self.maximum:g})"
        )


class RateGate:
    """When may the next request go? Token bucket at the AIMD rate + Braze's latest headers.

    ``rate`` is an :class:`Aimd` whose ``current`` is requests per second (or a fixed
    number). ``burst`` requests may go back to back. Headers from each response go to
    :meth:`observe`; a 429/``retry_after`` to :meth:`pause_until`. When Braze says few
    requests remain before the window resets, sends are spread evenly over what is left.
    """

    def __init__(self, rate: Aimd | float, *, burst: int = 1) -> None:
        if burst < 1:
            raise ValueError("burst must be at least 1")
        if not isinstance(rate, Aimd) and rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = burst
        self._tat = 0.0  # theoretical arrival time of the next request (GCRA)
        self._paused_until = 0.0
        self._info: RateInfo | None = None
        self._remaining: int | None = None  # Braze's remaining, minus what we sent since
        self._last_paced = -math.inf
        self._pace = 0.0  # seconds between sends that spreads `remaining` to the reset

    def _interval(self) -> float:
        rate = self.rate.current if isinstance(self.rate, Aimd) else float(self.rate)
        return 1.0 / rate

    def observe(self, info: RateInfo) -> None:
        """Take the headers of a response (older observations than the latest are ignored)."""
        if self._info is not None and info.observed_at < self._info.observed_at:
            return
        self._info = info
        self._remaining = info.remaining
        self._pace = 0.0
        self._last_paced = -math.inf
        if info.retry_at is not None:
            self.pause_until(info.retry_at)

    def pause_until(self, when: float) -> None:
        """Send nothing before ``when`` (epoch seconds), e.g. after a 429."""
        self._paused_until = max(self._paused_until, when)

    def _header_ready_at(self, now: float) -> float:
        info = self._info
        ready = self._paused_until
        if info is None or info.reset_at is None or info.reset_at <= now:
            return ready
        remaining = self._remaining
        if remaining is None:
            return ready
        if remaining <= 0:
            return max(ready, info.reset_at)
        # Spread what is left evenly over the rest of the window.
        return max(ready, self._last_paced + self._pace)

    def delay_before_next(self, now: float) -> float:
        """Seconds to wait before the next request may go (0 when it may go now)."""
        interval = self._interval()
        bucket_ready = self._tat - (self.burst - 1) * interval
        return max(0.0, bucket_ready - now, self._header_ready_at(now) - now)

    def reserve(self, now: float) -> float:
        """Book the next send slot and return the delay to await before sending.

        Call it with no ``await`` in between the computation and the booking, so concurrent
        tasks each get their own slot.
        """
        delay = self.delay_before_next(now)
        send_at = now + delay
        self._tat = max(self._tat, send_at) + self._interval()
        info = self._info
        if self._remaining is not None and info is not None and info.reset_at is not None:
            if self._remaining > 0:
                self._pace = max(0.0, info.reset_at - send_at) / self._remaining
            self._remaining -= 1
            self._last_paced = send_at
        return delay
