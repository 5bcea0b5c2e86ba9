"""One passive liveness score from many signals: a logistic model whose weights were fitted offline.

Signals (each a number per frame; names are the keys of :attr:`Fusion.weights`):

- the hand-made cues of :mod:`.passive` as attack evidence 0..1 (``moire``, ``specular``, ``colour``,
  ``texture``, ``edge``);
- the device/print frame evidence of :mod:`.device` (``device``, 0..1);
- the learned presentation-attack models of :mod:`.learned`, each as the logit of its live
  probability, clipped to +-:data:`LOGIT_CLIP` (``fas``, ``antispoof``, ``liveness``);
- over a clip only, ``parallax`` (0..1, :class:`.passive.PassiveClip`): the face moves with its
  surroundings.

The model is ``p(live) = sigmoid(bias + sum(w_k * x_k))``. A clip's score uses the median of each
frame signal over the clip plus its parallax; a signal that is missing (parallax on a still, a model
that is not installed) takes the value it had on average in the data the weights were fitted on
(:attr:`Fusion.impute`), so it neither helps nor hurts.

Where the numbers come from: ``fusion.json`` next to this module, written by ``python bench/liveness.py
--fit`` and never edited by hand. It records the data it was fitted on and the threshold: the
decision threshold is chosen on the *fitting* data only (the lowest threshold at which the fitting
attacks are accepted at most as often as the target, with live people refused at most 5%), and the
bench reports the fitted model on data it never saw (the other source), in both directions. See the
README's liveness section for the figures.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from ..errors import InvalidArgumentError, ModelError

__all__ = ["LOGIT_CLIP", "Fusion", "load_fusion", "logit"]

LOGIT_CLIP = 8.0
_PATH = Path(__file__).with_name("fusion.json")


def logit(p: float) -> float:
    """log(p / (1 - p)) clipped to +-:data:`LOGIT_CLIP` (a model's probability as a fusion signal)."""
    eps = 1.0 / (1.0 + math.exp(LOGIT_CLIP))
    q = min(max(float(p), eps), 1.0 - eps)
    return math.log(q / (1.0 - q))


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


@dataclass(frozen=True)
class Fusion:
    """A fitted logistic combination (module docstring).

    Attributes:
        weights: signal name -> weight (a positive weight makes the signal argue for "live").
        bias: the intercept.
        impute: signal name -> the value used when the signal is missing.
        threshold: ``p(live)`` at or above which a presentation is taken as live.
        fitted_on: what the weights and threshold were chosen on (for the record and the README).
        meta: anything else the fit recorded (figures on the fitting data, date, versions).
    """

    weights: dict[str, float]
    bias: float
    impute: dict[str, float]
    threshold: float
    fitted_on: str = ""
    meta: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold < 1.0:
            raise InvalidArgumentError(f"fusion threshold must be in (0, 1), got {self.threshold}")
        missing = set(self.weights) - set(self.impute)
        if missing:
            raise InvalidArgumentError(f"fusion signals without an imputed value: {sorted(missing)}")

    def contributions(self, signals: Mapping[str, float | None]) -> dict[str, float]:
        """Each signal's share of the logit relative to its imputed value (negative = argues "attack")."""
        out = {}
        for name, w in self.weights.items():
            value = signals.get(name)
            x = self.impute[name] if value is None or not math.isfinite(value) else float(value)
            out[name] = w * (x - self.impute[name])
        return out

    def score(self, signals: Mapping[str, float | None]) -> float:
        """``p(live)`` in 0..1 for one presentation's signals (unknown names are ignored)."""
        z = self.bias
        for name, w in self.weights.items():
            value = signals.get(name)
            z += w * (self.impute[name] if value is None or not math.isfinite(value) else float(value))
        return _sigmoid(z)

    def to_json(self) -> dict[str, object]:
        return {
            "weights": self.weights,
            "bias": self.bias,
            "impute": self.impute,
            "threshold": self.threshold,
            "fitted_on": self.fitted_on,
            "meta": self.meta,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Fusion:
        try:
            return cls(
                weights={str(k): float(v) for k, v in dict(data["weights"]).items()},  # type: ignore[call-overload]
                bias=float(data["bias"]),  # type: ignore[arg-type]
                impute={str(k): float(v) for k, v in dict(data["impute"]).items()},  # type: ignore[call-overload]
                threshold=float(data["threshold"]),  # type: ignore[arg-type]
                fitted_on=str(data.get("fitted_on", "")),
                meta=dict(data.get("meta", {})),  # type: ignore[call-overload]
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"bad fusion parameters: {exc}") from exc


@lru_cache(maxsize=4)
def load_fusion(kind: str = "frame") -> Fusion:
    """The shipped fusion for ``kind`` ``"frame"`` (one frame) or ``"clip"`` (a clip with parallax).

    Raises:
        ModelError: ``fusion.json`` is missing or malformed.
        InvalidArgumentError: an unknown kind.
    """
    if kind not in ("frame", "clip"):
        raise InvalidArgumentError(f"fusion kind must be 'frame' or 'clip', got {kind!r}")
    try:
        data = json.loads(_PATH.read_text())
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read the liveness fusion parameters {_PATH}: {exc}") from exc
    if kind not in data:
        raise ModelError(f"{_PATH} has no {kind!r} fusion")
    return Fusion.from_json(data[kind])
