"""The server's use cases, one small service per domain, and :class:`Services`, which builds them.

Routes parse a request, call the one domain service they serve and return a schema; nothing here knows HTTP.
The services, as attributes of :class:`Services`: ``faces`` (:mod:`.faces`: detect, analyse, verify,
identify), ``library`` (:mod:`.gallery`: collections, people, templates, enrollment), ``history``
(:mod:`.events`: stored events, counts, dwell, snapshots), ``cameras`` (:mod:`.cameras`), ``liveness``
(:mod:`.access`: sessions, verify-live, identify-live, access rules), ``governance`` (:mod:`.governance`:
erasure, retention, the report), ``matching`` (:mod:`.matching`: corrections and thresholds), ``unknown``
(:mod:`.unknown`), ``people_editor`` (:mod:`.people`) and ``imports`` (:mod:`.imports`). Each gets the
dependencies it needs passed in. :class:`Services` also holds what every route shares (accounts, the audit,
the rate limiter, the broadcaster) and starts and stops them all; :func:`faceplane.bootstrap.build_services`
builds it from the settings.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..config import Settings
from ..events import Broadcaster, EventStore
from ..gallery.gallery import Gallery
from ..governance.accounts import AccountStore, Principal
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
from .imports import ImportService, import_service_for
from .matching import MatchingService
from .people import PeopleEditor
from .unknown import UnknownFaces, unknown_faces_for

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


class Services:
    """The domain services of one server, built from its stores, and what their routes share."""

    def __init__(
        self,
        *,
        settings: Settings,
        gallery: Gallery,
        events: EventStore,
        accounts: AccountStore,
        audit: AuditLog,
        video: VideoEngine,
        broadcaster: Broadcaster,
        sinks: Sequence[_Closable] = (),
        cluster: RayVideoCluster | None = None,
    ) -> None:
        self.settings = settings
        self.gallery = gallery
        self.engine: Engine = gallery.engine
        self.events = events
        self.accounts = accounts
        self.audit = audit
        self.video = video
        self.broadcaster = broadcaster
        self.sinks = list(sinks)  # webhooks, MQTT: closed with the services
        self.cluster = cluster  # cameras on Ray workers instead of self.video
        self.rate_limiter = RateLimiter(settings.rate_limit_per_minute)
        self.stopping = threading.Event()  # set when the server stops: live event streams end
        self.refusals = RefusalLog(audit, per_minute=settings.refusals_audited_per_minute)  # 401/403/refused changes
        self.sources = CameraSources(policy=settings.camera_sources.policy(), audit=audit)  # refused: kept, shown
        self.library = GalleryService(  # collections, people, templates, enrollment (routes/gallery.py)
            gallery=gallery, settings=settings, watchlists=video.watchlists,
            unwatch=lambda name: self.cameras.set_watchlist(name, False),
        )
        self.cameras = CameraService(  # cameras, watchlists, server-state.json (routes/cameras.py, gallery.py)
            gallery=gallery, video=video, sources=self.sources, settings=settings, cluster=cluster,
            state_path=Path(settings.data_dir) / "server-state.json", create_collection=self.library.create_collection,
        )
        self.history = EventsService(events=events)  # stored events, counts, dwell, snapshots (routes/events.py)
        self.evidence_dir = Path(settings.data_dir) / "evidence"
        self.liveness = LivenessService(  # sessions, verify-live, identify-live, access rules (routes/liveness.py)
            gallery=gallery, settings=settings, audit=audit, evidence_dir=self.evidence_dir
        )
        self.faces = FacesService(gallery=gallery, engine_68=self.liveness.engine_68)  # routes/faces.py
        self.governance = GovernanceService(  # erasure, retention, the report (routes/governance.py, admin.py)
            gallery=gallery, events=events, audit=audit, settings=settings, evidence_dir=self.evidence_dir,
            watchlists=self.cameras.watchlists,
        )
        self.matching = MatchingService(  # "not this person" corrections, thresholds per collection and camera
            gallery=gallery,
            events=events,
            cameras=self.cameras.configs,
            collection_settings={n: m for n, c in settings.collections.items() if (m := c.match_threshold())},
        )
        self.unknown: UnknownFaces = unknown_faces_for(  # the unknown-face library (routes/unknown.py)
            gallery, settings.unknown_clustering, is_watchlist=self.video.watchlists.__contains__,
            require_consent=settings.require_consent,
        )
        self.people_editor = PeopleEditor(  # PATCH /people, template moves, merges (services/people.py)
            gallery=gallery, events=events, watchlists=self.cameras.watchlists, require_consent=settings.require_consent
        )
        self.imports: ImportService = import_service_for(  # zips of photos (services/imports.py, routes/imports.py)
            gallery, settings, enroll=self.library.enroll, is_watchlist=self.video.watchlists.__contains__, audit=audit
        )
        self.governance.eraser.forget.append(self.imports.store.forget_people)  # import reports name people by folder

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

    # -- audit ----------------------------------------------------------------------------------
    def record(
        self, who: Principal, action: str, *, target: str = "", ip: str = "", status: int = 200, **detail: object
    ) -> None:
        self.audit.record(
            actor=who.name, role=who.role, action=action, target=target, ip=ip, status=status, detail=detail or None
        )
