"""Rate-limit headers, backoff, AIMD and the send gate: pure arithmetic, injected time."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from justuno_braze.braze.limits import (
    MAX_WAIT_SECONDS,
    Aimd,
    RateGate,
    RateInfo,
    backoff,
    retry_delay,
)

NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z


# --- RateInfo.from_headers ------------------------------------------------------------


def test_standard_headers_with_epoch_reset() -> None:
    info = RateInfo.from_headers(
        {
            "X-RateLimit-Limit": "3000",
            "X-RateLimit-Remaining": "2990",
            "X-RateLimit-Reset": str(int(NOW) + 3),
        },
        NOW,
    )
    assert info == RateInfo(
        limit=3000, remaining=2990, reset_at=NOW + 3, retry_after=None, observed_at=NOW
    )


def test_lower_case_header_names_and_delta_reset() -> None:
    # Braze sends lower-case names (HTTP/2); the new-pricing page gives Reset as seconds left.
    info = RateInfo.from_headers(
        {"x-ratelimit-limit": "50", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "2.5"}, NOW
    )
    assert (info.limit, info.remaining, info.reset_at) == (50, 0, NOW + 2.5)
    assert info.wait_seconds(NOW) == 2.5
    assert info.wait_seconds(NOW + 1) == 1.5
    assert info.wait_seconds(NOW + 10) == 0.0


def test_reset_in_epoch_milliseconds() -> None:
    info = RateInfo.from_headers({"x-ratelimit-reset": str(int((NOW + 7) * 1000))}, NOW)
    assert info.reset_at == NOW + 7


def test_retry_after_seconds_beats_x_ratelimit_retry_after() -> None:
    info = RateInfo.from_headers({"retry-after": "4", "x-ratelimit-retry-after": "9"}, NOW)
    assert info.retry_after == 4.0
    assert info.retry_at == NOW + 4


def test_x_ratelimit_retry_after_alone() -> None:
    # New-pricing 429: no X-RateLimit-* headers, only X-Ratelimit-Retry-After.
    info = RateInfo.from_headers({"X-Ratelimit-Retry-After": "12"}, NOW)
    assert (info.limit, info.remaining, info.reset_at, info.retry_after) == (None, None, None, 12)
    assert info.wait_seconds(NOW + 2) == 10.0


def test_retry_after_as_http_date() -> None:
    when = datetime.fromtimestamp(NOW + 30, tz=UTC)
    info = RateInfo.from_headers({"Retry-After": format_datetime(when, usegmt=True)}, NOW)
    assert info.retry_after == 30.0
    past = datetime.fromtimestamp(NOW - 30, tz=UTC)
    info = RateInfo.from_headers({"Retry-After": format_datetime(past, usegmt=True)}, NOW)
    assert info.retry_after == 0.0


@pytest.mark.parametrize(
    "value", ["", "soon", "-5", "nan", "inf", "1e999", "Tue, 99 Foo 2026", "0x10", "٣"]
)
def test_garbage_values_are_ignored(value: str) -> None:
    info = RateInfo.from_headers(
        {
            "x-ratelimit-limit": value,
            "x-ratelimit-remaining": value,
            "x-ratelimit-reset": value,
            "retry-after": value,
            "x-ratelimit-retry-after": value,
        },
        NOW,
    )
    assert info == RateInfo(observed_at=NOW)
    assert info.wait_seconds(NOW) == 0.0


def test_garbage_retry_after_falls_back_to_the_braze_header() -> None:
    info = RateInfo.from_headers({"retry-after": "later", "x-ratelimit-retry-after": "3"}, NOW)
    assert info.retry_after == 3.0


def test_absurd_waits_are_clamped() -> None:
    info = RateInfo.from_headers({"retry-after": "99999999", "x-ratelimit-reset": "900000000"}, NOW)
    assert info.retry_after == MAX_WAIT_SECONDS
    assert info.reset_at == NOW + MAX_WAIT_SECONDS


def test_joined_duplicate_header_uses_the_first_value() -> None:
    assert RateInfo.from_headers({"x-ratelimit-remaining": "7, 9"}, NOW).remaining == 7


def test_no_headers() -> None:
    info = RateInfo.from_headers({}, NOW)
    assert info == RateInfo(observed_at=NOW)
    assert info.retry_at is None


# --- backoff --------------------------------------------------------------------------


def test_backoff_is_full_jitter_under_an_exponential_ceiling() -> None:
    class Top(random.Random):
        def uniform(self, a: float, b: float) -> float:
            return b

    top = Top()
    assert [backoff(n, rng=top) for n in range(0, 6)] == [1.0, 1.0, 2.0, 4.0, 8.0, 16.0]
    assert backoff(40, rng=top) == 600.0
    assert backoff(10_000, base=0.5, cap=30.0, rng=top) == 30.0
    assert backoff(3, base=0.0, rng=top) == 0.0


def test_backoff_values_spread_over_the_whole_range() -> None:
    rng = random.Random(7)
    values = [backoff(4, base=1.0, cap=600.0, rng=rng) for _ in range(2000)]
    assert min(values) >= 0.0 and max(values) <= 8.0
    assert min(values) < 0.5 and max(values) > 7.5  # full jitter, not "ceiling ± a bit"


def test_backoff_is_deterministic_for_a_seeded_rng() -> None:
    a = [backoff(n, rng=random.Random(1)) for n in range(1, 8)]
    b = [backoff(n, rng=random.Random(1)) for n in range(1, 8)]
    assert a == b


def test_backoff_rejects_negative_parameters() -> None:
    with pytest.raises(ValueError):
        backoff(1, base=-1.0)


def test_retry_delay_honours_retry_after_with_a_little_jitter() -> None:
    rng = random.Random(3)
    delays = [retry_delay(5, retry_after=20.0, rng=rng) for _ in range(200)]
    assert all(20.0 <= d <= 21.0 for d in delays)
    assert retry_delay(1, retry_after=0.0, rng=rng) == 0.0
    assert 0.0 <= retry_delay(2, retry_after=None, rng=rng) <= 2.0


# --- Aimd -----------------------------------------------------------------------------


def test_aimd_increases_additively_and_decreases_multiplicatively() -> None:
    aimd = Aimd(initial=8, minimum=1, maximum=10, increase=1, decrease_factor=0.5)
    aimd.on_success()
    aimd.on_success()
    aimd.on_success()
    assert aimd.current == 10  # capped at maximum
    assert aimd.on_throttle() is True
    assert aimd.current == 5
    aimd.on_throttle()
    aimd.on_throttle()
    aimd.on_throttle()
    assert aimd.current == 1  # floored at minimum
    assert aimd.limit == 1


def test_aimd_counts_one_burst_of_429s_once() -> None:
    aimd = Aimd(initial=16, minimum=1, maximum=64, increase=1, decrease_factor=0.5, cooldown=1.0)
    assert aimd.on_throttle(now=NOW) is True
    assert aimd.on_throttle(now=NOW + 0.2) is False
    assert aimd.on_throttle(now=NOW + 0.9) is False
    assert aimd.current == 8
    assert aimd.on_throttle(now=NOW + 1.0) is True
    assert aimd.current == 4


def test_aimd_limit_is_a_whole_number() -> None:
    aimd = Aimd(initial=3, minimum=0.5, maximum=10, increase=0.5, decrease_factor=0.7)
    aimd.on_success()
    assert (aimd.current, aimd.limit) == (3.5, 3)
    assert "current=3.5" in repr(aimd)


@pytest.mark.parametrize(
    "args",
    [
        (0, 0, 1, 1, 0.5),
        (5, 6, 10, 1, 0.5),
        (5, 1, 4, 1, 0.5),
        (5, 1, 10, 1, 1.0),
        (5, 1, 10, -1, 0.5),
    ],
)
def test_aimd_rejects_inconsistent_settings(args: tuple[float, ...]) -> None:
    with pytest.raises(ValueError):
        Aimd(*args)


# --- RateGate -------------------------------------------------------------------------


def test_gate_paces_at_the_aimd_rate() -> None:
    aimd = Aimd(initial=10, minimum=1, maximum=100)
    gate = RateGate(aimd)
    assert gate.delay_before_next(NOW) == 0.0
    assert gate.reserve(NOW) == 0.0
    # 10 requests/s: the next slot is 0.1 s later, then 0.2 s, …
    assert gate.delay_before_next(NOW) == pytest.approx(0.1)
    assert gate.reserve(NOW) == pytest.approx(0.1)
    assert gate.reserve(NOW) == pytest.approx(0.2)
    assert gate.delay_before_next(NOW + 0.3) == pytest.approx(0.0)
    aimd.on_throttle()  # 5/s: slots 0.2 s apart
    gate.reserve(NOW + 0.3)
    assert gate.delay_before_next(NOW + 0.3) == pytest.approx(0.2)


def test_gate_allows_a_burst() -> None:
    gate = RateGate(2.0, burst=3)
    delays = [gate.reserve(NOW) for _ in range(5)]
    assert delays == pytest.approx([0.0, 0.0, 0.0, 0.5, 1.0])


def test_gate_does_not_bank_idle_time_beyond_the_burst() -> None:
    gate = RateGate(1.0, burst=2)
    gate.reserve(NOW)
    later = NOW + 100
    assert [gate.reserve(later) for _ in range(3)] == pytest.approx([0.0, 0.0, 1.0])


def test_gate_waits_for_the_reset_when_the_window_is_spent() -> None:
    gate = RateGate(1000.0)
    gate.observe(
        RateInfo.from_headers({"x-ratelimit-remaining": "0", "x-ratelimit-reset": "3"}, NOW)
    )
    assert gate.delay_before_next(NOW) == pytest.approx(3.0)
    assert gate.delay_before_next(NOW + 1) == pytest.approx(2.0)
    assert gate.delay_before_next(NOW + 3) == 0.0


def test_gate_counts_its_own_sends_against_remaining() -> None:
    gate = RateGate(1000.0, burst=100)
    gate.observe(
        RateInfo.from_headers({"x-ratelimit-remaining": "2", "x-ratelimit-reset": "10"}, NOW)
    )
    first = gate.reserve(NOW)
    second = gate.reserve(NOW)
    assert first == 0.0
    assert second == pytest.approx(5.0)  # 2 left in 10 s: spread out, not back to back
    # Both spent before the reset: the third waits for the window to reset.
    assert gate.delay_before_next(NOW + 5) == pytest.approx(5.0)
    assert gate.delay_before_next(NOW + 10) == 0.0


def test_gate_pauses_on_retry_after() -> None:
    gate = RateGate(100.0)
    gate.observe(RateInfo.from_headers({"x-ratelimit-retry-after": "7"}, NOW))
    assert gate.delay_before_next(NOW + 2) == pytest.approx(5.0)
    assert gate.reserve(NOW + 2) == pytest.approx(5.0)
    gate.pause_until(NOW + 20)
    assert gate.delay_before_next(NOW + 10) == pytest.approx(10.0)
    gate.pause_until(NOW + 1)  # an earlier pause never shortens a later one
    assert gate.delay_before_next(NOW + 10) == pytest.approx(10.0)


def test_gate_ignores_headers_older_than_the_latest() -> None:
    gate = RateGate(1000.0)
    fresh = RateInfo.from_headers({"x-ratelimit-remaining": "900", "x-ratelimit-reset": "3"}, NOW)
    stale = RateInfo.from_headers({"x-ratelimit-remaining": "0", "x-ratelimit-reset": "3"}, NOW - 1)
    gate.observe(fresh)
    gate.observe(stale)
    assert gate.delay_before_next(NOW) == 0.0


def test_gate_rejects_bad_settings() -> None:
    with pytest.raises(ValueError):
        RateGate(0.0)
    with pytest.raises(ValueError):
        RateGate(1.0, burst=0)


# --- properties -----------------------------------------------------------------------


HEADER_NAMES = st.sampled_from(
    [
        "X-RateLimit-Limit",
        "x-ratelimit-remaining",
        "X-RATELIMIT-RESET",
        "retry-after",
        "X-Ratelimit-Retry-After",
        "other",
    ]
)


@given(st.dictionaries(HEADER_NAMES, st.text(max_size=40)), st.floats(0, 4e9))
def test_any_header_values_give_sane_numbers(headers: dict[str, str], now: float) -> None:
    info = RateInfo.from_headers(headers, now)
    for value in (info.limit, info.remaining):
        assert value is None or value >= 0
    if info.reset_at is not None:
        assert info.reset_at <= now + MAX_WAIT_SECONDS
    if info.retry_after is not None:
        assert 0 <= info.retry_after <= MAX_WAIT_SECONDS
    assert 0 <= info.wait_seconds(now) <= MAX_WAIT_SECONDS


@given(
    st.lists(
        st.sampled_from(["reserve", "observe0", "observe5", "throttle", "success"]), max_size=40
    ),
    st.lists(st.floats(0, 5), min_size=40, max_size=40),
)
def test_gate_delays_are_finite_and_never_negative(ops: list[str], steps: list[float]) -> None:
    aimd = Aimd(initial=20, minimum=1, maximum=100)
    gate = RateGate(aimd, burst=4)
    now = NOW
    for op, step in zip(ops, steps, strict=False):
        now += step
        if op == "reserve":
            delay = gate.reserve(now)
            assert 0 <= delay < 3600
        elif op.startswith("observe"):
            gate.observe(
                RateInfo.from_headers(
                    {"x-ratelimit-remaining": op[-1], "x-ratelimit-reset": "3"}, now
                )
            )
        elif op == "throttle":
            aimd.on_throttle(now)
        else:
            aimd.on_success()
        assert 0 <= gate.delay_before_next(now) < 3600
