"""The state of one camera in the video engine, and what it did during a run.

:class:`CameraSummary` is the record a run returns per camera. :class:`CameraState` holds everything
the engine keeps per camera between frames (trackers, identities, rules, alert episodes, the
annotated video writer); :class:`Shot`, :class:`TrackMemory` and :class:`Episode` are its parts. The
engine's loop (:mod:`.engine`) reads and updates them; nothing here runs a model or publishes events.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from ..gallery.records import Candidate
from ..gallery.thresholds import MatchThreshold
from ..types import Frame
from .analyzer import ObjectSettings
from .annotate import Label, VideoWriter
from .cuts import CutDetector
from .object_tracks import ObjectTracks, PersonIdentities, TrackedObjects
from .recognise import TrackIdentities
from .rules import CameraRules
from .sources import SourceStatus, VideoSource
from .tracker import Tracker

__all__ = ["REDACT_HOLD_FRAMES", "CameraState", "CameraSummary", "Episode", "Shot", "TrackMemory"]

#: Annotated video (redacted) keeps obscuring a bystander's face where it was for this many analysed
#: frames after the detector lost it (HOG flickers on a turning face: Hamilton clip, 7.6-7.8 s).
REDACT_HOLD_FRAMES = 2


@dataclass
class CameraSummary:
    """What a camera did during a run."""

    camera: str
    frames: int = 0
    faces: int = 0
    face_tracks: int = 0
    embeddings: int = 0
    people_tracks: int = 0
    object_tracks: dict[str, int] = field(default_factory=dict)  # class -> tracks seen in >= engine.PEOPLE_MIN_FRAMES
    events: Counter[str] = field(default_factory=Counter)
    line_counts: dict[str, dict[str, int]] = field(default_factory=dict)  # line -> {"in": n, "out": n}
    class_counts: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)  # line -> class -> in/out
    alert_latency_s: list[float] = field(default_factory=list)  # frame decoded -> watchlist.start published
    errors: int = 0
    status: SourceStatus | None = None


@dataclass
class Shot:
    camera: CameraState
    track_id: int
    chip: npt.NDArray[np.uint8]
    quality: float
    box: tuple[float, float, float, float]
    frame: Frame
    faces: npt.NDArray[np.float32]  # (N, 4) xyxy pixels: every face detected in ``frame`` (for redaction)
    face_tracks: npt.NDArray[np.int64]  # (N,) their face track ids, 0 for a detection not (yet) tracked
    final: bool = False  # the last chance of a track that ended unembedded: end it after the search


@dataclass
class TrackMemory:
    first_t: float
    last_t: float
    box: tuple[float, float, float, float]
    shots: list[tuple[float, npt.NDArray[np.uint8], npt.NDArray[np.float32]]] = field(default_factory=list)
    alert: Candidate | None = None  # the watchlist person announced for this track
    spare: Shot | None = None  # the best shot not embedded, used if the track ends without any


@dataclass
class Episode:
    """One watchlist alert on one camera: a person's visit, over one or more tracks."""

    who: Candidate  # best match so far (its shot is the latest snapshot)
    first_t: float
    last_t: float
    tracks: set[int]  # tracks of this person still alive
    last_track: int


class CameraState:
    """The state of one camera: trackers, identities, rules, annotation."""

    def __init__(
        self,
        source: VideoSource,
        rules: CameraRules,
        annotate_to: str | None,
        objects: ObjectSettings | None,
        foreground: float | None,
    ):
        self.source = source
        self.name = source.camera
        self.namespace = uuid.uuid4()  # event ids (see VideoEngine._emit)
        self.rules_template = rules
        self.rules: CameraRules | None = None  # resolved to pixels on the first frame
        ids = itertools.count(1)  # one id counter for every tracker: a track id names one track of the camera
        self.faces = Tracker(high_score=0.0, low_score=0.0, match_iou=0.1, min_hits=2, max_age=10, ids=ids)
        self.cuts = CutDetector()  # tracks end at a scene cut rather than run across it
        self.object_settings = objects
        self.objects = ObjectTracks(objects, ids=ids, foreground=foreground) if objects is not None else None
        self.tracked = TrackedObjects(np.zeros((0, 4), np.float32), np.zeros(0, np.int64), ())  # this frame's
        self.persons = PersonIdentities()  # who each person track is, from the face tracks inside it
        self.identities = TrackIdentities()
        self.memory: dict[int, TrackMemory] = {}
        self.writer = VideoWriter(annotate_to, fps=source.fps or 25.0) if annotate_to else None
        self.summary = CameraSummary(self.name)
        self.labels: list[Label] = []
        self.frame_faces = (np.zeros((0, 4), np.float32), np.zeros(0, np.int64))  # as Shot.faces/face_tracks
        self.held_faces: deque[npt.NDArray[np.float32]] = deque(maxlen=REDACT_HOLD_FRAMES)  # (K, 4) hidden boxes
        self.episodes: dict[int, Episode] = {}  # person id -> open watchlist alert
        self.match: MatchThreshold | None = None  # the camera's own threshold (None: the gallery's)
        self.live_scene: Callable[[], npt.NDArray[np.uint8]] | None = None  # draws the latest analysed frame
        self.closed = False
        self.removing = False
        self.retired = threading.Event()
