"""The server's use cases, one small service per domain, and :class:`Services`, which builds them.

Routes parse a request, call the one domain service they serve and return a schema; nothing here knows HTTP.
The services, as attributes of :class:`Services`: ``faces`` (:mod:`.faces`: detect, analyse, verify,
identify), ``library`` (:mod:`.gallery`: collections, people, templates, enrollment), ``history``
(:mod:`.events`: stored events, counts, dwell, snapshots), ``cameras`` (:mod:`.cameras`), ``liveness``
(:mod:`.access`: sessions, verify-live, identify-live, access rules), ``governance`` (:mod:`.governance`:
erasure, retention, the report), ``matching`` (:mod:`.matching`: corrections and thresholds), ``unknown``
(:mod:`.unknown`), ``people_editor`` (:mod:`.people`) and ``imports`` (:mod:`.imports`). Each gets the
dependencies it needs passed in by :func:`faceplane.bootstrap.build_services`, the composition root.
:class:`Services` holds them and what every route shares (accounts, the audit, the rate limiter, the
broadcaster), and starts and stops them in order.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..config import Settings
from ..events import Broadcaster, EventStore
from ..gallery.gallery import Gallery
from ..governance.accounts import AccountStore
from ..governance.audit import AuditLog
from ..governance.camera_sources import CameraSources
from ..governance.refusals import RefusalLog
from ..models.store import ModelInfo, inventory
from ..pipeline import Engine
from ..video.engine import VideoEngine
from .access import LivenessService
from .cameras import CameraService
from .events import EventsService
from .faces import FacesService
from .gallery import GalleryService
from .governance import GovernanceService
from .imports import ImportService
from .matching import MatchingService
from .people import PeopleEditor
from .unknown import UnknownFaces

if TYPE_CHECKING:
    from ..cluster.ray_video import RayVideoCluster

__all__ = [
    "CameraService",
    "EventsService",
    "FacesService",
    "GalleryService",
    "GovernanceService",
    "ImportService",
    "LivenessService",
    "MatchingService",
    "ModelsInUse",
    "PeopleEditor",
    "RateLimiter",
    "Services",
    "UnknownFaces",
]

log = logging.getLogger(__name__)


class _Closable(Protocol):
    def close(self) -> None: ...


@dataclass(frozen=True)
class ModelsInUse:
    """The models this server runs, and every model it could run."""

    embedder: str  # name@version of the gallery's embeddings
    detector: str  # the video face detector
    models: list[ModelInfo]


class RateLimiter:
    """At most ``per_minute`` calls per caller in any sliding minute."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._calls: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, caller: str) -> bool:
        now = time.monotonic()
        with self._lock:
            calls = self._calls.setdefault(caller, deque())
            while calls and now - calls[0] > 60:
                calls.popleft()
            if len(calls) >= self.per_minute:
                return False
            calls.append(now)
            return True


@dataclass(kw_only=True, eq=False)
class Services:
    """The domain services of one server and what their routes share; :mod:`faceplane.bootstrap` wires them."""

    settings: Settings
    gallery: Gallery
    events: EventStore
    accounts: AccountStore
    audit: AuditLog
    video: VideoEngine
    broadcaster: Broadcaster  # live events (SSE, WebSocket)
    refusals: RefusalLog  # 401/403/refused changes, audited
    sources: CameraSources  # camera sources each role may add; refused ones kept and shown
    faces: FacesService  # routes/faces.py
    library: GalleryService  # collections, people, templates, enrollment (routes/gallery.py)
    history: EventsService  # stored events, counts, dwell, snapshots (routes/events.py)
    cameras: CameraService  # cameras, watchlists, server-state.json (routes/cameras.py)
    liveness: LivenessService  # sessions, verify-live, identify-live, access rules (routes/liveness.py)
    governance: GovernanceService  # erasure, retention, the report (routes/governance.py, admin.py)
    matching: MatchingService  # "not this person" corrections, thresholds per collection and camera
    unknown: UnknownFaces  # the unknown-face library (routes/unknown.py)
    people_editor: PeopleEditor  # PATCH /people, template moves, merges (routes/people.py)
    imports: ImportService  # zips of photos (routes/imports.py)
    sinks: Sequence[_Closable] = ()  # webhooks, MQTT: closed with the services
    cluster: RayVideoCluster | None = None  # cameras on Ray workers instead of self.video
    rate_limiter: RateLimiter = field(init=False)
    stopping: threading.Event = field(init=False, default_factory=threading.Event)  # set when the server stops

    def __post_init__(self) -> None:
        self.rate_limiter = RateLimiter(self.settings.rate_limit_per_minute)

    @property
    def engine(self) -> Engine:
        return self.gallery.engine

    @property
    def evidence_dir(self) -> Path:
        return self.liveness.evidence_dir

    # -- life cycle -------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the video engine and every configured or previously added camera."""
        self.matching.start()  # the settings file's collection thresholds, before any camera searches
        self.cameras.start()  # watchlists, then cameras, then the video thread
        self.governance.retention.start()
        self.unknown.start()
        self.imports.start()

    def close(self) -> None:
        """Stop the cameras (their last tracks end and are published), the detector workers and the sinks, then
        close the stores. Each step is logged and runs even when one before it failed."""
        self.stopping.set()
        n = len(self.cameras.configs())
        for what, step in (
            ("stopping the retention job", self.governance.retention.stop),
            ("stopping the unknown-face clustering", self.unknown.stop),
            ("stopping the photo imports (after the batch under way)", self.imports.close),
            (f"stopping {n} camera{'' if n == 1 else 's'}", self.cameras.stop),
            ("stopping the detector workers", self.video.analyzer.close),
            (f"delivering the events queued for {len(self.sinks)} sinks", self._close_sinks),
            ("closing stores", self._close_stores),
        ):
            log.info(what)
            try:
                step()
            except Exception:
                log.exception("%s failed", what)

    def _close_sinks(self) -> None:
        for sink in self.sinks:
            sink.close()

    def _close_stores(self) -> None:
        self.gallery.close()
        self.events.close()
        self.accounts.close()
        self.refusals.flush()
        self.audit.close()

    def models(self) -> ModelsInUse:
        """Which models run here, and the provenance and licence of each (GET /api/v1/models)."""
        return ModelsInUse(self.gallery.store.embedding_model, self.settings.detector, inventory())
