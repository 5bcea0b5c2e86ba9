"""Whole-person detection, for counting people whose face the camera does not see.

:class:`PersonDetector` wraps OpenCV's HOG + linear SVM pedestrian detector (Dalal & Triggs 2005,
trained on INRIA Person, shipped in OpenCV 4 as ``HOGDescriptor_getDefaultPeopleDetector``). It
returns boxes and scores in faceplane's format, ready for :class:`faceplane.video.tracker.Tracker`.
Optionally, for a fixed camera, a MOG2 background model rejects boxes with little moving foreground.

OpenCV is imported when a detector is built, not at import.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import InvalidArgumentError
from ..geometry import clip_boxes, nms

__all__ = ["ForegroundFilter", "PersonDetector"]

logger = logging.getLogger(__name__)

_F32 = npt.NDArray[np.float32]
_METHODS = ("hog",)
# The INRIA window is 64x128 px with the person's ~96 px body centred in it: these fractions of the
# window's width/height are margin, not person (left/right, top/bottom). Confirmed on PETS09-S2L1 and
# TUD-Campus: the median offsets of HOG windows to the matching ground-truth boxes are 0.18-0.24 of
# the width and 0.10-0.14 of the height.
_MARGIN_X = 0.2
_MARGIN_Y = 0.12


def _person_boxes(window_xyxy: _F32) -> _F32:
    """HOG detection windows -> boxes around the person inside them (the window's margins cut off)."""
    w = window_xyxy[:, 2] - window_xyxy[:, 0]
    h = window_xyxy[:, 3] - window_xyxy[:, 1]
    dx, dy = _MARGIN_X * w, _MARGIN_Y * h
    out = window_xyxy + np.stack([dx, dy, -dx, -dy], axis=1)
    return out.astype(np.float32)


class ForegroundFilter:
    """Keeps the boxes that cover enough moving pixels, by a MOG2 background model of a fixed camera.

    Stateful: feed it every analysed frame of one camera, in order. The model needs a few dozen frames
    to learn the background; until then most pixels count as moving, so nothing is rejected.

    Args:
        min_fraction: the share of a box's pixels that must be foreground, in [0, 1).

    Raises:
        InvalidArgumentError: (a ValueError) ``min_fraction`` out of range.

    Example:
        >>> keep = ForegroundFilter(min_fraction=0.2)
        >>> keep(np.zeros((48, 64, 3), np.uint8), np.array([[0, 0, 10, 20]], np.float32)).tolist()
        [True]
    """

    def __init__(self, *, min_fraction: float = 0.2) -> None:
        if not 0.0 <= min_fraction < 1.0:
            raise InvalidArgumentError(f"min_fraction must be in [0, 1), got {min_fraction!r}")
        import cv2

        self.min_fraction = float(min_fraction)
        self._model: Any = cv2.createBackgroundSubtractorMOG2(detectShadows=False)

    def __call__(self, rgb: npt.NDArray[np.uint8], xyxy: _F32) -> npt.NDArray[np.bool_]:
        """Update the background model with ``rgb`` (H, W, 3) and return an (N,) mask of boxes to keep."""
        mask = self._model.apply(rgb) > 0
        h, w = mask.shape
        integral = np.zeros((h + 1, w + 1), np.int64)
        integral[1:, 1:] = mask.cumsum(0).cumsum(1)
        x1, x2 = xyxy[:, [0, 2]].round().astype(np.int64).clip(0, w).T
        y1, y2 = xyxy[:, [1, 3]].round().astype(np.int64).clip(0, h).T
        area = np.maximum((x2 - x1) * (y2 - y1), 1)
        moving = integral[y2, x2] - integral[y1, x2] - integral[y2, x1] + integral[y1, x1]
        return np.asarray(moving / area >= self.min_fraction)


class PersonDetector:
    """People in an RGB frame, as ``xyxy`` boxes and scores, with OpenCV's HOG pedestrian detector.

    The detector's 64x128 window finds people about 100 px tall and taller; ``upscale`` enlarges
    the frame first so that smaller people (down to about ``100 / upscale`` px) are found, at a
    cost in time roughly proportional to ``upscale**2``.

    Scores are the linear SVM's margins (about 0..3, not probabilities): pass thresholds on that scale
    to :class:`~faceplane.video.tracker.Tracker` (``high_score`` ~ 0.5, ``low_score`` ~ ``min_score``).

    How the defaults were chosen (``bench/counting.py``; the same values for both clips, no per-clip
    tuning): PETS09-S2L1 (768x576, people 52-153 px tall) and TUD-Campus (640x480, 129-310 px).
    ``upscale=1.5`` lifts PETS09 recall at IoU 0.5 from about 0.25 to 0.87 (at 1.0 HOG misses most of
    its small people; TUD-Campus loses a little precision to it). ``scale_step=1.2`` and
    ``win_stride_px=8`` keep a 768x576 frame at 130-150 ms on one core; a step of 1.1 doubles that for a
    few points of recall on TUD-Campus only. ``nms_iou=0.4`` sits between the duplicates NMS must merge
    and neighbours walking side by side (0.3-0.5 change MOTA by about 0.01). The box is cut to the
    person inside the window by fixed margins (see ``_MARGIN_X``); without that, HOG boxes hardly ever
    reach IoU 0.5 with a tight person box. ``foreground=0.2`` (MOG2, fixed cameras only) raises PETS09
    precision from 0.61 to 0.81 at equal recall (MOTA 0.59 -> 0.76) by dropping static false positives;
    it is off by default because it is wrong for moving cameras.

    Args:
        method: the detector; only ``"hog"`` today.
        min_score: windows whose SVM margin is below this are dropped (OpenCV's ``hitThreshold``).
        upscale: resize factor applied to the frame before detection (>= 1 finds smaller people).
        win_stride_px: step of the sliding window, in pixels of the upscaled frame (multiple of 8).
        scale_step: ratio between successive pyramid levels (> 1).
        nms_iou: overlapping detections above this IoU are merged into the best-scoring one.
        foreground: for fixed cameras: the minimum fraction of a box's pixels that a MOG2 background
            model marks as moving; 0 disables the model. With it, :meth:`detect` must see the frames of
            one camera in order.

    Raises:
        InvalidArgumentError: (a ValueError) a bad value; the message names it.

    Example:
        >>> detector = PersonDetector()
        >>> xyxy, score = detector.detect(np.zeros((480, 640, 3), np.uint8))
        >>> xyxy.shape, score.shape
        ((0, 4), (0,))
    """

    def __init__(
        self,
        *,
        method: str = "hog",
        min_score: float = 0.0,
        upscale: float = 1.5,
        win_stride_px: int = 8,
        scale_step: float = 1.2,
        nms_iou: float = 0.4,
        foreground: float = 0.0,
    ) -> None:
        if method not in _METHODS:
            raise InvalidArgumentError(f"method must be one of {_METHODS}, got {method!r}")
        if not np.isfinite(min_score):
            raise InvalidArgumentError(f"min_score must be finite, got {min_score!r}")
        if not 1.0 <= upscale <= 4.0:
            raise InvalidArgumentError(f"upscale must be in [1, 4], got {upscale!r}")
        if not isinstance(win_stride_px, int) or win_stride_px <= 0 or win_stride_px % 8:
            raise InvalidArgumentError(f"win_stride_px must be a positive multiple of 8, got {win_stride_px!r}")
        if not 1.0 < scale_step <= 2.0:
            raise InvalidArgumentError(f"scale_step must be in (1, 2], got {scale_step!r}")
        if not 0.0 < nms_iou <= 1.0:
            raise InvalidArgumentError(f"nms_iou must be in (0, 1], got {nms_iou!r}")
        if not 0.0 <= foreground < 1.0:
            raise InvalidArgumentError(f"foreground must be in [0, 1), got {foreground!r}")
        import cv2

        self.method, self.min_score, self.upscale = method, float(min_score), float(upscale)
        self.win_stride_px, self.scale_step, self.nms_iou = win_stride_px, float(scale_step), float(nms_iou)
        self.foreground = float(foreground)
        self._cv2: Any = cv2
        self._hog: Any = cv2.HOGDescriptor()  # OpenCV 4 only: OpenCV 5 dropped HOGDescriptor
        self._hog.setSVMDetector(np.asarray(cv2.HOGDescriptor.getDefaultPeopleDetector(), np.float32))
        self._foreground = ForegroundFilter(min_fraction=foreground) if foreground else None

    def detect(self, rgb: npt.NDArray[np.uint8]) -> tuple[_F32, _F32]:
        """People in one frame.

        Args:
            rgb: (H, W, 3) uint8 RGB pixels.

        Returns:
            ``xyxy`` (N, 4) float32 pixels of the input frame, around each person's body, and ``score``
            (N,) float32 SVM margins, best first.

        Raises:
            InvalidArgumentError: (a ValueError) the frame is not (H, W, 3) uint8.
        """
        frame = np.asarray(rgb)
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise InvalidArgumentError(f"rgb must be an (H, W, 3) uint8 array, got {frame.shape} {frame.dtype}")
        cv2 = self._cv2
        image = frame
        if self.upscale != 1.0:
            image = cv2.resize(frame, None, fx=self.upscale, fy=self.upscale, interpolation=cv2.INTER_LINEAR)
        stride = (self.win_stride_px, self.win_stride_px)
        # groupThreshold=0: raw windows with their margins; our NMS keeps the best score per person,
        # where OpenCV's rectangle grouping averages boxes and throws the scores away.
        found, weights = self._hog.detectMultiScale(
            image,
            hitThreshold=self.min_score,
            winStride=stride,
            padding=(8, 8),
            scale=self.scale_step,
            groupThreshold=0,
        )
        rects = np.asarray(found, np.float32).reshape(-1, 4) / self.upscale  # x, y, w, h
        score = np.asarray(weights, np.float32).reshape(-1)
        windows = np.concatenate([rects[:, :2], rects[:, :2] + rects[:, 2:]], axis=1)
        keep = nms(windows, score, self.nms_iou)
        xyxy, score = _person_boxes(windows[keep]), score[keep]
        if self._foreground is not None:
            moving = self._foreground(frame, xyxy)
            xyxy, score = xyxy[moving], score[moving]
        return clip_boxes(xyxy, frame.shape[1], frame.shape[0]), score
