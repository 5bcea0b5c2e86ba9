"""MediaPipe's BlazeFace *full-range* face detector on onnxruntime: no mediapipe, any numpy.

Source: ``mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite`` from the PyPI
wheel ``mediapipe==0.10.21`` (Apache-2.0, Google; model card "BlazeFace (full-range)"), converted to
ONNX with a dynamic batch by :func:`faceplane.models._tflite.tflite_to_onnx`. The network is
unchanged; this module re-implements the graph around it (``face_detection_full_range.pbtxt`` and
``face_detection.pbtxt`` of MediaPipe 0.10.x) in numpy and OpenCV:

1. ``ImageToTensorCalculator``: the whole image as the region of interest, widened to a square
   about its centre (``keep_aspect_ratio``, so the padding is split evenly on both sides), warped to
   192x192 with bilinear interpolation and zero borders (OpenCV CPU path), then scaled from
   [0, 255] to [-1, 1] (black padding becomes -1);
2. the network. Input ``input_1``: (N, 192, 192, 3) float32 RGB in [-1, 1], NHWC. Outputs
   ``Identity``: (N, 2304, 16) regressors (box centre x, y, width, height, then six keypoints
   x, y, all in tensor pixels relative to an anchor) and ``Identity_1``: (N, 2304, 1) logits;
3. ``SsdAnchorsCalculator`` (one layer, stride 4: a 48x48 grid of fixed unit-size anchors at cell
   centres) and ``TensorsToDetectionsCalculator`` (XYWH order, every value / 192, logits clipped to
   +-100 then a sigmoid, scores below ``min_score`` dropped (the graph's ``min_score_thresh``: 0.6),
   boxes of negative size dropped);
4. ``NonMaxSuppressionCalculator`` with the ``WEIGHTED`` algorithm and IoU > 0.3: each face is the
   score-weighted mean of the boxes and keypoints that overlap the best remaining one, keeping
   the best one's score;
5. ``DetectionProjectionCalculator``: back from the letterboxed square to image pixels.

The six keypoints are the subject's right eye, left eye, nose tip, mouth centre, right ear
tragion and left ear tragion (the subject's right eye is on the image's left).

Example:
    >>> detector = BlazeFaceOnnx(Path("blazeface_full_range.onnx"), num_threads=1)  # doctest: +SKIP
    >>> boxes, scores = detector.detect(image)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import InvalidArgumentError, ModelError
from ._onnx import onnx_session

__all__ = ["BlazeFaceOnnx", "ssd_anchors", "weighted_nms"]

logger = logging.getLogger(__name__)

_F32 = npt.NDArray[np.float32]
_Detections = tuple[_F32, _F32, _F32]  # boxes (N, 4) xyxy, scores (N,), keypoints (N, 6, 2)

TENSOR_PX = 192  # the network's square input side, pixels
NUM_KEYPOINTS = 6
_STRIDES = (4,)  # face_detection_full_range.pbtxt: num_layers 1, strides 4 -> a 48x48 grid
_COORD_SCALE = 192.0  # x_scale = y_scale = w_scale = h_scale
_SCORE_CLIP = 100.0  # score_clipping_thresh, applied to the logit before the sigmoid
_INPUT_NAME = "input_1"
_BOXES_NAME = "Identity"
_SCORES_NAME = "Identity_1"
_BATCH_CHUNK = 32  # images per session run in detect_batch: ~14 MB of input tensor


def ssd_anchors(input_size_px: int, strides: Sequence[int], anchors_per_layer: int = 1) -> _F32:
    """Anchor centres of MediaPipe's ``SsdAnchorsCalculator`` with ``fixed_anchor_size: true``.

    Consecutive layers with the same stride are merged: each cell of their grid carries
    ``anchors_per_layer`` anchors per merged layer (the number of aspect ratios, plus one when
    ``interpolated_scale_aspect_ratio`` > 0), all at the cell centre. With a fixed anchor size
    every anchor is 1x1, so only the centres matter.

    Args:
        input_size_px: side of the square input tensor.
        strides: one per layer, e.g. ``(4,)`` for the full-range model.
        anchors_per_layer: anchors each layer adds per cell.

    Returns:
        (A, 2) float32 ``x, y`` centres in [0, 1], row by row (y outer, x inner) as MediaPipe orders them.

    Example:
        >>> ssd_anchors(192, (4,)).shape
        (2304, 2)
    """
    if input_size_px < 1 or not strides or min(strides) < 1 or anchors_per_layer < 1:
        raise InvalidArgumentError(
            f"need input_size_px >= 1, strides >= 1 and anchors_per_layer >= 1, "
            f"got {input_size_px}, {tuple(strides)}, {anchors_per_layer}"
        )
    out = []
    layer = 0
    while layer < len(strides):
        same = layer
        while same < len(strides) and strides[same] == strides[layer]:
            same += 1
        cells = int(np.ceil(input_size_px / strides[layer]))
        centres = (np.arange(cells, dtype=np.float32) + 0.5) / cells
        ys, xs = np.meshgrid(centres, centres, indexing="ij")
        grid = np.stack([xs.ravel(), ys.ravel()], axis=1)
        out.append(np.repeat(grid, (same - layer) * anchors_per_layer, axis=0))
        layer = same
    return np.concatenate(out).astype(np.float32)


def _overlap(boxes: _F32, box: _F32) -> _F32:
    """IoU of each of (N, 4) ``boxes`` with one ``box`` (MediaPipe's INTERSECTION_OVER_UNION)."""
    lt = np.maximum(boxes[:, :2], box[:2])
    rb = np.minimum(boxes[:, 2:], box[2:])
    inter = np.clip(rb - lt, 0, None).prod(axis=1)
    union = (boxes[:, 2:] - boxes[:, :2]).prod(axis=1) + (box[2:] - box[:2]).prod() - inter
    return np.where((inter > 0) & (union > 0), inter / np.where(union > 0, union, 1), 0).astype(np.float32)


def weighted_nms(boxes: _F32, scores: _F32, keypoints: _F32, iou_threshold: float) -> _Detections:
    """MediaPipe's weighted non-max suppression (``NonMaxSuppressionCalculator``, ``WEIGHTED``).

    Repeatedly takes the best remaining detection and every remaining one overlapping it by IoU
    ``> iou_threshold`` (itself included), and outputs their score-weighted mean box corners and
    keypoints with the best one's score. Like MediaPipe, it stops when a pass removes nothing.

    Args:
        boxes: (N, 4) float32 xyxy (any unit).
        scores: (N,) float32 weights, > 0.
        keypoints: (N, K, 2) float32, blended like the boxes.
        iou_threshold: overlap above which detections are merged.

    Returns:
        boxes (M, 4), scores (M,), keypoints (M, K, 2), by score descending.
    """
    remaining = np.argsort(-scores, kind="stable")
    out_boxes, out_scores, out_points = [], [], []
    while remaining.size:
        top = remaining[0]
        member = _overlap(boxes[remaining], boxes[top]) > iou_threshold
        group = remaining[member]
        if group.size:
            weights = scores[group] / scores[group].sum()
            out_boxes.append(weights @ boxes[group])
            out_points.append(np.tensordot(weights, keypoints[group], axes=1))
        else:
            out_boxes.append(boxes[top])
            out_points.append(keypoints[top])
        out_scores.append(scores[top])
        if not member.any():
            break
        remaining = remaining[~member]
    k = keypoints.shape[1] if keypoints.ndim == 3 else 0
    return (
        np.asarray(out_boxes, np.float32).reshape(-1, 4),
        np.asarray(out_scores, np.float32).reshape(-1),
        np.asarray(out_points, np.float32).reshape(-1, k, 2),
    )


def _check_rgb(image: object) -> npt.NDArray[np.uint8]:
    if not isinstance(image, np.ndarray):
        raise InvalidArgumentError(f"expected an (H, W, 3) uint8 RGB numpy array, got {type(image).__name__}")
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise InvalidArgumentError(
            f"expected an (H, W, 3) uint8 RGB image, got shape {image.shape} dtype {image.dtype}"
        )
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise InvalidArgumentError(f"expected a non-empty image, got shape {image.shape}")
    return image


def _letterbox(rgb: npt.NDArray[np.uint8], out: _F32) -> tuple[float, float, float]:
    """Warp ``rgb`` into ``out`` (192, 192, 3) as MediaPipe's ImageToTensorCalculator does.

    Returns:
        ``x0, y0, side``: the square region (image pixels) the tensor spans; a tensor-relative
        point ``u`` lies at ``x0 + u * side`` in the image.
    """
    import cv2

    height, width = rgb.shape[:2]
    side = float(max(width, height))
    x0, y0 = (width - side) / 2.0, (height - side) / 2.0
    # MediaPipe's OpenCV converter: the ROI's float32 corners (cv::boxPoints order: bottom-left,
    # top-left, top-right, bottom-right) onto the tensor's corners by getPerspectiveTransform, no
    # half-pixel shift. The same solve matters: a hand-written scale matrix differs in the last
    # bits and moves some interpolated pixels by a grey level (scores then differ by ~1e-3).
    corners = np.array([[x0, y0 + side], [x0, y0], [x0 + side, y0], [x0 + side, y0 + side]], np.float32)
    target = np.array([[0, TENSOR_PX], [0, 0], [TENSOR_PX, 0], [TENSOR_PX, TENSOR_PX]], np.float32)
    warped = cv2.warpPerspective(
        np.ascontiguousarray(rgb), cv2.getPerspectiveTransform(corners, target), (TENSOR_PX, TENSOR_PX),
        flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0,
    )
    np.multiply(warped, np.float32(2.0 / 255.0), out=out, casting="unsafe")
    out -= np.float32(1.0)
    return x0, y0, side


def _decode(raw: _F32, logits: _F32, anchors: _F32, min_score: float) -> _Detections:
    """One image's raw outputs -> tensor-relative boxes, scores, keypoints above ``min_score``."""
    # float64: exp(100) overflows float32 (MediaPipe's float gets inf and a score of 0 there).
    scores = 1.0 / (1.0 + np.exp(-np.clip(logits.reshape(-1).astype(np.float64), -_SCORE_CLIP, _SCORE_CLIP)))
    keep = np.flatnonzero(scores >= min_score)
    raw, anchors = raw[keep], anchors[keep]
    centre = raw[:, 0:2] / _COORD_SCALE + anchors
    size = raw[:, 2:4] / _COORD_SCALE
    valid = np.all(size >= 0, axis=1)  # MediaPipe drops negative and NaN sizes
    boxes = np.concatenate([centre - size / 2, centre + size / 2], axis=1)
    points = raw[:, 4:].reshape(-1, NUM_KEYPOINTS, 2) / _COORD_SCALE + anchors[:, None, :]
    return (
        boxes[valid].astype(np.float32),
        scores[keep][valid].astype(np.float32),
        points[valid].astype(np.float32),
    )


class BlazeFaceOnnx:
    """MediaPipe BlazeFace full-range (192x192, sparse) on onnxruntime, with MediaPipe's decoding.

    About 6 ms a 640x480 frame on one core (dlib's HOG: 30 ms at upsample 0, 120 ms at 1). It
    found 42 of the 43 faces of dlib's example photos (most 37-53 px wide in 500x375 images), with
    no false detection. Every image is shrunk to 192 px first, so small faces in a crowded frame
    are found less reliably: 15 of the 24 in dlib's ``bald_guys.jpg`` collage, 22 when its four
    quarters are run apart (HOG at upsample 1 finds all 24). Boxes are MediaPipe's: square,
    forehead to chin and ear to ear, larger than dlib's brow-to-chin boxes (median IoU 0.8 with
    dlib's hand-drawn ones).

    Args:
        model_path: the ``.onnx`` file converted from ``face_detection_full_range_sparse.tflite``.
        num_threads: onnxruntime intra-op threads (0: onnxruntime's default, one per core).
        providers: onnxruntime execution providers, in order of preference.
        min_score: scores below this are dropped before the weighted NMS, so it shapes the
            blended boxes too. MediaPipe's full-range graph fixes it at 0.6 (mediapipe 0.10.21's
            ``min_detection_confidence`` does not reach it); 0.6 reproduces MediaPipe's output to
            the pixel, 0.5 found one more of the 43 faces of dlib's examples and nothing false.
        iou_threshold: IoU above which detections are blended (MediaPipe: 0.3).

    Raises:
        InvalidArgumentError: a setting out of range.

    Example:
        >>> boxes, scores, keypoints = BlazeFaceOnnx(path).detect_with_keypoints(image)  # doctest: +SKIP
    """

    def __init__(
        self,
        model_path: Path,
        *,
        num_threads: int = 0,
        providers: Sequence[str] = ("CPUExecutionProvider",),
        min_score: float = 0.5,
        iou_threshold: float = 0.3,
    ) -> None:
        if isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 0:
            raise InvalidArgumentError(f"num_threads must be an int >= 0, got {num_threads!r}")
        if isinstance(providers, str) or not providers:
            raise InvalidArgumentError(f"providers must be a non-empty sequence of names, got {providers!r}")
        if not 0.0 < min_score <= 1.0:
            raise InvalidArgumentError(f"min_score must be in (0, 1], got {min_score!r}")
        if not 0.0 <= iou_threshold < 1.0:
            raise InvalidArgumentError(f"iou_threshold must be in [0, 1), got {iou_threshold!r}")
        self.model_path = Path(model_path)
        self.num_threads = num_threads
        self.providers = tuple(providers)
        self.min_score = float(min_score)
        self.iou_threshold = float(iou_threshold)
        self._anchors = ssd_anchors(TENSOR_PX, _STRIDES)
        self._session: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._session is None:
                self._session = self._make_session()
        return self._session

    def _make_session(self) -> Any:
        if not self.model_path.is_file():
            raise ModelError(f"BlazeFace ONNX model not found: {self.model_path}")
        session = onnx_session(
            str(self.model_path), num_threads=self.num_threads, providers=self.providers, name="BlazeFace model"
        )
        inputs = [i.name for i in session.get_inputs()]
        outputs = {o.name for o in session.get_outputs()}
        if inputs != [_INPUT_NAME] or not {_BOXES_NAME, _SCORES_NAME} <= outputs:
            raise ModelError(
                f"{self.model_path} is not the BlazeFace full-range model: inputs {inputs}, outputs {sorted(outputs)}"
            )
        logger.debug("BlazeFace full-range loaded from %s (%d threads)", self.model_path, self.num_threads)
        return session

    def _run(self, batch: _F32) -> tuple[_F32, _F32]:
        """The network: (N, 192, 192, 3) float32 -> regressors (N, 2304, 16), logits (N, 2304, 1)."""
        raw, logits = self._load().run([_BOXES_NAME, _SCORES_NAME], {_INPUT_NAME: batch})
        return raw, logits

    def detect(self, rgb: np.ndarray) -> tuple[_F32, _F32]:
        """Detect faces.

        Args:
            rgb: (H, W, 3) uint8 RGB.

        Returns:
            boxes (N, 4) float32 xyxy image pixels (may reach past the image edges) and scores (N,)
            float32 in [min_score, 1], by score descending.

        Raises:
            InvalidArgumentError: not an (H, W, 3) uint8 array.
            ModelError: the model file is missing or not this model.
        """
        boxes, scores, _ = self.detect_with_keypoints(rgb)
        return boxes, scores

    def detect_with_keypoints(self, rgb: np.ndarray) -> _Detections:
        """Like :meth:`detect`, plus (N, 6, 2) float32 keypoints in image pixels (see the module doc)."""
        return self.detect_batch([rgb])[0]

    def detect_batch(self, images: Sequence[np.ndarray]) -> list[_Detections]:
        """Detect faces in several images of any sizes, with one network run per 32 images.

        Args:
            images: (H, W, 3) uint8 RGB arrays.

        Returns:
            one ``(boxes, scores, keypoints)`` per image, as :meth:`detect_with_keypoints` returns.

        Raises:
            InvalidArgumentError: ``images`` is not a sequence, or one is not an (H, W, 3) uint8 array.
        """
        if isinstance(images, np.ndarray) or not isinstance(images, Sequence):
            raise InvalidArgumentError(f"images must be a list of (H, W, 3) arrays, got {type(images).__name__}")
        checked = [_check_rgb(image) for image in images]
        results: list[_Detections] = []
        for start in range(0, len(checked), _BATCH_CHUNK):
            results.extend(self._detect_chunk(checked[start : start + _BATCH_CHUNK]))
        return results

    def _detect_chunk(self, images: list[npt.NDArray[np.uint8]]) -> list[_Detections]:
        batch = np.empty((len(images), TENSOR_PX, TENSOR_PX, 3), np.float32)
        frames = [_letterbox(image, batch[i]) for i, image in enumerate(images)]
        raw, logits = self._run(batch)
        results = []
        for i, (x0, y0, side) in enumerate(frames):
            boxes, scores, points = weighted_nms(
                *_decode(raw[i], logits[i], self._anchors, self.min_score), self.iou_threshold
            )
            offset = np.array([x0, y0], np.float32)
            boxes = boxes * np.float32(side) + np.tile(offset, 2)
            points = points * np.float32(side) + offset
            results.append((boxes.astype(np.float32), scores, points.astype(np.float32)))
        return results
