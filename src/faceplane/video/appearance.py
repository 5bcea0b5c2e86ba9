"""Appearance re-identification of lost tracks: colour histograms of the torso and legs, no model.

A track splits when its person is hidden (another person walks in front, a pole) and comes back
where the Kalman prediction no longer overlaps: the tracker then starts a new id for a person it
already knows. :class:`Reid` lets the tracker give such a detection back to a recently lost track
instead, in the spirit of DeepSORT's appearance cascade (Wojke et al., 2017) and BoT-SORT's
re-identification stage, with a descriptor that needs no weights:

- :func:`describe`: per box, the colour of the upper body (torso) and of the lower body (legs), each an
  HSV histogram as in Pérez et al., "Color-based probabilistic tracking" (ECCV 2002): hue x saturation
  bins for coloured pixels and value-only bins for the grey and dark ones (whose hue is noise). Only the
  central part of the box is used (the edges are background), and the head is left out (small, often
  turned). Each histogram is stored as its element-wise square root, so the Bhattacharyya coefficient
  of two histograms is a dot product.
- :func:`appearance_distance`: ``sqrt(1 - BC)``, BC the Bhattacharyya coefficient averaged over the two
  parts: 0 for the same colours, 1 for nothing in common.
- :class:`Reid`: the settings and the two steps the tracker calls, :meth:`Reid.blend` (a track's
  descriptor is a moving average of its detections') and :meth:`Reid.revive` (which tracks left
  unmatched take which unmatched detections: closest in appearance, within a distance a person can
  have walked since the track was last matched).

Colour tells people apart when their clothes differ; two people in black are alike to it, which the
motion gate covers only for short gaps (it widens with every missed update, and after about ten it
spans most of a frame). The bins and body parts below were set once from the paper and the shape of a
standing person, not tuned; :class:`Reid`'s thresholds were chosen on data (see
:data:`~faceplane.video.object_tracks.REID_SETTINGS`). A few hundred pixels per box and two small
histograms: 0.1-0.2 ms per box on one core (bench/counting.py measures the whole step per frame).

Example:
    >>> image = np.zeros((100, 100, 3), np.uint8); image[:, 50:] = (200, 30, 30)
    >>> f = describe(image, np.array([[0, 0, 40, 100], [60, 0, 100, 100]], np.float32))
    >>> appearance_distance(f, f).round(3).tolist()
    [[0.0, 1.0], [1.0, 0.0]]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

from ..errors import InvalidArgumentError

__all__ = ["DESCRIPTOR_SIZE", "Reid", "appearance_distance", "describe"]

_F32 = npt.NDArray[np.float32]
_I64 = npt.NDArray[np.int64]

_HUE_BINS, _SAT_BINS, _VALUE_BINS = 8, 4, 8
# Pérez et al.'s rule: a pixel's hue counts only when it is saturated and bright enough to have one.
_MIN_SAT, _MIN_VALUE = 0.1 * 255, 0.2 * 255
_PART_BINS = _HUE_BINS * _SAT_BINS + _VALUE_BINS
#: Length of one :func:`describe` row: two parts (torso, legs), each hue x saturation + value bins.
DESCRIPTOR_SIZE = 2 * _PART_BINS
# Where the parts lie in a standing person's box, as fractions of its height (the head, above 0.15, is
# left out) and width (the central 60%: the rest is mostly background between the arms and legs).
_PARTS = ((0.15, 0.5), (0.5, 0.95))
_SIDE_MARGIN = 0.2
_MIN_PIXELS = 16  # fewer pixels than this in a part: no descriptor (a zero row, which matches nothing)


def _histogram(hsv: npt.NDArray[np.uint8]) -> _F32:
    """(h, w, 3) OpenCV HSV pixels -> (_PART_BINS,) float32 square-rooted, L1-normalised histogram."""
    h, s, v = (hsv[..., i].reshape(-1).astype(np.int64) for i in range(3))
    coloured = (s >= _MIN_SAT) & (v >= _MIN_VALUE)
    bins = np.where(
        coloured,
        (h * _HUE_BINS // 180) * _SAT_BINS + np.minimum(s * _SAT_BINS // 256, _SAT_BINS - 1),
        _HUE_BINS * _SAT_BINS + v * _VALUE_BINS // 256,
    )
    counts = np.bincount(bins, minlength=_PART_BINS).astype(np.float32)
    return np.sqrt(counts / max(len(bins), 1))


def describe(image: npt.NDArray[np.uint8], xyxy: npt.ArrayLike) -> _F32:
    """Colour descriptors of people's boxes in one frame.

    Args:
        image: (H, W, 3) uint8 RGB frame.
        xyxy: (N, 4) float pixels, person boxes (clipped to the image here).

    Returns:
        (N, DESCRIPTOR_SIZE) float32, unit rows (zero rows for boxes too small or outside the image).
    """
    import cv2  # here, not at module import: `import faceplane.video` opens no heavy module

    boxes = np.asarray(xyxy, np.float32).reshape(-1, 4)
    out = np.zeros((len(boxes), DESCRIPTOR_SIZE), np.float32)
    height, width = image.shape[:2]
    for i, (x1, y1, x2, y2) in enumerate(boxes.tolist()):
        w, h = x2 - x1, y2 - y1
        left, right = max(int(x1 + _SIDE_MARGIN * w), 0), min(int(np.ceil(x2 - _SIDE_MARGIN * w)), width)
        top, bottom = max(int(y1 + _PARTS[0][0] * h), 0), min(int(np.ceil(y1 + _PARTS[-1][1] * h)), height)
        if right - left < 2 or bottom - top < 4:
            continue
        hsv = np.asarray(cv2.cvtColor(np.ascontiguousarray(image[top:bottom, left:right]), cv2.COLOR_RGB2HSV), np.uint8)
        parts = []
        for start, stop in _PARTS:
            a, b = max(int(y1 + start * h) - top, 0), max(int(y1 + stop * h) - top, 0)
            part = hsv[a:b]
            if part.shape[0] * part.shape[1] < _MIN_PIXELS:
                break
            parts.append(_histogram(part))
        else:
            out[i] = np.concatenate(parts) / np.sqrt(len(parts))
    return out


def appearance_distance(a: npt.ArrayLike, b: npt.ArrayLike) -> _F32:
    """(N, M) Bhattacharyya distances ``sqrt(1 - BC)`` between :func:`describe` rows (1 for a zero row)."""
    a_ = np.asarray(a, np.float32).reshape(-1, DESCRIPTOR_SIZE)
    b_ = np.asarray(b, np.float32).reshape(-1, DESCRIPTOR_SIZE)
    return np.sqrt(np.clip(1.0 - a_ @ b_.T, 0.0, 1.0)).astype(np.float32)


@dataclass(frozen=True)
class Reid:
    """When a track left unmatched may take a detection by appearance, and how tracks learn theirs.

    Args:
        max_distance: largest :func:`appearance_distance` between a track and a detection it takes back.
        gate: how far a person may walk per update, in heights of their last matched box: a detection is
            a candidate only if its centre lies within ``(1 + misses) * gate`` such heights of that box's
            centre (``misses``: updates since that match). Per update, so at a lower analysis rate a
            person covers more ground per update; the value is chosen for both rates (see
            :data:`~faceplane.video.object_tracks.TRACKER_SETTINGS`).
        momentum: weight of the old descriptor in the moving average (DeepSORT's EMA of embeddings).

    Raises:
        InvalidArgumentError: (a ValueError) a value outside its range.

    Example:
        >>> Reid(max_distance=0.4, gate=0.3).momentum
        0.9
    """

    max_distance: float = 0.4
    gate: float = 0.3
    momentum: float = 0.9

    def __post_init__(self) -> None:
        for name in ("max_distance", "momentum"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise InvalidArgumentError(f"{name} must be in [0, 1], got {value!r}")
        if not (np.isfinite(self.gate) and self.gate >= 0):
            raise InvalidArgumentError(f"gate must be finite and >= 0, got {self.gate!r}")

    def blend(self, old: _F32, new: _F32) -> _F32:
        """Moving average of (T, D) track descriptors with their (T, D) matched detections' (unit rows again).

        A track without a descriptor (zero row of ``old``) takes ``new`` as it is; a zero row of ``new``
        (a detection not described) leaves ``old`` as it is.
        """
        mixed = np.where(old.any(axis=1, keepdims=True), self.momentum * old + (1 - self.momentum) * new, new)
        mixed /= np.maximum(np.linalg.norm(mixed, axis=1, keepdims=True), 1e-12)
        return np.where(new.any(axis=1, keepdims=True), mixed, old).astype(np.float32)

    def revive(self, track_feat: _F32, track_xyxy: _F32, misses: _I64, det_feat: _F32, det_xyxy: _F32) -> _I64:
        """Pair unmatched tracks with unmatched detections: (K, 2) int64 rows ``(track, detection)``.

        Args:
            track_feat: (T, D) the tracks' descriptors; track_xyxy: (T, 4) pixels, their last matched
                boxes; misses: (T,) updates since that match.
            det_feat: (N, D) the detections' descriptors; det_xyxy: (N, 4) pixels, their boxes.

        Hungarian assignment on appearance distance among the pairs within the motion gate and
        ``max_distance``; a track or detection without a descriptor pairs with nothing.
        """
        if not len(track_feat) or not len(det_feat):
            return np.zeros((0, 2), np.int64)
        cost = appearance_distance(track_feat, det_feat).astype(np.float64)
        walked = np.linalg.norm(_centre(track_xyxy)[:, None] - _centre(det_xyxy)[None], axis=2)
        reach = (1 + misses[:, None]) * self.gate * (track_xyxy[:, 3:4] - track_xyxy[:, 1:2])
        allowed = (walked <= reach) & (cost <= self.max_distance)
        allowed &= _described(track_feat)[:, None] & _described(det_feat)[None]
        rows, cols = linear_sum_assignment(np.where(allowed, cost, 2.0 + min(cost.shape)))
        keep = allowed[rows, cols]
        return np.stack([rows[keep], cols[keep]], axis=1).astype(np.int64)


def _described(feat: _F32) -> npt.NDArray[np.bool_]:
    """(N,) bool: rows that hold a descriptor (not zero)."""
    return np.asarray(np.abs(feat).sum(axis=1) > 0)


def _centre(xyxy: _F32) -> _F32:
    return ((xyxy[:, :2] + xyxy[:, 2:]) / 2).astype(np.float32)
