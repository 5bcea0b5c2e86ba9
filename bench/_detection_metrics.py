"""Detection metrics for the object benchmarks: per-image matching at an IoU, precision/recall, AP.

Matching follows the COCO evaluator (``pycocotools.cocoeval``) at one IoU threshold: detections
are taken best score first; each takes the unmatched ground-truth box it overlaps most (IoU >=
``min_iou``) and is a true positive, else a false positive. Two kinds of "ignore", neither true
nor false positive:

- ignore regions (COCO ``iscrowd`` boxes, unboxed trucks of a highway set): an unmatched detection
  whose intersection-over-its-own-area with a region is >= ``min_iou`` is dropped (COCO scores a
  crowd region by the same intersection over the detection's area), any number of times;
- optional detections (``optional=True``: a truck detection scored against boxes of cars): a true
  positive when it matches a box, dropped when it does not.

AP is the area under the precision envelope (all-point interpolation, VOC 2010+): precision at
each recall is the best precision at that recall or higher. COCO samples the same envelope at 101
recall points; on a few hundred boxes the two differ by well under 0.01.

Self-contained (numpy only) so it can be unit-tested on hand-made boxes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from faceplane.geometry import box_iou


@dataclass(frozen=True)
class Matched:
    """The kept (not ignored) detections of one or more images, with their outcome.

    Attributes:
        score: (K,) float32, detector confidence.
        tp: (K,) bool, True where the detection matched a ground-truth box.
        n_gt: ground-truth boxes (not counting ignore regions) the detections were matched against.
    """

    score: np.ndarray
    tp: np.ndarray
    n_gt: int

    @classmethod
    def concat(cls, parts: Iterable[Matched]) -> Matched:
        """Pool the matches of several images (or classes) into one ranking."""
        parts = list(parts)
        if not parts:
            return cls(np.zeros(0, np.float32), np.zeros(0, bool), 0)
        return cls(
            np.concatenate([p.score for p in parts]).astype(np.float32),
            np.concatenate([p.tp for p in parts]).astype(bool),
            sum(p.n_gt for p in parts),
        )


def _boxes(xyxy: np.ndarray | None) -> np.ndarray:
    return np.zeros((0, 4), np.float32) if xyxy is None else np.asarray(xyxy, np.float32).reshape(-1, 4)


def _ioa(det: np.ndarray, regions: np.ndarray) -> np.ndarray:
    """(N, M) intersection of each detection with each region, over the detection's own area."""
    lt = np.maximum(det[:, None, :2], regions[None, :, :2])
    rb = np.minimum(det[:, None, 2:], regions[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(axis=2)
    area = np.clip(det[:, 2:] - det[:, :2], 0, None).prod(axis=1)
    return inter / np.maximum(area, 1e-12)[:, None]


def match_image(
    gt_xyxy: np.ndarray,
    det_xyxy: np.ndarray,
    det_score: np.ndarray,
    *,
    ignore_xyxy: np.ndarray | None = None,
    optional: np.ndarray | None = None,
    min_iou: float = 0.5,
) -> Matched:
    """Match one image's detections of one class to its ground truth (COCO order: best score first).

    Args:
        gt_xyxy: (G, 4) ground-truth boxes, pixels.
        det_xyxy: (N, 4) detections, pixels.
        det_score: (N,) their scores.
        ignore_xyxy: (R, 4) ignore regions (crowds, unboxed objects), or None.
        optional: (N,) bool, detections that are dropped rather than false positives when unmatched.
        min_iou: the IoU (and, for ignore regions, intersection over detection area) to count.

    Returns:
        The kept detections, in descending score order, and ``n_gt = G``.
    """
    gt, det = _boxes(gt_xyxy), _boxes(det_xyxy)
    score = np.asarray(det_score, np.float32).reshape(-1)
    order = np.argsort(-score, kind="stable")
    det, score = det[order], score[order]
    opt = np.zeros(len(det), bool) if optional is None else np.asarray(optional, bool).reshape(-1)[order]
    iou = box_iou(det, gt) if len(gt) else np.zeros((len(det), 0), np.float32)
    taken = np.zeros(len(gt), bool)
    tp = np.zeros(len(det), bool)
    for i in range(len(det)):
        free = np.where(taken, -1.0, iou[i])
        if free.size and free.max() >= min_iou:
            j = int(free.argmax())
            taken[j] = tp[i] = True
    regions = _boxes(ignore_xyxy)
    in_region = (_ioa(det, regions) >= min_iou).any(axis=1) if len(regions) else np.zeros(len(det), bool)
    keep = tp | ~(in_region | opt)
    return Matched(score[keep], tp[keep], len(gt))


def precision_recall(m: Matched, min_score: float = -np.inf) -> tuple[float, float]:
    """Precision and recall of the detections scoring >= ``min_score`` (NaN where undefined)."""
    above = m.score >= min_score
    n_det, n_tp = int(above.sum()), int(m.tp[above].sum())
    precision = n_tp / n_det if n_det else float("nan")
    recall = n_tp / m.n_gt if m.n_gt else float("nan")
    return precision, recall


def average_precision(m: Matched) -> float:
    """Area under the interpolated precision-recall curve (all points); NaN with no ground truth.

    Example:
        >>> m = Matched(np.array([0.9, 0.8, 0.7]), np.array([True, False, True]), n_gt=4)
        >>> round(average_precision(m), 4)  # recall 1/4 at precision 1, 2/4 at 2/3
        0.4167
    """
    if m.n_gt == 0:
        return float("nan")
    order = np.argsort(-m.score, kind="stable")
    tp = m.tp[order].astype(np.float64)
    cum_tp, cum_fp = np.cumsum(tp), np.cumsum(1.0 - tp)
    recall = np.concatenate([[0.0], cum_tp / m.n_gt])
    precision = np.concatenate([[1.0], cum_tp / np.maximum(cum_tp + cum_fp, 1e-12)])
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    return float(np.sum((recall[1:] - recall[:-1]) * envelope[1:]))


def best_f1(m: Matched) -> tuple[float, float, float]:
    """(precision, recall, score threshold) where F1 is highest; NaNs without ground truth or detections.

    Example:
        >>> best_f1(Matched(np.array([0.9, 0.8, 0.7]), np.array([True, False, True]), n_gt=2))
        (0.6666666666666666, 1.0, 0.7)
    """
    if m.n_gt == 0 or not m.tp.any():
        return float("nan"), float("nan"), float("nan")
    order = np.argsort(-m.score, kind="stable")
    score, tp = m.score[order], m.tp[order].astype(np.float64)
    last = np.r_[score[1:] != score[:-1], True]  # a threshold takes every detection of equal score
    cum_tp = np.cumsum(tp)[last]
    precision, recall = cum_tp / (np.flatnonzero(last) + 1), cum_tp / m.n_gt
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    i = int(np.argmax(f1))
    return float(precision[i]), float(recall[i]), float(score[last][i])
