"""Unique visitors per period, counted across a video engine's cameras.

A visitor is one enrolled person, or one distinct unknown face (two unknown faces closer than a
distance are the same visitor). Kept apart from :mod:`.engine`: the book is plain bookkeeping over
embeddings, shared by every camera of an engine, and knows nothing of frames or tracks.
"""

from __future__ import annotations

import threading

import numpy as np
import numpy.typing as npt

from ..errors import InvalidArgumentError

__all__ = ["VisitorBook"]


class VisitorBook:
    """Unique visitors per period: one per enrolled person, or per distinct unknown face.

    Args:
        period_s: visitors are counted per period of Unix time (default one UTC day).
        same_face_distance: two unknown faces closer than this are the same visitor (the video engine
            passes its gallery's calibrated 1:1 threshold at FAR 3e-4; 0.5 suits raw dlib descriptors).
    """

    def __init__(self, *, period_s: float = 86400.0, same_face_distance: float = 0.5) -> None:
        if not period_s > 0:
            raise InvalidArgumentError(f"period_s must be > 0, got {period_s}")
        self.period_s = period_s
        self.same_face_distance = same_face_distance
        self._period = -1
        self._people: set[int] = set()
        self._faces = np.zeros((0, 0), np.float32)
        self._lock = threading.Lock()

    def see(self, wall_s: float, person_id: int | None, embedding: npt.NDArray[np.float32]) -> bool:
        """True when this is a visitor not yet seen in the current period."""
        with self._lock:
            period = int(wall_s // self.period_s)
            if period != self._period:
                self._period, self._people, self._faces = period, set(), np.zeros((0, 0), np.float32)
            if person_id is not None:
                new = person_id not in self._people
                self._people.add(person_id)
                return new
            emb = np.asarray(embedding, np.float32).reshape(1, -1)
            if len(self._faces) and float(np.linalg.norm(self._faces - emb, axis=1).min()) < self.same_face_distance:
                return False
            self._faces = np.concatenate([self._faces, emb]) if len(self._faces) else emb
            return True

    @property
    def count(self) -> int:
        with self._lock:
            return len(self._people) + len(self._faces)
