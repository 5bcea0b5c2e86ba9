"""faceplane: self-hosted face recognition.

The small API most users need::

    import faceplane
    engine = faceplane.Engine()
    faces = engine.analyze("photo.jpg")          # Faces: xyxy, score, landmarks, quality, embedding
    match = engine.verify("a.jpg", "b.jpg")      # Match: distance, threshold, is_match
    gallery = faceplane.Gallery.open("faceplane-data")   # 1:N: collections -> people -> templates
    faceplane.face_distance(faces.embedding, other.embedding)

People and vehicles: ``faceplane.ObjectDetector().detect(rgb)`` -> :class:`Objects` (COCO classes).

Video analytics (sources, tracking, recognition per track, rules, events) is in
:mod:`faceplane.video`; events and their store in :mod:`faceplane.events`.

Nothing is loaded at import; models load on first use.
"""

from __future__ import annotations

from .errors import (
    FaceplaneError,
    ImageError,
    ImageNotFoundError,
    ImageTooLargeError,
    InvalidArgumentError,
    InvalidImageError,
    ModelError,
    NotFoundError,
    SourceError,
)
from .gallery import Gallery
from .images import load_image
from .objects import ObjectDetector, Objects
from .pipeline import Engine, NoFaceError
from .quality import QualityReport, assess_quality
from .types import EMBEDDING_DIM, Faces, Frame, Match
from .verify import Calibration, face_distance, load_calibration, verify_embeddings

__version__ = "0.1.0"

__all__ = [
    "EMBEDDING_DIM",
    "Calibration",
    "Engine",
    "FaceplaneError",
    "Faces",
    "Frame",
    "Gallery",
    "ImageError",
    "ImageNotFoundError",
    "ImageTooLargeError",
    "InvalidArgumentError",
    "InvalidImageError",
    "Match",
    "ModelError",
    "NoFaceError",
    "NotFoundError",
    "ObjectDetector",
    "Objects",
    "QualityReport",
    "SourceError",
    "__version__",
    "assess_quality",
    "face_distance",
    "load_calibration",
    "load_image",
    "verify_embeddings",
]
