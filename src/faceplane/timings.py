"""Latency histograms as plain numbers: the library records, the server exports (``GET /metrics``).

A :class:`LatencyHistogram` counts durations into fixed buckets (upper bounds in seconds, as
Prometheus histograms do) and keeps their sum; :meth:`LatencyHistogram.snapshot` reads them at
any time from any thread. Nothing here knows Prometheus: :mod:`faceplane.server.metrics` turns
snapshots into metric families.

Example:
    >>> h = LatencyHistogram(buckets_s=(0.01, 0.1))
    >>> h.observe(0.005); h.observe(0.05); h.observe(3.0)
    >>> h.snapshot().cumulative
    (1, 2)
    >>> h.snapshot().count
    3
"""

from __future__ import annotations

import bisect
import itertools
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from .errors import InvalidArgumentError

__all__ = ["DEFAULT_BUCKETS_S", "LatencyHistogram", "LatencySnapshot"]

#: Upper bounds (seconds) from 1 ms (BlazeFace on a small frame) to 10 s (the CNN detector on 4K).
DEFAULT_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True)
class LatencySnapshot:
    """A histogram's state at one moment.

    Attributes:
        buckets_s: the finite upper bounds, seconds, ascending.
        cumulative: observations <= each bound (same length as ``buckets_s``).
        count: every observation (also those above the last bound).
        sum_s: their total, seconds.
    """

    buckets_s: tuple[float, ...]
    cumulative: tuple[int, ...]
    count: int
    sum_s: float


class LatencyHistogram:
    """Durations counted into buckets; thread-safe.

    Args:
        buckets_s: finite upper bounds in seconds, strictly ascending and > 0.

    Raises:
        InvalidArgumentError: empty, unsorted or non-positive bounds.
    """

    def __init__(self, *, buckets_s: Sequence[float] = DEFAULT_BUCKETS_S) -> None:
        bounds = tuple(float(b) for b in buckets_s)
        if not bounds or bounds[0] <= 0 or any(b >= c for b, c in itertools.pairwise(bounds)):
            raise InvalidArgumentError(f"buckets_s must be > 0 and strictly ascending, got {list(buckets_s)}")
        self.buckets_s = bounds
        self._counts = [0] * (len(bounds) + 1)  # the last one: above every bound
        self._sum_s = 0.0
        self._lock = threading.Lock()

    def observe(self, seconds: float) -> None:
        """Count one duration (negative ones, from a clock step, count as 0)."""
        seconds = max(0.0, float(seconds))
        slot = bisect.bisect_left(self.buckets_s, seconds)
        with self._lock:
            self._counts[slot] += 1
            self._sum_s += seconds

    def snapshot(self) -> LatencySnapshot:
        with self._lock:
            counts, total = list(self._counts), self._sum_s
        running, cumulative = 0, []
        for n in counts[:-1]:
            running += n
            cumulative.append(running)
        return LatencySnapshot(self.buckets_s, tuple(cumulative), sum(counts), total)
