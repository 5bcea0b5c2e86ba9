"""Use cases of the server, the one module that joins faces, galleries, video, events and accounts.

Routes parse a request, call one method here or of one domain service it holds, and return a schema;
nothing here knows HTTP. The domains have their own small services, built here with what they need and
used by their routes as attributes: ``liveness`` (:mod:`faceplane.access`), ``cameras``
(:mod:`faceplane.cameras`), ``governance`` (:mod:`faceplane.compliance`), ``matching``, ``unknown``,
``people_editor`` and ``imports``. :func:`faceplane.bootstrap.build_services` builds a :class:`Services`
from the settings.
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

import numpy as np
import numpy.typing as npt

from . import analytics
from .access import LivenessService, file_below
from .accounts import AccountStore, Principal
from .audit import AuditLog
from .camera_sources import CameraSources
from .cameras import CameraService
from .compliance import GovernanceService
from .config import Settings
from .errors import InvalidArgumentError
from .events import Broadcaster, Event, EventStore
from .gallery.gallery import Gallery
from .gallery.records import Collection, Consent, EnrollReport, Identification, Person, Template
from .governance import check_enrollment
from .imports import ImportService, import_service_for
from .matching import MatchingService
from .models.store import ModelInfo, inventory
from .people import PeopleEditor
from .pipeline import Engine
from .pose import head_pose
from .refusals import RefusalLog
from .types import Faces, Match
from .unknown_faces import UnknownFaces, unknown_faces_for
from .video.engine import VideoEngine

if TYPE_CHECKING:
    from .cluster.ray_video import RayVideoCluster

__all__ = ["RateLimiter", "Services"]

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
    """Everything the server does: faces, gallery and events as methods, the other domains as services."""

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
        self.cameras = CameraService(  # cameras, watchlists, server-state.json (routes/cameras.py, gallery.py)
            gallery=gallery, video=video, sources=self.sources, settings=settings, cluster=cluster,
            state_path=Path(settings.data_dir) / "server-state.json", create_collection=self.create_collection,
        )
        self.evidence_dir = Path(settings.data_dir) / "evidence"
        self.liveness = LivenessService(  # sessions, verify-live, identify-live, access rules (routes/liveness.py)
            gallery=gallery, settings=settings, audit=audit, evidence_dir=self.evidence_dir
        )
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
        self.people_editor = PeopleEditor(  # PATCH /people, template moves, merges (faceplane.people)
            gallery=gallery, events=events, watchlists=self.cameras.watchlists, require_consent=settings.require_consent
        )
        self.imports: ImportService = import_service_for(  # zips of photos (faceplane.imports, routes/imports.py)
            gallery, settings, enroll=self.enroll, is_watchlist=self.video.watchlists.__contains__, audit=audit
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

    # -- faces ----------------------------------------------------------------------------------
    def detect(self, image: bytes) -> Faces:
        return self.engine.detect(image)

    def analyze(self, image: bytes, *, landmarks: int = 5) -> tuple[Faces, npt.NDArray[np.float32] | None]:
        """Faces with embeddings and landmarks; with 68 points also head pose (N, 3) yaw, pitch, roll degrees."""
        if landmarks == 5:
            return self.engine.analyze(image), None
        engine = self.liveness.engine_68()
        rgb = engine.load(image)
        faces = engine.analyze(rgb)
        return faces, head_pose(faces.landmarks, rgb.shape[1], rgb.shape[0])

    def verify(self, image_a: bytes, image_b: bytes) -> Match:
        return self.engine.verify(image_a, image_b)

    def identify(self, image: bytes, collections: Sequence[str] | None, k: int) -> tuple[Faces, list[Identification]]:
        faces = self.engine.analyze(image)
        found = self.gallery.search(faces.embedding, collections=collections or None, k=k) if len(faces) else []
        return faces, found

    # -- gallery --------------------------------------------------------------------------------
    def collections(self) -> list[Collection]:
        return self.gallery.list_collections()

    def create_collection(self, name: str, description: str = "") -> Collection:
        if not name or len(name) > 64 or not all(c.isalnum() or c in "-_." for c in name):
            raise InvalidArgumentError(f"a collection name is 1-64 letters, digits, '-', '_' or '.', got {name!r}")
        return self.gallery.create_collection(name, description=description)

    def delete_collection(self, name: str) -> int:
        removed = self.gallery.delete_collection(name)
        if name in self.video.watchlists:
            self.cameras.set_watchlist(name, False)
        return removed

    def people(self, collection: str, limit: int, offset: int) -> list[Person]:
        return self.gallery.list_people(collection, limit=limit, offset=offset)

    def person(self, person_id: int) -> Person:
        return self.gallery.store.get_person(person_id)

    def enroll(
        self,
        collection: str,
        images: list[bytes],
        *,
        name: str | None,
        person_id: int | None,
        consent: Consent | None,
        expires_at: float | None = None,
    ) -> EnrollReport:
        """Enroll photos; a new person must satisfy the consent and watchlist policy (:func:`check_enrollment`)."""
        if not images:
            raise InvalidArgumentError("enrollment needs at least one photo")
        if person_id is None:
            watchlist = collection in self.video.watchlists
            check_enrollment(consent, expires_at, watchlist=watchlist, require_consent=self.settings.require_consent)
        return self.gallery.enroll(
            collection, images, name=name, person_id=person_id, consent=consent, expires_at=expires_at,
            gate=self.settings.enrollment_gate.gate(),
        )

    def templates(self, person_id: int) -> list[Template]:
        self.gallery.store.get_person(person_id)  # NotFoundError for an unknown person
        return self.gallery.store.templates_of(person_id)

    def template_thumbnail(self, template_id: int) -> bytes | None:
        return self.gallery.store.template_thumbnail(template_id)

    def remove_template(self, template_id: int) -> None:
        self.gallery.remove_template(template_id)

    # -- events and analytics -------------------------------------------------------------------
    def query_events(self, **filters: object) -> list[Event]:
        return self.events.query(**filters)  # type: ignore[arg-type]

    def counts_per_hour(
        self, kind: str, since_s: float, until_s: float, camera: str | None, object_classes: Sequence[str] = ()
    ) -> list[analytics.HourCount]:
        """Events of ``kind`` per hour, oldest first, each split per object class (:func:`analytics.hourly`)."""
        return analytics.hourly(self.events, kind, since_s, until_s, camera=camera, object_classes=object_classes)

    def counts_per_class(
        self, since_s: float, until_s: float, camera: str | None, object_classes: Sequence[str] = ()
    ) -> list[analytics.ClassHour]:
        """Line crossings in/out, zone entries, exits and dwell alerts per object class per hour."""
        return analytics.per_class(self.events, since_s, until_s, camera=camera, object_classes=object_classes)

    def dwell(self, since_s: float, until_s: float, camera: str | None) -> list[tuple[str, str, int, float, float]]:
        if until_s <= since_s:
            raise InvalidArgumentError("the time range must be positive")
        return self.events.dwell_by_zone(since_s, until_s, camera)

    def snapshot(self, relative: str) -> Path:
        """The file of an event snapshot (path below ``snapshots/``); refuses paths outside that folder."""
        return file_below(self.events.directory / "snapshots", relative, "snapshot")
