"""Faces in uploaded photos: detect, analyse, verify 1:1 and identify 1:N (``routes/faces.py``).

The stateless use cases of the engine, plus the one search of a photo against the gallery. The audit row of
each call is the route's (it knows the caller and their address).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from ..gallery.gallery import Gallery
from ..gallery.records import Identification
from ..pipeline import Engine
from ..pose import head_pose
from ..types import Faces, Match

__all__ = ["FacesService"]


class FacesService:
    """Detection, analysis, verification and identification of the faces of one photo.

    ``engine_68`` returns the 68-landmark engine (loaded on first use by the liveness service, which shares it).
    """

    def __init__(self, *, gallery: Gallery, engine_68: Callable[[], Engine]) -> None:
        self.gallery = gallery
        self.engine: Engine = gallery.engine
        self._engine_68 = engine_68

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
