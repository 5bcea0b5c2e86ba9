"""MOTChallenge ground truth and the tracking metrics the counting bench reports: CLEAR-MOT and IDF1.

Self-contained (numpy + scipy), so the bench does not depend on motmetrics. Definitions follow
Bernardin & Stiefelhagen 2008 (MOTA) and Ristani et al. 2016 (IDF1), with a box counting as found
when IoU >= 0.5. Rows of the ground truth whose flag (column 7) is 0 are "ignore" boxes: they are
neither missed when no track covers them nor false positives when one does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from faceplane.geometry import box_iou


@dataclass(frozen=True)
class Boxes:
    """Boxes over a whole sequence as parallel arrays (one row per box per frame).

    Attributes:
        frame: (M,) int64, 0-based frame index.
        ident: (M,) int64, the person (ground truth) or track id.
        xyxy: (M, 4) float32 pixels.
        active: (M,) bool, False for ground-truth boxes to ignore.
    """

    frame: np.ndarray
    ident: np.ndarray
    xyxy: np.ndarray
    active: np.ndarray

    def __len__(self) -> int:
        return len(self.frame)

    def select(self, mask: np.ndarray) -> Boxes:
        return Boxes(self.frame[mask], self.ident[mask], self.xyxy[mask], self.active[mask])

    @classmethod
    def from_rows(cls, frame: list[int], ident: list[int], xyxy: list[np.ndarray]) -> Boxes:
        boxes = np.concatenate(xyxy).astype(np.float32) if xyxy else np.zeros((0, 4), np.float32)
        return cls(np.asarray(frame, np.int64), np.asarray(ident, np.int64), boxes, np.ones(len(frame), bool))


def read_mot_gt(path: Path) -> Boxes:
    """A MOTChallenge ``gt.txt`` (frame 1-based, id, left, top, width, height, flag, ...) as :class:`Boxes`."""
    rows = np.loadtxt(path, delimiter=",", ndmin=2)
    xyxy = np.concatenate([rows[:, 2:4], rows[:, 2:4] + rows[:, 4:6]], axis=1).astype(np.float32)
    return Boxes(rows[:, 0].astype(np.int64) - 1, rows[:, 1].astype(np.int64), xyxy, rows[:, 6] != 0)


def _match(a: np.ndarray, b: np.ndarray, min_iou: float) -> np.ndarray:
    """(K, 2) rows of a and b matched by Hungarian assignment on IoU, pairs below ``min_iou`` excluded."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((0, 2), np.int64)
    iou = box_iou(a, b).astype(np.float64)
    ok = iou >= min_iou
    rows, cols = linear_sum_assignment(np.where(ok, 1.0 - iou, 1.0 + min(iou.shape)))
    keep = ok[rows, cols]
    return np.stack([rows[keep], cols[keep]], axis=1)


def drop_ignored(gt: Boxes, hyp: Boxes, min_iou: float = 0.5) -> tuple[Boxes, Boxes]:
    """Remove ignore-flagged ground truth and the hypotheses that cover it (per frame, Hungarian)."""
    drop = np.zeros(len(hyp), bool)
    for f in np.unique(gt.frame[~gt.active]):
        g, h = np.flatnonzero(gt.frame == f), np.flatnonzero(hyp.frame == f)
        pairs = _match(gt.xyxy[g], hyp.xyxy[h], min_iou)
        drop[h[pairs[:, 1]][~gt.active[g[pairs[:, 0]]]]] = True
    return gt.select(gt.active), hyp.select(~drop)


def detection_pr(gt: Boxes, det: Boxes, min_iou: float = 0.5) -> tuple[float, float]:
    """Precision and recall of per-frame detections against active ground truth (ids ignored)."""
    gt, det = drop_ignored(gt, det, min_iou)
    tp = sum(len(_match(gt.xyxy[gt.frame == f], det.xyxy[det.frame == f], min_iou)) for f in np.unique(gt.frame))
    return tp / max(len(det), 1), tp / max(len(gt), 1)


def clear_mot(gt: Boxes, hyp: Boxes, min_iou: float = 0.5) -> dict[str, float]:
    """MOTA, false positives, misses and id switches over the frames that have ground truth or hypotheses.

    Correspondences from the previous frame are kept while their IoU stays >= ``min_iou``; the rest
    are matched by Hungarian assignment. An id switch is a ground-truth person matched to a track id
    different from the one it was last matched to.
    """
    gt, hyp = drop_ignored(gt, hyp, min_iou)
    last: dict[int, int] = {}  # gt id -> hyp id it was last matched to
    fp = fn = switches = tp = 0
    for f in np.union1d(gt.frame, hyp.frame):
        g, h = np.flatnonzero(gt.frame == f), np.flatnonzero(hyp.frame == f)
        g_ids, h_ids = gt.ident[g], hyp.ident[h]
        iou = box_iou(gt.xyxy[g], hyp.xyxy[h])
        pairs = [(i, j) for i in range(len(g)) for j in range(len(h)) if last.get(g_ids[i]) == h_ids[j]]
        pairs = [(i, j) for i, j in pairs if iou[i, j] >= min_iou]
        free_g = np.setdiff1d(np.arange(len(g)), [i for i, _ in pairs])
        free_h = np.setdiff1d(np.arange(len(h)), [j for _, j in pairs])
        extra = _match(gt.xyxy[g[free_g]], hyp.xyxy[h[free_h]], min_iou)
        pairs += [(free_g[a], free_h[b]) for a, b in extra]
        for i, j in pairs:
            switches += int(g_ids[i] in last and last[g_ids[i]] != h_ids[j])
            last[int(g_ids[i])] = int(h_ids[j])
        tp += len(pairs)
        fn += len(g) - len(pairs)
        fp += len(h) - len(pairs)
    n_gt = max(len(gt), 1)
    return {"mota": 1.0 - (fn + fp + switches) / n_gt, "fp": fp, "fn": fn, "id_switches": switches, "tp": tp}


def idf1(gt: Boxes, hyp: Boxes, min_iou: float = 0.5) -> float:
    """IDF1: 2 IDTP / (ground-truth boxes + hypothesis boxes), ids paired by one global assignment.

    IDTP is the largest number of frames in which paired ids overlap (IoU >= ``min_iou``), summed over
    a one-to-one pairing of ground-truth ids with track ids; maximising it minimises IDFP + IDFN.
    """
    gt, hyp = drop_ignored(gt, hyp, min_iou)
    g_ids, g_inv = np.unique(gt.ident, return_inverse=True)
    h_ids, h_inv = np.unique(hyp.ident, return_inverse=True)
    overlap = np.zeros((len(g_ids), len(h_ids)))
    for f in np.intersect1d(gt.frame, hyp.frame):
        g, h = np.flatnonzero(gt.frame == f), np.flatnonzero(hyp.frame == f)
        ok = box_iou(gt.xyxy[g], hyp.xyxy[h]) >= min_iou
        gi, hi = np.nonzero(ok)
        np.add.at(overlap, (g_inv[g[gi]], h_inv[h[hi]]), 1)
    rows, cols = linear_sum_assignment(-overlap) if overlap.size else (np.zeros(0, int), np.zeros(0, int))
    idtp = overlap[rows, cols].sum()
    return float(2 * idtp / max(len(gt) + len(hyp), 1))
