"""Use cases of the server, the one module that joins faces, galleries, video, events and accounts.

Routes parse a request, call one method here and return a schema; nothing here knows HTTP.
:func:`faceplane.bootstrap.build_services` builds a :class:`Services` from the settings.
"""

from __future__ import annotations

import json
import logging
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from . import analytics
from .accounts import AccountStore, Principal
from .audit import AuditLog
from .camera_sources import CameraSources
from .config import CameraConfig, Settings
from .errors import InvalidArgumentError, NotFoundError, PermissionDeniedError, SourceRefusedError
from .events import Broadcaster, Event, EventStore
from .gallery.gallery import Gallery
from .gallery.records import Collection, Consent, EnrollReport, Identification, Person, Template
from .governance import Eraser, ErasureReport, check_enrollment
from .imports import ImportService, import_service_for
from .liveness.sessions import LiveCapture, LivenessChecker, LivenessStatus
from .matching import MatchingService
from .models.store import ModelInfo, inventory
from .people import PeopleEditor
from .pipeline import Engine
from .pose import head_pose
from .refusals import RefusalLog
from .retention import RetentionJob, RetentionReport
from .types import Faces, Match
from .unknown_faces import UnknownFaces, unknown_faces_for
from .video.engine import CameraSummary, VideoEngine
from .video.sources import SourceStatus

if TYPE_CHECKING:
    from .cluster.ray_video import RayVideoCluster

__all__ = ["CameraView", "LiveDecision", "RateLimiter", "Services"]

log = logging.getLogger(__name__)

#: Liveness sessions detect faces on frames shrunk to this width (kiosk distance; see Services._checker).
LIVENESS_DETECT_WIDTH = 320


class _Closable(Protocol):
    def close(self) -> None: ...


@dataclass(frozen=True)
class CameraView:
    config: CameraConfig
    status: SourceStatus | None
    summary: CameraSummary | None


@dataclass(frozen=True)
class ModelsInUse:
    """The models this server runs, and every model it could run."""

    embedder: str  # name@version of the gallery's embeddings
    detector: str  # the video face detector
    models: list[ModelInfo]


@dataclass(frozen=True)
class LiveDecision:
    """The answer of verify-live (1:1) and identify-live (1:N).

    Attributes:
        liveness: the liveness session's outcome.
        allowed: live, matched and (1:N) let in by the access rules now.
        reasons: why not, in words; empty when allowed.
        person_id, name, collection: who matched (1:1: the claimed person, whether or not matched).
        distance, threshold: the embedding distance and the threshold it was held to (None: no face).
        evidence: the evidence frames kept, as paths below the evidence folder.
    """

    liveness: LivenessStatus
    allowed: bool
    reasons: list[str]
    person_id: int | None
    name: str | None
    collection: str | None
    distance: float | None
    threshold: float | None
    evidence: list[str]


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
    """Everything the server does, as methods (see the module docstring)."""

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
        self._cameras: dict[str, CameraConfig] = {}
        self.sources = CameraSources(policy=settings.camera_sources.policy(), audit=audit)  # refused: kept, shown
        self._state_path = Path(settings.data_dir) / "server-state.json"
        self._video_thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._engine68: Engine | None = None  # loaded on first use (the 68-point model is non-commercial)
        self._liveness: LivenessChecker | None = None
        self.evidence_dir = Path(settings.data_dir) / "evidence"
        self.retention = RetentionJob(
            gallery=gallery,
            events=events,
            config=settings.retention,
            evidence_dir=self.evidence_dir,
            on_run=self._audit_retention,
        )
        self.eraser = Eraser(gallery=gallery, events=events, audit=audit, evidence_dir=self.evidence_dir)
        self.matching = MatchingService(  # "not this person" corrections, thresholds per collection and camera
            gallery=gallery,
            events=events,
            cameras=lambda: list(self._cameras.values()),
            collection_settings={n: m for n, c in settings.collections.items() if (m := c.match_threshold())},
        )
        self.unknown: UnknownFaces = unknown_faces_for(  # the unknown-face library (routes/unknown.py)
            gallery, settings.unknown_clustering, is_watchlist=self.video.watchlists.__contains__,
            require_consent=settings.require_consent,
        )
        self.people_editor = PeopleEditor(  # PATCH /people, template moves, merges (faceplane.people)
            gallery=gallery, events=events, watchlists=self.watchlists, require_consent=settings.require_consent
        )
        self.imports: ImportService = import_service_for(  # zips of photos (faceplane.imports, routes/imports.py)
            gallery, settings, enroll=self.enroll, is_watchlist=self.video.watchlists.__contains__, audit=audit
        )
        self.eraser.forget.append(self.imports.store.forget_people)  # import reports name people by folder

    # -- life cycle -------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the video engine and every configured or previously added camera."""
        self.matching.start()  # the settings file's collection thresholds, before any camera searches
        state = self._read_state()
        for name in [*self.settings.watchlists, *state.get("watchlists", [])]:
            self.set_watchlist(name, True, persist=False)
        # the settings file is the server owner's (an admin's); a saved camera keeps the role of who added it
        cameras = {c.id: (c, Principal("settings", "admin", "system")) for c in self.settings.cameras}
        for raw in state.get("cameras", []):
            role = CameraSources.saved_role(state.get("camera_roles"), raw["id"])
            cameras.setdefault(raw["id"], (CameraConfig(**raw), Principal("server-state", role, "system")))
        for cam, who in cameras.values():
            try:
                self.add_camera(cam, persist=False, who=who)
            except (SourceRefusedError, PermissionDeniedError) as exc:  # kept and shown as refused, not run
                self.sources.keep_refused(cam, who, exc)
            except Exception:  # one broken camera must not keep the server down
                log.exception("camera %s could not be started", cam.id, extra={"camera": cam.id})
        self._video_thread = threading.Thread(target=self.video.run, kwargs={"forever": True}, name="video")
        self._video_thread.start()
        self.retention.start()
        self.unknown.start()
        self.imports.start()

    def close(self) -> None:
        """Stop the cameras (their last tracks end and are published), the detector workers and the sinks, then
        close the stores. Each step is logged and runs even when one before it failed."""
        self.stopping.set()
        n = len(self._cameras)
        for what, step in (
            ("stopping the retention job", self.retention.stop),
            ("stopping the unknown-face clustering", self.unknown.stop),
            ("stopping the photo imports (after the batch under way)", self.imports.close),
            (f"stopping {n} camera{'' if n == 1 else 's'}", self._stop_cameras),
            ("stopping the detector workers", self.video.analyzer.close),
            (f"delivering the events queued for {len(self.sinks)} sinks", self._close_sinks),
            ("closing stores", self._close_stores),
        ):
            log.info(what)
            try:
                step()
            except Exception:
                log.exception("%s failed", what)

    def _stop_cameras(self) -> None:
        if self.cluster is not None:
            self.cluster.close()
        self.video.stop()
        if self._video_thread is not None:
            self._video_thread.join(30)

    def _close_sinks(self) -> None:
        for sink in self.sinks:
            sink.close()

    def _close_stores(self) -> None:
        self.gallery.close()
        self.events.close()
        self.accounts.close()
        self.refusals.flush()
        self.audit.close()

    def _read_state(self) -> dict[str, list[Any]]:
        try:
            return json.loads(self._state_path.read_text())
        except (OSError, ValueError):
            return {}

    def _write_state(self) -> None:
        state = {
            "watchlists": sorted(self.video.watchlists),
            "cameras": [c.model_dump() for c in self._cameras.values()]
            + [r.config.model_dump() for r in self.sources.refused.values()],
            "camera_roles": dict(self.sources.roles),
        }
        tmp = self._state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=1))
        tmp.replace(self._state_path)

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
        engine = self._engine_68()
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
            self.set_watchlist(name, False)
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

    def erase_person(self, person_id: int) -> ErasureReport:
        """Delete this person everywhere: templates, index, unknown faces, events, snapshots, evidence."""
        return self.eraser.erase_person(person_id)

    def erase_face(self, image: bytes, *, dry_run: bool = False) -> ErasureReport:
        """Erase everyone whose face matches the largest face of a probe photo (``dry_run``: only count)."""
        faces = self.engine.analyze(image)
        if not len(faces):
            raise InvalidArgumentError("no face found in the probe photo")
        return self.eraser.erase_face(faces.embedding[0], dry_run=dry_run)

    def run_retention(self, now_s: float | None = None) -> RetentionReport:
        return self.retention.run(now_s)

    def _audit_retention(self, report: RetentionReport) -> None:
        counts = {k: v for k, v in vars(report).items() if k != "ran_at" and v}
        if counts:  # an hourly "nothing to do" would bury the entries that matter
            self.audit.record(
                actor="retention", role="system", action="retention", target="", ip="", status=200, detail=counts
            )

    # -- watchlists and cameras -----------------------------------------------------------------
    def watchlists(self) -> list[str]:
        return sorted(self.video.watchlists)

    def set_watchlist(self, collection: str, on: bool, *, persist: bool = True) -> None:
        names = {c.name for c in self.gallery.list_collections()}
        if on and persist and collection in names and (missing := self._without_purpose(collection)):
            raise InvalidArgumentError(
                f"{missing} people in {collection!r} have no purpose or no expiry; watchlist entries need both"
            )
        if on:
            if collection not in names:
                self.create_collection(collection)  # checks the name
            self.video.watchlists.add(collection)
            if self.cluster is not None:
                self.cluster.set_watchlists(sorted(self.video.watchlists))
        elif collection in names or collection in self.video.watchlists:
            self.video.watchlists.discard(collection)
            if self.cluster is not None:
                self.cluster.set_watchlists(sorted(self.video.watchlists))
        else:
            raise NotFoundError(f"no collection named {collection!r}")
        if persist:
            self._write_state()

    def _without_purpose(self, collection: str) -> int:
        missing, offset = 0, 0
        while people := self.gallery.list_people(collection, limit=1000, offset=offset):
            offset += len(people)
            missing += sum(1 for p in people if p.expires_at is None or not (p.consent and p.consent.purpose))
        return missing

    def add_camera(
        self,
        config: CameraConfig,
        *,
        persist: bool = True,
        who: Principal | None = None,
        ip: str = "",
    ) -> CameraView:
        """Start a camera; its source must pass the source policy for ``who`` (None: this process, an admin).

        Raises:
            SourceRefusedError, PermissionDeniedError: the policy refuses the source (audited).
        """
        who = who or Principal("system", "admin", "system")
        self._refuse_duplicate(config.id)
        self.sources.admit(config, who, ip=ip)  # may resolve a host name: not under the lock
        with self._lock:
            self._refuse_duplicate(config.id)
            if self.cluster is not None:
                self.cluster.add_camera(config)
            else:
                lines, zones = config.rules()
                self.video.add_camera(
                    config.video_source(),
                    lines=lines,
                    zones=zones,
                    objects=config.object_settings(),
                    fixed_camera=config.fixed,
                    match=config.match_threshold(),
                )
            self._cameras[config.id] = config
            self.sources.roles[config.id] = who.role
            if persist:
                self._write_state()
        return CameraView(config, None, None) if self.cluster is not None else self.camera(config.id)

    def _refuse_duplicate(self, camera_id: str) -> None:
        if camera_id in self._cameras or camera_id in self.sources.refused:
            raise InvalidArgumentError(f"camera {camera_id!r} exists; delete it first")

    def remove_camera(self, camera_id: str) -> None:
        with self._lock:
            if camera_id in self.sources.refused:  # never started
                self.sources.forget(camera_id)
                self._write_state()
                return
            if camera_id not in self._cameras:
                raise NotFoundError(f"no camera {camera_id!r}")
            if self.cluster is not None:
                self.cluster.remove_camera(camera_id)
            else:
                self.video.remove_camera(camera_id)
            del self._cameras[camera_id]
            self.sources.forget(camera_id)
            self._write_state()

    def cameras(self) -> list[CameraView]:
        return [self.camera(c) for c in [*self._cameras, *self.sources.refused]]

    def camera(self, camera_id: str) -> CameraView:
        if (refused := self.sources.refused.get(camera_id)) is not None:
            return CameraView(refused.config, refused.status(), None)
        config = self._cameras.get(camera_id)
        if config is None:
            raise NotFoundError(f"no camera {camera_id!r}")
        if self.cluster is not None:
            try:
                state = self.cluster.state(camera_id)
            except Exception:  # its worker is being restarted on another node
                return CameraView(config, None, None)
            summary = CameraSummary(camera_id, frames=state.frames, faces=state.faces, events=Counter(state.events))
            return CameraView(config, state.status, summary)
        live = {c.name: c for c in self.video.cameras}.get(camera_id)
        return CameraView(config, live.source.status if live else None, live.summary if live else None)

    def live_frame(self, camera_id: str) -> bytes | None:
        self.camera(camera_id)
        if self.cluster is not None:
            return None  # no live view from cluster workers (yet): frames stay on their nodes
        return self.video.live_frame(camera_id)

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
        return _file_below(self.events.directory / "snapshots", relative, "snapshot")

    def evidence(self, relative: str) -> Path:
        """An evidence frame of a verify-live or identify-live decision (path below ``evidence/``)."""
        return _file_below(Path(self.settings.data_dir) / "evidence", relative, "evidence frame")

    # -- liveness and trusted verification --------------------------------------------------------
    def _embedding_options(self) -> dict[str, Any]:
        """Engines made here embed like the gallery's, so their faces can be compared with its templates."""
        main = self.gallery.engine
        return {"embedder": main.embedder_name, "flip_tta": main.flip_tta, "device": main.device}

    def _engine_68(self) -> Engine:
        with self._lock:
            if self._engine68 is None:
                self._engine68 = Engine(landmarks=68, **self._embedding_options())
            return self._engine68

    def _checker(self) -> LivenessChecker:
        with self._lock:
            if self._liveness is None:
                # A kiosk face fills a good part of the frame: found at 320 px it is found in 4x more frames
                # of a head turn than at full size (HOG misses half-profiles there), in 40 ms instead of 230;
                # the landmarks and cues are still measured on the full frame.
                engine = Engine(landmarks=68, detect_width=LIVENESS_DETECT_WIDTH, **self._embedding_options())
                engine.warm_up()  # the session's first frames set the resting pose: they must not wait for models
                self._liveness = LivenessChecker(
                    engine, mode=self.settings.liveness_mode, redact=self.settings.redact_snapshots
                )
            return self._liveness

    def liveness_start(self, challenges: list[str] | None = None) -> tuple[LivenessStatus, str]:
        """A new liveness session and its nonce (``challenges``: a fixed order, for admins and tests)."""
        checker = self._checker()
        status = checker.start(challenges=challenges, count=self.settings.liveness_challenges)
        return status, checker.nonce(status.session_id)

    def liveness_status(self, session_id: str) -> LivenessStatus:
        return self._checker().status(session_id)

    def liveness_frame(self, session_id: str, nonce: str, image: bytes, t_s: float | None) -> LivenessStatus:
        checker = self._checker()
        checker.feed_image(session_id, nonce, self.engine.load(image), t_s)
        return checker.status(session_id)

    def liveness_clip(self, session_id: str, nonce: str, clip: bytes) -> LivenessStatus:
        checker = self._checker()
        with tempfile.NamedTemporaryFile(suffix=".clip") as f:
            f.write(clip)
            f.flush()
            checker.feed_clip(session_id, nonce, f.name)
        return checker.status(session_id)

    def verify_live(self, who: Principal, session_id: str, person_id: int, *, ip: str = "") -> LiveDecision:
        """1:1, face-pay: is the live person of a decided session ``person_id``? Audited with the evidence."""
        person = self.gallery.store.get_person(person_id)
        capture = self._checker().take(session_id)
        reasons = _not_live(capture)
        distance = threshold = None
        _, embeddings = self.gallery.store.embeddings_of(person_id)
        if capture.embedding is not None and len(embeddings):
            distance = float(np.linalg.norm(embeddings - capture.embedding, axis=1).min())
            threshold = self.gallery.calibration.threshold(self.settings.liveness_far)
            if distance > threshold:
                reasons.append(f"not {person.display_name}: distance {distance:.3f} > {threshold:.3f}")
        elif not len(embeddings):
            reasons.append(f"{person.display_name} has no enrolled face")
        decision = LiveDecision(
            liveness=capture.status,
            allowed=not reasons,
            reasons=reasons,
            person_id=person_id,
            name=person.display_name,
            collection=person.collection,
            distance=distance,
            threshold=threshold,
            evidence=self._keep_evidence(capture),
        )
        self._audit_live(who, "verify-live", f"person:{person_id}", ip, decision)
        return decision

    def identify_live(
        self, who: Principal, session_id: str, collections: list[str], *, ip: str = "", now: float | None = None
    ) -> LiveDecision:
        """1:N, door access: who is the live person, and may they pass now (``access`` rules)?"""
        for name in collections:
            self.gallery.store.collection_id(name)  # NotFoundError for an unknown collection
        capture = self._checker().take(session_id)
        reasons = _not_live(capture)
        found = None
        if capture.embedding is not None and not reasons:  # a spoof learns nothing of whom it resembles
            found = self.gallery.search(capture.embedding[None], collections=collections or None, k=1)[0]
        person = found.person if found else None
        if found is not None and person is None:
            reasons.append("not enrolled in " + (", ".join(collections) or "any collection"))
        elif person is not None and (refusal := self._access_refusal(person.collection, now)):
            reasons.append(refusal)
        nearest = found.candidates[0] if found and found.candidates else None
        decision = LiveDecision(
            liveness=capture.status,
            allowed=not reasons,
            reasons=reasons,
            person_id=person.person_id if person else None,
            name=person.display_name if person else None,
            collection=person.collection if person else None,
            distance=nearest.distance if nearest else None,
            threshold=found.threshold if found else None,
            evidence=self._keep_evidence(capture),
        )
        self._audit_live(who, "identify-live", ",".join(collections), ip, decision)
        return decision

    def _access_refusal(self, collection: str, now: float | None) -> str | None:
        rules = [r for r in self.settings.access if r.collection == collection]
        if not self.settings.access:
            return None
        local = time.localtime(time.time() if now is None else now)
        if any(r.allows(local.tm_wday, local.tm_hour * 60 + local.tm_min) for r in rules):
            return None
        if not rules:
            return f"no access rule lets {collection!r} in"
        return f"{collection!r} may not pass at {time.strftime('%a %H:%M', local)}"

    def _keep_evidence(self, capture: LiveCapture) -> list[str]:
        folder = Path(self.settings.data_dir) / "evidence" / capture.status.session_id
        folder.mkdir(parents=True, exist_ok=True)
        kept = []
        for item in capture.evidence:
            path = folder / f"{item.label}.jpg"
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(item.jpeg)
            tmp.replace(path)
            kept.append(f"{capture.status.session_id}/{path.name}")
        return kept

    def _audit_live(self, who: Principal, action: str, target: str, ip: str, d: LiveDecision) -> None:
        distance = None if d.distance is None else round(d.distance, 4)
        self.record(
            who,
            action,
            target=target,
            ip=ip,
            session=d.liveness.session_id,
            live=d.liveness.passed,
            allowed=d.allowed,
            person=d.person_id,
            distance=distance,
            reasons=d.reasons,
            evidence=d.evidence,
        )

    # -- compliance -------------------------------------------------------------------------------
    def report(self) -> str:
        """The compliance report of the data directory as one HTML page (see :mod:`faceplane.report`)."""
        from .report import build_report, render_html

        return render_html(build_report(self.settings, watchlists=self.watchlists()))


def _not_live(capture: LiveCapture) -> list[str]:
    return [] if capture.status.passed else ["not live: " + "; ".join(capture.status.reasons or ["failed"])]


def _file_below(root: Path, relative: str, what: str) -> Path:
    root = root.resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise NotFoundError(f"no {what} {relative!r}")
    return path
