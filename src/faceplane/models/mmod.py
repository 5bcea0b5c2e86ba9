"""ONNX Runtime port of dlib's MMOD CNN face detector (``dlib.cnn_face_detection_model_v1``).

The network is rebuilt from dlib's own ``mmod_human_face_detector.dat`` (parsed by
:mod:`._dlib_dat`) and run by onnxruntime; the pre- and post-processing re-implement what dlib
does around it (tools/python/src/cnn_face_detector.cpp, dlib/dnn/input.h, dlib/dnn/loss.h):

1. ``upsample`` times ``pyramid_up`` with ``pyramid_down<2>`` (bilinear, uint8, truncated);
2. ``input_rgb_image_pyramid<pyramid_down<6>>``: a tiled pyramid of 5/6 steps in one tensor,
   ``(pixel - avg) / 256``, padding 10 between levels and 11 around (:mod:`._pyramid`);
3. the conv net: ``con5d 16/32/32`` (5x5 stride 2, no padding) and three ``con5 45`` (5x5,
   padding 2), each with its ``bn_con`` folded to a per-channel affine and a ReLU, then a 9x9
   ``con`` to one score plane per detector window;
4. ``loss_mmod::to_label``: every output cell scoring ``> threshold`` is a window centred at its
   input-tensor position (output ``(c, r)`` -> ``(8c + 14, 8r + 14)`` for this net), mapped from
   the tiled pyramid back to the image and rounded to integers; greedy non-max suppression by
   score with dlib's ``test_box_overlap`` (IoU of the *bounding* box of the pair, or a box
   covered beyond ``percent_covered_thresh``);
5. ``pyramid_down<2>::rect_down`` back through the upsampling, rounded again.

The ``confidence`` dlib reports is the raw score of the output cell, returned as ``scores``.

Example:
    >>> detector = MMODDetector(num_threads=2)  # doctest: +SKIP
    >>> boxes, scores = detector.detect(image, upsample=1)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ..errors import InvalidArgumentError, ModelError
from . import _pyramid
from ._dlib_dat import DlibLayer, read_network
from ._onnx import onnx_session

if TYPE_CHECKING:
    import onnx

__all__ = ["MMODDetector", "build_onnx"]

logger = logging.getLogger(__name__)

_F32 = npt.NDArray[np.float32]
_OPSET = 17
_IR_VERSION = 8  # the IR version of opset 17; old enough for any recent onnxruntime
_INPUT_NAME = "pyramid"
_OUTPUT_NAME = "scores"
# The pyramid type is a template argument of dlib's net type (input_rgb_image_pyramid<
# pyramid_down<6>>), not something the .dat file stores.
_PYRAMID_FACTOR = 6


@dataclass(frozen=True)
class _Conv:
    """One conv layer with its following affine folded in, and whether a ReLU follows."""

    weight: np.ndarray  # (K, C, R, S) float32
    bias: np.ndarray  # (K,) float32
    stride: tuple[int, int]  # (y, x)
    padding: tuple[int, int]  # (y, x)
    relu: bool


@dataclass(frozen=True)
class _NetSpec:
    """Everything the detector needs from the ``.dat`` file besides the session itself."""

    convs: tuple[_Conv, ...]
    mean_rgb: tuple[float, float, float]
    padding: int
    outer_padding: int
    windows: tuple[tuple[int, int], ...]  # (width, height) per output channel
    nms_iou: float
    nms_covered: float


def _bn_as_affine(layer: DlibLayer) -> tuple[np.ndarray, np.ndarray]:
    """dlib's ``affine_(const bn_&)``: g = gamma / sqrt(var + eps), b = beta - g * mean."""
    t = layer.tensors
    eps = float(layer.attrs["eps"])  # type: ignore[arg-type]
    # All in float32, as dlib does it (its eps, a double, is added to a float matrix).
    gamma = t["gamma"].astype(np.float32) / np.sqrt(t["running_variances"].astype(np.float32) + eps)
    return gamma.astype(np.float32), (t["beta"] - gamma * t["running_means"]).astype(np.float32)


def _scale_shift(layer: DlibLayer) -> tuple[np.ndarray, np.ndarray]:
    if layer.kind == "bn_con":
        return _bn_as_affine(layer)
    if layer.kind == "affine":
        return layer.tensors["gamma"].reshape(-1), layer.tensors["beta"].reshape(-1)
    raise ModelError(f"MMOD net: expected an affine or bn_con layer after a con, got {layer.kind!r}")


def _fold(con: DlibLayer, after: Sequence[DlibLayer]) -> tuple[_Conv, int]:
    """A ``con`` plus the affine/relu layers directly above it; returns how many it consumed."""
    a = con.attrs
    weight = con.tensors["filters"].astype(np.float32)
    k = weight.shape[0]
    bias = con.tensors["bias"].astype(np.float32) if a.get("use_bias", True) else np.zeros(k, np.float32)
    used = 0
    if used < len(after) and after[used].kind in ("affine", "bn_con"):
        scale, shift = _scale_shift(after[used])
        if scale.shape != (k,) or shift.shape != (k,):
            raise ModelError(f"MMOD net: per-channel affine of {scale.shape} after a con of {k} filters")
        # Folding the affine into the conv changes float32 rounding only (~1e-7 relative).
        weight = weight * scale.reshape(-1, 1, 1, 1)
        bias = bias * scale + shift
        used += 1
    relu = used < len(after) and after[used].kind == "relu"
    used += int(relu)
    stride = (int(a["stride_y"]), int(a["stride_x"]))  # type: ignore[call-overload]
    padding = (int(a["padding_y"]), int(a["padding_x"]))  # type: ignore[call-overload]
    return _Conv(weight.astype(np.float32), bias.astype(np.float32), stride, padding, relu), used


def _spec(layers: Sequence[DlibLayer]) -> _NetSpec:
    """Check the layer list is an MMOD detector this port handles and pull out what it needs."""
    if len(layers) < 3 or layers[0].kind != "input_rgb_image_pyramid" or layers[-1].kind != "loss_mmod":
        kinds = [x.kind for x in layers]
        raise ModelError(f"not an MMOD detector (input pyramid ... loss_mmod): layers {kinds}")
    convs: list[_Conv] = []
    body = list(layers[1:-1])
    i = 0
    while i < len(body):
        if body[i].kind != "con":
            raise ModelError(f"MMOD net: unsupported layer {body[i].kind!r} at position {i + 1}")
        conv, used = _fold(body[i], body[i + 1 :])
        convs.append(conv)
        i += 1 + used
    if not convs:
        raise ModelError("MMOD net: no con layers between the input and the loss")
    inp, loss = layers[0].attrs, layers[-1].attrs
    windows = tuple((int(w["width"]), int(w["height"])) for w in loss["detector_windows"])  # type: ignore[attr-defined]
    if loss.get("use_bounding_box_regression"):
        raise ModelError("MMOD net: bounding-box regression models are not supported")
    if convs[-1].weight.shape[0] != len(windows):
        raise ModelError(f"MMOD net: {convs[-1].weight.shape[0]} output planes for {len(windows)} windows")
    nms = loss["overlaps_nms"]
    return _NetSpec(
        convs=tuple(convs),
        mean_rgb=(float(inp["avg_red"]), float(inp["avg_green"]), float(inp["avg_blue"])),  # type: ignore[arg-type]
        padding=int(inp.get("pyramid_padding", 10)),  # type: ignore[call-overload]
        outer_padding=int(inp.get("pyramid_outer_padding", 11)),  # type: ignore[call-overload]
        windows=windows,
        nms_iou=float(nms["iou_thresh"]),  # type: ignore[index]
        nms_covered=float(nms["percent_covered_thresh"]),  # type: ignore[index]
    )


def build_onnx(layers: Sequence[DlibLayer]) -> onnx.ModelProto:
    """ONNX graph (dynamic rows/cols) of the MMOD conv net, from :func:`read_network` layers."""
    return _graph(_spec(layers).convs)


def _graph(convs: Sequence[_Conv]) -> onnx.ModelProto:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits = [], []
    x = _INPUT_NAME
    for i, c in enumerate(convs):
        w, b = f"conv{i}.weight", f"conv{i}.bias"
        inits += [numpy_helper.from_array(c.weight, w), numpy_helper.from_array(c.bias, b)]
        y = f"conv{i}"
        nodes.append(
            helper.make_node(
                "Conv",
                [x, w, b],
                [y],
                kernel_shape=list(c.weight.shape[2:]),
                strides=list(c.stride),
                pads=[c.padding[0], c.padding[1], c.padding[0], c.padding[1]],
            )
        )
        x = y
        if c.relu:
            nodes.append(helper.make_node("Relu", [x], [f"relu{i}"]))
            x = f"relu{i}"
    nodes.append(helper.make_node("Identity", [x], [_OUTPUT_NAME]))
    k = int(convs[-1].weight.shape[0])
    graph = helper.make_graph(
        nodes,
        "dlib_mmod_face_detector",
        [helper.make_tensor_value_info(_INPUT_NAME, TensorProto.FLOAT, [1, 3, "rows", "cols"])],
        [helper.make_tensor_value_info(_OUTPUT_NAME, TensorProto.FLOAT, [1, k, "out_rows", "out_cols"])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", _OPSET)], producer_name="faceplane")
    model.ir_version = _IR_VERSION
    onnx.checker.check_model(model)
    return model


def _output_to_input(convs: Sequence[_Conv]) -> tuple[tuple[int, int], tuple[int, int]]:
    """(scale, offset) per axis (y, x) of dlib's ``output_tensor_to_input_tensor`` for a conv stack.

    Each con maps ``p -> p * stride - padding + kernel // 2`` (dlib's map_output_to_input),
    applied from the last layer down to the first.
    """
    scale, offset = [1, 1], [0, 0]
    for c in reversed(convs):
        for axis in (0, 1):
            k = int(c.weight.shape[2 + axis])
            offset[axis] = offset[axis] * c.stride[axis] - c.padding[axis] + k // 2
            scale[axis] *= c.stride[axis]
    return (scale[0], scale[1]), (offset[0], offset[1])


def _output_size(n: int, convs: Sequence[_Conv], axis: int) -> int:
    for c in convs:
        k = int(c.weight.shape[2 + axis])
        n = (n + 2 * c.padding[axis] - k) // c.stride[axis] + 1
        if n <= 0:
            return 0
    return n


def _round_half_up(v: np.ndarray) -> np.ndarray:
    # dlib's drectangle -> rectangle conversion: floor(x + 0.5).
    return np.floor(v + 0.5).astype(np.int64)


def _nearest_levels(rects: np.ndarray, cx: np.ndarray, cy: np.ndarray) -> np.ndarray:
    """Vectorised ``nearest_rect``: first level containing the point, else the first nearest one."""
    x, y = cx[:, None], cy[:, None]
    inside = (rects[None, :, 0] <= x) & (x <= rects[None, :, 2]) & (rects[None, :, 1] <= y)
    inside &= y <= rects[None, :, 3]
    dx = np.clip(x, rects[None, :, 0], rects[None, :, 2]) - x
    dy = np.clip(y, rects[None, :, 1], rects[None, :, 3]) - y
    nearest = np.argmin(np.sqrt(dx * dx + dy * dy), axis=1)
    return np.where(inside.any(axis=1), np.argmax(inside, axis=1), nearest)


def _tensor_to_image(rects: Sequence[_pyramid.Rect], boxes: np.ndarray) -> np.ndarray:
    """``tiled_pyramid_to_image`` of (N, 4) float64 l, t, r, b tensor-space boxes (vectorised)."""
    lv = np.asarray(rects, dtype=np.int64)
    cx = _round_half_up((boxes[:, 0] + boxes[:, 2]) / 2.0)
    cy = _round_half_up((boxes[:, 1] + boxes[:, 3]) / 2.0)
    level = _nearest_levels(lv, cx, cy)
    pts = boxes - lv[level][:, [0, 1, 0, 1]]
    ratio = _PYRAMID_FACTOR / (_PYRAMID_FACTOR - 1.0)
    for step in range(int(level.max(initial=0))):
        # pyramid_down<6>::point_up, once per level below the full-size image.
        todo = level > step
        pts[todo] = pts[todo] * ratio + 0.3
    return pts


def _overlaps(others: np.ndarray, box: np.ndarray, iou: float, covered: float) -> np.ndarray:
    """dlib's ``test_box_overlap`` of one integer box with each of ``others`` (inclusive coords)."""
    iw = np.minimum(others[:, 2], box[2]) - np.maximum(others[:, 0], box[0]) + 1
    ih = np.minimum(others[:, 3], box[3]) - np.maximum(others[:, 1], box[1]) + 1
    inner = np.where((iw > 0) & (ih > 0), iw * ih, 0).astype(np.float64)
    # "outer" is the area of the bounding box of the pair, not of their union.
    ow = np.maximum(others[:, 2], box[2]) - np.minimum(others[:, 0], box[0]) + 1
    oh = np.maximum(others[:, 3], box[3]) - np.minimum(others[:, 1], box[1]) + 1
    area_o = (others[:, 2] - others[:, 0] + 1) * (others[:, 3] - others[:, 1] + 1)
    area_b = (box[2] - box[0] + 1) * (box[3] - box[1] + 1)
    hit = (inner / (ow * oh) > iou) | (inner / area_o > covered) | (inner / area_b > covered)
    return hit & (inner > 0)


def _nms(boxes: np.ndarray, scores: np.ndarray, iou: float, covered: float) -> np.ndarray:
    """Indices kept by dlib's greedy NMS, best score first.

    dlib keeps a window unless it overlaps one already kept; as the overlap test is symmetric,
    dropping everything a newly kept window overlaps gives the same set, one vector op per kept box.
    """
    remaining = np.argsort(-scores, kind="stable")
    kept: list[int] = []
    while remaining.size:
        best, rest = remaining[0], remaining[1:]
        kept.append(int(best))
        remaining = rest[~_overlaps(boxes[rest], boxes[best], iou, covered)]
    return np.asarray(kept, dtype=np.intp)


def _rect_down(boxes: np.ndarray, levels: int) -> np.ndarray:
    """``pyramid_down<2>::rect_down(rect, levels)`` of integer boxes, rounded back to integers."""
    pts = boxes.astype(np.float64)
    for _ in range(levels):
        # point_down(p) = p / 2 - (1.25, 0.75)
        pts = pts / 2.0 - np.array([1.25, 0.75, 1.25, 0.75])
    return _round_half_up(pts)


class MMODDetector:
    """dlib's MMOD CNN face detector on onnxruntime, matching ``cnn_face_detection_model_v1``.

    Boxes and confidences agree with dlib's (boxes exactly, scores to ~1e-6) at a fraction of
    the cost (dlib-bin's CPU network runs on one thread, ~20x slower than this per core).

    Args:
        weights_path: dlib's ``mmod_human_face_detector.dat``; default the packaged file.
        num_threads: onnxruntime intra-op threads (0 = one per physical core).
        upsample: default number of 2x upsamplings (dlib's ``upsample_num_times``); each finds
            faces half as big (~40 px at 1) and costs ~4x the time.
        providers: onnxruntime execution providers (:func:`faceplane.models._onnx.providers_for`).
    """

    def __init__(
        self,
        *,
        weights_path: str | os.PathLike | None = None,
        num_threads: int = 0,
        upsample: int = 1,
        providers: Sequence[str] = ("CPUExecutionProvider",),
    ) -> None:
        if isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 0:
            raise InvalidArgumentError(f"num_threads must be an integer >= 0, got {num_threads!r}")
        self.upsample = _check_upsample(upsample)
        self._weights = weights_path
        self._num_threads = num_threads
        self._providers = list(providers)
        self._state: tuple[_NetSpec, Any] | None = None
        self._lock = threading.Lock()

    def _load(self) -> tuple[_NetSpec, Any]:
        with self._lock:
            if self._state is None:
                path = self._weights
                if path is None:
                    from .registry import weights_path

                    path = weights_path("mmod")
                try:
                    layers = read_network(path)
                except OSError as exc:
                    raise ModelError(f"cannot read MMOD weights {path}: {exc}") from None
                spec = _spec(layers)
                self._state = (spec, self._make_session(spec))
                logger.debug("MMOD detector loaded from %s (%d convs)", path, len(spec.convs))
        return self._state

    def _make_session(self, spec: _NetSpec) -> Any:
        model = _graph(spec.convs).SerializeToString()
        return onnx_session(model, num_threads=self._num_threads, providers=self._providers, name="MMOD port")

    def detect(self, image: np.ndarray, *, upsample: int | None = None, threshold: float = 0.0) -> tuple[_F32, _F32]:
        """Detect faces like ``dlib.cnn_face_detection_model_v1(path)(image, upsample)``.

        Args:
            image: (H, W, 3) uint8 RGB.
            upsample: times to upsample the image 2x first; default the constructor's.
            threshold: keep windows scoring strictly above this (dlib: ``adjust_threshold`` 0).

        Returns:
            boxes (N, 4) float32 ``xyxy`` in ``image`` pixels (dlib's inclusive rectangle
            ``l, t, r, b`` as ``l, t, r + 1, b + 1``; may extend past the image) and scores (N,)
            float32 (dlib's ``confidence``), by score descending.

        Raises:
            InvalidArgumentError: not an (H, W, 3) uint8 array, or a negative ``upsample``.
        """
        _check_image(image)
        up = self.upsample if upsample is None else _check_upsample(upsample)
        if not math.isfinite(threshold):
            raise InvalidArgumentError(f"threshold must be finite, got {threshold!r}")
        if image.shape[0] == 0 or image.shape[1] == 0:
            return np.zeros((0, 4), np.float32), np.zeros(0, np.float32)
        spec, session = self._load()
        img = np.ascontiguousarray(image)
        for _ in range(up):
            img = _pyramid.pyramid_up(img)
        ltrb, scores = self._detect_tensor_space(spec, session, img, float(threshold))
        ltrb = _rect_down(ltrb, up)
        boxes = ltrb.astype(np.float32)
        boxes[:, 2:] += 1.0
        return boxes, scores

    def _detect_tensor_space(
        self, spec: _NetSpec, session: Any, img: np.ndarray, threshold: float
    ) -> tuple[np.ndarray, _F32]:
        """Run the net on the tiled pyramid of ``img``; (N, 4) int64 l, t, r, b in ``img``, scores."""
        empty = np.zeros((0, 4), np.int64), np.zeros(0, np.float32)
        rects, rows, cols = _pyramid.tiled_pyramid_layout(
            img.shape[0],
            img.shape[1],
            factor=_PYRAMID_FACTOR,
            padding=spec.padding,
            outer_padding=spec.outer_padding,
        )
        if not rects or not (_output_size(rows, spec.convs, 0) and _output_size(cols, spec.convs, 1)):
            return empty
        tensor = _pyramid.build_input_tensor(img, rects, (rows, cols), spec.mean_rgb)
        out = session.run([_OUTPUT_NAME], {_INPUT_NAME: tensor})[0][0]
        # Compare in double like dlib (a weak Python float would be rounded to float32 first).
        k, r, c = np.nonzero(out > np.float64(threshold))
        if not len(k):
            return empty
        scores = out[k, r, c]
        (sy, sx), (oy, ox) = _output_to_input(spec.convs)
        size = np.asarray(spec.windows, dtype=np.float64)[k] - 1.0  # centered_drect: w-1, h-1
        px, py = (c * sx + ox).astype(np.float64), (r * sy + oy).astype(np.float64)
        boxes = np.stack([px - size[:, 0] / 2, py - size[:, 1] / 2, px + size[:, 0] / 2, py + size[:, 1] / 2], 1)
        ltrb = _round_half_up(_tensor_to_image(rects, boxes))
        keep = _nms(ltrb, scores, spec.nms_iou, spec.nms_covered)
        return ltrb[keep], scores[keep].astype(np.float32)


def _check_upsample(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise InvalidArgumentError(f"upsample must be an integer >= 0, got {value!r}")
    return int(value)


def _check_image(image: object) -> None:
    if not isinstance(image, np.ndarray):
        raise InvalidArgumentError(f"image must be a numpy array, got {type(image).__name__}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise InvalidArgumentError(f"image must be (H, W, 3) RGB, got shape {image.shape}")
    if image.dtype != np.uint8:
        raise InvalidArgumentError(f"image must be uint8, got dtype {image.dtype}")
