"""Passive presentation-attack cues: is this face a print or a screen? No cooperation asked.

Each cue looks at the face box and a margin ring around it and turns one measurement into *attack
evidence* in 0..1 (0 = nothing suspicious, 1 = as strong as we have seen on attacks) by a linear ramp
between two documented anchors (``_RAMPS``):

- ``moire``: isolated peaks in the high-frequency power spectrum of the face centre (a screen's pixel
  grid or a print's halftone aliasing with the camera's sensor). Raw: mean prominence of the 4 strongest
  peaks over a local median of the log-power spectrum, natural-log units, with JPEG/H.264 block
  frequencies (multiples of 1/8 and 1/16 cycle/px) masked out.
- ``specular``: share of the face centre that is clipped white and colourless (glare on glass or gloss
  paper). Raw: fraction of pixels.
- ``colour``: a screen's blue/cyan cast or a faded print. Raw: median Cr - Cb of the face centre in
  YCrCb (skin under ordinary light is clearly red-ward, > ~10).
- ``texture``: low dynamic range of the face (prints and screens squeeze black and white). Raw: 2nd-98th
  percentile spread of luma in the face centre, in grey levels.
- ``edge``: a device bezel or paper edge: long straight segments (>= 60% of the face size) parallel to
  a side of the box in the ring just outside it. Raw: number of sides (0..4) with such a segment.
- ``parallax`` (clips only, :class:`PassiveClip`): a live head moves against a still room; a held
  picture moves rigidly with what surrounds it. Raw: median over moving frame pairs of the share of the
  ring whose optical flow agrees with the face's flow.

Combination (transparent, hand-set, no learning): a noisy-OR of the weighted evidence,
``score = prod(1 - weight_i * evidence_i)``, so each cue alone can only pull the score down as far as its
weight allows. ``score`` is 1 when nothing is suspicious.

:data:`PASSIVE_THRESHOLD` (0.5) was chosen on the *development* split of ``bench/liveness.py`` only:
the first 5 s of ``real.mov`` / ``fake.mp4`` and synthetic attacks made from 40 LFW DevTrain people;
the ramps were set by looking at the raw values there. The shared stills, the rest of the videos and the
LFW DevTest / face_recognition examples are held out (see the bench for what is and is not caught).
Known misses on real samples: the printed photo (``image_F1.jpg``) and the tablet replay
(``image_F2.jpg``) of the shared stills pass as live (natural colour, no visible moiré, the bezel/paper
edge on fewer than 2-3 sides); about a third of our synthetic prints pass too. The phone replay in
``fake.mp4`` is caught mainly by its cyan cast, which a colour-calibrated screen would not show.

Example:
    >>> import numpy as np
    >>> image = np.full((480, 640, 3), 128, np.uint8)
    >>> r = passive_frame(image, np.array([220, 140, 420, 340], np.float32))
    >>> 0.0 <= r.score <= 1.0
    True
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from ..errors import InvalidArgumentError

__all__ = ["PASSIVE_THRESHOLD", "PassiveClip", "PassiveCues", "PassiveResult", "passive_frame"]

logger = logging.getLogger(__name__)

PASSIVE_THRESHOLD = 0.5

_U8 = npt.NDArray[np.uint8]
_F32 = npt.NDArray[np.float32]

# cue -> (raw value at evidence 0, raw value at evidence 1); a reversed pair means "lower is worse"
_RAMPS: dict[str, tuple[float, float]] = {
    "moire": (2.8, 4.0),
    "specular": (0.02, 0.10),
    "colour": (8.0, -4.0),
    "texture": (110.0, 60.0),
    "edge": (1.5, 3.5),
    "parallax": (0.3, 0.6),
}
# how far one cue alone can pull the score down (evidence 1 -> score x (1 - weight))
_WEIGHTS: dict[str, float] = {
    "moire": 0.8,
    "specular": 0.3,
    "colour": 0.8,
    "texture": 0.5,
    "edge": 0.6,
    "parallax": 0.8,
}
_WHY: dict[str, str] = {
    "moire": "periodic (moiré/halftone) pattern in the face region",
    "specular": "glare spots on the face",
    "colour": "blue/cyan colour cast of the face (screen)",
    "texture": "flat dynamic range of the face (print/screen)",
    "edge": "straight edges framing the face (bezel or paper edge)",
    "parallax": "face and surroundings move together (held picture)",
}
_REASON_AT = 0.3  # weighted evidence above this becomes a reason when the result is "attack"
_FFT_SIDE = 128  # the face centre analysed for moiré, at native resolution (up to this side)
_EDGE_FACE_PX = 96  # the ring is analysed with the face scaled to this width
_FLOW_FACE_PX = 48  # optical flow with the face scaled to this width
_MIN_MOTION_PX = 0.6  # face flow (at _FLOW_FACE_PX) below this: the pair says nothing about parallax


@dataclass(frozen=True)
class PassiveCues:
    """Attack evidence per cue, each in 0..1, higher = more like a print or a screen (module docstring).

    ``parallax`` is None for a single frame, or a clip with too few moving frame pairs.
    """

    moire: float
    specular: float
    colour: float
    texture: float
    edge: float
    parallax: float | None = None


@dataclass(frozen=True)
class PassiveResult:
    """``score`` 0..1 (higher = more likely a live person), ``live = score >= threshold``, the cues, and
    human-readable ``reasons`` when ``live`` is False (empty when live)."""

    score: float
    live: bool
    cues: PassiveCues
    reasons: list[str]


def _ramp(name: str, raw: float) -> float:
    lo, hi = _RAMPS[name]
    return float(np.clip((raw - lo) / (hi - lo), 0.0, 1.0))


def _decide(cues: PassiveCues, threshold: float) -> PassiveResult:
    evidence = {k: getattr(cues, k) for k in _WEIGHTS if getattr(cues, k) is not None}
    score = float(np.prod([1.0 - _WEIGHTS[k] * v for k, v in evidence.items()]))
    live = score >= threshold
    ranked = sorted(evidence.items(), key=lambda kv: -_WEIGHTS[kv[0]] * kv[1])
    reasons = [] if live else [f"{_WHY[k]} ({v:.2f})" for k, v in ranked if _WEIGHTS[k] * v > _REASON_AT]
    if not live and not reasons:
        reasons = ["several weak print/screen cues together"]
    return PassiveResult(score, live, cues, reasons)


def _check(image: object, box: object) -> tuple[_U8, tuple[int, int, int, int]]:
    """Validate the inputs; returns the image and the box clipped to it (integer pixels)."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        got = f"{image.shape} {image.dtype}" if isinstance(image, np.ndarray) else type(image).__name__
        raise InvalidArgumentError(f"image must be an (H, W, 3) uint8 RGB array, got {got}")
    b = np.asarray(box, np.float64)
    if b.shape != (4,) or not np.all(np.isfinite(b)):
        raise InvalidArgumentError(f"box must be 4 finite numbers (x0, y0, x1, y1), got {b.tolist()}")
    x0, y0, x1, y1 = b.tolist()
    if x1 - x0 < 8 or y1 - y0 < 8:
        raise InvalidArgumentError(f"box {b.tolist()} is empty or smaller than 8 px")
    h, w = image.shape[:2]
    cx0, cy0, cx1, cy1 = max(0.0, x0), max(0.0, y0), min(float(w), x1), min(float(h), y1)
    inside = max(0.0, cx1 - cx0) * max(0.0, cy1 - cy0) / ((x1 - x0) * (y1 - y0))
    if inside < 0.5:
        raise InvalidArgumentError(f"box {b.tolist()} lies mostly outside the {w}x{h} image")
    return image, (round(cx0), round(cy0), round(cx1), round(cy1))


def _grey(image: _U8) -> _U8:
    return np.asarray(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), np.uint8)


def _centre(box: tuple[int, int, int, int], share: float) -> tuple[int, int, int, int]:
    """The middle ``share`` of a box (cheeks, nose, forehead: mostly skin)."""
    x0, y0, x1, y1 = box
    dx, dy = (x1 - x0) * (1 - share) / 2, (y1 - y0) * (1 - share) / 2
    return round(x0 + dx), round(y0 + dy), round(x1 - dx), round(y1 - dy)


def _moire_raw(grey: _U8, box: tuple[int, int, int, int]) -> float:
    x0, y0, x1, y1 = _centre(box, 0.7)
    side = min(_FFT_SIDE, x1 - x0, y1 - y0) // 16 * 16
    if side < 32:
        return 0.0
    cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
    patch = grey[cy - side // 2 : cy + side // 2, cx - side // 2 : cx + side // 2].astype(np.float32)
    window = np.outer(np.hanning(side), np.hanning(side)).astype(np.float32)
    spectrum = np.fft.fftshift(np.abs(np.fft.fft2((patch - patch.mean()) * window)) ** 2)
    logp = np.log(spectrum + 1e-3).astype(np.float32)
    prominence = logp - cv2.medianBlur(logp, 5)
    f = np.fft.fftshift(np.fft.fftfreq(side)).astype(np.float32)
    fy, fx = np.meshgrid(f, f, indexing="ij")
    radius = np.hypot(fx, fy)
    band = (radius > 0.12) & (np.abs(fx) > 2 / side) & (np.abs(fy) > 2 / side)
    for freq in (fx, fy):  # codec block grids (8 and 16 px) put energy on these lines in every video frame
        band &= np.abs(freq * 16 - np.round(freq * 16)) * side / 16 > 1.01
    values = np.sort(prominence[band])
    return float(values[-4:].mean()) if values.size >= 4 else 0.0


def _colour_texture_specular(image: _U8, box: tuple[int, int, int, int]) -> tuple[float, float, float]:
    x0, y0, x1, y1 = _centre(box, 0.6)
    patch = image[y0:y1, x0:x1]
    ycc = cv2.cvtColor(patch, cv2.COLOR_RGB2YCrCb).reshape(-1, 3).astype(np.float32)
    colour = float(np.median(ycc[:, 1]) - np.median(ycc[:, 2]))
    lo, hi = np.percentile(ycc[:, 0], [2, 98])
    spread = patch.max(axis=2).astype(np.int16) - patch.min(axis=2)
    glare = float(np.mean((ycc[:, 0] > 245) & (spread.reshape(-1) < 25)))
    return colour, float(hi - lo), glare


def _edge_raw(grey: _U8, box: tuple[int, int, int, int]) -> float:
    """Sides of the box (0..4) with a long straight segment parallel to them in the ring outside it."""
    x0, y0, x1, y1 = box
    bw, bh = x1 - x0, y1 - y0
    m = 0.6  # ring width as a share of the box
    h, w = grey.shape
    rx0, ry0 = max(0, round(x0 - m * bw)), max(0, round(y0 - m * bh))
    rx1, ry1 = min(w, round(x1 + m * bw)), min(h, round(y1 + m * bh))
    k = _EDGE_FACE_PX / bw
    crop = cv2.resize(grey[ry0:ry1, rx0:rx1], None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
    edges = cv2.Canny(cv2.GaussianBlur(crop, (3, 3), 0), 40, 120)
    lines = cv2.HoughLinesP(edges, 1, np.pi / 180, threshold=30, minLineLength=0.6 * _EDGE_FACE_PX, maxLineGap=4)
    if lines is None:
        return 0.0
    fx0, fy0, fx1, fy1 = (x0 - rx0) * k, (y0 - ry0) * k, (x1 - rx0) * k, (y1 - ry0) * k
    pad = 0.05 * _EDGE_FACE_PX  # a segment must lie outside the (slightly shrunk) face box
    sides: set[str] = set()
    for lx0, ly0, lx1, ly1 in lines[:, 0].astype(np.float32):
        mx, my = (lx0 + lx1) / 2, (ly0 + ly1) / 2
        vertical = abs(lx1 - lx0) < 0.5 * abs(ly1 - ly0)
        horizontal = abs(ly1 - ly0) < 0.5 * abs(lx1 - lx0)
        if vertical and max(lx0, lx1) < fx0 + pad and fy0 - 0.5 * bh * k < my < fy1 + 0.5 * bh * k:
            sides.add("left")
        elif vertical and min(lx0, lx1) > fx1 - pad and fy0 - 0.5 * bh * k < my < fy1 + 0.5 * bh * k:
            sides.add("right")
        elif horizontal and max(ly0, ly1) < fy0 + pad and fx0 - 0.5 * bw * k < mx < fx1 + 0.5 * bw * k:
            sides.add("top")
        elif horizontal and min(ly0, ly1) > fy1 - pad and fx0 - 0.5 * bw * k < mx < fx1 + 0.5 * bw * k:
            sides.add("bottom")
    return float(len(sides))


@dataclass(frozen=True)
class _Raw:
    moire: float
    specular: float
    colour: float
    texture: float
    edge: float


def _measure(image: _U8, box: tuple[int, int, int, int]) -> _Raw:
    grey = _grey(image)
    colour, texture, specular = _colour_texture_specular(image, box)
    return _Raw(_moire_raw(grey, box), specular, colour, texture, _edge_raw(grey, box))


def _evidence(raw: _Raw, parallax: float | None = None) -> PassiveCues:
    return PassiveCues(
        moire=_ramp("moire", raw.moire),
        specular=_ramp("specular", raw.specular),
        colour=_ramp("colour", raw.colour),
        texture=_ramp("texture", raw.texture),
        edge=_ramp("edge", raw.edge),
        parallax=None if parallax is None else _ramp("parallax", parallax),
    )


def passive_frame(
    image: npt.NDArray[np.uint8], box: npt.ArrayLike, *, threshold: float = PASSIVE_THRESHOLD
) -> PassiveResult:
    """Passive print/screen cues of one face in one frame.

    Args:
        image: (H, W, 3) uint8 RGB frame.
        box: (4,) xyxy float32 pixels of the face (from :meth:`faceplane.Engine.detect`); the ring around
            it (60% of the box on each side, clipped to the image) is analysed too.
        threshold: score at or above which the face is taken as live.

    Returns:
        A :class:`PassiveResult`; ``cues.parallax`` is None (needs a clip).

    Raises:
        InvalidArgumentError: an image that is not (H, W, 3) uint8, a box that is not 4 finite numbers,
            smaller than 8 px, or mostly outside the image.

    Example:
        >>> r = passive_frame(rgb, faces.xyxy[0])      # doctest: +SKIP
        >>> r.live, r.reasons                          # doctest: +SKIP
        (False, ['blue/cyan colour cast of the face (screen) (0.93)'])
    """
    rgb, clipped = _check(image, box)
    return _decide(_evidence(_measure(rgb, clipped)), threshold)


def _flow_agreement(prev: _U8, grey: _U8, box: tuple[int, int, int, int]) -> float | None:
    """Share of the ring whose flow agrees with the face's (None: the face did not move enough)."""
    x0, y0, x1, y1 = box
    bw, bh = x1 - x0, y1 - y0
    h, w = grey.shape
    rx0, ry0 = max(0, x0 - bw), max(0, y0 - bh // 2)
    rx1, ry1 = min(w, x1 + bw), min(h, y1)
    k = _FLOW_FACE_PX / bw
    a = cv2.resize(prev[ry0:ry1, rx0:rx1], None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
    b = cv2.resize(grey[ry0:ry1, rx0:rx1], (a.shape[1], a.shape[0]), interpolation=cv2.INTER_AREA)
    flow = np.asarray(cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 2, 9, 3, 5, 1.1, 0))  # type: ignore[call-overload]
    yy, xx = np.mgrid[0 : a.shape[0], 0 : a.shape[1]]
    fx0, fy0, fx1, fy1 = (x0 - rx0) * k, (y0 - ry0) * k, (x1 - rx0) * k, (y1 - ry0) * k
    face = (xx > fx0 + 0.2 * _FLOW_FACE_PX) & (xx < fx1 - 0.2 * _FLOW_FACE_PX) & (yy > fy0) & (yy < fy1)
    gap = 0.25 * _FLOW_FACE_PX  # skip hair and ears right next to the box
    ring = ((xx < fx0 - gap) | (xx > fx1 + gap) | (yy < fy0 - gap)) & ~face
    if face.sum() < 16 or ring.sum() < 16:
        return None
    v = np.median(flow[face], axis=0)
    speed = float(np.hypot(*v))
    if speed < _MIN_MOTION_PX:
        return None
    agree = np.hypot(*(flow[ring] - v).T) < 0.5 * speed
    return float(agree.mean())


class PassiveClip:
    """Streaming passive check over a short clip of one face (a session, a 2 s window).

    Feed frames with :meth:`add`; :meth:`result` combines them: the median of each frame cue over the
    last ``max_frames`` frames, plus ``parallax`` once at least ``min_moving_pairs`` consecutive frame
    pairs show the face moving. Memory is bounded: ``max_frames`` small cue records, as many parallax
    values, and one greyscale copy of the previous frame (H x W bytes).

    Args:
        threshold: score at or above which the clip is taken as live.
        max_frames: frames remembered (older ones are forgotten).
        min_moving_pairs: moving frame pairs needed before parallax counts.

    Raises:
        InvalidArgumentError: ``max_frames`` or ``min_moving_pairs`` below 1.

    Example:
        >>> clip = PassiveClip()
        >>> for frame, box in frames_and_boxes:        # doctest: +SKIP
        ...     clip.add(frame, box)
        >>> clip.result().live                         # doctest: +SKIP
    """

    def __init__(self, *, threshold: float = PASSIVE_THRESHOLD, max_frames: int = 60, min_moving_pairs: int = 3):
        if max_frames < 1 or min_moving_pairs < 1:
            raise InvalidArgumentError(
                f"max_frames and min_moving_pairs must be >= 1, got {max_frames}, {min_moving_pairs}"
            )
        self.threshold = threshold
        self.max_frames = max_frames
        self.min_moving_pairs = min_moving_pairs
        self._raws: deque[_Raw] = deque(maxlen=max_frames)
        self._agreement: deque[float] = deque(maxlen=max_frames)
        self._prev: _U8 | None = None

    def __len__(self) -> int:
        return len(self._raws)

    def add(self, image: npt.NDArray[np.uint8], box: npt.ArrayLike) -> PassiveResult:
        """Add one frame and its face box; returns this frame's own result (no parallax).

        Raises:
            InvalidArgumentError: as :func:`passive_frame`.
        """
        rgb, clipped = _check(image, box)
        raw = _measure(rgb, clipped)
        grey = _grey(rgb)
        if self._prev is not None and self._prev.shape == grey.shape:
            agreement = _flow_agreement(self._prev, grey, clipped)
            if agreement is not None:
                self._agreement.append(agreement)
        self._prev = grey
        self._raws.append(raw)
        return _decide(_evidence(raw), self.threshold)

    def result(self) -> PassiveResult:
        """The clip's combined result so far.

        Raises:
            InvalidArgumentError: no frame was added.
        """
        if not self._raws:
            raise InvalidArgumentError("PassiveClip.result() needs at least one frame (call add first)")
        med = {k: float(np.median([getattr(r, k) for r in self._raws])) for k in _Raw.__dataclass_fields__}
        parallax = float(np.median(self._agreement)) if len(self._agreement) >= self.min_moving_pairs else None
        return _decide(_evidence(_Raw(**med), parallax), self.threshold)
