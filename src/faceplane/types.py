"""Core data types: one object carries every face found in one image.

:class:`Faces` follows supervision's ``Detections``: parallel numpy arrays, one row per face,
filtered like numpy (``faces[faces.score > 0.5]``). Stages return new objects; nobody mutates
a caller's data.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["COCO_CLASSES", "EMBEDDING_DIM", "Faces", "Frame", "Match", "Objects"]

#: Length of a face embedding from the dlib ResNet descriptor.
EMBEDDING_DIM = 128

_F32 = npt.NDArray[np.float32]
_I64 = npt.NDArray[np.int64]


def _as_f32(value: Any, shape_tail: tuple[int, ...], name: str) -> _F32:
    arr = np.asarray(value, dtype=np.float32)
    if arr.ndim != 1 + len(shape_tail) or tuple(arr.shape[1:]) != shape_tail:
        raise ValueError(f"{name} must have shape (N, {', '.join(map(str, shape_tail))}), got {arr.shape}")
    return arr


@dataclass(frozen=True)
class Faces:
    """Faces found in one image, as parallel arrays (row ``i`` of each is face ``i``).

    Attributes:
        xyxy: (N, 4) float32, pixels, ``x1, y1, x2, y2`` with exclusive right/bottom edges.
        score: (N,) float32, the detector's confidence (HOG: SVM margin; CNN: MMOD score).
        landmarks: (N, P, 2) float32 pixels ``x, y``; P = 5 or 68, or 0 when not computed.
        embedding: (N, 128) float32 descriptors, or (N, 0) when not computed.
        quality: (N,) float32 in [0, 1]; NaN when not computed.

    Example:
        >>> faces = Faces.empty()
        >>> len(faces)
        0
    """

    xyxy: _F32
    score: _F32
    landmarks: _F32 = field(default_factory=lambda: np.zeros((0, 0, 2), np.float32))
    embedding: _F32 = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    quality: _F32 = field(default_factory=lambda: np.zeros((0,), np.float32))

    def __post_init__(self) -> None:
        xyxy = _as_f32(self.xyxy, (4,), "xyxy")
        n = len(xyxy)
        score = np.asarray(self.score, dtype=np.float32).reshape(-1)
        lm = np.asarray(self.landmarks, dtype=np.float32)
        if lm.size == 0:
            lm = np.zeros((n, 0, 2), np.float32)
        emb = np.asarray(self.embedding, dtype=np.float32)
        if emb.size == 0:
            emb = np.zeros((n, 0), np.float32)
        quality = np.asarray(self.quality, dtype=np.float32).reshape(-1)
        if quality.size == 0:
            quality = np.full((n,), np.nan, np.float32)
        for name, arr in (("score", score), ("landmarks", lm), ("embedding", emb), ("quality", quality)):
            if len(arr) != n:
                raise ValueError(f"Faces.{name} has {len(arr)} rows but xyxy has {n}")
        if lm.ndim != 3 or lm.shape[2] != 2:
            raise ValueError(f"Faces.landmarks must have shape (N, P, 2), got {lm.shape}")
        if emb.ndim != 2:
            raise ValueError(f"Faces.embedding must have shape (N, D), got {emb.shape}")
        object.__setattr__(self, "xyxy", xyxy)
        object.__setattr__(self, "score", score)
        object.__setattr__(self, "landmarks", lm)
        object.__setattr__(self, "embedding", emb)
        object.__setattr__(self, "quality", quality)

    @classmethod
    def empty(cls) -> Faces:
        """No faces."""
        return cls(xyxy=np.zeros((0, 4), np.float32), score=np.zeros((0,), np.float32))

    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, index: Any) -> Faces:
        """Select faces with an int, slice, index array or boolean mask; always returns Faces."""
        if isinstance(index, (int, np.integer)):
            index = [int(index)]
        return Faces(
            xyxy=self.xyxy[index],
            score=self.score[index],
            landmarks=self.landmarks[index],
            embedding=self.embedding[index],
            quality=self.quality[index],
        )

    @property
    def area(self) -> _F32:
        """(N,) float32 box areas in square pixels."""
        wh = np.clip(self.xyxy[:, 2:] - self.xyxy[:, :2], 0, None)
        return (wh[:, 0] * wh[:, 1]).astype(np.float32)

    @property
    def has_embeddings(self) -> bool:
        """True when every face carries a descriptor."""
        return self.embedding.shape[1] > 0

    def with_(self, **changes: Any) -> Faces:
        """A copy with some fields replaced (``dataclasses.replace``)."""
        return replace(self, **changes)

    def largest_first(self) -> Faces:
        """The same faces ordered by box area, largest first (stable)."""
        order = np.argsort(-self.area, kind="stable")
        return self[order]


@dataclass(frozen=True)
class Match:
    """The result of comparing two faces (1:1 verification).

    Attributes:
        distance: Euclidean distance between the two embeddings (lower is more alike).
        threshold: the distance at or below which the pair is called the same person.
        is_match: ``distance <= threshold``.
        far_target: the false-accept rate the threshold was calibrated for, if any.
    """

    distance: float
    threshold: float
    is_match: bool
    far_target: float | None = None

    @property
    def similarity(self) -> float:
        """A 0..1 similarity for display: 1 - distance / 2, clipped (embeddings have norm ~1)."""
        return float(min(1.0, max(0.0, 1.0 - self.distance / 2.0)))


@dataclass(frozen=True, eq=False)
class Frame:
    """One decoded video frame handed from a source to the analysis loop.

    Attributes:
        camera: the source's camera id.
        index: 0-based index of this frame among all frames the source decoded (gaps = frames skipped).
        t_s: seconds on the source's timeline: media time for files, time since the source started for
            live streams (continuous across reconnects).
        wall_s: Unix time when the frame was decoded (seconds).
        image: (H, W, 3) uint8 RGB pixels.
    """

    camera: str
    index: int
    t_s: float
    wall_s: float
    image: npt.NDArray[np.uint8]


#: The 80 COCO object classes in the usual contiguous order (``class_id`` indexes this tuple).
COCO_CLASSES: tuple[str, ...] = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
    "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
    "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
    "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard",
    "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush",
)  # fmt: skip


@dataclass(frozen=True)
class Objects:
    """Objects found in one image, as parallel arrays (row ``i`` of each is object ``i``).

    Attributes:
        xyxy: (N, 4) float32, pixels of the input image, ``x1, y1, x2, y2``.
        score: (N,) float32 in [0, 1], the detector's class confidence.
        class_id: (N,) int64, index into :data:`COCO_CLASSES`.

    Example:
        >>> objs = Objects.empty()
        >>> len(objs), objs.names
        (0, [])
    """

    xyxy: _F32
    score: _F32
    class_id: _I64

    def __post_init__(self) -> None:
        xyxy = np.asarray(self.xyxy, dtype=np.float32)
        if xyxy.ndim != 2 or xyxy.shape[1] != 4:
            raise ValueError(f"Objects.xyxy must have shape (N, 4), got {xyxy.shape}")
        score = np.asarray(self.score, dtype=np.float32).reshape(-1)
        class_id = np.asarray(self.class_id, dtype=np.int64).reshape(-1)
        for name, arr in (("score", score), ("class_id", class_id)):
            if len(arr) != len(xyxy):
                raise ValueError(f"Objects.{name} has {len(arr)} rows but xyxy has {len(xyxy)}")
        if class_id.size and (class_id.min() < 0 or class_id.max() >= len(COCO_CLASSES)):
            raise ValueError(f"Objects.class_id must index COCO_CLASSES (0..{len(COCO_CLASSES) - 1})")
        object.__setattr__(self, "xyxy", xyxy)
        object.__setattr__(self, "score", score)
        object.__setattr__(self, "class_id", class_id)

    @classmethod
    def empty(cls) -> Objects:
        """No objects."""
        return cls(np.zeros((0, 4), np.float32), np.zeros((0,), np.float32), np.zeros((0,), np.int64))

    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, index: Any) -> Objects:
        """Select objects with an int, slice, index array or boolean mask; always returns Objects."""
        if isinstance(index, (int, np.integer)):
            index = [int(index)]
        return Objects(self.xyxy[index], self.score[index], self.class_id[index])

    @property
    def names(self) -> list[str]:
        """The class name of each object (``"person"``, ``"car"``...)."""
        return [COCO_CLASSES[int(c)] for c in self.class_id]
