"""Object tracks of one camera: one tracker per class, one id counter, and the faces inside people.

People, cars and the other classes a camera asks for are tracked with the same
:class:`~faceplane.video.tracker.Tracker`, one per class (a car never continues a person's track), and
the trackers share one id counter with the camera's face tracker, so a track id names one track of a
camera whatever its class (events identify tracks by camera and id).

A face belongs to the person whose box holds it (:func:`link_faces_to_people`); a person track then
carries the identity of the face tracks linked to it (:class:`PersonIdentities`), so a person keeps
their name when their face track breaks (turned away, occluded) and a new one starts.

Example:
    >>> link_faces_to_people(np.array([[40, 10, 60, 30]]), np.array([[0, 0, 100, 200], [30, 0, 70, 90]])).tolist()
    [1]
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..gallery.records import Candidate
from ..objects import COCO_CLASSES, Objects
from .analyzer import ObjectSettings, hog_score
from .annotate import Label
from .appearance import DESCRIPTOR_SIZE, Reid, describe
from .tracker import Tracker

__all__ = [
    "REID_SETTINGS",
    "TRACKER_SETTINGS",
    "ObjectTracks",
    "PersonIdentities",
    "TrackedObjects",
    "link_faces_to_people",
    "object_labels",
]

log = logging.getLogger(__name__)

_F32 = npt.NDArray[np.float32]
_I64 = npt.NDArray[np.int64]

#: Tracker settings per detector (scores in [0, 1]). The CNNs': the best of bench/counting.py's grid on
#: TUD-Campus only (--tune: a count within 15% of the truth, then MOTA), PETS09-S2L1 held out; NanoDet's
#: person scores run higher. HOG: the people counting settings tuned on PETS09-S2L1 and TUD-Campus, margins
#: 0.8 and 0.0 mapped by :func:`~faceplane.video.analyzer.hog_score`.
TRACKER_SETTINGS: dict[str, dict[str, float]] = {
    "nanodet": {"high_score": 0.6, "low_score": 0.2, "match_iou": 0.3, "min_hits": 2, "max_age": 30},
    "centernet": {"high_score": 0.5, "low_score": 0.2, "match_iou": 0.3, "min_hits": 2, "max_age": 30},
    "hog": {"high_score": float(hog_score(0.8)), "low_score": 0.0, "match_iou": 0.2, "min_hits": 3, "max_age": 30},
}
#: Appearance re-identification of person tracks per detector (:class:`~faceplane.video.appearance.Reid`;
#: None: off). NanoDet's: chosen with bench/counting.py on TUD-Campus and the first half of PETS09-S2L1
#: (frames 0-396) at every frame and at 5 fps; the second half is the held-out figure. A gate of 0.4
#: merges two people on TUD-Campus (one leaving right, one entering left), 0.3 does not. The others are
#: not measured: off. Faces (the engine's face tracker) have none: the descriptor is a body's torso and legs.
REID_SETTINGS: dict[str, Reid | None] = {
    "nanodet": Reid(max_distance=0.4, gate=0.3, momentum=0.9),
    "centernet": None,
    "hog": None,
}
#: A face's centre must lie in this top fraction of a person's box to be that person's face.
FACE_IN_UPPER = 0.5


def link_faces_to_people(face_xyxy: npt.ArrayLike, person_xyxy: npt.ArrayLike) -> _I64:
    """Which person each face belongs to.

    A face belongs to a person when the face's centre is inside the person's box, in its upper half
    (:data:`FACE_IN_UPPER`: a standing person's face is near the top, an upper-body close-up's a little
    lower), and the face is not wider than the person. Among several such people the one that holds
    the largest share of the face box wins, then the smaller person box (the nearer fit).

    Args:
        face_xyxy: (F, 4) float pixels.
        person_xyxy: (P, 4) float pixels.

    Returns:
        (F,) int64: the row of the face's person in ``person_xyxy``, or -1 for none.

    Example:
        >>> link_faces_to_people(np.array([[40, 150, 60, 170]]), np.array([[0, 0, 100, 200]])).tolist()
        [-1]
    """
    faces = np.asarray(face_xyxy, np.float64).reshape(-1, 4)
    people = np.asarray(person_xyxy, np.float64).reshape(-1, 4)
    if not len(faces) or not len(people):
        return np.full(len(faces), -1, np.int64)
    f, p = faces[:, None, :], people[None, :, :]
    cx, cy = (f[..., 0] + f[..., 2]) / 2, (f[..., 1] + f[..., 3]) / 2
    upper = p[..., 1] + FACE_IN_UPPER * (p[..., 3] - p[..., 1])
    holds = (cx >= p[..., 0]) & (cx <= p[..., 2]) & (cy >= p[..., 1]) & (cy <= upper)
    holds &= f[..., 2] - f[..., 0] <= p[..., 2] - p[..., 0]
    iw = np.clip(np.minimum(f[..., 2], p[..., 2]) - np.maximum(f[..., 0], p[..., 0]), 0, None)
    ih = np.clip(np.minimum(f[..., 3], p[..., 3]) - np.maximum(f[..., 1], p[..., 1]), 0, None)
    face_area = np.maximum((f[..., 2] - f[..., 0]) * (f[..., 3] - f[..., 1]), 1e-9)
    share = iw * ih / face_area  # (F, P) the part of the face box inside the person box
    person_area = (people[:, 2] - people[:, 0]) * (people[:, 3] - people[:, 1])
    out = np.full(len(faces), -1, np.int64)
    for i in np.flatnonzero(holds.any(axis=1)):  # a few faces a frame
        rows = np.flatnonzero(holds[i])
        out[i] = rows[np.lexsort((person_area[rows], -share[i, rows]))[0]]  # best share, then smaller person
    return out


def _tracker(family: str, name: str, ids: Iterator[int]) -> Tracker:
    s = TRACKER_SETTINGS[family]
    return Tracker(
        high_score=s["high_score"],
        low_score=s["low_score"],
        match_iou=s["match_iou"],
        min_hits=int(s["min_hits"]),
        max_age=int(s["max_age"]),
        ids=ids,
        reid=REID_SETTINGS[family] if name == "person" else None,
    )


def _appearance(tracker: Tracker, image: npt.NDArray[np.uint8], objects: Objects) -> _F32 | None:
    """What the tracker's re-identification reads: descriptors of the boxes that may start or take back a track."""
    if tracker.reid is None:
        return None
    out = np.zeros((len(objects), DESCRIPTOR_SIZE), np.float32)
    strong = objects.score >= tracker.high_score  # weaker boxes only extend tracks: not worth describing
    out[strong] = describe(image, objects.xyxy[strong])
    return out


@dataclass(frozen=True)
class TrackedObjects:
    """The object tracks matched in one frame, as parallel arrays (row ``i`` = track ``i``).

    Attributes:
        xyxy: (N, 4) float32 pixels, the matched detection's box.
        track_id: (N,) int64, unique per camera across classes (and face tracks).
        classes: N class names (``"person"``, ``"car"``...).
    """

    xyxy: _F32
    track_id: _I64
    classes: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.track_id)


class ObjectTracks:
    """The object trackers of one camera, fed every analysed frame in order.

    Args:
        settings: which classes and which detector (picks :data:`TRACKER_SETTINGS`).
        ids: the camera's track id counter (shared with its face tracker).
        foreground: HOG only, fixed cameras: drop person boxes with less than this share of moving pixels
            (a MOG2 background model; None: off). CNN boxes are kept: a parked car does not move.
    """

    def __init__(self, settings: ObjectSettings, *, ids: Iterator[int], foreground: float | None = None) -> None:
        family = settings.detector
        self.settings = settings
        self.trackers = {c: _tracker(family, c, ids) for c in settings.classes}
        self.ended: list[int] = []  # ids of the tracks that ended in the last update (or flush)
        self.life: Counter[int] = Counter()  # track id -> analysed frames it was matched in
        self.class_of: dict[int, str] = {}
        self._foreground = None
        if family == "hog" and foreground:
            from .people import ForegroundFilter  # stateful: must see this camera's frames in order

            self._foreground = ForegroundFilter(min_fraction=foreground)

    def update(self, image: npt.NDArray[np.uint8], objects: Objects) -> TrackedObjects:
        """Advance every class's tracker by one frame with this frame's ``objects``."""
        if self._foreground is not None:
            objects = objects[self._foreground(image, objects.xyxy)]
        boxes: list[_F32] = []
        ids: list[_I64] = []
        names: list[str] = []
        self.ended = []
        for name, tracker in self.trackers.items():
            mine = objects[objects.class_id == COCO_CLASSES.index(name)]
            tracks = tracker.update(mine.xyxy, mine.score, _appearance(tracker, image, mine))
            self.ended += tracker.ended
            boxes.append(tracks.xyxy)
            ids.append(tracks.track_id)
            names += [name] * len(tracks)
            for tid in tracks.track_id.tolist():
                self.life[tid] += 1
                self.class_of[tid] = name
        return TrackedObjects(np.concatenate(boxes), np.concatenate(ids), tuple(names))

    def flush(self) -> list[int]:
        """End every track (a scene cut, the end of the stream): their ids."""
        self.ended = sorted(tid for tracker in self.trackers.values() for tid in tracker.flush())
        return list(self.ended)

    def counted(self, min_frames: int) -> dict[str, int]:
        """Tracks per class seen in at least ``min_frames`` analysed frames (shorter ones are mostly fragments)."""
        counts = Counter(self.class_of[tid] for tid, n in self.life.items() if n >= min_frames)
        return {name: counts.get(name, 0) for name in self.settings.classes}


class PersonIdentities:
    """Which face tracks were seen inside which person track, and who that makes the person.

    :meth:`link` each frame with the faces linked to people; :meth:`learn` whenever a face track's
    identity is (re)decided. A person is the best match (smallest distance) among the identities of the
    face tracks linked to them, so a new face track that is not recognised yet does not erase a name.
    """

    def __init__(self) -> None:
        self._person_of: dict[int, int] = {}  # face track -> the person track it was last linked to
        self._faces: dict[int, dict[int, Candidate | None]] = {}  # person track -> face track -> its identity

    def link(self, face_ids: Sequence[int], person_ids: Sequence[int], known: dict[int, Candidate | None]) -> None:
        """Face track ``face_ids[i]`` is inside person track ``person_ids[i]`` now; ``known``: face identities."""
        for face, person in zip(face_ids, person_ids, strict=True):
            self._person_of[face] = person
            self._faces.setdefault(person, {})[face] = known.get(face)

    def learn(self, face_id: int, who: Candidate | None) -> None:
        """A face track's identity is now ``who`` (None: unknown)."""
        person = self._person_of.get(face_id)
        if person is not None:
            self._faces[person][face_id] = who

    def who(self, person_id: int) -> Candidate | None:
        """The person track's identity, from its face tracks, or None."""
        named = [c for c in self._faces.get(person_id, {}).values() if c is not None]
        return min(named, key=lambda c: c.distance) if named else None

    def face_ended(self, face_id: int) -> None:
        self._person_of.pop(face_id, None)

    def person_ended(self, person_id: int) -> None:
        for face in self._faces.pop(person_id, {}):
            if self._person_of.get(face) == person_id:
                del self._person_of[face]


def object_labels(tracked: TrackedObjects, persons: PersonIdentities, watchlists: set[str]) -> list[Label]:
    """Boxes to draw: ``"car #12"``, ``"person #3"``, ``"person #3 Ann Lee"`` when its face was recognised
    (in a stored video only a watchlist person is named: ``"person #3 known"``)."""
    labels = []
    for box, tid, name in zip(tracked.xyxy.tolist(), tracked.track_id.tolist(), tracked.classes, strict=True):
        caption, xyxy = f"{name} #{tid}", (box[0], box[1], box[2], box[3])
        who = persons.who(tid) if name == "person" else None
        if who is None:
            labels.append(Label(xyxy, caption, "person" if name == "person" else "object"))
        else:
            stored = None if who.collection in watchlists else f"{caption} known"
            labels.append(Label(xyxy, f"{caption} {who.display_name}", "person", stored_text=stored))
    return labels
