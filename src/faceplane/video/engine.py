"""The video engine: many cameras, one analysis loop, recognition once per track, events.

Per analysed frame of each camera::

    source thread --Frame--> analyzer (faces + landmarks + chips + quality, objects; worker processes)
        --> face tracker (and a tracker per object class) --> best-shot policy --> batched embedding of the
        chosen shots of *all* cameras in one onnxruntime call --> one batched gallery search
        --> vote per track --> rules (watchlist, lines, zones, visitors) --> EventBus

Every camera has at most one frame in the analyzer at a time, so a slow camera never piles up work
and a live source simply drops frames it cannot keep up with (counted in its status).

This module is the loop; what it keeps per camera is in :mod:`.camera`, the watchlist alerts (one per
visit) in :mod:`.alerts`, the unique-visitor count in :mod:`.visitors`, and what stored snapshots and
annotated video obscure in :mod:`.redaction`.

Example:
    >>> engine = VideoEngine(engine=Engine(), gallery=gallery, watchlists=["vip"])     # doctest: +SKIP
    >>> engine.add_camera(VideoSource("clip.mp4", fps=5), lines=[Line.parse("0.5,0,0.5,1")])  # doctest: +SKIP
    >>> summaries = engine.run()                                                    # doctest: +SKIP
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import replace
from functools import partial

import numpy as np
import numpy.typing as npt

from ..errors import InvalidArgumentError, NotFoundError
from ..events import Event, EventBus
from ..gallery.gallery import Gallery
from ..gallery.records import Candidate, Identification
from ..gallery.thresholds import MatchThreshold, effective_distance
from ..images import encode_jpeg
from ..logs import camera_context
from ..pipeline import Engine
from ..timings import LatencyHistogram
from ..types import Frame
from .alerts import WatchlistAlerts
from .analyzer import Analyzer, FrameAnalysis, LocalAnalyzer, ObjectSettings
from .annotate import Label, draw
from .camera import CameraState, CameraSummary, Shot, TrackMemory
from .object_tracks import ObjectTracks, link_faces_to_people, object_labels
from .publisher import EventPublisher
from .recognise import ShotPolicy, TrackIdentities
from .redaction import anonymous, redacted_frame
from .rules import CameraRules, Line, RuleHit, Zone, anchor_points
from .sources import SourceStatus, VideoSource
from .visitors import VisitorBook

__all__ = ["CameraSummary", "VideoEngine", "VisitorBook"]

log = logging.getLogger(__name__)

#: An object track counts (people, cars...) once seen in this many analysed frames (shorter ones are
#: mostly fragments of a track the HOG people detector lost for a moment; bench/counting.py).
PEOPLE_MIN_FRAMES = 5
#: Two unknown faces within the gallery's 1:1 threshold at this false-accept rate count as one visitor.
SAME_VISITOR_FAR = 3e-4


class VideoEngine:
    """Runs many cameras through detection, tracking, recognition and rules.

    Args:
        engine: embeds the chosen face chips (its detector settings are not used here: see ``analyzer``).
        gallery: who to recognise (None: no recognition; visitors are still counted by face).
        watchlists: collections whose people raise ``watchlist.*`` events.
        bus: where events go (default: nowhere but the summaries).
        analyzer: frame analysis, local (default) or :class:`~faceplane.video.analyzer.ProcessAnalyzer`.
        policy: when a face track gets another embedding.
        alert_gap_s: a watchlist person unseen on a camera for this long ends their alert
            (``watchlist.end``); seen again sooner, the same alert goes on (tracks often break when a
            face turns away or frames are dropped, and operators want one alert per visit).
        live_view: keep each camera's latest annotated frame as JPEG (:meth:`live_frame`). The live view
            is not stored and is never redacted: it is what a guard at a monitor would see.
        redact_snapshots: event snapshots (``watchlist.start`` / ``watchlist.update``, the only events
            that carry one) obscure every face detected in that frame, or found by a second look at the
            snapshot with the CNN detector, except the tracks currently identified as a watchlist person
            (:func:`~faceplane.redact.blur_faces`). ``face.unknown``, ``visitor.new``, line and zone
            events carry no snapshot at all: the unknown face is a bystander, and a count needs no picture.
        redact_video: annotated video obscures the same faces in every frame (also where a face was
            detected in the last ``REDACT_HOLD_FRAMES`` analysed frames and is not found now), then draws.
            A face the detector never finds (HOG: turned heads) cannot be obscured.
    """

    def __init__(
        self,
        *,
        engine: Engine,
        gallery: Gallery | None = None,
        watchlists: Sequence[str] = (),
        bus: EventBus | None = None,
        analyzer: Analyzer | None = None,
        policy: ShotPolicy | None = None,
        alert_gap_s: float = 10.0,
        live_view: bool = False,
        redact_snapshots: bool = True,
        redact_video: bool = True,
    ) -> None:
        if not alert_gap_s >= 0:
            raise InvalidArgumentError(f"alert_gap_s must be >= 0, got {alert_gap_s!r}")
        if watchlists and gallery is None:
            raise InvalidArgumentError("watchlists need a gallery")
        for name in watchlists:
            gallery.store.collection_id(name)  # type: ignore[union-attr]  # NotFoundError for a typo
        self.engine = engine
        self.gallery = gallery
        self.watchlists = set(watchlists)
        self.bus = bus or EventBus()
        self.publisher = EventPublisher(self.bus)
        self.analyzer = analyzer or LocalAnalyzer()
        self.policy = policy or ShotPolicy()
        self.live_view = live_view
        self.redact_snapshots = redact_snapshots
        self.redact_video = redact_video
        self.alerts = WatchlistAlerts(  # one alert per watchlist person's visit to a camera
            is_watched=lambda collection: collection in self.watchlists,  # the set may be replaced (Ray workers)
            alert_gap_s=alert_gap_s,
            emit=self._emit,
            redact=redact_snapshots,
        )
        self.visitors = (
            VisitorBook(same_face_distance=gallery.calibration.threshold_at_far(SAME_VISITOR_FAR))
            if gallery is not None
            else VisitorBook()
        )
        self.keep_unknown = gallery is not None
        self.cameras: list[CameraState] = []
        # plain numbers for GET /metrics: face detection per frame (timed in the analyzer, which may be another
        # process) and each batched embedding call
        self.detect_latency = LatencyHistogram()
        self.embed_latency = LatencyHistogram()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._running = threading.Event()

    def add_camera(
        self,
        source: VideoSource,
        *,
        lines: Sequence[Line] = (),
        zones: Sequence[Zone] = (),
        annotate_to: str | None = None,
        people: bool = False,
        objects: ObjectSettings | None = None,
        fixed_camera: bool = True,
        event_namespace: str | None = None,
        match: MatchThreshold | None = None,
    ) -> None:
        """Add a camera.

        Args:
            source: where its frames come from (its ``camera`` id must be unique).
            lines: counting lines; zones: dwell zones (pixels or frame fractions).
            annotate_to: write an annotated MP4 here.
            people: also detect and track people: short for ``objects=ObjectSettings(("person",))``.
            objects: also detect and track these objects (people, cars...), one tracker per class; lines
                and zones then apply to the object tracks (bottom centre of the box) instead of face tracks
                (centre), and a face inside a person's box belongs to that person (counted once, named).
            fixed_camera: the camera does not move: with the HOG people detector, person boxes on the static
                background (a poster, a coat stand) are dropped with a MOG2 background model.
            event_namespace: a UUID string that, with what happened, makes the events' ids (default: a new
                one). A worker restarted with the same namespace on the same source reproduces the ids.
            match: the camera's own match threshold, a target FPIR over everyone enrolled or a distance
                (:mod:`faceplane.gallery.thresholds`): it replaces the gallery's default on this camera and caps
                each collection's own. None: the gallery's thresholds.

        Raises:
            InvalidArgumentError: a duplicate camera id or a namespace that is not a UUID.
            ModelError: the object detector's model is not installed (the message names the install command).
        """
        if people and objects is None:
            objects = ObjectSettings(("person",))
        if objects is not None and objects.detector != "hog":
            from ..models.store import model_path

            model_path(objects.detector)  # now, not at every frame in a worker
        cam = CameraState(source, CameraRules(lines, zones), annotate_to, objects, 0.2 if fixed_camera else None)
        try:
            cam.namespace = uuid.UUID(event_namespace) if event_namespace else uuid.uuid4()
        except ValueError:
            raise InvalidArgumentError(f"event_namespace must be a UUID, got {event_namespace!r}") from None
        cam.identities = TrackIdentities(self.policy)
        cam.match = match
        with self._lock:
            if any(c.name == source.camera for c in self.cameras):
                raise InvalidArgumentError(f"two cameras named {source.camera!r}; give each a distinct camera id")
            self.cameras.append(cam)

    def remove_camera(self, camera: str) -> CameraSummary:
        """Stop a camera (also while :meth:`run` is going): its tracks end and their events are published.

        Raises:
            NotFoundError: no camera with that id.
        """
        cam = self._find(camera)
        cam.removing = True
        if not self._running.is_set():
            self._retire(cam)
        else:
            cam.retired.wait(30)
        return cam.summary

    def _retire(self, cam: CameraState) -> None:
        cam.source.stop()
        self._close_camera(cam)
        with self._lock:
            if cam in self.cameras:
                self.cameras.remove(cam)
        self.publisher.drain()  # its last events are out before it is reported retired
        cam.retired.set()

    def stop(self) -> None:
        """Ask :meth:`run` to finish (thread-safe)."""
        self._stop.set()

    def live_frame(self, camera: str) -> bytes | None:
        """The camera's latest annotated frame as JPEG (``live_view=True``), or None before the first one.

        Raises:
            NotFoundError: no camera with that id.
        """
        scene = self._find(camera).live_scene
        return encode_jpeg(scene(), 80) if scene is not None else None

    def _find(self, camera: str) -> CameraState:
        with self._lock:
            cam = next((c for c in self.cameras if c.name == camera), None)
        if cam is None:
            raise NotFoundError(f"no camera {camera!r}")
        return cam

    def summaries(self) -> list[CameraSummary]:
        """What each camera did so far (complete once :meth:`run` has returned or been interrupted)."""
        return [c.summary for c in self.cameras]

    def status(self) -> list[SourceStatus]:
        return [c.source.status for c in self.cameras]

    # -- the loop ---------------------------------------------------------------------------------
    def run(self, *, duration_s: float | None = None, forever: bool = False) -> list[CameraSummary]:
        """Process every camera until all sources end, :meth:`stop` is called, or ``duration_s`` passes.

        Args:
            duration_s: stop after this many seconds.
            forever: keep running when no camera is left (a server adds and removes cameras while it runs).
        """
        if not self.cameras and not forever:
            raise InvalidArgumentError("no cameras: add_camera() first")
        deadline = None if duration_s is None else time.monotonic() + duration_s
        inflight: dict[str, tuple[CameraState, Frame, Future[FrameAnalysis]]] = {}
        self._running.set()
        try:
            while not self._stop.is_set() and (deadline is None or time.monotonic() < deadline):
                self._feed(inflight)
                if not inflight:
                    if not forever and all(c.closed for c in self.cameras):
                        break
                    time.sleep(0.005)
                    continue
                done, _ = wait([f for _, _, f in inflight.values()], timeout=0.2, return_when=FIRST_COMPLETED)
                ready = [(cam, fr, fut) for cam, fr, fut in inflight.values() if fut in done]
                for cam, _, _ in ready:
                    del inflight[cam.name]
                self._step(ready)
        finally:
            self._running.clear()
            for cam in list(self.cameras):
                with camera_context(cam.name):
                    cam.source.stop()
                    self._close_camera(cam)
                    if cam.removing:
                        self._retire(cam)
            self.publisher.drain()
        return self.summaries()

    def _feed(self, inflight: dict[str, tuple[CameraState, Frame, Future[FrameAnalysis]]]) -> None:
        """Give every idle camera's next frame to the analyzer; retire removed cameras."""
        with self._lock:
            cameras = list(self.cameras)
        for cam in cameras:
            with camera_context(cam.name):
                if cam.removing and cam.name not in inflight:
                    self._retire(cam)
                elif cam.name not in inflight and not cam.closed:
                    frame = cam.source.start().read(timeout_s=0)
                    if frame is not None:
                        future = self.analyzer.submit(frame.image, objects=cam.object_settings)
                        inflight[cam.name] = (cam, frame, future)
                    elif cam.source.finished:
                        self._close_camera(cam)

    def _step(self, ready: list[tuple[CameraState, Frame, Future[FrameAnalysis]]]) -> None:
        shots: list[Shot] = []
        done: list[tuple[CameraState, Frame]] = []
        for cam, frame, fut in ready:
            with camera_context(cam.name):  # the lines of this camera's stages name it (faceplane.logs)
                try:
                    analysis = fut.result()
                except Exception:
                    log.exception("camera %s: analysis of frame %d failed", cam.name, frame.index)
                    cam.summary.errors += 1
                    continue
                self.detect_latency.observe(analysis.detect_s)
                shots += self._track(cam, frame, analysis)
                done.append((cam, frame))
        if shots:
            self._recognise(shots)
        for cam, frame in done:
            with camera_context(cam.name):
                self._finish_frame(cam, frame)

    # -- per camera stages ----------------------------------------------------------------------
    def _track(self, cam: CameraState, frame: Frame, analysis: FrameAnalysis) -> list[Shot]:
        if cam.rules is None:
            h, w = frame.image.shape[:2]
            cam.rules = cam.rules_template.in_pixels(w, h)
            cam.summary.line_counts, cam.summary.class_counts = cam.rules.counts, cam.rules.class_counts
        cam.summary.frames += 1
        faces = analysis.faces
        cam.summary.faces += len(faces)
        is_cut = cam.cuts(frame.image)
        cut = cam.faces.flush() if is_cut else []  # the tracks of the last shot end
        tracks = cam.faces.update(faces.xyxy, faces.score)
        face_tracks = np.zeros(len(faces), np.int64)
        face_tracks[tracks.det_index] = tracks.track_id
        cam.frame_faces = (faces.xyxy, face_tracks)
        shots: list[Shot] = []
        cam.labels = []
        for row in range(len(tracks)):
            tid, det = int(tracks.track_id[row]), int(tracks.det_index[row])
            box = tuple(float(v) for v in faces.xyxy[det])
            mem = cam.memory.get(tid)
            if mem is None:
                mem = cam.memory[tid] = TrackMemory(frame.t_s, frame.t_s, box)  # type: ignore[arg-type]
                cam.summary.face_tracks += 1
            mem.last_t, mem.box = frame.t_s, box  # type: ignore[assignment]
            if mem.alert is not None and mem.alert.person_id in cam.episodes:
                cam.episodes[mem.alert.person_id].last_t = frame.t_s
            quality = float(faces.quality[det])
            shot = Shot(cam, tid, analysis.chips[det], quality, mem.box, frame, faces.xyxy, face_tracks)
            if cam.identities.observe(tid, quality=quality):
                shots.append(shot)
            elif not mem.shots and (mem.spare is None or quality > mem.spare.quality):
                mem.spare = shot
        for tid in [*cut, *cam.faces.ended]:
            shots += self._end_or_last_shot(cam, tid, frame)
        if cam.objects is None:  # lines and zones count face tracks (box centre)
            points = _in_frame(anchor_points(faces.xyxy[tracks.det_index], "centre"), frame)
            self._publish_hits(cam, cam.rules.update(frame.t_s, tracks.track_id.tolist(), points))
        else:
            self._track_objects(cam, cam.objects, frame, analysis, is_cut)
        return shots

    def _track_objects(
        self, cam: CameraState, objs: ObjectTracks, frame: Frame, analysis: FrameAnalysis, cut: bool
    ) -> None:
        """Track this frame's objects (all end at a scene cut), link faces to people, apply the rules (feet)."""
        rules = cam.rules or CameraRules()
        ended = objs.flush() if cut else []
        tracked = cam.tracked = objs.update(frame.image, analysis.objects)
        for tid in [*ended, *objs.ended]:
            self._publish_hits(cam, rules.end(tid, frame.t_s))
            cam.persons.person_ended(tid)
        boxes, face_ids = cam.frame_faces
        rows = np.flatnonzero(face_ids > 0)
        people = [i for i, name in enumerate(tracked.classes) if name == "person"]
        link = link_faces_to_people(boxes[rows], tracked.xyxy[people])
        faces_in = face_ids[rows][link >= 0].tolist()
        persons = tracked.track_id[people][link[link >= 0]].tolist()
        cam.persons.link(faces_in, persons, {f: cam.identities.get(f).person for f in faces_in})
        cam.summary.object_tracks = objs.counted(PEOPLE_MIN_FRAMES)
        cam.summary.people_tracks = cam.summary.object_tracks.get("person", 0)
        points = _in_frame(anchor_points(tracked.xyxy, "bottom"), frame)
        self._publish_hits(cam, rules.update(frame.t_s, tracked.track_id.tolist(), points, tracked.classes))

    def _end_or_last_shot(self, cam: CameraState, tid: int, frame: Frame) -> list[Shot]:
        """End a track now, or first embed its best shot if none was embedded (every track gets an answer)."""
        mem = cam.memory.get(tid)
        state = cam.identities.get(tid)
        if mem is not None and mem.spare is not None and state.embedded == 0:
            return [replace(mem.spare, final=True)]
        self._end_face_track(cam, tid, frame)
        return []

    def _recognise(self, shots: list[Shot]) -> None:
        chips = np.stack([s.chip for s in shots])
        start = time.perf_counter()
        embeddings = self.engine.embed_chips(chips)
        self.embed_latency.observe(time.perf_counter() - start)
        if self.gallery is not None and len(self.gallery.index):
            results = self._camera_thresholds(shots, self.gallery.search(embeddings, k=3))
        else:
            results = [Identification([], 0.0) for _ in shots]
        for shot, emb, result in zip(shots, embeddings, results, strict=True):
            cam = shot.camera
            cam.summary.embeddings += 1
            mem = cam.memory.get(shot.track_id)
            if mem is None:  # the track ended while its shot was being embedded
                continue
            mem.shots.append((shot.quality, shot.chip, emb))
            _, after = cam.identities.add_result(shot.track_id, result)
            cam.persons.learn(shot.track_id, after)  # the person track around this face takes its name
            self.alerts.update(cam, shot, mem, after)
            if shot.final:
                self._end_face_track(cam, shot.track_id, shot.frame)

    def _camera_thresholds(self, shots: list[Shot], results: list[Identification]) -> list[Identification]:
        """Each shot's search held to its camera's own threshold, where it has one: it replaces the default
        and caps every collection's own (:func:`~faceplane.gallery.thresholds.effective_distance`)."""
        if self.gallery is None or all(s.camera.match is None for s in shots):
            return results
        people = self.gallery.store.count_people()  # a camera's FPIR is over everyone it searches
        out = []
        for shot, result in zip(shots, results, strict=True):
            if shot.camera.match is None:
                out.append(result)
                continue
            limit = shot.camera.match.distance_for(self.gallery.calibration, people)
            own = {c: effective_distance(result.threshold, d, limit) for c, d in result.collection_thresholds.items()}
            out.append(replace(result, threshold=limit, collection_thresholds=own))
        return out

    def _emit(
        self,
        cam: CameraState,
        event: Event,
        snapshot: Callable[[], bytes] | None = None,
        *,
        then: Callable[[], None] | None = None,
    ) -> None:
        """Count an event in the camera's summary and publish it under its deterministic id.

        The id is a function of the camera's event namespace and what happened where on the source's
        timeline (kind, track, media time, rule, person), so a worker that restarts a file or clip with
        the same namespace produces the same ids, and the store keeps each event once.
        """
        cam.summary.events[event.kind] += 1
        what = f"{event.kind}|{event.track_id}|{event.t_s:.3f}|{event.rule}|{event.person_id}|{event.direction}"
        event = replace(event, id=uuid.uuid5(cam.namespace, what).hex)
        self.publisher.publish(event, snapshot, then)  # in order, off the loop thread

    def _end_face_track(self, cam: CameraState, tid: int, frame: Frame) -> None:
        mem = cam.memory.pop(tid, None)
        state = cam.identities.end(tid)
        if mem is None:
            return
        cam.persons.face_ended(tid)
        if cam.objects is None:
            self._publish_hits(cam, cam.rules.end(tid, frame.t_s) if cam.rules else [])
        if mem.alert is not None:
            self.alerts.leave(cam, mem.alert.person_id, tid, mem.last_t)
        if not mem.shots:
            return
        quality, chip, emb = max(mem.shots, key=lambda s: s[0])
        person = state.person if state is not None else None
        if self.visitors.see(frame.wall_s, person.person_id if person else None, emb):
            self._simple_event("visitor.new", cam, tid, mem, person)
        if person is None and self.keep_unknown and self.gallery is not None:
            self.gallery.add_unknown_embeddings(emb[None], chip[None], source=cam.name, qualities=[float(quality)])
            self._simple_event("face.unknown", cam, tid, mem, None)

    def _simple_event(self, kind: str, cam: CameraState, tid: int, mem: TrackMemory, who: Candidate | None) -> None:
        fields: dict[str, object] = {"box": mem.box, "dwell_s": round(mem.last_t - mem.first_t, 3)}
        if who is not None:
            fields.update(person_id=who.person_id, person_name=who.display_name, collection=who.collection)
        self._emit(cam, Event.new(kind, camera=cam.name, t_s=mem.last_t, track_id=tid, **fields))

    def _publish_hits(self, cam: CameraState, hits: list[RuleHit]) -> None:
        """Rule hits as events; a person track's events name the person its faces were recognised as."""
        for hit in hits:
            fields: dict[str, object] = {}
            who = cam.persons.who(hit.track_id) if hit.object_class == "person" else None
            if who is not None:
                fields.update(person_id=who.person_id, person_name=who.display_name, collection=who.collection)
            self._emit(
                cam,
                Event.new(
                    hit.kind,
                    camera=cam.name,
                    t_s=hit.t_s,
                    track_id=hit.track_id,
                    rule=hit.rule,
                    direction=hit.direction,
                    dwell_s=None if hit.dwell_s is None else round(hit.dwell_s, 3),
                    object_class=hit.object_class,
                    **fields,
                ),
            )

    def _finish_frame(self, cam: CameraState, frame: Frame) -> None:
        self.alerts.close_gone(cam, frame.t_s)
        if cam.writer is None and not self.live_view:
            return
        for tid, mem in cam.memory.items():
            if mem.last_t != frame.t_s:
                continue
            state = cam.identities.get(tid)
            person, searched = state.person, state.searched
            if person is None:
                cam.labels.append(
                    Label(mem.box, f"#{tid} unknown" if searched else f"#{tid}", "unknown" if searched else "pending")
                )
            else:
                status = "watchlist" if person.collection in self.watchlists else "known"
                cam.labels.append(Label(mem.box, f"#{tid} {person.display_name} {person.distance:.2f}", status))
        if cam.objects is not None:
            cam.labels += object_labels(cam.tracked, cam.persons, self.watchlists)
        rules = cam.rules or CameraRules()
        header = f"{cam.name}  t={frame.t_s:6.1f}s  visitors={self.visitors.count}"
        for name, n in cam.summary.object_tracks.items():
            header += f"  {'people' if name == 'person' else name}={n}"
        counts = {line: dict(c) for line, c in rules.counts.items()}  # a copy: the live view draws later
        per_class = {line: {k: dict(v) for k, v in c.items()} for line, c in rules.class_counts.items()}
        scene = partial(
            draw, labels=list(cam.labels), lines=rules.lines, zones=rules.zones, counts=counts, class_counts=per_class
        )
        if cam.writer is not None:
            labels = cam.labels
            if self.redact_video:  # a stored video names watchlist matches only; others are "#id known"
                labels = [anonymous(lb) for lb in labels]
            image = redacted_frame(cam, frame) if self.redact_video else frame.image
            cam.writer.write(scene(image, header=header, labels=labels))
        if self.live_view:  # drawn and encoded only when someone asks (live_frame), not for every frame
            cam.live_scene = partial(scene, frame.image, header=header)

    def _close_camera(self, cam: CameraState) -> None:
        if cam.closed:
            return
        cam.closed = True
        t_s = max((m.last_t for m in cam.memory.values()), default=0.0)
        last = Frame(cam.name, -1, t_s, time.time(), np.zeros((1, 1, 3), np.uint8))
        finals = [shot for tid in cam.faces.flush() for shot in self._end_or_last_shot(cam, tid, last)]
        if finals:
            self._recognise(finals)
        for tid in list(cam.memory):  # anything left (should be nothing)
            self._end_face_track(cam, tid, last)
        self.alerts.close_gone(cam, t_s, all_=True)
        if cam.objects is not None and cam.rules is not None:
            for tid in cam.objects.flush():
                self._publish_hits(cam, cam.rules.end(tid, t_s))
                cam.persons.person_ended(tid)
        if cam.writer is not None:
            cam.writer.close()
        cam.summary.status = cam.source.status
        s = cam.summary
        with camera_context(cam.name):
            log.info("camera %s closed: %d frames analysed, %d events", cam.name, s.frames, sum(s.events.values()))


def _in_frame(points: npt.NDArray[np.float64], frame: Frame) -> npt.NDArray[np.float64]:
    """(N, 2) anchor points moved onto the frame's last pixel row or column when beyond it: the feet of a
    person cut off by the bottom edge are at y = H, on the border of a whole-frame zone, not outside it."""
    h, w = frame.image.shape[:2]
    return np.clip(points, 0.0, [w - 1.0, h - 1.0])
