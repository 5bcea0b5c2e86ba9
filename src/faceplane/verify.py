"""Distances between embeddings, calibrated thresholds and 1:1 verification.

The thresholds are not folklore (dlib's "0.6"): ``bench/lfw_verify.py --write-calibration``
measures them on LFW View 1 DevTrain (1,100 genuine and 1,100 impostor pairs) and stores them in
``models/calibration.json`` beside the model, with the false-accept rate each one was chosen for.
With only 1,100 impostor pairs, the FAR = 1e-3 threshold rests on about one pair: treat it as
indicative, and re-calibrate on your own population for high-security uses.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import numpy as np
import numpy.typing as npt

from .errors import InvalidArgumentError, ModelError
from .types import Match

__all__ = ["Calibration", "calibrate", "face_distance", "load_calibration", "verify_embeddings"]

_F32 = npt.NDArray[np.float32]
logger = logging.getLogger(__name__)


def face_distance(a: npt.ArrayLike, b: npt.ArrayLike) -> _F32:
    """Euclidean distances between every row of ``a`` (N, D) and every row of ``b`` (M, D).

    Returns:
        (N, M) float32. A 1-D input is treated as one row.

    Example:
        >>> face_distance(np.zeros(128), np.ones((2, 128))).shape
        (1, 2)
    """
    # float64: the |a|^2 + |b|^2 - 2ab expansion loses the small distances in float32
    a_ = np.atleast_2d(np.asarray(a, dtype=np.float64))
    b_ = np.atleast_2d(np.asarray(b, dtype=np.float64))
    if a_.ndim != 2 or b_.ndim != 2 or a_.shape[1] != b_.shape[1]:
        raise InvalidArgumentError(f"embeddings must be (N, D) and (M, D); got {a_.shape} and {b_.shape}")
    sq = (a_ * a_).sum(1)[:, None] + (b_ * b_).sum(1)[None, :] - 2.0 * (a_ @ b_.T)
    return np.sqrt(np.clip(sq, 0.0, None)).astype(np.float32)


_WARNED: set[tuple[str, float]] = set()


@dataclass(frozen=True)
class Calibration:
    """Thresholds of one embedding model.

    Attributes:
        model: the embedding model's name.
        source: the data and protocol the thresholds were measured on.
        best_accuracy_threshold: the distance that maximised accuracy on ``source``.
        far_thresholds: false-accept rate -> largest distance accepted at that rate.
    """

    model: str
    source: str
    best_accuracy_threshold: float
    far_thresholds: dict[float, float]
    far_curve: dict[float, float] = field(default_factory=dict)

    def threshold_at_far(self, far: float) -> float:
        """Threshold for any 1:1 false-accept rate within the measured curve (log-interpolated).

        Raises:
            InvalidArgumentError: ``far`` outside (0, 1], or no curve is stored.
        """
        if not 0 < far <= 1:
            raise InvalidArgumentError(f"a false-accept rate must be in (0, 1], got {far}")
        if not self.far_curve:
            raise InvalidArgumentError(f"no FAR curve calibrated for {self.model}")
        fars = np.array(sorted(self.far_curve), np.float64)
        thresholds = np.array([self.far_curve[f] for f in sorted(self.far_curve)], np.float64)
        clamped = float(np.clip(far, fars[0], fars[-1]))
        if clamped != far and (self.model, clamped) not in _WARNED:
            _WARNED.add((self.model, clamped))  # once per value, not on every search
            logger.warning("FAR %.2g is outside the calibrated range [%.2g, %.2g]; using %.2g", far, fars[0], fars[-1],
                           clamped)
        return float(np.interp(np.log10(clamped), np.log10(fars), thresholds))

    def threshold_for_fpir(self, fpir: float, gallery_size: int) -> float:
        """Open-set threshold: a stranger searched against ``gallery_size`` people is falsely
        identified with probability ~``fpir`` when each comparison has FAR = fpir / gallery_size."""
        if not 0 < fpir < 1:
            raise InvalidArgumentError(f"fpir must be in (0, 1), got {fpir}")
        return self.threshold_at_far(fpir / max(int(gallery_size), 1))

    def threshold(self, far: float | None = None) -> float:
        """The threshold for a target false-accept rate, or the best-accuracy one for ``None``.

        Raises:
            InvalidArgumentError: ``far`` is not one of the calibrated rates.
        """
        if far is None:
            return self.best_accuracy_threshold
        for key, value in self.far_thresholds.items():
            if abs(key - far) <= 1e-12 * max(1.0, far):
                return value
        known = ", ".join(f"{k:g}" for k in sorted(self.far_thresholds))
        raise InvalidArgumentError(f"no threshold calibrated for FAR={far:g}; calibrated: {known}")


@lru_cache(maxsize=4)
def load_calibration(model: str = "mobilefacenet") -> Calibration:
    """The stored calibration of ``model`` (from ``faceplane/models/calibration.json``).

    Keys: ``"mobilefacenet"`` and ``"dlib"`` (unit-length embeddings, the engines' output), and
    ``"dlib_resnet_v1"`` (raw dlib descriptors, galleries made before embeddings were normalised).
    """
    try:
        text = resources.files("faceplane.models").joinpath("calibration.json").read_text("utf-8")
        entry = json.loads(text)[model]
        return Calibration(
            model=model,
            source=str(entry["source"]),
            best_accuracy_threshold=float(entry["best_accuracy_threshold"]),
            far_thresholds={float(k): float(v) for k, v in entry["far_thresholds"].items()},
            far_curve={float(k): float(v) for k, v in entry.get("far_curve", {}).items()},
        )
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise ModelError(f"no usable calibration for model {model!r}: {exc}") from None


def verify_embeddings(
    a: npt.ArrayLike,
    b: npt.ArrayLike,
    *,
    threshold: float | None = None,
    far: float | None = None,
    model: str = "mobilefacenet",
) -> Match:
    """Decide whether two embeddings are the same person.

    Args:
        a, b: (D,) embeddings of the same model.
        model: whose calibration to use (:attr:`faceplane.Engine.calibration_key`).
        threshold: an explicit distance threshold; overrides ``far``.
        far: a calibrated false-accept rate (e.g. ``1e-2``); ``None`` = best-accuracy threshold.
    """
    if threshold is not None and threshold <= 0:
        raise InvalidArgumentError(f"threshold must be positive, got {threshold}")
    dist = float(face_distance(np.ravel(a), np.ravel(b))[0, 0])
    thr = threshold if threshold is not None else load_calibration(model).threshold(far)
    return Match(distance=dist, threshold=float(thr), is_match=dist <= thr, far_target=None if threshold else far)


def calibrate(
    genuine: npt.ArrayLike, impostor: npt.ArrayLike, *, fars: tuple[float, ...] = (1e-1, 1e-2, 1e-3)
) -> tuple[float, dict[float, float]]:
    """Thresholds from labelled distances.

    Args:
        genuine: distances of same-person pairs.
        impostor: distances of different-person pairs.
        fars: target false-accept rates.

    Returns:
        (best-accuracy threshold, {far: threshold}) where each FAR threshold is the largest
        distance that accepts at most ``far * len(impostor)`` impostor pairs.
    """
    gen = np.sort(np.asarray(genuine, np.float64))
    imp = np.sort(np.asarray(impostor, np.float64))
    if gen.size == 0 or imp.size == 0:
        raise InvalidArgumentError("calibration needs at least one genuine and one impostor distance")
    candidates = np.unique(np.concatenate([gen, imp]))
    correct = np.searchsorted(gen, candidates, side="right") + (imp.size - np.searchsorted(imp, candidates, "right"))
    # Several thresholds tie for the best accuracy (a plateau); its middle generalises better than
    # either edge, which sits right next to a misclassified pair.
    tied = np.flatnonzero(correct == correct.max())
    lo, hi = int(tied[0]), int(tied[-1])
    upper = candidates[hi + 1] if hi + 1 < candidates.size else candidates[hi]
    best = float((candidates[lo] + upper) / 2.0)
    out: dict[float, float] = {}
    for far in fars:
        allowed = int(np.floor(far * imp.size))
        # accept distances strictly below the (allowed+1)-th smallest impostor distance
        limit = imp[allowed] if allowed < imp.size else np.inf
        below = candidates[candidates < limit]
        out[far] = float(below.max()) if below.size else 0.0
    return best, out
