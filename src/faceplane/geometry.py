"""Pure box and landmark maths. The one place where box formats are converted.

faceplane's box format everywhere is ``xyxy``: float32 pixels ``x1, y1, x2, y2`` with exclusive
right/bottom edges, so ``x2 - x1`` is the width. dlib's rectangles are inclusive ``l, t, r, b``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = [
    "box_iou",
    "clip_boxes",
    "ltrb_inclusive_from_xyxy",
    "nms",
    "xyxy_from_ltrb_inclusive",
]

_F32 = npt.NDArray[np.float32]


def xyxy_from_ltrb_inclusive(ltrb: npt.ArrayLike) -> _F32:
    """(N, 4) dlib-style inclusive ``l, t, r, b`` -> (N, 4) float32 ``xyxy`` (exclusive edges).

    Example:
        >>> xyxy_from_ltrb_inclusive([[10, 20, 59, 79]]).tolist()
        [[10.0, 20.0, 60.0, 80.0]]
    """
    arr = np.asarray(ltrb, dtype=np.float32).reshape(-1, 4).copy()
    arr[:, 2:] += 1.0
    return arr


def ltrb_inclusive_from_xyxy(xyxy: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """(N, 4) float ``xyxy`` -> (N, 4) int64 inclusive ``l, t, r, b`` (rounded to whole pixels)."""
    arr = np.rint(np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)).astype(np.int64)
    arr[:, 2:] -= 1
    return arr


def clip_boxes(xyxy: npt.ArrayLike, width: int, height: int) -> _F32:
    """(N, 4) boxes clipped to an image of ``width`` x ``height`` pixels."""
    arr = np.asarray(xyxy, dtype=np.float32).reshape(-1, 4).copy()
    arr[:, [0, 2]] = arr[:, [0, 2]].clip(0, width)
    arr[:, [1, 3]] = arr[:, [1, 3]].clip(0, height)
    return arr


def box_iou(a: npt.ArrayLike, b: npt.ArrayLike) -> _F32:
    """(N, M) intersection-over-union of every box of ``a`` (N, 4) with every box of ``b`` (M, 4)."""
    a_ = np.asarray(a, dtype=np.float32).reshape(-1, 4)
    b_ = np.asarray(b, dtype=np.float32).reshape(-1, 4)
    lt = np.maximum(a_[:, None, :2], b_[None, :, :2])
    rb = np.minimum(a_[:, None, 2:], b_[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(axis=2)
    area_a = np.clip(a_[:, 2:] - a_[:, :2], 0, None).prod(axis=1)
    area_b = np.clip(b_[:, 2:] - b_[:, :2], 0, None).prod(axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0).astype(np.float32)


def nms(xyxy: npt.ArrayLike, score: npt.ArrayLike, max_iou: float) -> npt.NDArray[np.int64]:
    """Greedy non-maximum suppression: the rows of ``xyxy`` (N, 4) to keep, best ``score`` (N,) first.

    A box is dropped when its IoU with a kept, better-scoring box exceeds ``max_iou``; equal scores keep
    their row order.
    """
    boxes = np.asarray(xyxy, dtype=np.float32).reshape(-1, 4)
    order = np.argsort(-np.asarray(score, dtype=np.float32).reshape(-1), kind="stable")
    keep: list[int] = []
    while len(order):
        best, order = order[0], order[1:]
        keep.append(int(best))
        order = order[box_iou(boxes[best : best + 1], boxes[order])[0] <= max_iou]
    return np.asarray(keep, np.int64)
