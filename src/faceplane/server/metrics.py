"""``GET /metrics``: the server's state in the Prometheus text format (or OpenMetrics, if the scraper asks).

Every app has its own :class:`~prometheus_client.CollectorRegistry` (never the global default one), with

* a collector that reads the live state at scrape time (:class:`faceplane.telemetry.Telemetry`): per camera
  state, frames decoded / analysed / dropped, reconnects, queued frames and frame rates; the video
  engine's detector and embedder latency; events by kind and camera; webhook deliveries and failures;
  people and templates per collection;
* an HTTP latency histogram by method, route template (``/api/v1/people/{person_id}``, never the raw path)
  and status class, measured to the start of the response (a live event stream counts once, when it opens).

A scrape needs the viewer role (API key, bearer key or console login) or the ``metrics_token`` setting as
``Authorization: Bearer <token>``; anything else is a 401.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections import deque
from collections.abc import Iterator

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
    StateSetMetricFamily,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..services import Services
from ..telemetry import CameraStats, Telemetry, TelemetrySnapshot
from ..timings import LatencySnapshot
from ..video.sources import SourceState
from .deps import ServicesDep, get_principal, require

__all__ = ["install_metrics", "router"]

router = APIRouter()

#: Frame rates are measured over the scrapes of (at most) this many seconds.
RATE_WINDOW_S = 60.0
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_HTTP_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def install_metrics(app: FastAPI, services: Services) -> None:
    """Give ``app`` its registry, the HTTP latency middleware and ``GET /metrics``."""
    registry = CollectorRegistry(auto_describe=False)  # no collect() at registration: the state is read per scrape
    registry.register(ServerCollector(Telemetry(services)))
    requests = Histogram(
        "faceplane_http_request_duration_seconds",
        "Time to the start of the response, by method, route template and status class",
        ["method", "route", "status"],
        registry=registry,
        buckets=_HTTP_BUCKETS_S,
    )
    app.state.metrics_registry = registry
    app.add_middleware(HttpMetricsMiddleware, histogram=requests)
    app.include_router(router)


def authorize_scrape(request: Request, services: ServicesDep) -> None:
    """The ``metrics_token`` as a bearer token, or any caller with the viewer role (401 / 403 otherwise)."""
    token = services.settings.metrics_token
    auth = request.headers.get("authorization", "")
    given = auth[7:].strip().encode() if auth[:7].lower() == "bearer " else b""
    if token is not None and given and hmac.compare_digest(given, token.get_secret_value().encode()):
        return
    require("viewer")(get_principal(request, services))


@router.get("/metrics", include_in_schema=False, dependencies=[Depends(authorize_scrape)])
def metrics(request: Request) -> Response:
    encode, content_type = choose_encoder(request.headers.get("accept", ""))
    return Response(encode(request.app.state.metrics_registry), media_type=content_type)


class HttpMetricsMiddleware:
    """Times every HTTP request to its response start; labels: method, route template, status class."""

    def __init__(self, app: ASGIApp, *, histogram: Histogram) -> None:
        self.app = app
        self.histogram = histogram

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status: list[int] = []

        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.start" and not status:
                status.append(int(message["status"]))
                self._observe(scope, status[0], time.perf_counter() - start)
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        finally:
            if not status:  # an unhandled error: the outermost middleware answers 500
                self._observe(scope, 500, time.perf_counter() - start)

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        method = scope.get("method", "")
        self.histogram.labels(
            method=method if method in _METHODS else "other",
            route=_route_template(scope),
            status=f"{status // 100}xx",
        ).observe(seconds)


def _route_template(scope: Scope) -> str:
    """The matched route's template with its router's prefix (``/api/v1/people/{person_id}``), or "unmatched".

    FastAPI puts the route in the scope once it matched; depending on the version its ``path`` has the
    ``include_router`` prefix or not, so the prefix is taken from the request path, where the route's own
    pattern starts (a literal prefix: the router only matched if it was there).
    """
    route = scope.get("route")
    template, pattern = getattr(route, "path", None), getattr(route, "path_regex", None)
    if not isinstance(template, str) or pattern is None:
        return "unmatched"
    path = str(scope.get("path", ""))
    for start in (i for i, c in enumerate(path) if c == "/"):
        if pattern.match(path[start:]):
            return path[:start] + template
    return template


class _Rates:
    """Frames per second of each camera over the scrapes of the last ``RATE_WINDOW_S`` seconds."""

    def __init__(self) -> None:
        self._samples: dict[str, deque[tuple[float, int, int]]] = {}
        self._lock = threading.Lock()

    def update(self, cameras: list[CameraStats], now: float) -> dict[str, tuple[float, float]]:
        """``camera -> (fps decoded, fps analysed)``; a camera first seen now has no rate yet."""
        rates: dict[str, tuple[float, float]] = {}
        with self._lock:
            for gone in set(self._samples) - {c.camera for c in cameras}:
                del self._samples[gone]
            for cam in cameras:
                samples = self._samples.setdefault(cam.camera, deque(maxlen=1024))
                if samples and (cam.frames_decoded < samples[-1][1] or cam.frames_analysed < samples[-1][2]):
                    samples.clear()  # removed and added again: its counters restarted
                while len(samples) > 1 and now - samples[1][0] >= RATE_WINDOW_S:
                    samples.popleft()  # keep one sample at least RATE_WINDOW_S old, if there is one
                if samples and now - samples[0][0] > 0:
                    t0, decoded, analysed = samples[0]
                    span = now - t0
                    rates[cam.camera] = ((cam.frames_decoded - decoded) / span, (cam.frames_analysed - analysed) / span)
                samples.append((now, cam.frames_decoded, cam.frames_analysed))
        return rates


class ServerCollector(Collector):
    """Reads :class:`Telemetry` at every scrape and yields its metric families."""

    def __init__(self, telemetry: Telemetry) -> None:
        self.telemetry = telemetry
        self._rates = _Rates()

    def collect(self) -> Iterator[Metric]:
        snapshot = self.telemetry.read()
        yield from _camera_metrics(snapshot.cameras, self._rates.update(snapshot.cameras, time.monotonic()))
        yield _histogram(
            "faceplane_detector_latency_seconds", "Face detection per analysed frame", snapshot.detect_latency
        )
        yield _histogram(
            "faceplane_embedder_latency_seconds", "Batched embedding calls of the video engine", snapshot.embed_latency
        )
        yield from _other_metrics(snapshot)


def _camera_metrics(cameras: list[CameraStats], rates: dict[str, tuple[float, float]]) -> Iterator[Metric]:
    label = ["camera"]
    state = StateSetMetricFamily("faceplane_camera_state", "What each camera's source is doing", labels=label)
    counters = {
        "frames_decoded": CounterMetricFamily("faceplane_camera_frames_decoded", "Frames decoded", labels=label),
        "frames_analysed": CounterMetricFamily("faceplane_camera_frames_analysed", "Frames analysed", labels=label),
        "frames_dropped": CounterMetricFamily(
            "faceplane_camera_frames_dropped", "Frames a live source dropped because analysis was behind", labels=label
        ),
        "reconnects": CounterMetricFamily("faceplane_camera_reconnects", "Reconnections of the source", labels=label),
        "faces": CounterMetricFamily("faceplane_camera_faces", "Faces detected in analysed frames", labels=label),
        "errors": CounterMetricFamily("faceplane_camera_analysis_errors", "Frames whose analysis failed", labels=label),
    }
    queued = GaugeMetricFamily("faceplane_camera_queued_frames", "Decoded frames waiting for analysis", labels=label)
    fps_in = GaugeMetricFamily("faceplane_camera_fps_in", "Frames decoded per second (last minute)", labels=label)
    fps_done = GaugeMetricFamily(
        "faceplane_camera_fps_analysed", "Frames analysed per second (last minute)", labels=label
    )
    for cam in cameras:
        state.add_metric([cam.camera], {s.value: cam.state == s for s in SourceState})
        for field, family in counters.items():
            family.add_metric([cam.camera], getattr(cam, field))
        queued.add_metric([cam.camera], cam.queued)
        if cam.camera in rates:
            fps_in.add_metric([cam.camera], rates[cam.camera][0])
            fps_done.add_metric([cam.camera], rates[cam.camera][1])
    yield from (state, *counters.values(), queued, fps_in, fps_done)


def _other_metrics(snapshot: TelemetrySnapshot) -> Iterator[Metric]:
    events = CounterMetricFamily(
        "faceplane_events", "Events published since the server started", labels=["kind", "camera"]
    )
    for (kind, camera), n in sorted(snapshot.events.items()):
        events.add_metric([kind, camera], n)
    hook = ["webhook"]
    delivered = CounterMetricFamily("faceplane_webhook_deliveries", "Events delivered to a webhook", labels=hook)
    failed = CounterMetricFamily(
        "faceplane_webhook_failures", "Events a webhook gave up on (dead letters)", labels=hook
    )
    waiting = GaugeMetricFamily("faceplane_webhook_queued_events", "Events waiting for a webhook", labels=hook)
    for w in snapshot.webhooks:
        delivered.add_metric([w.target], w.delivered)
        failed.add_metric([w.target], w.failed)
        waiting.add_metric([w.target], w.queued)
    people = GaugeMetricFamily("faceplane_gallery_people", "People enrolled", labels=["collection"])
    templates = GaugeMetricFamily("faceplane_gallery_templates", "Face templates enrolled", labels=["collection"])
    for c in snapshot.collections:
        people.add_metric([c.name], c.people)
        templates.add_metric([c.name], c.templates)
    yield from (events, delivered, failed, waiting, people, templates)


def _histogram(name: str, documentation: str, snap: LatencySnapshot) -> HistogramMetricFamily:
    buckets = [(_bound(b), float(n)) for b, n in zip(snap.buckets_s, snap.cumulative, strict=True)]
    buckets.append(("+Inf", float(snap.count)))
    return HistogramMetricFamily(name, documentation, buckets=buckets, sum_value=snap.sum_s)


def _bound(seconds: float) -> str:
    return repr(float(seconds))
