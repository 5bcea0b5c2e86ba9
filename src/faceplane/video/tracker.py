"""ByteTrack-style multi-object tracker: Kalman prediction, two-stage IoU association, stable ids.

The tracker knows nothing of faces or persons: it takes boxes and scores from any detector, one
:meth:`Tracker.update` per analysed frame, and returns :class:`Tracks`, the confirmed tracks that
matched a detection in that frame. Its moving parts follow SORT (Bewley et al., 2016) and ByteTrack
(Zhang et al., 2022):

- every track carries a constant-velocity Kalman filter on ``cx, cy, w/h, h`` (box centre, aspect
  ratio, height) with ByteTrack's height-relative noise;
- high-score detections are matched first to the confirmed tracks (Hungarian on IoU); low-score
  detections then rescue the confirmed tracks still unmatched, which keeps an id through partial
  occlusion without letting weak detections start tracks;
- new tracks start only from unmatched high-score detections, stay tentative (unreported, no id)
  until ``min_hits`` consecutive matches, and are dropped at their first miss;
- a confirmed track that misses is *lost*: it is kept, predicted, and can be matched again for
  ``max_age`` updates, then it ends and its id appears in :attr:`Tracker.ended`;
- optionally (``reid``, :mod:`~faceplane.video.appearance`), a confirmed track left unmatched (its
  predicted box no longer overlaps its person, who was hidden or turned) takes back, by appearance and
  within a plausible walk, a high-score detection left unmatched, before that detection could start a
  new track: the same person keeps one id instead of two.

Ids are given at confirmation, start at 1 and are never reused, so the number of confirmed tracks
so far is the largest id. Several trackers of one camera (one per object class) may share an id
source (``ids=itertools.count(1)``): their ids are then unique across all of them.

State is kept as parallel arrays (one row per live track) so that prediction and the Kalman update
are batched numpy operations.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

from ..errors import InvalidArgumentError
from ..geometry import box_iou
from .appearance import DESCRIPTOR_SIZE, Reid

__all__ = ["Tracker", "Tracks"]

logger = logging.getLogger(__name__)

_F32 = npt.NDArray[np.float32]
_F64 = npt.NDArray[np.float64]
_I64 = npt.NDArray[np.int64]

# ByteTrack's noise model: standard deviations proportional to the box height.
_STD_POS = 1.0 / 20.0
_STD_VEL = 1.0 / 160.0
# Constant-velocity model: state (cx, cy, a, h, vcx, vcy, va, vh), one time step per update().
_MOTION = np.eye(8) + np.eye(8, k=4)
_OBSERVE = np.eye(4, 8)


@dataclass(frozen=True)
class Tracks:
    """Confirmed tracks that matched a detection in one update, as parallel arrays (row ``i`` = track ``i``).

    Attributes:
        xyxy: (N, 4) float32 pixels, the matched detection's box (not the Kalman estimate).
        score: (N,) float32, the matched detection's score.
        track_id: (N,) int64, stable across updates, starting at 1, never reused.
        det_index: (N,) int64, the row of the matched detection in the ``update()`` input.

    Example:
        >>> len(Tracks.empty())
        0
    """

    xyxy: _F32
    score: _F32
    track_id: _I64
    det_index: _I64

    def __len__(self) -> int:
        return len(self.track_id)

    @classmethod
    def empty(cls) -> Tracks:
        """No tracks: every array has zero rows."""
        return cls(
            xyxy=np.zeros((0, 4), np.float32),
            score=np.zeros((0,), np.float32),
            track_id=np.zeros((0,), np.int64),
            det_index=np.zeros((0,), np.int64),
        )


def _xyah_from_xyxy(xyxy: npt.NDArray[np.floating]) -> _F64:
    """(N, 4) ``xyxy`` -> (N, 4) ``cx, cy, w/h, h`` (the Kalman measurement)."""
    b = np.asarray(xyxy, dtype=np.float64)
    w = b[:, 2] - b[:, 0]
    h = np.maximum(b[:, 3] - b[:, 1], 1e-6)
    return np.stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2, w / h, h], axis=1)


def _xyxy_from_xyah(xyah: _F64) -> _F32:
    """(N, 4) ``cx, cy, w/h, h`` -> (N, 4) float32 ``xyxy``."""
    w = xyah[:, 2] * xyah[:, 3]
    half = np.stack([w / 2, xyah[:, 3] / 2], axis=1)
    return np.concatenate([xyah[:, :2] - half, xyah[:, :2] + half], axis=1).astype(np.float32)


def _diag(std: _F64) -> _F64:
    """(N, K) standard deviations -> (N, K, K) diagonal covariances."""
    out = np.zeros((*std.shape, std.shape[1]))
    idx = np.arange(std.shape[1])
    out[:, idx, idx] = std**2
    return out


def _kalman_start(z: _F64) -> tuple[_F64, _F64]:
    """(N, 4) first measurements -> (N, 8) state means with zero velocity, (N, 8, 8) covariances."""
    h = z[:, 3]
    mean = np.concatenate([z, np.zeros_like(z)], axis=1)
    pos, vel = 2 * _STD_POS * h, 10 * _STD_VEL * h
    std = np.stack([pos, pos, np.full_like(h, 1e-2), pos, vel, vel, np.full_like(h, 1e-5), vel], axis=1)
    return mean, _diag(std)


def _kalman_predict(mean: _F64, cov: _F64) -> tuple[_F64, _F64]:
    """One time step ahead for every row: (N, 8) means, (N, 8, 8) covariances."""
    h = mean[:, 3]
    pos, vel = _STD_POS * h, _STD_VEL * h
    std = np.stack([pos, pos, np.full_like(h, 1e-2), pos, vel, vel, np.full_like(h, 1e-5), vel], axis=1)
    return mean @ _MOTION.T, _MOTION @ cov @ _MOTION.T + _diag(std)


def _kalman_correct(mean: _F64, cov: _F64, z: _F64) -> tuple[_F64, _F64]:
    """Fold (N, 4) measurements into (N, 8) means and (N, 8, 8) covariances."""
    pos = _STD_POS * mean[:, 3]
    noise = _diag(np.stack([pos, pos, np.full_like(pos, 1e-1), pos], axis=1))
    s = _OBSERVE @ cov @ _OBSERVE.T + noise  # (N, 4, 4) innovation covariance
    pht = cov @ _OBSERVE.T  # (N, 8, 4)
    gain = np.linalg.solve(s, pht.transpose(0, 2, 1)).transpose(0, 2, 1)  # P H^T S^-1, S symmetric
    innovation = z - mean[:, :4]
    new_mean = mean + np.einsum("nij,nj->ni", gain, innovation)
    new_cov = cov - gain @ s @ gain.transpose(0, 2, 1)
    return new_mean, new_cov


def _associate(track_xyxy: _F32, det_xyxy: _F32, min_iou: float) -> _I64:
    """Hungarian matching on IoU, pairs below ``min_iou`` excluded: (K, 2) int64 rows ``(track, det)``."""
    if len(track_xyxy) == 0 or len(det_xyxy) == 0:
        return np.zeros((0, 2), np.int64)
    iou = box_iou(track_xyxy, det_xyxy).astype(np.float64)
    allowed = iou >= min_iou
    # Excluded pairs get a cost larger than any sum of allowed ones, so they are chosen only when
    # nothing else is possible, and then filtered out below.
    cost = np.where(allowed, 1.0 - iou, 1.0 + min(iou.shape))
    rows, cols = linear_sum_assignment(cost)
    keep = allowed[rows, cols]
    return np.stack([rows[keep], cols[keep]], axis=1).astype(np.int64)


def _as_detections(xyxy: npt.ArrayLike, score: npt.ArrayLike) -> tuple[_F32, _F32]:
    """Validate one update's input: (N, 4) boxes and (N,) scores, all finite."""
    boxes = np.asarray(xyxy, dtype=np.float32)
    if boxes.size == 0:
        boxes = boxes.reshape(0, 4)
    scores = np.asarray(score, dtype=np.float32).reshape(-1)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise InvalidArgumentError(f"xyxy must have shape (N, 4), got {boxes.shape}")
    if len(scores) != len(boxes):
        raise InvalidArgumentError(f"score must have shape ({len(boxes)},), got {scores.shape}")
    if not (np.isfinite(boxes).all() and np.isfinite(scores).all()):
        raise InvalidArgumentError("xyxy and score must be finite (no NaN or inf)")
    return boxes, scores


def _as_appearance(appearance: npt.ArrayLike | None, n: int) -> _F32 | None:
    """Validate one update's descriptors: (N, DESCRIPTOR_SIZE) finite float32, or None."""
    if appearance is None:
        return None
    feats = np.asarray(appearance, dtype=np.float32)
    if feats.size == 0:
        feats = feats.reshape(0, DESCRIPTOR_SIZE)
    if feats.shape != (n, DESCRIPTOR_SIZE) or not np.isfinite(feats).all():
        raise InvalidArgumentError(f"appearance must be finite with shape ({n}, {DESCRIPTOR_SIZE}), got {feats.shape}")
    return feats


class Tracker:
    """Multi-object tracker: one :meth:`update` per analysed frame with that frame's detections.

    Scores are compared with ``high_score`` and ``low_score`` as they are: they need not be
    probabilities (dlib's HOG face detector and OpenCV's HOG people detector give SVM margins,
    roughly 0..3), so the caller picks thresholds on its detector's own scale.

    Args:
        high_score: detections scoring at least this are matched first and may start new tracks.
        low_score: detections scoring in ``[low_score, high_score)`` only keep existing tracks
            alive (ByteTrack's second association); lower ones are ignored.
        match_iou: a detection may match a track's predicted box only if their IoU is at least this.
        min_hits: consecutive matches before a new track is confirmed, given an id and reported.
        max_age: updates a confirmed track survives without a match; it ends on the next miss.
        ids: where confirmed tracks take their ids from (default: a counter of this tracker from 1);
            give several trackers the same iterator to keep their ids apart.
        reid: re-identify lost tracks by appearance (None: off); :meth:`update` then takes each
            detection's :func:`~faceplane.video.appearance.describe` row.

    Raises:
        InvalidArgumentError: (a ValueError) a bad value; the message names it.

    Example:
        >>> tracker = Tracker(min_hits=1)
        >>> tracker.update([[10, 10, 50, 90]], [0.9]).track_id.tolist()
        [1]
        >>> tracker.update([[12, 10, 52, 90]], [0.8]).track_id.tolist()
        [1]
    """

    def __init__(
        self,
        *,
        high_score: float = 0.5,
        low_score: float = 0.1,
        match_iou: float = 0.3,
        min_hits: int = 2,
        max_age: int = 30,
        ids: Iterator[int] | None = None,
        reid: Reid | None = None,
    ) -> None:
        if not (np.isfinite(high_score) and np.isfinite(low_score)) or low_score > high_score:
            raise InvalidArgumentError(
                f"need finite low_score <= high_score, got low_score={low_score!r}, high_score={high_score!r}"
            )
        if not 0.0 < match_iou <= 1.0:
            raise InvalidArgumentError(f"match_iou must be in (0, 1], got {match_iou!r}")
        if isinstance(min_hits, bool) or not isinstance(min_hits, int) or min_hits < 1:
            raise InvalidArgumentError(f"min_hits must be an int >= 1, got {min_hits!r}")
        if isinstance(max_age, bool) or not isinstance(max_age, int) or max_age < 0:
            raise InvalidArgumentError(f"max_age must be an int >= 0, got {max_age!r}")
        self.high_score, self.low_score, self.match_iou = float(high_score), float(low_score), float(match_iou)
        self.min_hits, self.max_age = min_hits, max_age
        self._ids = ids if ids is not None else itertools.count(1)
        self.reid = reid
        self._ended: list[int] = []
        # One row per live track (tentative, tracked or lost).
        self._mean: _F64 = np.zeros((0, 8))  # (T, 8) Kalman state cx, cy, a, h and their velocities
        self._cov: _F64 = np.zeros((0, 8, 8))  # (T, 8, 8) Kalman covariance
        self._id: _I64 = np.zeros((0,), np.int64)  # (T,) track id, 0 while tentative
        self._hits: _I64 = np.zeros((0,), np.int64)  # (T,) matches so far
        self._misses: _I64 = np.zeros((0,), np.int64)  # (T,) consecutive updates without a match
        self._det: _I64 = np.zeros((0,), np.int64)  # (T,) detection row matched in the last update, -1 none
        self._seen: _F32 = np.zeros((0, 4), np.float32)  # (T, 4) pixels, the box last matched
        self._feat: _F32 = np.zeros((0, DESCRIPTOR_SIZE), np.float32)  # (T, D) appearance (zero: none/unknown)

    @property
    def ended(self) -> list[int]:
        """Ids of the confirmed tracks that ended during the last :meth:`update` (or :meth:`flush`)."""
        return list(self._ended)

    def active_ids(self) -> list[int]:
        """Ids of the confirmed tracks not yet ended (matched in the last update or lost), ascending."""
        return sorted(int(i) for i in self._id[self._id > 0])

    def flush(self) -> list[int]:
        """End every track (end of stream): returns the ids of the confirmed ones, ascending.

        Tentative tracks are dropped without an id. The tracker can be used again afterwards;
        ids keep counting up.
        """
        self._ended = self.active_ids()
        self._keep(np.zeros(len(self._id), bool))
        return list(self._ended)

    def update(self, xyxy: npt.ArrayLike, score: npt.ArrayLike, appearance: npt.ArrayLike | None = None) -> Tracks:
        """Advance one frame and match its detections to the tracks.

        Args:
            xyxy: (N, 4) float pixels, this frame's detections; N may be 0 (shape ``(0, 4)``).
            score: (N,) float, their scores on the detector's own scale.
            appearance: (N, D) float32 :func:`~faceplane.video.appearance.describe` rows, read only with
                ``reid`` and only for detections scoring >= ``high_score`` (others may be zero rows);
                None: no appearance this frame (no re-identification, descriptors not updated).

        Returns:
            The confirmed tracks matched in this frame, with the matched detection's box and row.

        Raises:
            InvalidArgumentError: (a ValueError) wrong shapes or non-finite values.
        """
        boxes, scores = _as_detections(xyxy, score)
        feats = _as_appearance(appearance, len(boxes)) if self.reid is not None else None
        self._predict()
        self._correct(*self._match(boxes, scores, feats), boxes, feats)
        self._ended = self._retire()
        self._start(boxes, scores, feats)
        return self._report(boxes, scores)

    def _predict(self) -> None:
        self._mean[self._misses > 0, 7] = 0.0  # as ByteTrack: a lost box stops growing or shrinking
        self._mean, self._cov = _kalman_predict(self._mean, self._cov)

    def _match(self, boxes: _F32, scores: _F32, feats: _F32 | None) -> tuple[_I64, _I64]:
        """(T,) int64: the detection row each track matched, -1 for none; the rows matched by appearance."""
        det_of = np.full(len(self._id), -1, np.int64)
        predicted = _xyxy_from_xyah(self._mean[:, :4])
        high = np.flatnonzero(scores >= self.high_score)
        low = np.flatnonzero((scores >= self.low_score) & (scores < self.high_score))
        confirmed = np.flatnonzero(self._id > 0)
        # 1. high-score detections to every confirmed track, matched last frame or lost
        self._assign(det_of, confirmed, high, predicted, boxes)
        # 2. low-score detections only rescue tracks that were matched last frame
        still_tracked = confirmed[(det_of[confirmed] < 0) & (self._misses[confirmed] == 0)]
        self._assign(det_of, still_tracked, low, predicted, boxes)
        revived = np.zeros(0, np.int64)
        if self.reid is not None and feats is not None:
            # 2b. by appearance: the high-score detections left over to the confirmed tracks still
            # unmatched (lost, or just lost: their predicted box missed), before they start new tracks
            lost = confirmed[det_of[confirmed] < 0]
            free = high[~np.isin(high, det_of)]
            pairs = self.reid.revive(self._feat[lost], self._seen[lost], self._misses[lost], feats[free], boxes[free])
            revived = lost[pairs[:, 0]]
            det_of[revived] = free[pairs[:, 1]]
        # 3. the high-score detections left over, to the tentative tracks
        self._assign(det_of, np.flatnonzero(self._id == 0), high[~np.isin(high, det_of)], predicted, boxes)
        return det_of, revived

    def _assign(self, det_of: _I64, tracks: _I64, dets: _I64, predicted: _F32, boxes: _F32) -> None:
        """Match rows ``tracks`` of ``predicted`` to rows ``dets`` of ``boxes``, writing into ``det_of``."""
        pairs = _associate(predicted[tracks], boxes[dets], self.match_iou)
        det_of[tracks[pairs[:, 0]]] = dets[pairs[:, 1]]

    def _correct(self, det_of: _I64, revived: _I64, boxes: _F32, feats: _F32 | None) -> None:
        hit = det_of >= 0
        if hit.any():
            z = _xyah_from_xyxy(boxes[det_of[hit]])
            self._mean[hit], self._cov[hit] = _kalman_correct(self._mean[hit], self._cov[hit], z)
            self._seen[hit] = boxes[det_of[hit]]
        if len(revived):  # its prediction had lost the person: start its motion again from the detection
            self._mean[revived], self._cov[revived] = _kalman_start(_xyah_from_xyxy(boxes[det_of[revived]]))
        if self.reid is not None and feats is not None and hit.any():
            self._feat[hit] = self.reid.blend(self._feat[hit], feats[det_of[hit]])
        self._hits[hit] += 1
        self._misses[hit] = 0
        self._misses[~hit] += 1
        self._det = det_of

    def _retire(self) -> list[int]:
        """Drop tentative tracks that missed and end confirmed ones lost too long: their ids, ascending."""
        tentative = self._id == 0
        too_old = ~tentative & (self._misses > self.max_age)
        ended = sorted(int(i) for i in self._id[too_old])
        self._keep(~(too_old | (tentative & (self._misses > 0))))
        if ended:
            logger.debug("tracks ended: %s", ended)
        return ended

    def _start(self, boxes: _F32, scores: _F32, feats: _F32 | None) -> None:
        """New tentative tracks from unmatched high-score detections; confirm tracks with enough hits."""
        new = np.flatnonzero(scores >= self.high_score)
        new = new[~np.isin(new, self._det)]
        mean, cov = _kalman_start(_xyah_from_xyxy(boxes[new]))
        feat = feats[new] if feats is not None else np.zeros((len(new), DESCRIPTOR_SIZE), np.float32)
        self._seen = np.concatenate([self._seen, boxes[new]])
        self._feat = np.concatenate([self._feat, feat])
        self._mean = np.concatenate([self._mean, mean])
        self._cov = np.concatenate([self._cov, cov])
        self._id = np.concatenate([self._id, np.zeros(len(new), np.int64)])
        self._hits = np.concatenate([self._hits, np.ones(len(new), np.int64)])
        self._misses = np.concatenate([self._misses, np.zeros(len(new), np.int64)])
        self._det = np.concatenate([self._det, new.astype(np.int64)])
        confirm = np.flatnonzero((self._id == 0) & (self._hits >= self.min_hits))
        confirm = confirm[np.argsort(self._det[confirm], kind="stable")]  # ids in detection order
        self._id[confirm] = [next(self._ids) for _ in confirm]

    def _report(self, boxes: _F32, scores: _F32) -> Tracks:
        rows = np.flatnonzero((self._id > 0) & (self._det >= 0))
        rows = rows[np.argsort(self._id[rows])]
        det = self._det[rows]
        return Tracks(xyxy=boxes[det], score=scores[det], track_id=self._id[rows].copy(), det_index=det)

    def _keep(self, mask: npt.NDArray[np.bool_]) -> None:
        self._mean, self._cov, self._id = self._mean[mask], self._cov[mask], self._id[mask]
        self._hits, self._misses, self._det = self._hits[mask], self._misses[mask], self._det[mask]
        self._seen, self._feat = self._seen[mask], self._feat[mask]
