"""People, vehicles and other COCO objects in an image: :class:`ObjectDetector` -> :class:`Objects`.

:class:`Objects` is the object counterpart of :class:`faceplane.Faces`: parallel numpy arrays, one row
per object, filtered like numpy (``objs[objs.score > 0.5]``). :class:`ObjectDetector` runs one of two
CNNs ported from TensorFlow.js graphs (``faceplane models install nanodet`` / ``centernet``), keeps the
classes asked for and suppresses overlapping boxes per class.

Example:
    >>> detector = ObjectDetector(classes=("person", "car"))  # doctest: +SKIP
    >>> objs = detector.detect(rgb_image)  # doctest: +SKIP
    >>> objs[objs.class_id == COCO_CLASSES.index("car")].xyxy  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from .errors import InvalidArgumentError
from .geometry import nms
from .types import COCO_CLASSES, Objects  # defined with the other result types; re-exported here

__all__ = ["COCO_CLASSES", "DEFAULT_CLASSES", "OBJECT_MODELS", "ObjectDetector", "Objects"]

logger = logging.getLogger(__name__)

_F32 = npt.NDArray[np.float32]
_I64 = npt.NDArray[np.int64]


#: What :class:`ObjectDetector` keeps unless told otherwise: people and road vehicles.
DEFAULT_CLASSES: tuple[str, ...] = ("person", "bicycle", "car", "motorcycle", "bus", "truck")

#: Object detection models (names in the model store) and the input size each was trained at.
OBJECT_MODELS: dict[str, int] = {"nanodet": 416, "centernet": 512}

_NMS_IOU = 0.5  # per class; both upstream demos (vladmandic/human) use 0.4-0.5
_MAX_OBJECTS = 200


class _Model(Protocol):
    def candidates(self, image: npt.NDArray[np.uint8], class_ids: _I64, min_score: float) -> Objects: ...


def class_ids(classes: Sequence[str]) -> _I64:
    """COCO indices of ``classes``.

    Raises:
        InvalidArgumentError: an empty list, or a name that is not a COCO class.
    """
    if isinstance(classes, str) or not len(classes):
        raise InvalidArgumentError(f"classes must be a non-empty list of COCO class names, got {classes!r}")
    unknown = [c for c in classes if c not in COCO_CLASSES]
    if unknown:
        raise InvalidArgumentError(f"unknown object class(es) {unknown}; known: {', '.join(COCO_CLASSES)}")
    return np.array(sorted({COCO_CLASSES.index(c) for c in classes}), np.int64)


def suppress(objs: Objects, max_iou: float = _NMS_IOU, max_objects: int = _MAX_OBJECTS) -> Objects:
    """Greedy non-maximum suppression within each class; best score first.

    Boxes of different classes never suppress each other (a person on a bicycle keeps both).
    """
    order = np.argsort(-objs.score, kind="stable")[: max_objects * 20]
    per_class = []
    for cls in np.unique(objs.class_id[order]):
        rows = order[objs.class_id[order] == cls]  # best first already: nms keeps that order for equal scores
        per_class.append(rows[nms(objs.xyxy[rows], objs.score[rows], max_iou)])
    kept = np.concatenate([np.zeros(0, np.int64), *per_class])
    kept = kept[np.argsort(-objs.score[kept], kind="stable")][:max_objects]
    return objs[kept]


def check_image(image: Any) -> npt.NDArray[np.uint8]:
    """The image as a (H, W, 3) uint8 RGB array.

    Raises:
        InvalidArgumentError: not an array, another dtype or shape, or no pixels.
    """
    if not isinstance(image, np.ndarray):
        raise InvalidArgumentError(f"image must be a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise InvalidArgumentError(f"image must be uint8 RGB, got dtype {image.dtype}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise InvalidArgumentError(f"image must have shape (H, W, 3), got {image.shape}")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise InvalidArgumentError(f"image is empty: shape {image.shape}")
    return image


class ObjectDetector:
    """Finds COCO objects (by default people and road vehicles) with a CNN from the model store.

    Args:
        model: ``"nanodet"`` (NanoDet-m, 416 px, the default) or ``"centernet"`` (CenterNet MobileNetV3,
            512 px); installed with ``faceplane models install NAME``.
        classes: COCO class names to keep (:data:`DEFAULT_CLASSES`).
        input_size: side of the square the image is resized to, a multiple of 32 (smaller: faster,
            misses small objects). Defaults to the model's training size.
        min_score: keep objects whose class confidence is at least this, in [0, 1].
        device: ``"cpu"`` or ``"cuda"``.
        num_threads: onnxruntime intra-op threads (None: onnxruntime's default, one per core).

    Raises:
        InvalidArgumentError: an unknown model or class, a bad size, score or thread count.
        ModelError: the model is not installed (the message names the install command).

    Example:
        >>> detector = ObjectDetector(classes=("person",), input_size=320)  # doctest: +SKIP
        >>> people = detector.detect(frame_rgb)  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        model: Literal["nanodet", "centernet"] | str = "nanodet",
        classes: Sequence[str] = DEFAULT_CLASSES,
        input_size: int | None = None,
        min_score: float = 0.35,
        device: str = "cpu",
        num_threads: int | None = None,
    ) -> None:
        if model not in OBJECT_MODELS:
            raise InvalidArgumentError(f"object model must be one of {', '.join(OBJECT_MODELS)}, got {model!r}")
        size = OBJECT_MODELS[model] if input_size is None else input_size
        if isinstance(size, bool) or not isinstance(size, int) or size < 64 or size > 2048 or size % 32:
            raise InvalidArgumentError(f"input_size must be a multiple of 32 in [64, 2048], got {input_size!r}")
        if not 0.0 <= float(min_score) <= 1.0:
            raise InvalidArgumentError(f"min_score must be in [0, 1], got {min_score!r}")
        if num_threads is not None and (isinstance(num_threads, bool) or num_threads < 1):
            raise InvalidArgumentError(f"num_threads must be a positive integer or None, got {num_threads!r}")
        self.model, self.input_size, self.min_score = model, size, float(min_score)
        self.classes = tuple(COCO_CLASSES[i] for i in class_ids(classes))
        self._class_ids = class_ids(classes)
        self._impl = _load(model, input_size=size, device=device, num_threads=num_threads or 0)

    def detect(self, image: npt.NDArray[np.uint8]) -> Objects:
        """Objects of the chosen classes in one image.

        Args:
            image: (H, W, 3) uint8 RGB.

        Returns:
            Objects with boxes in pixels of ``image``, best score first, overlaps suppressed per class.

        Raises:
            InvalidArgumentError: not a (H, W, 3) uint8 array, or an empty one.
        """
        found = self._impl.candidates(check_image(image), self._class_ids, self.min_score)
        return suppress(found) if len(found) else found


def _load(model: str, *, input_size: int, device: str, num_threads: int) -> _Model:
    from .models import store

    path = store.model_path(model)
    if model == "centernet":
        from .models.centernet import CenterNet

        return CenterNet(path, input_size=input_size, device=device, num_threads=num_threads)
    from .models.nanodet import NanoDet

    return NanoDet(path, input_size=input_size, device=device, num_threads=num_threads)
