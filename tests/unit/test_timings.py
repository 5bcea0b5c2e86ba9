"""Latency histograms: cumulative buckets as Prometheus reads them, from many threads at once."""

from __future__ import annotations

import threading

import pytest

from faceplane.errors import InvalidArgumentError
from faceplane.timings import LatencyHistogram


def test_counts_are_cumulative_and_the_sum_is_kept():
    h = LatencyHistogram(buckets_s=(0.01, 0.1, 1.0))
    for seconds in (0.005, 0.01, 0.05, 0.5, 3.0, -1.0):  # a bound itself counts in its bucket; negative as 0
        h.observe(seconds)
    snap = h.snapshot()
    assert snap.buckets_s == (0.01, 0.1, 1.0)
    assert snap.cumulative == (3, 4, 5)
    assert snap.count == 6
    assert snap.sum_s == pytest.approx(0.005 + 0.01 + 0.05 + 0.5 + 3.0)


def test_observations_from_many_threads_are_all_counted():
    h = LatencyHistogram()
    threads = [threading.Thread(target=lambda: [h.observe(0.002) for _ in range(2000)]) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert h.snapshot().count == 16_000 and h.snapshot().cumulative[-1] == 16_000


@pytest.mark.parametrize("buckets", [(), (0.0, 1.0), (1.0, 0.5), (0.1, 0.1)])
def test_bad_buckets_raise(buckets):
    with pytest.raises(InvalidArgumentError, match="buckets_s"):
        LatencyHistogram(buckets_s=buckets)
