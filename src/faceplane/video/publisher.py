"""Publishing a video engine's events off its loop thread, in order.

A watchlist event carries a redacted snapshot, and redacting takes a second look at the picture with
the MMOD CNN detector: ~0.1-0.3 s a snapshot on 720p. Done on the engine's loop thread, that look held
up every camera (8 streams: frames queued for 2 s before analysis). :class:`EventPublisher` makes the
snapshot and publishes on one thread of its own, first in first out, so events keep the order the
engine made them in while the cameras go on.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

from ..events import Event, EventBus

__all__ = ["EventPublisher"]

log = logging.getLogger(__name__)

_Job = tuple[Event, Callable[[], bytes] | None, Callable[[], None] | None] | threading.Event


class EventPublisher:
    """Publishes events to ``bus`` on a thread of its own, in the order :meth:`publish` was called.

    The (daemon) thread starts with the first event. :meth:`drain` waits until everything published so
    far is out: the engine drains before it reports a camera closed or returns from ``run``.
    """

    def __init__(self, bus: EventBus) -> None:
        self.bus = bus
        self._jobs: queue.Queue[_Job] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def publish(
        self, event: Event, snapshot: Callable[[], bytes] | None = None, then: Callable[[], None] | None = None
    ) -> None:
        """Queue ``event``; ``snapshot`` (if any) makes its JPEG on the publishing thread, ``then`` runs after."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="faceplane-events", daemon=True)
                self._thread.start()
        self._jobs.put((event, snapshot, then))

    def drain(self, timeout_s: float = 30.0) -> bool:
        """Wait until every event queued so far is published; False if that took over ``timeout_s``."""
        if self._thread is None or not self._thread.is_alive():
            return True
        done = threading.Event()
        self._jobs.put(done)
        if not done.wait(timeout_s):
            log.warning("events still being published after %.0f s", timeout_s)
            return False
        return True

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if isinstance(job, threading.Event):
                job.set()
                continue
            event, snapshot, then = job
            try:
                self.bus.publish(event, snapshot() if snapshot is not None else None)
                if then is not None:
                    then()
            except Exception:  # one bad event or snapshot must not stop the others
                log.exception("could not publish event %s (%s)", event.id, event.kind)
