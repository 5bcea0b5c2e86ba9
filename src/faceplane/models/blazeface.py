"""MediaPipe's BlazeFace detector and 468-point face mesh: the optional ``faceplane[mediapipe]`` extra.

Both run the ``.tflite`` models that ship *inside* the ``mediapipe`` wheel (``mediapipe/modules/
face_detection/`` and ``mediapipe/modules/face_landmark/``) through MediaPipe's CPU graphs, so
nothing is downloaded. Only mediapipe 0.10.21 and older carry those files and the graphs around
them (the "legacy solutions"); 0.10.30 and later ship no models at all, which is why the extra pins
``mediapipe<=0.10.21`` (and with it numpy < 2). mediapipe is imported on first use, never at import.

- :class:`BlazeFaceDetector`: short-range (128x128 input, faces within ~2 m of a phone camera) or
  full-range (192x192, sparse; smaller faces further away). Boxes, scores and six keypoints.
- :class:`FaceMesh`: 468 3-D points per face (478 with ``refine=True``: iris points added). It finds
  faces with the *short-range* BlazeFace internally, so it misses small faces in group photos.

MediaPipe's C++ side logs a few lines to stderr on the first graph (XNNPACK, absl); they are not
Python warnings and carry no information for the caller.

Example:
    >>> with BlazeFaceDetector(model="full") as detector:  # doctest: +SKIP
    ...     boxes, scores = detector.detect(image)
"""

from __future__ import annotations

import logging
import threading
from importlib import util as importlib_util
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from ..errors import InvalidArgumentError, ModelError

__all__ = ["MEDIAPIPE_MODEL_FILES", "BlazeFaceDetector", "FaceMesh", "mediapipe_model_path"]

logger = logging.getLogger(__name__)

_F32 = npt.NDArray[np.float32]
_INSTALL_HINT = "pip install 'faceplane[mediapipe]'"

#: Model name -> file inside the installed ``mediapipe`` package (wheels 0.10.x up to 0.10.21).
MEDIAPIPE_MODEL_FILES: dict[str, str] = {
    "short": "modules/face_detection/face_detection_short_range.tflite",
    "full": "modules/face_detection/face_detection_full_range_sparse.tflite",
    "mesh": "modules/face_landmark/face_landmark.tflite",
    "mesh_refined": "modules/face_landmark/face_landmark_with_attention.tflite",
}
_MODEL_SELECTION = {"short": 0, "full": 1}  # mediapipe's FaceDetection(model_selection=...)
_NUM_KEYPOINTS = 6  # subject's right eye, left eye, nose tip, mouth centre, right ear tragion, left ear tragion


def mediapipe_model_path(name: str) -> Path:
    """Path of one of :data:`MEDIAPIPE_MODEL_FILES` inside the installed mediapipe (not imported).

    Raises:
        ModelError: unknown name, mediapipe not installed, or a mediapipe without bundled models.
    """
    if name not in MEDIAPIPE_MODEL_FILES:
        raise ModelError(f"unknown mediapipe model {name!r}; known: {', '.join(sorted(MEDIAPIPE_MODEL_FILES))}")
    spec = importlib_util.find_spec("mediapipe")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"mediapipe is not installed: {_INSTALL_HINT}")
    path = Path(next(iter(spec.submodule_search_locations))) / MEDIAPIPE_MODEL_FILES[name]
    if not path.is_file():
        raise ModelError(
            f"the installed mediapipe has no {path.name} (only mediapipe <= 0.10.21 bundles its face models): "
            f"{_INSTALL_HINT}"
        )
    return path


def _import_solutions() -> tuple[ModuleType, ModuleType]:
    """mediapipe's ``face_detection`` and ``face_mesh`` solution modules, or a ModelError saying why not."""
    try:
        import mediapipe
    except ImportError as exc:
        raise ModelError(f"mediapipe cannot be imported ({exc}): {_INSTALL_HINT}") from None
    try:
        from mediapipe.python.solutions import face_detection, face_mesh
    except ImportError:
        version = getattr(mediapipe, "__version__", "?")
        raise ModelError(
            f"mediapipe {version} has no face-detection solution or bundled models (removed in 0.10.30): "
            f"{_INSTALL_HINT}"
        ) from None
    return face_detection, face_mesh


def _check_rgb(image: np.ndarray) -> npt.NDArray[np.uint8]:
    if not isinstance(image, np.ndarray):
        raise InvalidArgumentError(f"expected an (H, W, 3) uint8 RGB numpy array, got {type(image).__name__}")
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise InvalidArgumentError(
            f"expected an (H, W, 3) uint8 RGB image, got shape {image.shape} dtype {image.dtype}"
        )
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise InvalidArgumentError(f"expected a non-empty image, got shape {image.shape}")
    # mediapipe copies writeable arrays and takes a reference to read-only ones, which must be contiguous.
    return np.ascontiguousarray(image)


class _Graph:
    """One lazily built mediapipe solution, serialised by a lock (a graph runs one image at a time)."""

    def __init__(self, factory: Any) -> None:
        self._factory = factory  # () -> SolutionBase; runs under the lock on first use
        self._solution: Any = None
        self._lock = threading.Lock()

    def process(self, image: np.ndarray) -> Any:
        with self._lock:
            if self._solution is None:
                self._solution = self._factory()
            try:
                return self._solution.process(image)
            except (RuntimeError, ValueError) as exc:
                raise ModelError(f"mediapipe graph failed: {exc}") from None

    def close(self) -> None:
        with self._lock:
            if self._solution is not None:
                self._solution.close()
                self._solution = None


class BlazeFaceDetector:
    """MediaPipe BlazeFace, short- or full-range, on the model inside the mediapipe wheel.

    Very fast (2 ms short-range, 6-7 ms full-range per 640x480 frame on one core). The short-range
    model is for selfie framing: it misses faces narrower than ~1/8 of the frame and "sees" a face
    in about one uniform-noise image in four (scores 0.52-0.57). The full-range model found 41-43
    of the 43 faces of dlib's example photos, most 37-53 px wide, with no false detection
    (``bench/detect_recall.py``). Its box is a little larger than dlib's hand-drawn ones (median
    IoU 0.79 with them, HOG's 0.95): mind that when matching boxes across detectors.

    Args:
        model: ``"short"`` (128x128 input) or ``"full"`` (192x192, sparse).
        min_score: the score floor built into the graph; it also feeds MediaPipe's weighted
            non-max suppression, so it is fixed per instance.

    Raises:
        InvalidArgumentError: an unknown model or a score outside [0, 1].

    Example:
        >>> boxes, scores, keypoints = BlazeFaceDetector().detect_with_keypoints(image)  # doctest: +SKIP
    """

    def __init__(self, *, model: Literal["short", "full"] = "full", min_score: float = 0.5) -> None:
        if model not in _MODEL_SELECTION:
            raise InvalidArgumentError(f"model must be 'short' or 'full', got {model!r}")
        if not 0.0 <= min_score <= 1.0:
            raise InvalidArgumentError(f"min_score must be in [0, 1], got {min_score}")
        self.model = model
        self.min_score = float(min_score)
        self._graph = _Graph(self._build)

    def _build(self) -> Any:
        face_detection, _ = _import_solutions()
        mediapipe_model_path(self.model)  # a clear ModelError rather than a graph error if it is missing
        logger.debug("building mediapipe face detection graph (%s range, min_score %.2f)", self.model, self.min_score)
        return face_detection.FaceDetection(
            min_detection_confidence=self.min_score, model_selection=_MODEL_SELECTION[self.model]
        )

    def detect(self, image: np.ndarray, *, threshold: float | None = None) -> tuple[_F32, _F32]:
        """Detect faces.

        Args:
            image: (H, W, 3) uint8 RGB.
            threshold: score to accept, at least ``min_score`` (default: ``min_score``).

        Returns:
            boxes (N, 4) float32 xyxy pixels (exclusive right/bottom; may reach past the image edges,
            like dlib's) and scores (N,) float32 in [0, 1], by score descending.

        Raises:
            InvalidArgumentError: not an (H, W, 3) uint8 image, or a threshold below ``min_score``.
            ModelError: mediapipe (with its bundled models) is not installed.
        """
        boxes, scores, _ = self.detect_with_keypoints(image, threshold=threshold)
        return boxes, scores

    def detect_with_keypoints(self, image: np.ndarray, *, threshold: float | None = None) -> tuple[_F32, _F32, _F32]:
        """Like :meth:`detect`, plus (N, 6, 2) float32 pixel keypoints of each face.

        The keypoints are the subject's right eye, left eye, nose tip, mouth centre, right ear
        tragion and left ear tragion (the subject's right eye is on the image's left).
        """
        rgb = _check_rgb(image)
        floor = self.min_score if threshold is None else float(threshold)
        if not self.min_score <= floor <= 1.0:
            raise InvalidArgumentError(
                f"threshold must be in [min_score={self.min_score}, 1], got {threshold}; "
                "build the detector with a lower min_score to see weaker faces"
            )
        result = self._graph.process(rgb)
        boxes, scores, keypoints = _parse_detections(result.detections or [], rgb.shape[1], rgb.shape[0])
        keep = np.flatnonzero(scores >= floor)
        order = keep[np.argsort(-scores[keep], kind="stable")]
        return boxes[order], scores[order], keypoints[order]

    def close(self) -> None:
        """Release the mediapipe graph (it is rebuilt if the detector is used again)."""
        self._graph.close()

    def __enter__(self) -> BlazeFaceDetector:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _parse_detections(detections: list[Any], width: int, height: int) -> tuple[_F32, _F32, _F32]:
    """mediapipe Detection protos (relative coordinates) -> pixel boxes, scores and keypoints."""
    n = len(detections)
    boxes = np.zeros((n, 4), np.float32)
    scores = np.zeros(n, np.float32)
    keypoints = np.zeros((n, _NUM_KEYPOINTS, 2), np.float32)
    scale = np.array([width, height], np.float32)
    for i, det in enumerate(detections):
        rel = det.location_data.relative_bounding_box
        boxes[i] = [rel.xmin, rel.ymin, rel.xmin + rel.width, rel.ymin + rel.height]
        scores[i] = det.score[0] if len(det.score) else 0.0
        points = det.location_data.relative_keypoints
        if len(points) == _NUM_KEYPOINTS:
            keypoints[i] = [(p.x, p.y) for p in points]
    boxes *= np.tile(scale, 2)
    keypoints *= scale
    return boxes, scores, keypoints


class FaceMesh:
    """MediaPipe's face mesh: 468 3-D points per face (478 with the iris refinement).

    Runs in static-image mode (every call detects afresh; no tracking between calls), finding faces
    with the short-range BlazeFace at MediaPipe's default 0.5 confidence.

    Args:
        max_faces: at most this many faces per image.
        refine: use the attention model, which adds 10 iris points (478 in all).

    Raises:
        InvalidArgumentError: ``max_faces`` not a positive integer.

    Example:
        >>> points = FaceMesh(max_faces=1).predict(image)  # (N, 468, 3)  # doctest: +SKIP
    """

    def __init__(self, *, max_faces: int = 4, refine: bool = False) -> None:
        if isinstance(max_faces, bool) or not isinstance(max_faces, int | np.integer) or max_faces < 1:
            raise InvalidArgumentError(f"max_faces must be a positive integer, got {max_faces!r}")
        self.max_faces = max_faces
        self.refine = bool(refine)
        self.num_points = 478 if self.refine else 468
        self._graph = _Graph(self._build)

    def _build(self) -> Any:
        _, face_mesh = _import_solutions()
        mediapipe_model_path("mesh_refined" if self.refine else "mesh")
        mediapipe_model_path("short")  # the mesh graph finds faces with short-range BlazeFace
        logger.debug("building mediapipe face mesh graph (max_faces %d, refine %s)", self.max_faces, self.refine)
        return face_mesh.FaceMesh(static_image_mode=True, max_num_faces=self.max_faces, refine_landmarks=self.refine)

    def predict(self, image: np.ndarray) -> _F32:
        """Mesh points of every face found.

        Args:
            image: (H, W, 3) uint8 RGB.

        Returns:
            (N, P, 3) float32, P = 468 (478 if ``refine``): ``x, y`` in pixels and ``z`` the depth
            relative to the head's centre, in pixels of the same scale as ``x`` (smaller is nearer
            the camera). Faces in MediaPipe's order; (0, P, 3) when there is none.

        Raises:
            InvalidArgumentError: not an (H, W, 3) uint8 image.
            ModelError: mediapipe (with its bundled models) is not installed.
        """
        rgb = _check_rgb(image)
        result = self._graph.process(rgb)
        faces = result.multi_face_landmarks or []
        out = np.zeros((len(faces), self.num_points, 3), np.float32)
        for i, face in enumerate(faces):
            out[i] = [(p.x, p.y, p.z) for p in face.landmark][: self.num_points]
        # mediapipe normalises x by the width, y by the height and z "roughly" by the width.
        out *= np.array([rgb.shape[1], rgb.shape[0], rgb.shape[1]], np.float32)
        return out

    def close(self) -> None:
        """Release the mediapipe graph (it is rebuilt if the mesh is used again)."""
        self._graph.close()

    def __enter__(self) -> FaceMesh:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
