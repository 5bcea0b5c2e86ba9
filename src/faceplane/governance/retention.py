"""Retention: records past their limit are deleted from the stores, the index and the disk.

What it deletes (limits from :class:`faceplane.config.RetentionConfig`; the most specific limit
applies: a collection's, then a camera's, then the global one):

- events and their snapshot files (and webhook dead letters of those events): an event naming a
  person of a collection with a limit follows that limit (alerts kept 90 days for investigations);
  else the camera's limit if it has one (7 days in a public lobby); else the global limit;
- unknown faces (templates kept for clustering, with their thumbnails and cluster membership):
  the camera's limit for faces it saw, else the global limit;
- people whose ``expires_at`` has passed (watchlist entries): templates and index entries go, so
  they drop out of every search and alert;
- liveness evidence folders older than the evidence limit;
- snapshot files that no event names any more (left by a crash).

:class:`RetentionJob` runs once at start and then every ``interval_minutes``, or sooner when a
watchlist entry expires before that.

Example:
    >>> from faceplane.config import RetentionConfig
    >>> RetentionConfig(events_days=7).events_days
    7.0
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..config import RetentionConfig
from ..events import EventStore
from ..gallery.gallery import Gallery

__all__ = ["RetentionJob", "RetentionReport"]

log = logging.getLogger(__name__)

_DAY_S = 86400.0


@dataclass(frozen=True)
class RetentionReport:
    """What one run deleted (counts), and when it ran (Unix s)."""

    ran_at: float
    events: int
    unknown_faces: int
    expired_people: int
    evidence_sessions: int
    orphan_files: int


class RetentionJob:
    """Applies the retention limits (see the module docstring).

    Args:
        gallery: people, templates and unknown faces.
        events: events and snapshots.
        config: the limits.
        evidence_dir: the liveness evidence folder (one folder per session).
        on_run: called with every report (the server writes it to the audit log).
    """

    def __init__(
        self,
        *,
        gallery: Gallery,
        events: EventStore,
        config: RetentionConfig,
        evidence_dir: Path,
        on_run: Callable[[RetentionReport], None] | None = None,
    ) -> None:
        self.gallery = gallery
        self.events = events
        self.config = config
        self.evidence_dir = evidence_dir
        self.on_run = on_run
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def run(self, now_s: float | None = None) -> RetentionReport:
        """Delete everything past its limit at ``now_s`` (default: now)."""
        now = time.time() if now_s is None else now_s
        with self._lock:
            report = RetentionReport(
                ran_at=now,
                events=self._events(now),
                unknown_faces=self._unknown_faces(now),
                expired_people=self._expired_people(now),
                evidence_sessions=self._evidence(now),
                orphan_files=self.events.sweep(),
            )
        if self.on_run is not None:
            self.on_run(report)
        return report

    def start(self) -> None:
        """Run now, then in the background until :meth:`stop`."""
        self._thread = threading.Thread(target=self._loop, name="retention", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    # -- internals ------------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run()
            except Exception:  # a failed run is retried at the next interval, the server stays up
                log.exception("retention run failed")
            self._stop.wait(self._next_run_in_s(time.time()))

    def _next_run_in_s(self, now: float) -> float:
        wait = self.config.interval_minutes * 60
        expiry = self.gallery.store.next_expiry()
        if expiry is not None:
            wait = min(wait, max(expiry - now, 0.0) + 1.0)
        return max(wait, 1.0)

    def _events(self, now: float) -> int:
        c = self.config
        cameras = {k: v.events_days for k, v in c.cameras.items() if v.events_days is not None}
        collections = {k: v.events_days for k, v in c.collections.items() if v.events_days is not None}
        deleted = self.events.delete(
            until_s=now - c.events_days * _DAY_S, except_cameras=list(cameras), except_collections=list(collections)
        )
        for camera, days in cameras.items():
            deleted += self.events.delete(
                cameras=[camera], until_s=now - days * _DAY_S, except_collections=list(collections)
            )
        for collection, days in collections.items():
            deleted += self.events.delete(collections=[collection], until_s=now - days * _DAY_S)
        return deleted

    def _unknown_faces(self, now: float) -> int:
        store = self.gallery.store
        cameras = {k: v.unknown_faces_hours for k, v in self.config.cameras.items() if v.unknown_faces_hours}
        ids = set(store.unknown_seen_before(now - self.config.unknown_faces_hours * 3600, except_sources=list(cameras)))
        for camera, hours in cameras.items():
            ids.update(store.unknown_seen_before(now - hours * 3600, sources=[camera]))
        return self.gallery.remove_unknown(sorted(ids)) if ids else 0

    def _expired_people(self, now: float) -> int:
        expired = self.gallery.store.expired_people(now)
        for person_id in expired:
            self.gallery.remove_person(person_id)
        return len(expired)

    def _evidence(self, now: float) -> int:
        if not self.evidence_dir.is_dir():
            return 0
        cutoff = now - self.config.evidence_days * _DAY_S
        old = [p for p in self.evidence_dir.iterdir() if p.is_dir() and p.stat().st_mtime < cutoff]
        for folder in old:
            shutil.rmtree(folder, ignore_errors=True)
        return len(old)
