"""The deadline fetcher's rate judgement: a trickle is too slow once a whole window is below the minimum."""

from __future__ import annotations

from edgeforge.bundle.fetcher import _Rate


def test_rate_is_not_judged_before_a_full_window():
    rate = _Rate(min_bytes_per_s=100, window_s=10)
    assert rate.too_slow(rate.started + 9.9) is None


def test_a_trickle_is_too_slow_after_one_window():
    rate = _Rate(min_bytes_per_s=100, window_s=10)
    for second in range(1, 11):
        rate.add(rate.started + second, 1)  # one byte a second
    verdict = rate.too_slow(rate.started + 10.5)
    assert verdict is not None and "below the minimum of 100 B/s" in verdict


def test_a_fast_start_does_not_hide_a_later_stall():
    rate = _Rate(min_bytes_per_s=100, window_s=10)
    rate.add(rate.started + 1, 1_000_000)  # a burst, then nothing
    assert rate.too_slow(rate.started + 10) is None  # the burst is within the last window
    assert rate.too_slow(rate.started + 12) is not None  # a whole window without bytes


def test_a_steady_transfer_passes():
    rate = _Rate(min_bytes_per_s=100, window_s=10)
    for second in range(1, 31):
        rate.add(rate.started + second, 500)
        assert rate.too_slow(rate.started + second) is None
