"""Passive presentation-attack detection: every signal we have about one face, fused into one score.

:class:`PresentationAttackDetector` measures, for a face in a frame (module, signal names):

- :mod:`.passive`: the hand-made cues as attack evidence 0..1 (``moire``, ``specular``, ``colour``,
  ``texture``, ``edge``) and, over a clip, ``parallax``;
- :mod:`.device`: a phone/tablet/paper frame around the face from straight edges (``device``, 0..1)
  and, when an object detector is given, a "cell phone"/"tv"/"laptop"/"book" box holding the face
  (``device_box``, 0..0.8);
- :mod:`.learned`: the learned models that are installed, each as the logit of its live probability
  (``antispoof``, ``liveness``, ``fas`` = FaceAntiSpoofing);

and :mod:`.fusion` turns them into ``score`` = p(live), compared with the fusion's own threshold.
:class:`PadClip` does the same over a short clip: the median of each frame signal plus parallax. The
expensive signals (the object detector and FaceAntiSpoofing, tens of ms each) run on every
``heavy_every``-th frame of a clip only.

Which signals the shipped fusion uses, with which weights, and how well it does on data it was not
fitted on: ``fusion.json`` (written by ``bench/liveness.py --fit``) and the README's liveness section.

Example:
    >>> pad = PresentationAttackDetector()                       # doctest: +SKIP
    >>> r = pad.frame(rgb, faces.xyxy[0])                        # doctest: +SKIP
    >>> r.live, r.score, r.reasons                               # doctest: +SKIP
    (False, 0.03, ['a device or paper frame around the face (0.91)'])
"""

from __future__ import annotations

import logging
import statistics
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from ..errors import InvalidArgumentError, ModelError
from .device import DEVICE_CLASSES, device_frame
from .fusion import Fusion, load_fusion, logit
from .passive import _WHY as _CUE_WHY
from .passive import PassiveClip

if TYPE_CHECKING:
    from ..objects import ObjectDetector
    from .learned import _Learned

__all__ = ["LEARNED_MODELS", "PadClip", "PadResult", "PresentationAttackDetector"]

logger = logging.getLogger(__name__)

#: signal name -> (model store name, class name in :mod:`.learned`)
LEARNED_MODELS: dict[str, tuple[str, str]] = {
    "antispoof": ("antispoof", "AntiSpoof"),
    "liveness": ("liveness", "LivenessNet"),
    "fas": ("faceantispoofing", "FaceAntiSpoofing"),
}
_HEAVY = ("fas", "device_box")  # computed on every heavy_every-th frame of a clip
_WHY: dict[str, str] = {
    **_CUE_WHY,
    "device": "a device or paper frame around the face",
    "device_box": "the object detector sees a phone, screen or book around the face",
    "antispoof": "the antispoof model sees a fake face",
    "liveness": "the liveness model sees a replayed face",
    "fas": "the FaceAntiSpoofing model sees an attack",
}
_REASON_AT = 0.5  # a signal pulling the logit down by more than this is named when the result is "attack"


@dataclass(frozen=True)
class PadResult:
    """``score`` = p(live) 0..1, ``live = score >= threshold``, the ``signals`` measured (None: not
    measured) and readable ``reasons`` when ``live`` is False."""

    score: float
    live: bool
    signals: dict[str, float | None]
    reasons: list[str] = field(default_factory=list)


def _decide(fusion: Fusion, signals: dict[str, float | None]) -> PadResult:
    score = fusion.score(signals)
    live = score >= fusion.threshold
    reasons: list[str] = []
    if not live:
        pulls = sorted(fusion.contributions(signals).items(), key=lambda kv: kv[1])
        reasons = [f"{_WHY.get(k, k)} ({v:+.1f})" for k, v in pulls if v < -_REASON_AT and signals.get(k) is not None]
        reasons = reasons or [f"passive score {score:.2f} < {fusion.threshold:.2f}"]
    return PadResult(score, live, signals, reasons)


class PresentationAttackDetector:
    """The fused passive check (module docstring).

    Args:
        models: learned models to run, names of :data:`LEARNED_MODELS` (None: those the fusion gives a
            non-zero weight that are installed; a model it does not weigh would be wasted work).
        objects: an :class:`~faceplane.objects.ObjectDetector` for the device signal, True to build
            NanoDet with the device classes when the fusion uses it and it is installed, or None.
        frame_fusion, clip_fusion: the fusions (default: the shipped ones, :func:`.fusion.load_fusion`).
        num_threads: onnxruntime threads per learned model.

    Raises:
        InvalidArgumentError: an unknown model name.
        ModelError: a model named in ``models`` that is not installed.
    """

    def __init__(
        self,
        *,
        models: Sequence[str] | None = None,
        objects: ObjectDetector | bool | None = True,
        frame_fusion: Fusion | None = None,
        clip_fusion: Fusion | None = None,
        num_threads: int = 1,
    ) -> None:
        self.frame_fusion = frame_fusion or load_fusion("frame")
        self.clip_fusion = clip_fusion or load_fusion("clip")
        weighed = {k for f in (self.frame_fusion, self.clip_fusion) for k, w in f.weights.items() if w != 0.0}
        unknown = set(models or ()) - set(LEARNED_MODELS)
        if unknown:
            raise InvalidArgumentError(f"unknown PAD models {sorted(unknown)}; known: {sorted(LEARNED_MODELS)}")
        self.models: dict[str, _Learned] = {}
        for name in models if models is not None else [m for m in LEARNED_MODELS if m in weighed]:
            try:
                self.models[name] = _load(name, num_threads)
            except ModelError:
                if models is not None:
                    raise
                logger.warning(
                    "liveness: PAD model %r is not installed (faceplane models install %s); its signal is left "
                    "out and the passive check is weaker",
                    name,
                    LEARNED_MODELS[name][0],
                )
        self.objects: ObjectDetector | None = None
        if objects is True and "device_box" in weighed:
            self.objects = _device_detector()
        elif objects not in (True, False, None):
            self.objects = objects  # type: ignore[assignment]

    def signals(
        self, image: npt.NDArray[np.uint8], box: npt.ArrayLike, *, heavy: bool = True
    ) -> dict[str, float | None]:
        """Every frame signal of one face (``heavy``: also the object detector and FaceAntiSpoofing).

        Raises:
            InvalidArgumentError: as :func:`.passive.passive_frame`.
        """
        clip = PassiveClip()
        return self._signals(clip, image, box, heavy)

    def frame(self, image: npt.NDArray[np.uint8], box: npt.ArrayLike) -> PadResult:
        """The fused result of one face in one frame (no parallax).

        Raises:
            InvalidArgumentError: as :func:`.passive.passive_frame`.
        """
        return _decide(self.frame_fusion, self.signals(image, box))

    def clip(self, *, heavy_every: int = 3, max_frames: int = 60) -> PadClip:
        """A :class:`PadClip` that measures with this detector."""
        return PadClip(self, heavy_every=heavy_every, max_frames=max_frames)

    def _signals(
        self, clip: PassiveClip, image: npt.NDArray[np.uint8], box: npt.ArrayLike, heavy: bool
    ) -> dict[str, float | None]:
        cues = clip.add(image, box).cues
        out: dict[str, float | None] = {k: getattr(cues, k) for k in ("moire", "specular", "colour", "texture", "edge")}
        objects = self.objects.detect(image) if heavy and self.objects is not None else None
        device = device_frame(image, box, objects=objects)
        out["device"] = device.frame
        out["device_box"] = device.detected if objects is not None else None
        for name, model in self.models.items():
            out[name] = logit(model.score(image, box)) if heavy or name not in _HEAVY else None
        return out


class PadClip:
    """The fused passive check over a short clip of one face (a session, a 2 s window).

    :meth:`add` measures a frame and returns that frame's own result; :meth:`result` fuses the median
    of each signal over the last ``max_frames`` frames with the clip's parallax.

    Raises:
        InvalidArgumentError: ``heavy_every`` or ``max_frames`` below 1.
    """

    def __init__(self, detector: PresentationAttackDetector, *, heavy_every: int = 3, max_frames: int = 60) -> None:
        if heavy_every < 1 or max_frames < 1:
            raise InvalidArgumentError(f"heavy_every and max_frames must be >= 1, got {heavy_every}, {max_frames}")
        self.detector = detector
        self.heavy_every = heavy_every
        self.max_frames = max_frames
        self._passive = PassiveClip(max_frames=max_frames)
        self._frames: deque[dict[str, float | None]] = deque(maxlen=max_frames)
        self._count = 0

    def __len__(self) -> int:
        return len(self._frames)

    def add(self, image: npt.NDArray[np.uint8], box: npt.ArrayLike) -> PadResult:
        """Add one frame and its face box; returns this frame's fused result (frame fusion).

        Raises:
            InvalidArgumentError: as :func:`.passive.passive_frame`.
        """
        heavy = self._count % self.heavy_every == 0
        self._count += 1
        signals = self.detector._signals(self._passive, image, box, heavy)
        self._frames.append(signals)
        return _decide(self.detector.frame_fusion, signals)

    def result(self) -> PadResult:
        """The clip's fused result so far.

        Raises:
            InvalidArgumentError: no frame was added.
        """
        return _decide(self.detector.clip_fusion, self.signals())

    def signals(self) -> dict[str, float | None]:
        """The clip's signals: each frame signal's median, and ``parallax`` (None: too little motion).

        Raises:
            InvalidArgumentError: no frame was added.
        """
        if not self._frames:
            raise InvalidArgumentError("PadClip needs at least one frame (call add first)")
        signals = clip_signals(self._frames)
        signals["parallax"] = self._passive.result().cues.parallax
        return signals


def clip_signals(frames: Sequence[dict[str, float | None]]) -> dict[str, float | None]:
    """The median of each signal over ``frames`` (None where no frame measured it)."""
    names = {k for f in frames for k in f}
    out: dict[str, float | None] = {}
    for name in sorted(names):
        values = [v for f in frames if (v := f.get(name)) is not None]
        out[name] = float(statistics.median(values)) if values else None
    return out


def _load(name: str, num_threads: int) -> _Learned:
    from . import learned

    cls = getattr(learned, LEARNED_MODELS[name][1])
    model: _Learned = cls(num_threads=num_threads)
    return model


def _device_detector() -> ObjectDetector | None:
    from ..objects import ObjectDetector

    try:
        return ObjectDetector(classes=list(DEVICE_CLASSES), min_score=0.1, num_threads=1)
    except ModelError:
        logger.warning("liveness: NanoDet is not installed (faceplane models install nanodet): no device boxes")
        return None
