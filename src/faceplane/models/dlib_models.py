"""Thin wrappers over dlib's own C++ models: the HOG face detector and the shape predictors.

They take and return faceplane's formats (RGB uint8 arrays, ``xyxy`` float32 boxes, (N, P, 2)
landmarks) so that nothing outside ``models/`` touches a dlib object.
"""

from __future__ import annotations

import os
import threading

import numpy as np
import numpy.typing as npt

from ..errors import InvalidArgumentError, ModelError
from ..geometry import ltrb_inclusive_from_xyxy, xyxy_from_ltrb_inclusive
from .registry import weights_path

__all__ = ["DlibDescriptor", "HogDetector", "ShapePredictor"]

_F32 = npt.NDArray[np.float32]


def _check_rgb(image: np.ndarray) -> None:
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise InvalidArgumentError(
            f"expected an (H, W, 3) uint8 RGB image, got shape {image.shape} dtype {image.dtype}"
        )


class HogDetector:
    """dlib's HOG + linear SVM frontal face detector (five poses in one detector).

    Fast on the CPU (tens of ms for 640x480) but misses small, dark and turned faces; the
    MMOD CNN detector is the accurate choice.

    Example:
        >>> boxes, scores = HogDetector().detect(image, upsample=1)  # doctest: +SKIP
    """

    def __init__(self, *, upsample: int = 1) -> None:
        if upsample < 0:
            raise InvalidArgumentError(f"upsample must be >= 0, got {upsample}")
        self.upsample = upsample
        self._detector: object | None = None
        self._lock = threading.Lock()
        self._run_lock = threading.Lock()

    def _load(self) -> object:
        with self._lock:
            if self._detector is None:
                import dlib

                self._detector = dlib.get_frontal_face_detector()
        return self._detector

    def detect(
        self, image: np.ndarray, *, upsample: int | None = None, threshold: float = 0.0
    ) -> tuple[_F32, _F32]:
        """Detect faces.

        Args:
            image: (H, W, 3) uint8 RGB.
            upsample: times to double the image first (finds faces down to ~40/2**n px).
            threshold: SVM margin to accept; lower finds more faces and more false ones.

        Returns:
            boxes (N, 4) float32 xyxy and scores (N,) float32, by score descending.
        """
        _check_rgb(image)
        up = self.upsample if upsample is None else upsample
        if up < 0:
            raise InvalidArgumentError(f"upsample must be >= 0, got {up}")
        detector = self._load()
        with self._run_lock:  # dlib's object_detector is not safe for concurrent calls (heap corruption)
            rects, scores, _ = detector.run(image, up, threshold)  # type: ignore[attr-defined]
        ltrb = [[r.left(), r.top(), r.right(), r.bottom()] for r in rects]
        boxes = xyxy_from_ltrb_inclusive(ltrb)
        score = np.asarray(scores, dtype=np.float32).reshape(-1)
        order = np.argsort(-score, kind="stable")
        return boxes[order], score[order]


class ShapePredictor:
    """dlib's ensemble-of-regression-trees landmark model, 5 or 68 points.

    The 5-point model (eye corners and nose base) is free to use and is what alignment needs.
    The 68-point model is trained on iBUG 300-W, whose licence excludes commercial use.
    """

    def __init__(self, *, points: int = 5, weights: str | os.PathLike | None = None) -> None:
        if points not in (5, 68):
            raise InvalidArgumentError(f"points must be 5 or 68, got {points}")
        self.points = points
        self._weights = weights
        self._model: object | None = None
        self._lock = threading.Lock()

    def _load(self) -> object:
        with self._lock:
            if self._model is None:
                import dlib

                path = self._weights or weights_path(f"landmarks{self.points}")
                try:
                    self._model = dlib.shape_predictor(str(path))
                except RuntimeError as exc:
                    raise ModelError(f"cannot load shape predictor {path}: {exc}") from None
        return self._model

    def predict(self, image: np.ndarray, boxes: npt.ArrayLike) -> _F32:
        """Landmarks of each box: (N, P, 2) float32 pixel ``x, y``."""
        import dlib

        _check_rgb(image)
        model = self._load()
        ltrb = ltrb_inclusive_from_xyxy(boxes)
        out = np.zeros((len(ltrb), self.points, 2), np.float32)
        with self._lock:  # dlib objects are not documented as thread-safe: one call at a time (it is ~1 ms)
            for i, (left, top, right, bottom) in enumerate(ltrb.tolist()):
                shape = model(image, dlib.rectangle(left, top, right, bottom))  # type: ignore[operator]
                out[i] = [(p.x, p.y) for p in shape.parts()]
        return out


class DlibDescriptor:
    """dlib's own ResNet descriptor: the reference the ONNX port is checked against.

    About 65 ms a face on one core, holding the GIL; use :class:`~faceplane.models.resnet.ResNetDescriptor`.
    """

    def __init__(self, *, weights: str | os.PathLike | None = None) -> None:
        self._weights = weights
        self._model: object | None = None
        self._lock = threading.Lock()

    def _load(self) -> object:
        with self._lock:
            if self._model is None:
                import dlib

                path = self._weights or weights_path("resnet")
                self._model = dlib.face_recognition_model_v1(str(path))
        return self._model

    def compute(self, chips: np.ndarray) -> _F32:
        """(N, 150, 150, 3) uint8 chips -> (N, 128) float32."""
        model = self._load()
        out = np.zeros((len(chips), 128), np.float32)
        for i, chip in enumerate(chips):
            out[i] = np.asarray(model.compute_face_descriptor(np.ascontiguousarray(chip)))  # type: ignore[attr-defined]
        return out
