"""Is the face shown on a phone, a tablet or a sheet of paper? Geometry, not colour.

A presented face sits inside an object with straight edges: a screen (and the device around it) or a
sheet of paper. A live face has no such frame: what is around it (hair, shoulders, the room) is curved,
or cut by the head and body, or runs on past any corner. This module looks for that frame on grey levels
only, so a colour-calibrated screen or a natural-looking print is found as easily as a blue-cast one. It
complements :mod:`.passive` (whose ``edge`` cue only counts axis-parallel segments in a ring next to the
face box) and is meant to be fused with it by the caller.

Measurement (:func:`device_frame`), in face-normalised coordinates (origin at the face box centre, unit
= the face size ``sqrt(w * h)`` of the box, y down):

1. Line segments (OpenCV's LSD) at two scales (``_SCALES``): the face at 36 px in a window reaching 4 face
   sizes beyond the box (a device up to ~4x the face, the face anywhere in it), and the face at 80 px in a
   window reaching 1 face size beyond it (a tight bezel right next to the face).
2. Segments that pass outside the face box are merged into lines (collinear and at most 0.3 apart). A
   line is a *candidate side* when it is at least half a face long and runs across at least half of the
   face's projection on it (a side of any convex frame around the face does), at any angle.
3. The best *quadrilateral*: four slots at 0/90/180/270 degrees from an anchor candidate, each within
   +/-22 degrees (rotation and perspective: the sides need not be axis-aligned or parallel), each taking
   one of its longest candidates or none; the combination with the most sides and closed corners wins.
   A corner is *closed* when both lines end near their intersection - a device's edges stop at its
   (rounded) corners - and neither runs on past it: room edges (window bars, door frames, the line
   between wall and ceiling) usually do, and a live head and body cut a frame behind them.
4. Optionally, an object detector's view (:class:`faceplane.objects.ObjectDetector` built with
   :data:`DEVICE_CLASSES`): a "cell phone"/"laptop"/"tv"/"book" box that holds the face and is much
   larger than it.

Evidence (0..1, higher = more like a device or a print) is a noisy-OR of the frame's strength
(:func:`_geometry_evidence`) and the detector's box (:func:`_object_evidence`). Every number was chosen
on the development data of ``bench/liveness_device.py`` (the first 5 s of the two shared videos, our own
rendered devices and prints, faces in COCO train2017), never on what that script reports as held out.
Tried and left out because they did not separate live from attack there: a uniform band (bezel, print
margin) inside a side - white walls and window frames give the same; a "person" box much larger than
the face - NanoDet's person boxes around the phone in ``fake.mp4`` were no larger, relative to the face,
than around live faces.

Measured (``bench/liveness_device.py``, held-out rows; evidence > 0.5): the phone replay in ``fake.mp4``
after 5 s 88-100% of faces (BlazeFace / HOG boxes), ``real.mov`` after 5 s 0%; live faces in the Intel
sample GIFs and the Hamilton clip 0/115; in COCO val2017 5/47 (a face in a framed mirror, two in a
doorway, two in a photo with its own rounded border); in the ``faces/`` photo folders 16/254 (10 are
faces in a photo collage - pictures indeed - and 6 red-carpet and group portraits where hair outlines
and backdrop edges make 4 sides with 2 closed corners, evidence 0.71).

Known misses: the shared print (``image_F1.jpg``: the sheet fills the frame, one edge found) and tablet
(``image_F2.jpg``: the face box reaches the bezel, so that side counts as inside the face) score 0. A
device bigger than the frame, or seen on two sides only, gives little evidence; a frame open towards
the chin (a device whose bottom is out of view or covered by the hand) is discounted, since a live
person standing in a doorway or in front of a poster shows the same three sides.

Example:
    >>> import numpy as np
    >>> image = np.full((480, 640, 3), 128, np.uint8)
    >>> r = device_frame(image, np.array([270, 190, 370, 290], np.float32))
    >>> r.cues.sides, r.evidence
    (0, 0.0)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

from ..objects import Objects
from .passive import _check

__all__ = ["DEVICE_CLASSES", "DeviceCues", "DeviceResult", "device_frame"]

logger = logging.getLogger(__name__)

_U8 = npt.NDArray[np.uint8]
_F64 = npt.NDArray[np.float64]

#: COCO classes whose box around a face says "shown on something" (for ``ObjectDetector(classes=...)``).
DEVICE_CLASSES: tuple[str, ...] = ("cell phone", "laptop", "tv", "book")

# (face size in px the window is resized to, how far the window reaches beyond the box, in face sizes)
_SCALES: tuple[tuple[float, float], ...] = ((36.0, 4.0), (80.0, 1.0))
_MIN_SEGMENT = 0.25  # LSD segments shorter than this (face sizes) are dropped before merging
_MERGE_DEG, _MERGE_DIST = 4.0, 0.05  # segments this close in angle and offset lie on one line
_MIN_SUPPORT = 0.5  # a candidate side: at least this much edge (face sizes) ...
_MIN_COVER = 0.5  # ... covering at least this share of the face's projection on the line ...
_MAX_DIST = 4.5  # ... and no farther than this from the face centre
_SLOT_DEG = 22.0  # a side may turn this far from the rectangle's ideal angle (perspective, rotation)
_CORNER_GAP = 0.45  # a line may stop this short of a corner (rounded corners) and still close it
_CORNER_OVERSHOOT = 0.3  # ... and run on this far past it
_CORNER_WEIGHT = 1.5  # a closed corner counts more than a side: frames close, room edges rarely do
_PER_SLOT = 6  # longest candidates tried per slot
_FRAME_RAMP = (4.5, 8.0)  # frame strength (sides + 1.5 x corners) at evidence 0 and 1: _geometry_evidence
_OBJECT_RAMP = (0.2, 0.4)  # detector score of a device box around the face at evidence 0 and full weight
_OBJECT_WEIGHT = 0.8  # a detector box alone (no frame found) can reach this much evidence
_REASON_AT = 0.3  # a view with at least this much evidence is named in the reasons
_MERGE_GAP = 0.3  # collinear segments further apart than this along the line stay separate lines


@dataclass(frozen=True)
class DeviceCues:
    """Raw measurements (module docstring); lengths in face sizes.

    Attributes:
        sides: 0..4 sides of the best quadrilateral around the face.
        open_side: which side is missing when ``sides == 3``: ``"down"`` (towards the chin, where a live
            person's body would hide a frame), ``"other"``, or ``""``.
        corners: 0..4 closed corners of that quadrilateral.
        support: mean edge length found along its sides, as a share of each side's length between its
            corners (sides without two corners count their found length over the face size, capped at 1).
        size: the quadrilateral's extent over the face size (mean of the distances between opposite
            sides found; 0 without a pair).
        object_class: the detector class of the best device box containing the face ("" without one).
        object_score: its score (0 without one).
        quad: (4, 2) float32 image pixels of the quadrilateral's corners (nan where a side is missing), or
            None when fewer than 2 sides were found.
    """

    sides: int
    open_side: str
    corners: int
    support: float
    size: float
    object_class: str = ""
    object_score: float = 0.0
    quad: npt.NDArray[np.float32] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class DeviceResult:
    """``evidence`` 0..1 (higher = more like a device or print), the raw ``cues`` and readable ``reasons``:
    one for each view (the frame, the object detector) that alone gives at least 0.3 evidence. ``frame`` and
    ``detected`` are the two views' own evidence (``evidence`` is their noisy-OR)."""

    evidence: float
    cues: DeviceCues
    reasons: list[str]
    frame: float = 0.0
    detected: float = 0.0


@dataclass(frozen=True)
class _Lines:
    """Merged lines, parallel arrays (face-normalised coordinates).

    phi: normal angle (radians) from the face centre towards the line; dist: distance from the centre;
    lo, hi: extent along the line (``t`` measured from the foot of the normal, direction = normal turned
    +90 degrees); support: edge length actually found inside [lo, hi].
    """

    phi: _F64
    dist: _F64
    lo: _F64
    hi: _F64
    support: _F64

    def __len__(self) -> int:
        return len(self.phi)

    def take(self, keep: npt.NDArray[np.bool_] | npt.NDArray[np.int64]) -> _Lines:
        return _Lines(self.phi[keep], self.dist[keep], self.lo[keep], self.hi[keep], self.support[keep])


def _segments(image: _U8, box: tuple[int, int, int, int]) -> tuple[npt.NDArray[np.float64], float]:
    """LSD segments of both scales as (N, 4) face-normalised ``x0, y0, x1, y1``; and the face size (px).

    Only the grey levels of the widest window are computed (colour plays no part).
    """
    x0, y0, x1, y1 = box
    size = float(np.sqrt((x1 - x0) * (y1 - y0)))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    h, w = image.shape[:2]
    reach = max(r for _, r in _SCALES) * size
    ox0, oy0 = max(0, int(x0 - reach)), max(0, int(y0 - reach))
    ox1, oy1 = min(w, int(np.ceil(x1 + reach))), min(h, int(np.ceil(y1 + reach)))
    grey = cv2.cvtColor(image[oy0:oy1, ox0:ox1], cv2.COLOR_RGB2GRAY)
    lsd = cv2.createLineSegmentDetector(cv2.LSD_REFINE_NONE)
    found = [np.zeros((0, 4))]
    for face_px, scale_reach in _SCALES:
        m = scale_reach * size
        rx0, ry0 = max(ox0, int(x0 - m)), max(oy0, int(y0 - m))
        rx1, ry1 = min(ox1, int(np.ceil(x1 + m))), min(oy1, int(np.ceil(y1 + m)))
        k = min(1.0, face_px / size)
        crop = grey[ry0 - oy0 : ry1 - oy0, rx0 - ox0 : rx1 - ox0]
        if k < 1.0:
            crop = cv2.resize(crop, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
        lines = lsd.detect(crop)[0]
        if lines is None:
            continue
        seg = lines.reshape(-1, 4).astype(np.float64) / k
        seg = (seg + np.array([rx0 - cx, ry0 - cy, rx0 - cx, ry0 - cy])) / size
        length = np.hypot(seg[:, 2] - seg[:, 0], seg[:, 3] - seg[:, 1])
        found.append(seg[length >= _MIN_SEGMENT])
    return np.concatenate(found), size


def _as_lines(seg: npt.NDArray[np.float64]) -> _Lines:
    """Each segment as a line of its own (support = its length)."""
    d = seg[:, 2:] - seg[:, :2]
    u = d / np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-9)[:, None]
    n = np.stack([-u[:, 1], u[:, 0]], axis=1)
    dist = np.einsum("ij,ij->i", n, seg[:, :2])
    n[dist < 0] *= -1
    t = np.stack([-n[:, 1], n[:, 0]], axis=1)  # along the line, same orientation for every segment of a line
    ta, tb = np.einsum("ij,ij->i", t, seg[:, :2]), np.einsum("ij,ij->i", t, seg[:, 2:])
    lo, hi = np.minimum(ta, tb), np.maximum(ta, tb)
    return _Lines(np.arctan2(n[:, 1], n[:, 0]), np.abs(dist), lo, hi, hi - lo)


def _merge(single: _Lines) -> _Lines:
    """Group collinear, nearby segments (connected components on angle, offset and gap) into lines."""
    phi, dist, lo, hi = single.phi, single.dist, single.lo, single.hi
    near = _angle_diff(phi[:, None], phi[None, :]) < np.deg2rad(_MERGE_DEG)
    near &= np.abs(dist[:, None] - dist[None, :]) < _MERGE_DIST * (1 + dist[:, None])
    near &= np.maximum(lo[:, None], lo[None, :]) - np.minimum(hi[:, None], hi[None, :]) < _MERGE_GAP
    label = np.arange(len(phi))
    for _ in range(len(phi)):  # label propagation: converges in a few rounds on these small graphs
        new = np.where(near, label[None, :], len(phi)).min(axis=1)
        if np.array_equal(new, label):
            break
        label = new
    groups, first = np.unique(label, return_index=True)
    merged = single.take(first)
    for g, lab in enumerate(groups):
        idx = np.nonzero(label == lab)[0]
        if len(idx) == 1:
            continue
        weight = hi[idx] - lo[idx]
        covered, end = 0.0, -np.inf
        for i in idx[np.argsort(lo[idx])]:  # union length of the intervals
            covered += max(0.0, hi[i] - max(lo[i], end))
            end = max(end, hi[i])
        merged.phi[g] = np.angle(np.sum(weight * np.exp(1j * phi[idx])))
        merged.dist[g] = np.sum(weight * dist[idx]) / np.sum(weight)
        merged.lo[g], merged.hi[g], merged.support[g] = lo[idx].min(), hi[idx].max(), covered
    return merged


def _outside(lines: _Lines, half_w: float, half_h: float) -> npt.NDArray[np.bool_]:
    """Lines that pass outside the face box (half sizes in face units) and within reach."""
    reach_n = half_w * np.abs(np.cos(lines.phi)) + half_h * np.abs(np.sin(lines.phi))  # box extent along the normal
    return (lines.dist > reach_n + 0.02) & (lines.dist < _MAX_DIST)


def _candidates(lines: _Lines, half_w: float, half_h: float) -> _Lines:
    """Lines that could be a side of a frame around the face box (half sizes in face units)."""
    reach_t = half_w * np.abs(np.sin(lines.phi)) + half_h * np.abs(np.cos(lines.phi))  # box extent along the line
    overlap = np.clip(np.minimum(lines.hi, reach_t) - np.maximum(lines.lo, -reach_t), 0, None) / (2 * reach_t)
    keep = _outside(lines, half_w, half_h) & (lines.support >= _MIN_SUPPORT) & (overlap >= _MIN_COVER)
    return lines.take(keep)


def _angle_diff(a: _F64 | float, b: _F64 | float) -> _F64:
    return np.abs((np.asarray(a) - b + np.pi) % (2 * np.pi) - np.pi)


def _intersection(lines: _Lines, i: int, j: int) -> npt.NDArray[np.float64] | None:
    """Where lines i and j meet (face units), None if they are (nearly) parallel."""
    a = np.array([[np.cos(lines.phi[i]), np.sin(lines.phi[i])], [np.cos(lines.phi[j]), np.sin(lines.phi[j])]])
    if abs(np.linalg.det(a)) < 0.2:
        return None
    return np.linalg.solve(a, np.array([lines.dist[i], lines.dist[j]]))


def _t_of(lines: _Lines, i: int, p: npt.NDArray[np.float64]) -> float:
    """Position of point ``p`` along line i."""
    return float(-np.sin(lines.phi[i]) * p[0] + np.cos(lines.phi[i]) * p[1])


def _closure(cand: _Lines) -> npt.NDArray[np.bool_]:
    """(N, N) True where lines i and j meet at a closed corner: both stop near their intersection.

    A line may stop up to ``_CORNER_GAP`` short of the corner (rounded corners, blur) and run on at most
    ``_CORNER_OVERSHOOT`` past it; nearly parallel pairs never close.
    """
    c, s = np.cos(cand.phi), np.sin(cand.phi)
    det = c[:, None] * s[None, :] - s[:, None] * c[None, :]
    safe = np.where(np.abs(det) < 0.3, 1.0, det)
    px = (cand.dist[:, None] * s[None, :] - cand.dist[None, :] * s[:, None]) / safe
    py = (c[:, None] * cand.dist[None, :] - c[None, :] * cand.dist[:, None]) / safe
    ok = np.abs(det) >= 0.3
    slack = np.maximum(1.0, np.hypot(px, py) / 1.5)  # far corners (big devices): rounder, blurrier
    for t, lo, hi in (
        (-s[:, None] * px + c[:, None] * py, cand.lo[:, None], cand.hi[:, None]),  # along line i
        (-s[None, :] * px + c[None, :] * py, cand.lo[None, :], cand.hi[None, :]),  # along line j
    ):
        gap = np.maximum(0.0, np.maximum(lo - t, t - hi))
        over = np.where((lo < t) & (t < hi), np.minimum(t - lo, hi - t), 0.0)
        ok &= (gap <= _CORNER_GAP * slack) & (over <= _CORNER_OVERSHOOT * slack)
    return ok


def _best_quad(cand: _Lines) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """The best quadrilateral: the candidate in each of the 4 slots (-1 = empty), and the closure matrix.

    Slots are at 0/90/180/270 degrees from an anchor candidate (+/- ``_SLOT_DEG``); each slot takes one of
    its ``_PER_SLOT`` longest candidates or none. Score: 1 per side + ``_CORNER_WEIGHT`` per closed corner
    (slot k with slot k+1), + a little for edge length (ties). Every anchor is tried (once per distinct
    slot membership).
    """
    closed = _closure(cand)
    turns = np.arange(4) * np.pi / 2
    member = _angle_diff(cand.phi[None, :, None], cand.phi[:, None, None] + turns) < np.deg2rad(_SLOT_DEG)
    _, anchors = np.unique(member.reshape(len(cand), -1), axis=0, return_index=True)
    order = np.argsort(-cand.support)
    best, best_score = np.full(4, -1, np.int64), -1.0
    for anchor in anchors:
        options = []
        for k in range(4):
            fit = order[member[anchor, order, k]][:_PER_SLOT]  # longest first
            options.append(np.concatenate([fit, [-1]]).astype(np.int64))
        grids = np.meshgrid(*options, indexing="ij")
        flat = np.stack([g.reshape(-1) for g in grids], axis=1)  # (combos, 4)
        present = flat >= 0
        score = present.sum(axis=1) + 0.01 * np.where(present, cand.support[flat], 0.0).sum(axis=1)
        for k in range(4):
            a, b = flat[:, k], flat[:, (k + 1) % 4]
            score = score + _CORNER_WEIGHT * ((a >= 0) & (b >= 0) & closed[a, b])
        i = int(np.argmax(score))
        if score[i] > best_score:
            best, best_score = flat[i], float(score[i])
    return best, closed


def _corners(cand: _Lines, slots: npt.NDArray[np.int64], closed: npt.NDArray[np.bool_]) -> tuple[int, float, _F64]:
    """Closed corners, mean support share of the sides, and (4, 2) corner points (nan where open).

    Corner ``k`` joins slots ``k`` and ``k + 1``.
    """
    points = np.full((4, 2), np.nan)
    count = 0
    for k in range(4):
        i, j = int(slots[k]), int(slots[(k + 1) % 4])
        if i < 0 or j < 0:
            continue
        p = _intersection(cand, i, j)
        if p is not None:
            points[k] = p
        count += int(closed[i, j])
    shares = []
    for k in range(4):
        i = int(slots[k])
        if i < 0:
            continue
        a, b = points[(k - 1) % 4], points[k]
        if np.all(np.isfinite(a)) and np.all(np.isfinite(b)):
            span = abs(_t_of(cand, i, a) - _t_of(cand, i, b))
            shares.append(min(1.0, cand.support[i] / max(span, 1e-6)))
        else:
            shares.append(min(1.0, cand.support[i]))
    return count, float(np.mean(shares)) if shares else 0.0, points


def _object_view(objects: Objects | None, box: tuple[int, int, int, int]) -> tuple[str, float]:
    """The best device-class box that holds >= 90% of the face and is >= 2.5x its area."""
    if objects is None or not len(objects):
        return "", 0.0
    x0, y0, x1, y1 = box
    area = (x1 - x0) * (y1 - y0)
    best = ("", 0.0)
    rows = zip(objects.xyxy.tolist(), objects.score.tolist(), objects.names, strict=True)
    for (ox0, oy0, ox1, oy1), score, name in rows:
        if name not in DEVICE_CLASSES:
            continue
        inter = max(0.0, min(x1, ox1) - max(x0, ox0)) * max(0.0, min(y1, oy1) - max(y0, oy0))
        if inter >= 0.9 * area and (ox1 - ox0) * (oy1 - oy0) >= 2.5 * area and score > best[1]:
            best = (name, float(score))
    return best


def _measure(image: _U8, box: tuple[int, int, int, int], objects: Objects | None) -> DeviceCues:
    seg, size = _segments(image, box)
    x0, y0, x1, y1 = box
    half_w, half_h = (x1 - x0) / size / 2, (y1 - y0) / size / 2
    obj = _object_view(objects, box)
    single = _as_lines(seg)
    single = single.take(_outside(single, half_w, half_h))  # lines through the face never make a side
    cand = _candidates(_merge(single), half_w, half_h) if len(single) else single
    if not len(cand):
        return DeviceCues(0, "", 0, 0.0, 0.0, *obj)
    slots, closed = _best_quad(cand)
    sides = int((slots >= 0).sum())
    corners, support, points = _corners(cand, slots, closed)
    open_side = ""
    if sides == 3:
        k = int(np.nonzero(slots < 0)[0][0])
        missing = cand.phi[slots[(k + 2) % 4]] + np.pi
        open_side = "down" if _angle_diff(missing, np.pi / 2) < np.deg2rad(45) else "other"
    pairs = [cand.dist[slots[k]] + cand.dist[slots[k + 2]] for k in (0, 1) if slots[k] >= 0 and slots[k + 2] >= 0]
    extent = float(np.mean(pairs)) if pairs else 0.0
    quad = None if sides < 2 else (points * size + ((x0 + x1) / 2, (y0 + y1) / 2)).astype(np.float32)
    return DeviceCues(sides, open_side, corners, support, extent, *obj, quad)


def _geometry_evidence(cues: DeviceCues) -> float:
    """Frame strength ``F = sides + 1.5 * closed corners`` (+0.5 when the one missing side of three is not
    the chin side, -0.5 when it is), ramped from F = 4.5 (evidence 0) to F = 8 (evidence 1).

    Chosen on the development data: live faces there reached at most 3 sides with 1 closed corner
    (a room's wall/ceiling corner; F <= 4.5) or, once, 4 sides with 1 corner (F = 5.5), and once 3 sides
    with 2 corners open towards the chin (a doorway-like frame, F = 5.5); the phone in ``fake.mp4``
    shows 4 sides with 3-4 closed corners (F >= 8.5). The top (8) puts a print seen on 3 sides with 2
    corners, open to a side, above 0.5. Examples: (4 sides, 3+ corners) -> 1, (4, 2) -> 0.71,
    (3, 2) open to a side -> 0.57, (3, 2) open to the chin or (4, 1) -> 0.29, (3, 1) -> 0.14 or 0.
    """
    strength = cues.sides + _CORNER_WEIGHT * cues.corners
    if cues.sides == 3:
        strength += 0.5 if cues.open_side == "other" else -0.5
    lo, hi = _FRAME_RAMP
    return float(np.clip((strength - lo) / (hi - lo), 0.0, 1.0))


def _object_evidence(cues: DeviceCues) -> float:
    """A device box around the face: ``_OBJECT_WEIGHT`` x a ramp of its score over ``_OBJECT_RAMP``."""
    lo, hi = _OBJECT_RAMP
    return _OBJECT_WEIGHT * float(np.clip((cues.object_score - lo) / (hi - lo), 0.0, 1.0))


def _decide(cues: DeviceCues) -> DeviceResult:
    geometry, detected = _geometry_evidence(cues), _object_evidence(cues)
    evidence = 1.0 - (1.0 - geometry) * (1.0 - detected)  # noisy-OR: either view alone can carry it
    reasons = []
    if geometry >= _REASON_AT:
        open_ = f", open towards the {'chin' if cues.open_side == 'down' else 'side'}" if cues.sides == 3 else ""
        reasons.append(
            f"straight-edged frame around the face: {cues.sides} sides, {cues.corners} closed corners{open_} "
            f"(device or paper edge, {geometry:.2f})"
        )
    if detected >= _REASON_AT:
        reasons.append(f"object detector sees a {cues.object_class} around the face ({cues.object_score:.2f})")
    return DeviceResult(float(evidence), cues, reasons, geometry, detected)


def device_frame(image: npt.NDArray[np.uint8], box: npt.ArrayLike, *, objects: Objects | None = None) -> DeviceResult:
    """Evidence that the face in ``box`` is shown on a phone, tablet, monitor or paper.

    About 5-10 ms a face on one core (640x480 and 960x540 frames; ``bench/liveness_device.py``), plus the
    object detector's own time when its ``objects`` are passed (NanoDet: ~35 ms a frame).

    Args:
        image: (H, W, 3) uint8 RGB frame. Only its grey levels are used: a BGR frame gives nearly the same
            answer (mean |difference| 0.01 on the development video frames).
        box: (4,) xyxy float32 pixels of the face.
        objects: optionally, what an :class:`~faceplane.objects.ObjectDetector` (built with at least
            :data:`DEVICE_CLASSES`) found in the same frame.

    Returns:
        A :class:`DeviceResult`.

    Raises:
        InvalidArgumentError: an image that is not (H, W, 3) uint8, a box that is not 4 finite numbers,
            smaller than 8 px, or mostly outside the image.

    Example:
        >>> r = device_frame(rgb, faces.xyxy[0], objects=detector.detect(rgb))  # doctest: +SKIP
        >>> r.evidence, r.reasons                                                # doctest: +SKIP
        (1.0, ['straight-edged frame around the face: 4 sides, 4 closed corners (device or paper edge, 1.00)',
               'object detector sees a cell phone around the face (0.46)'])
    """
    rgb, clipped = _check(image, box)
    return _decide(_measure(rgb, clipped, objects))
