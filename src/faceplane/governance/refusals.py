"""Refused requests in the audit log, rate-limited so that a flood cannot fill the disk.

A refusal (401, 403, a refused change) is written as an audit entry with the action ``refused``. Two
token buckets bound how many are written: one per source (client IP and status) and one for the whole
server. What they hold back is counted, and the next refusal that gets through is preceded by one
summary entry, ``refused.suppressed`` ("N refusals suppressed", with the counts by status); so is
``flush`` (the server calls it when it stops).

Example:
    >>> from faceplane.governance.audit import AuditLog
    >>> refusals = RefusalLog(AuditLog(":memory:"), per_minute=2, per_source=1)
    >>> [refusals.admit("10.0.0.9", 401) for _ in range(3)]
    [True, False, False]
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import InvalidArgumentError
from .audit import AuditLog

__all__ = ["Refusal", "RefusalLog"]

_MAX_SOURCES = 4096  # per-source buckets kept; past this the full ones are dropped (the global cap still holds)


@dataclass(frozen=True)
class Refusal:
    """One refused request: who (actor and role, empty when unknown), from where (ip), what (method and
    path, never the query string), the HTTP status and why (reason: the error kind; detail: its message)."""

    actor: str
    role: str
    ip: str
    method: str
    path: str
    status: int
    reason: str
    detail: str


class _Bucket:
    """``capacity`` tokens, refilled at ``capacity`` a minute."""

    def __init__(self, capacity: int, now: float) -> None:
        self.capacity = capacity
        self.tokens = float(capacity)
        self.stamp = now

    def level(self, now: float) -> float:
        return min(self.capacity, self.tokens + (now - self.stamp) * self.capacity / 60.0)

    def refill(self, now: float) -> None:
        self.tokens, self.stamp = self.level(now), now


class RefusalLog:
    """Writes refusals to ``audit``: at most ``per_minute`` a minute in all and ``per_source`` a minute per
    (client IP, status), each with a burst of as many; the rest are counted and summarised.

    Raises:
        InvalidArgumentError: a limit below 1.
    """

    def __init__(
        self,
        audit: AuditLog,
        *,
        per_minute: int = 30,
        per_source: int = 5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_minute < 1 or per_source < 1:
            raise InvalidArgumentError(f"refusal limits must be >= 1, got {per_minute} and {per_source}")
        self._audit = audit
        self._per_source = per_source
        self._clock = clock
        self._global = _Bucket(per_minute, clock())
        self._sources: dict[tuple[str, int], _Bucket] = {}
        self._suppressed: Counter[int] = Counter()  # held-back refusals by status
        self._first_suppressed_ts = 0.0
        self._lock = threading.Lock()

    def admit(self, ip: str, status: int) -> bool:
        """Whether a refusal from ``ip`` with ``status`` may be written now (takes a token); if not, it is
        counted for the summary."""
        now = self._clock()
        with self._lock:
            source = self._source(ip, status, now)
            self._global.refill(now)
            source.refill(now)
            if self._global.tokens >= 1 and source.tokens >= 1:
                self._global.tokens -= 1
                source.tokens -= 1
                return True
            if not self._suppressed:
                self._first_suppressed_ts = time.time()
            self._suppressed[status] += 1
            return False

    def write(self, refusal: Refusal) -> None:
        """Write an admitted refusal, after the summary of those held back before it."""
        self.flush()
        self._audit.record(
            actor=refusal.actor,
            role=refusal.role,
            action="refused",
            target=f"{refusal.method} {refusal.path}"[:300],
            ip=refusal.ip,
            status=refusal.status,
            detail={"reason": refusal.reason, "detail": refusal.detail[:300]},
        )

    def flush(self) -> None:
        """Write the summary of the refusals held back since the last one, if any."""
        with self._lock:
            counts, self._suppressed = self._suppressed, Counter()
            since_ts = self._first_suppressed_ts
        total = sum(counts.values())
        if not total:
            return
        self._audit.record(
            actor="",
            role="",
            action="refused.suppressed",
            target="",
            ip="",
            status=429,
            detail={
                "message": f"{total} refusals suppressed",
                "count": total,
                "by_status": {str(k): v for k, v in sorted(counts.items())},
                "since_ts": since_ts,
            },
        )

    def _source(self, ip: str, status: int, now: float) -> _Bucket:
        key = (ip, status)
        bucket = self._sources.get(key)
        if bucket is None:
            if len(self._sources) >= _MAX_SOURCES:
                self._sources = {k: b for k, b in self._sources.items() if b.level(now) < b.capacity}
                if len(self._sources) >= _MAX_SOURCES:
                    self._sources.clear()
            bucket = self._sources[key] = _Bucket(self._per_source, now)
        return bucket
