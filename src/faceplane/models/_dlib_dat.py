"""Reader of dlib's DNN serialisation format (the ``.dat`` files of its CNN models).

dlib writes a network with its generic ``serialize()`` functions (dlib/serialize.h):

* integers: a control byte (bit 7 = negative, low 4 bits = byte count) then the magnitude,
  little endian; bool: the ASCII byte ``'1'``/``'0'``; ``unsigned char``: one raw byte;
  strings: an integer length then the bytes;
* floating point: a ``float_details`` pair, the mantissa then the exponent, both integers
  (value = mantissa * 2**exponent; exponents 32000/32001/32002 mean +inf/-inf/nan);
* tensors (``resizable_tensor`` version 2): version, n, k, nr, nc, then n*k*nr*nc raw
  little-endian float32 (version 1 used ``float_details`` for each element).

The network itself is nested from the loss layer down (dlib/dnn/core.h): ``add_loss_layer``
writes its version, the loss details, then its subnetwork; every ``add_layer`` writes its
version, *its subnetwork*, then its own layer details and some state; ``add_tag_layer`` and
``add_skip_layer`` write only ``int 1`` and their subnetwork. So a file is a run of version
integers (top to bottom), the input layer, then the layers' details bottom to top.

dlib does **not** serialise tag ids, nor whether a version-1 entry is a tag or a skip (both are
``add_*_layer<ID, ...>`` template arguments), nor the tag an ``add_prev`` refers to. The reader
infers them with the rule that reproduces dlib's residual templates (``residual`` and
``residual_down`` of the ResNet examples): a marker directly after another marker is a skip
to the tag below the one just opened; ``add_prev`` and ``skip`` each consume the tag they use.
Inferred ids are unique, numbered from 1 in order of appearance, and flagged
``attrs["inferred"] = True``. ``repeat<>`` blocks are not supported.

Example:
    >>> layers = read_network("dlib_face_recognition_resnet_model_v1.dat")  # doctest: +SKIP
    >>> layers[0].kind, layers[-1].kind  # doctest: +SKIP
    ('input_rgb_image_sized', 'loss_metric')
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import numpy as np

from ..errors import ModelError

__all__ = ["DlibFormatError", "DlibLayer", "read_network"]

logger = logging.getLogger(__name__)

_FLOAT_INF, _FLOAT_NINF, _FLOAT_NAN = 32000, 32001, 32002
_MARKER = "_marker"  # a version-1 entry: tag or skip, resolved after parsing


class DlibFormatError(ModelError, ValueError):
    """A ``.dat`` file is truncated, malformed, or uses a layer type this reader does not know."""


@dataclass(frozen=True)
class DlibLayer:
    """One layer of a dlib network, as stored in the file.

    Attributes:
        kind: layer type without dlib's trailing underscore/version, e.g. ``"con"``,
            ``"affine"``, ``"bn_con"``, ``"relu"``, ``"max_pool"``, ``"avg_pool"``,
            ``"add_prev"``, ``"tag"``, ``"skip"``, ``"fc"``, ``"input_rgb_image_sized"``,
            ``"input_rgb_image_pyramid"``, ``"loss_metric"``, ``"loss_mmod"``.
        attrs: scalar settings (ints, floats, strs, bools; tuples/dicts for nested options).
        tensors: float32 parameter arrays, e.g. con ``filters`` (K, C, R, S) and ``bias`` (K,).
    """

    kind: str
    attrs: Mapping[str, object] = field(default_factory=dict)
    tensors: Mapping[str, np.ndarray] = field(default_factory=dict)


class _Reader:
    """Cursor over the file bytes; every read names what it expected for error messages."""

    def __init__(self, data: bytes, name: str) -> None:
        self.data = data
        self.name = name
        self.pos = 0

    def fail(self, expected: str, at: int | None = None) -> DlibFormatError:
        where = self.pos if at is None else at
        return DlibFormatError(
            f"{self.name}: malformed dlib file at byte offset {where} of {len(self.data)}: "
            f"expected {expected}"
        )

    def take(self, count: int, expected: str) -> bytes:
        if count < 0 or self.pos + count > len(self.data):
            raise self.fail(f"{expected} ({count} bytes), but the file ends")
        chunk = self.data[self.pos : self.pos + count]
        self.pos += count
        return chunk

    def int_(self, expected: str, *, unsigned: bool = False) -> int:
        start = self.pos
        control = self.take(1, expected)[0]
        size = control & 0x0F
        # dlib never sets bits 0x70; a set bit means we are not at an integer (misaligned/corrupt).
        if control & 0x70 or size > 8 or (unsigned and control & 0x80):
            raise self.fail(f"{expected} (integer control byte, got 0x{control:02x})", start)
        value = int.from_bytes(self.take(size, expected), "little")
        return -value if control & 0x80 else value

    def byte(self, expected: str) -> int:
        return self.take(1, expected)[0]

    def bool_(self, expected: str) -> bool:
        start = self.pos
        char = self.take(1, expected)
        if char not in (b"0", b"1"):
            raise self.fail(f"{expected} (bool '0'/'1', got {char!r})", start)
        return char == b"1"

    def float_(self, expected: str) -> float:
        if self.pos < len(self.data) and self.data[self.pos] & 0x70:
            raise self.fail(f"{expected} (binary float; dlib's legacy ASCII floats are not supported)")
        mantissa = self.int_(expected + " mantissa")
        exponent = self.int_(expected + " exponent")
        if exponent < _FLOAT_INF:
            return math.ldexp(float(mantissa), exponent)
        return {_FLOAT_INF: math.inf, _FLOAT_NINF: -math.inf}.get(exponent, math.nan)

    def string(self, expected: str) -> str:
        start = self.pos
        size = self.int_(expected + " length", unsigned=True)
        raw = self.take(size, expected)
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError:
            raise self.fail(f"{expected} (ASCII string)", start) from None

    def peek_string(self) -> str | None:
        """The string at the cursor if there plausibly is one, without moving the cursor."""
        start = self.pos
        try:
            text = self.string("string")
        except DlibFormatError:
            return None
        finally:
            self.pos = start
        return text if text.isprintable() else None

    def tensor(self, expected: str) -> np.ndarray:
        """A ``resizable_tensor``: float32 array of shape (n, k, nr, nc)."""
        version = self.int_(expected + " tensor version")
        if version not in (1, 2):
            raise self.fail(f"{expected} tensor version 1 or 2, got {version}")
        shape = tuple(self.int_(f"{expected} tensor dim", unsigned=True) for _ in range(4))
        count = math.prod(shape)
        if version == 2:
            raw = self.take(4 * count, f"{expected} tensor data")
            return np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(shape)
        values = [self.float_(f"{expected} tensor element") for _ in range(count)]
        return np.asarray(values, dtype=np.float32).reshape(shape)

    def alias(self, expected: str) -> tuple[int, int, int, int]:
        """An ``alias_tensor``: only its shape (a view into the layer's params)."""
        version = self.int_(expected + " alias_tensor version")
        if version != 1:
            raise self.fail(f"{expected} alias_tensor version 1, got {version}")
        n, k, nr, nc = (self.int_(f"{expected} alias dim", unsigned=True) for _ in range(4))
        return n, k, nr, nc


# --------------------------------------------------------------------------------------------
# Layer details. Each parser gets the reader positioned after the version string.

_Parsed = tuple[str, dict[str, object], dict[str, np.ndarray]]


def _slice_params(
    r: _Reader, params: np.ndarray, shapes: list[tuple[int, ...]], what: str
) -> list[np.ndarray]:
    """Cut consecutive views out of a layer's flat params, as dlib's alias_tensors do."""
    flat = params.reshape(-1)
    total = sum(math.prod(shape) for shape in shapes)
    if total != flat.size:  # dlib sizes params to exactly its views; anything else is corrupt
        raise r.fail(f"{what} params of {total} floats for views {shapes}, got {flat.size}")
    out, offset = [], 0
    for shape in shapes:
        size = math.prod(shape)
        out.append(flat[offset : offset + size].reshape(shape))
        offset += size
    return out


def _parse_con(r: _Reader, version: str) -> _Parsed:
    params = r.tensor("con params")
    attrs: dict[str, object] = {"num_filters": r.int_("con num_filters")}
    for key in ("nr", "nc", "stride_y", "stride_x", "padding_y", "padding_x"):
        attrs[key] = r.int_(f"con {key}")
    filters = r.alias("con filters")
    biases = r.alias("con biases")
    for key in ("learning_rate_multiplier", "weight_decay_multiplier"):
        attrs[key] = r.float_(f"con {key}")
    for key in ("bias_learning_rate_multiplier", "bias_weight_decay_multiplier"):
        attrs[key] = r.float_(f"con {key}")
    # con_4 predates the option: it always has a bias.
    attrs["use_bias"] = r.bool_("con use_bias") if version == "con_5" else True
    shapes: list[tuple[int, ...]] = [filters]
    if attrs["use_bias"]:
        shapes.append((math.prod(biases),))
    views = _slice_params(r, params, shapes, "con")
    tensors = {"filters": views[0]}
    if attrs["use_bias"]:
        tensors["bias"] = views[1]
    return "con", attrs, tensors


def _gamma_beta(
    r: _Reader, params: np.ndarray, gamma: tuple[int, ...], mode: str, what: str
) -> list[np.ndarray]:
    # Per-channel vectors in conv mode; per-element (k, nr, nc) in fc mode.
    shape = (gamma[1],) if mode == "conv" else tuple(gamma[1:])
    return _slice_params(r, params, [shape, shape], what)


def _parse_affine(r: _Reader, version: str) -> _Parsed:
    params = r.tensor("affine params")
    gamma = r.alias("affine gamma")
    r.alias("affine beta")
    mode = "fc" if r.int_("affine mode") == 1 else "conv"  # dlib's layer_mode: CONV_MODE=0, FC_MODE=1
    attrs: dict[str, object] = {"mode": mode}
    if version == "affine_2":
        attrs["disabled"] = r.bool_("affine disabled")
    g, b = _gamma_beta(r, params, gamma, mode, "affine")
    return "affine", attrs, {"gamma": g, "beta": b}


def _parse_bn(r: _Reader, version: str) -> _Parsed:
    mode = "conv" if version == "bn_con2" else "fc"
    params = r.tensor("bn params")
    gamma = r.alias("bn gamma")
    r.alias("bn beta")
    r.tensor("bn means")  # batch statistics of the last training step: unused at inference
    r.tensor("bn invstds")
    running_means = r.tensor("bn running_means").reshape(-1)
    running_variances = r.tensor("bn running_variances").reshape(-1)
    attrs: dict[str, object] = {"mode": mode}
    attrs["num_updates"] = r.int_("bn num_updates", unsigned=True)
    attrs["running_stats_window_size"] = r.int_("bn running_stats_window_size", unsigned=True)
    for key in ("learning_rate_multiplier", "weight_decay_multiplier"):
        attrs[key] = r.float_(f"bn {key}")
    for key in ("bias_learning_rate_multiplier", "bias_weight_decay_multiplier", "eps"):
        attrs[key] = r.float_(f"bn {key}")
    g, b = _gamma_beta(r, params, gamma, mode, "bn")
    shape = g.shape
    tensors = {
        "gamma": g,
        "beta": b,
        "running_means": running_means.reshape(shape),
        "running_variances": running_variances.reshape(shape),
    }
    return ("bn_con" if mode == "conv" else "bn_fc"), attrs, tensors


def _parse_pool(kind: str) -> Callable[[_Reader, str], _Parsed]:
    def parse(r: _Reader, version: str) -> _Parsed:
        keys = ("nr", "nc", "stride_y", "stride_x", "padding_y", "padding_x")
        return kind, {key: r.int_(f"{kind} {key}") for key in keys}, {}

    return parse


def _parse_fc(r: _Reader, version: str) -> _Parsed:
    attrs: dict[str, object] = {
        "num_outputs": r.int_("fc num_outputs", unsigned=True),
        "num_inputs": r.int_("fc num_inputs", unsigned=True),
    }
    params = r.tensor("fc params")
    weights = r.alias("fc weights")
    biases = r.alias("fc biases")
    bias_mode = r.int_("fc bias_mode")  # dlib's fc_bias_mode: FC_HAS_BIAS=0, FC_NO_BIAS=1
    attrs["use_bias"] = bias_mode == 0
    for key in ("learning_rate_multiplier", "weight_decay_multiplier"):
        attrs[key] = r.float_(f"fc {key}")
    for key in ("bias_learning_rate_multiplier", "bias_weight_decay_multiplier"):
        attrs[key] = r.float_(f"fc {key}")
    # dlib computes output = input (N, num_inputs) @ weights (num_inputs, num_outputs).
    shapes: list[tuple[int, ...]] = [(weights[0], weights[1] * weights[2] * weights[3])]
    if attrs["use_bias"]:
        shapes.append((math.prod(biases),))
    views = _slice_params(r, params, shapes, "fc")
    tensors = {"weights": views[0]}
    if attrs["use_bias"]:
        tensors["bias"] = views[1]
    return "fc", attrs, tensors


def _parse_plain(kind: str) -> Callable[[_Reader, str], _Parsed]:
    def parse(r: _Reader, version: str) -> _Parsed:
        return kind, {}, {}

    return parse


def _parse_input(kind: str) -> Callable[[_Reader, str], _Parsed]:
    def parse(r: _Reader, version: str) -> _Parsed:
        attrs: dict[str, object] = {c: r.float_(f"{kind} {c}") for c in ("avg_red", "avg_green", "avg_blue")}
        if kind == "input_rgb_image_sized":
            attrs["nr"] = r.int_("input_rgb_image_sized NR", unsigned=True)
            attrs["nc"] = r.int_("input_rgb_image_sized NC", unsigned=True)
        elif kind == "input_rgb_image_pyramid":
            if version == "input_rgb_image_pyramid2":
                attrs["pyramid_padding"] = r.int_("pyramid_padding", unsigned=True)
                attrs["pyramid_outer_padding"] = r.int_("pyramid_outer_padding", unsigned=True)
            else:  # version 1 files: dlib substitutes these defaults when loading
                attrs["pyramid_padding"], attrs["pyramid_outer_padding"] = 10, 11
        return kind, attrs, {}

    return parse


def _parse_loss_metric(r: _Reader, version: str) -> _Parsed:
    if version == "loss_metric_":  # values dlib hard-codes for the first version
        return "loss_metric", {"margin": 0.1, "dist_thresh": 0.75}, {}
    return "loss_metric", {"margin": r.float_("margin"), "dist_thresh": r.float_("dist_thresh")}, {}


def _parse_box_overlap(r: _Reader, what: str) -> dict[str, float]:
    return {
        "iou_thresh": r.float_(f"{what} iou_thresh"),
        "percent_covered_thresh": r.float_(f"{what} percent_covered_thresh"),
    }


def _parse_loss_mmod(r: _Reader, version: str) -> _Parsed:
    opt_version = r.int_("mmod_options version")
    if not 1 <= opt_version <= 4:
        raise r.fail(f"mmod_options version 1..4, got {opt_version}")
    windows: list[dict[str, object]] = []
    if opt_version == 1:
        width, height = r.int_("detector width", unsigned=True), r.int_("detector height", unsigned=True)
        windows.append({"width": width, "height": height, "label": ""})
    else:
        for _ in range(r.int_("number of detector windows", unsigned=True)):
            win_version = r.int_("detector_window_details version")
            width, height = r.int_("window width", unsigned=True), r.int_("window height", unsigned=True)
            label = r.string("window label") if win_version == 2 else ""
            windows.append({"width": width, "height": height, "label": label})
    attrs: dict[str, object] = {"options_version": opt_version, "detector_windows": tuple(windows)}
    for key in ("loss_per_false_alarm", "loss_per_missed_target", "truth_match_iou_threshold"):
        attrs[key] = r.float_(key)
    attrs["overlaps_nms"] = _parse_box_overlap(r, "overlaps_nms")
    attrs["overlaps_ignore"] = _parse_box_overlap(r, "overlaps_ignore")
    # Defaults dlib fills in for fields older versions did not store.
    attrs["assume_image_pyramid"] = r.byte("assume_image_pyramid") != 0 if opt_version >= 3 else True
    attrs["use_bounding_box_regression"], attrs["bbr_lambda"] = False, 100.0
    if opt_version >= 4:
        attrs["use_bounding_box_regression"] = r.bool_("use_bounding_box_regression")
        attrs["bbr_lambda"] = r.float_("bbr_lambda")
    return "loss_mmod", attrs, {}


_LAYER_PARSERS: dict[str, Callable[[_Reader, str], _Parsed]] = {
    "con_4": _parse_con,
    "con_5": _parse_con,
    "affine_": _parse_affine,
    "affine_2": _parse_affine,
    "bn_con2": _parse_bn,
    "bn_fc2": _parse_bn,
    "relu_": _parse_plain("relu"),
    "sig_": _parse_plain("sig"),
    "htan_": _parse_plain("htan"),
    "add_prev_": _parse_plain("add_prev"),
    "max_pool_2": _parse_pool("max_pool"),
    "avg_pool_2": _parse_pool("avg_pool"),
    "fc_2": _parse_fc,
}
_INPUT_PARSERS: dict[str, Callable[[_Reader, str], _Parsed]] = {
    "input_rgb_image": _parse_input("input_rgb_image"),
    "input_rgb_image_sized": _parse_input("input_rgb_image_sized"),
    "input_rgb_image_pyramid": _parse_input("input_rgb_image_pyramid"),
    "input_rgb_image_pyramid2": _parse_input("input_rgb_image_pyramid"),
}
_LOSS_PARSERS: dict[str, Callable[[_Reader, str], _Parsed]] = {
    "loss_metric_": _parse_loss_metric,
    "loss_metric_2": _parse_loss_metric,
    "loss_mmod_": _parse_loss_mmod,
}


def _parse_details(r: _Reader, table: Mapping[str, Callable[[_Reader, str], _Parsed]], role: str) -> _Parsed:
    start = r.pos
    version = r.string(f"{role} type name")
    parser = table.get(version)
    if parser is None:
        raise DlibFormatError(
            f"{r.name}: unsupported or unknown dlib {role} {version!r} at byte offset {start} "
            f"(known: {', '.join(sorted(table))})"
        )
    return parser(r, version)


# --------------------------------------------------------------------------------------------
# Network structure.


def _skip_add_layer_state(r: _Reader, *, on_input: int | None) -> None:
    """Skip add_layer's runtime state (flags, cached outputs, gradients) after the details."""
    for flag in ("this_layer_setup_called", "gradient_input_is_stale", "output_disabled"):
        r.bool_(f"add_layer {flag}")
    r.tensor("add_layer x_grad")
    r.tensor("add_layer cached_output")
    if on_input is None:
        r.tensor("add_layer params_grad")
        return
    r.tensor("add_layer grad_final")
    if on_input >= 3:
        r.int_("add_layer sample_expansion_factor", unsigned=True)


def _read_version_run(r: _Reader) -> tuple[list[int], int]:
    """Version ints from the top layer down; returns (versions above the input layer's, its own)."""
    versions: list[int] = []
    while True:
        start = r.pos
        version = r.int_("layer version")
        following = r.peek_string()
        if following is not None and following.startswith("input"):
            if version not in (2, 3):
                raise r.fail(
                    f"an add_layer (version 2 or 3) directly on the input layer, got {version}", start
                )
            return versions, version
        if version not in (1, 2):
            raise r.fail(f"a layer version (1 = tag/skip, 2 = add_layer), got {version}", start)
        versions.append(version)


def _resolve_markers(layers: list[DlibLayer], name: str) -> list[DlibLayer]:
    """Turn version-1 markers into tag/skip layers and give ids to tags, skips and add_prevs."""
    open_tags: list[int] = []
    out: list[DlibLayer] = []
    next_id, previous_was_marker = 1, False
    for layer in layers:
        kind = layer.kind
        if kind == _MARKER and previous_was_marker and len(open_tags) >= 2:
            # tagB<...> directly followed by a marker is residual_down's skip1 to the tag below.
            out.append(DlibLayer("skip", MappingProxyType({"id": open_tags.pop(-2), "inferred": True})))
        elif kind == _MARKER:
            out.append(DlibLayer("tag", MappingProxyType({"id": next_id, "inferred": True})))
            open_tags.append(next_id)
            next_id += 1
        elif kind == "add_prev":
            if not open_tags:
                raise DlibFormatError(f"{name}: add_prev layer #{len(out)} has no tag below it")
            out.append(DlibLayer("add_prev", MappingProxyType({"id": open_tags.pop(), "inferred": True})))
        else:
            out.append(layer)
        previous_was_marker = kind == _MARKER
    return out


def _freeze(parsed: _Parsed) -> DlibLayer:
    kind, attrs, tensors = parsed
    return DlibLayer(kind, MappingProxyType(attrs), MappingProxyType(tensors))


def read_network(path: str | os.PathLike) -> list[DlibLayer]:
    """Parse a dlib DNN ``.dat`` file.

    Args:
        path: a file written by ``dlib::serialize(net)``, e.g. dlib_face_recognition_resnet_model_v1.dat.

    Returns:
        Layers in order from the input layer (index 0) to the loss layer (last), tags and skips
        included as their own entries.

    Raises:
        DlibFormatError: (a ``ValueError``) the file is truncated, malformed, has trailing bytes,
            or uses a layer type this reader does not know; the message gives the byte offset.
        FileNotFoundError: no such file.
    """
    name = os.fspath(path)
    r = _Reader(Path(path).read_bytes(), name)
    loss_version = r.int_("add_loss_layer version")
    if loss_version != 1:
        raise r.fail(f"add_loss_layer version 1, got {loss_version}", 0)
    loss = _freeze(_parse_details(r, _LOSS_PARSERS, "loss layer"))
    versions, input_version = _read_version_run(r)
    layers = [_freeze(_parse_details(r, _INPUT_PARSERS, "input layer"))]
    layers.append(_freeze(_parse_details(r, _LAYER_PARSERS, "layer")))
    _skip_add_layer_state(r, on_input=input_version)
    for version in reversed(versions):
        if version == 1:
            layers.append(DlibLayer(_MARKER))
            continue
        layers.append(_freeze(_parse_details(r, _LAYER_PARSERS, "layer")))
        _skip_add_layer_state(r, on_input=None)
    if r.pos != len(r.data):
        raise r.fail(f"end of file after the network, found {len(r.data) - r.pos} more bytes")
    layers = _resolve_markers(layers, name)
    layers.append(loss)
    logger.debug("read %d layers from %s", len(layers), name)
    return layers
