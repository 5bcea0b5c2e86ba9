"""What an operator's monitoring reads: the server's live state as typed numbers, at the moment asked.

:class:`Telemetry` subscribes an :class:`EventCounter` to the services' event bus (events published
from then on, by kind and camera) and :meth:`Telemetry.read` gathers, each time it is called, the
cameras' counters (local video engine or cluster workers), the gallery's size, the webhooks' outcomes
and the video engine's detector and embedder latencies. Nothing here knows Prometheus:
:mod:`faceplane.server.metrics` exports a :class:`TelemetrySnapshot` as metric families.

Example:
    >>> telemetry = Telemetry(services)                    # doctest: +SKIP
    >>> telemetry.read().collections[0].people             # doctest: +SKIP
    3
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urlsplit

from .events import Event
from .events.webhooks import WebhookSink
from .services import Services
from .services.cameras import CameraView
from .timings import LatencySnapshot
from .video.sources import SourceState

__all__ = ["CameraStats", "CollectionSize", "EventCounter", "Telemetry", "TelemetrySnapshot", "WebhookStats"]


@dataclass(frozen=True)
class CameraStats:
    """One camera's counters since it was added (state None: its cluster worker is not answering)."""

    camera: str
    state: SourceState | None
    frames_decoded: int  # frames the decoder produced (the camera's own rate)
    frames_analysed: int  # frames that went through detection, tracking and rules
    frames_dropped: int  # frames a live source dropped because analysis was behind
    reconnects: int
    queued: int  # decoded frames waiting for the analysis loop
    faces: int  # faces detected, summed over analysed frames
    errors: int  # frames whose analysis failed


@dataclass(frozen=True)
class CollectionSize:
    name: str
    people: int
    templates: int


@dataclass(frozen=True)
class WebhookStats:
    target: str  # the URL without credentials or query (which may hold a token)
    delivered: int
    failed: int  # given up on and dead-lettered
    queued: int


@dataclass(frozen=True)
class TelemetrySnapshot:
    cameras: list[CameraStats]
    collections: list[CollectionSize]
    webhooks: list[WebhookStats]
    events: dict[tuple[str, str], int]  # (kind, camera) -> events published
    detect_latency: LatencySnapshot  # seconds per analysed frame (face detection, landmarks, chips)
    embed_latency: LatencySnapshot  # seconds per batched embedding call of the video engine


class EventCounter:
    """An event sink that counts events by ``(kind, camera)``."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def emit(self, event: Event) -> None:
        with self._lock:
            self._counts[(event.kind, event.camera)] += 1

    def counts(self) -> dict[tuple[str, str], int]:
        with self._lock:
            return dict(self._counts)


class Telemetry:
    """Reads the services' state for monitoring; counts events from construction on."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self.events = EventCounter()
        services.video.bus.subscribe(self.events)  # the cluster publishes on the same bus

    def read(self) -> TelemetrySnapshot:
        services = self._services
        return TelemetrySnapshot(
            cameras=[_camera_stats(view) for view in services.cameras.views()],
            collections=[CollectionSize(c.name, c.people, c.templates) for c in services.library.collections()],
            webhooks=[
                WebhookStats(_safe_target(s.url), s.delivered, s.failed, s.queued)
                for s in services.sinks
                if isinstance(s, WebhookSink)
            ],
            events=self.events.counts(),
            detect_latency=services.video.detect_latency.snapshot(),
            embed_latency=services.video.embed_latency.snapshot(),
        )


def _camera_stats(view: CameraView) -> CameraStats:
    status, summary = view.status, view.summary
    return CameraStats(
        camera=view.config.id,
        state=status.state if status is not None else None,
        frames_decoded=status.frames_decoded if status is not None else 0,
        frames_analysed=summary.frames if summary is not None else 0,
        frames_dropped=status.frames_dropped if status is not None else 0,
        reconnects=status.reconnects if status is not None else 0,
        queued=status.queued if status is not None else 0,
        faces=summary.faces if summary is not None else 0,
        errors=summary.errors if summary is not None else 0,
    )


def _safe_target(url: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]  # no user:password
    return f"{parts.scheme}://{host}{parts.path}"
