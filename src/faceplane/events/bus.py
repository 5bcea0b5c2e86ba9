"""The event bus and the in-process sinks: where a published :class:`~faceplane.events.Event` goes.

:class:`EventBus` publishes each event to the :class:`~faceplane.events.EventStore` first (SQLite row +
JPEG snapshot on disk, so the event a sink sees already names its snapshot) and then to every other sink:
:class:`JsonlSink` for the CLI, :class:`MemorySink` for tests, :class:`Broadcaster` for the server's live
feeds (SSE, WebSockets); the sinks that leave the process are :mod:`faceplane.events.webhooks` and
:mod:`faceplane.events.mqtt`.

Example:
    >>> bus = EventBus([MemorySink()])
    >>> bus.publish(Event.new("line.crossed", camera="door", t_s=1.0, track_id=3, rule="in", direction="in")).kind
    'line.crossed'
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Iterable
from typing import IO, Protocol

from .event import Event
from .store import EventStore

__all__ = ["Broadcaster", "EventBus", "EventSink", "JsonlSink", "MemorySink"]

log = logging.getLogger(__name__)


class EventSink(Protocol):
    """Anything that takes published events (must not raise for a slow consumer; drop instead)."""

    def emit(self, event: Event) -> None: ...


class MemorySink:
    """Keeps every event in a list (tests, notebooks)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def emit(self, event: Event) -> None:
        self.events.append(event)

    def of_kind(self, kind: str) -> list[Event]:
        return [e for e in self.events if e.kind == kind]


class Broadcaster:
    """Fans events out to live subscribers (Server-Sent Events, WebSockets), each with a bounded queue.

    A subscriber that does not keep up loses its oldest events rather than slowing the cameras.
    """

    def __init__(self, *, queue_size: int = 256) -> None:
        self.queue_size = queue_size
        self._subscribers: set[queue.Queue[Event]] = set()
        self._lock = threading.Lock()

    def subscribe(self) -> queue.Queue[Event]:
        q: queue.Queue[Event] = queue.Queue(maxsize=self.queue_size)
        with self._lock:
            self._subscribers.add(q)
        return q

    def unsubscribe(self, q: queue.Queue[Event]) -> None:
        with self._lock:
            self._subscribers.discard(q)

    def emit(self, event: Event) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for q in subscribers:
            while True:
                try:
                    q.put_nowait(event)
                    break
                except queue.Full:
                    with contextlib.suppress(queue.Empty):
                        q.get_nowait()


class JsonlSink:
    """One JSON object per line, flushed per event (``faceplane run --events out.jsonl``; ``-`` = stdout)."""

    def __init__(self, out: IO[str]) -> None:
        self._out = out
        self._lock = threading.Lock()

    def emit(self, event: Event) -> None:
        with self._lock:
            self._out.write(event.to_json() + "\n")
            self._out.flush()


class EventBus:
    """Publishes each event to the store (if any), then to every sink; a failing sink is logged, not fatal."""

    def __init__(self, sinks: Iterable[EventSink] = (), *, store: EventStore | None = None) -> None:
        self.store = store
        self.sinks = list(sinks)

    def subscribe(self, sink: EventSink) -> None:
        """Send every later event to ``sink`` too (safe while events are published: the list is replaced)."""
        self.sinks = [*self.sinks, sink]

    def publish(self, event: Event, snapshot_jpeg: bytes | None = None) -> Event:
        """Store, then fan out; an event already stored (same id) is not sent to the sinks again."""
        if self.store is not None:
            stored = self.store.add(event, snapshot_jpeg)
            if stored is None:
                return event
            event = stored
        for sink in self.sinks:
            try:
                sink.emit(event)
            except Exception:  # a sink must never stop the cameras
                log.exception("event sink %r failed on %s", sink, event.id)
        return event
