"""The ONNX Runtime port of dlib's ResNet descriptor reproduces dlib's own numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from faceplane.models._dlib_dat import read_network
from faceplane.models.registry import weights_path
from faceplane.models.resnet import ResNetDescriptor, build_onnx

TOLERANCE = 1e-4  # max abs difference per descriptor component; dlib's values reach ~0.5
NUM_IMAGES = 120  # LFW images sampled; the HOG detector finds a face in nearly all of them


def _load_rgb(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


@pytest.fixture(scope="module")
def dlib_model():
    import dlib

    return dlib.face_recognition_model_v1(str(weights_path("resnet")))


@pytest.fixture(scope="module")
def port() -> ResNetDescriptor:
    return ResNetDescriptor(num_threads=1)


@pytest.fixture(scope="module")
def lfw_chips(data: Path) -> np.ndarray:
    """Face chips made exactly as dlib's Python API makes them, from every k-th LFW image."""
    import dlib

    files = sorted((data / "faces" / "lfw-view1" / "images").glob("*/*.jpg"))
    assert len(files) >= NUM_IMAGES, f"too few LFW images under {data}"
    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(str(weights_path("landmarks5")))
    chips = []
    for path in files[:: len(files) // NUM_IMAGES][:NUM_IMAGES]:
        image = _load_rgb(path)
        boxes = detector(image, 1)
        if boxes:
            shape = predictor(image, boxes[0])
            chips.append(dlib.get_face_chip(image, shape, size=150, padding=0.25))
    assert len(chips) >= 100, f"only {len(chips)} faces found in {NUM_IMAGES} LFW images"
    return np.stack(chips)


def _dlib_descriptors(dlib_model, chips: np.ndarray) -> np.ndarray:
    # The overload taking one aligned 150x150 chip: no re-alignment, no jitter.
    return np.stack([np.asarray(dlib_model.compute_face_descriptor(chip)) for chip in chips]).astype(
        np.float32
    )


@pytest.mark.slow
def test_port_matches_dlib_on_real_faces(dlib_model, port: ResNetDescriptor, lfw_chips: np.ndarray) -> None:
    expected = _dlib_descriptors(dlib_model, lfw_chips)
    actual = port.compute(lfw_chips)  # more than one chunk of 32
    assert actual.shape == (len(lfw_chips), 128) and actual.dtype == np.float32
    assert np.abs(actual - expected).max() < TOLERANCE


def test_port_matches_dlib_on_synthetic_chips(dlib_model, port: ResNetDescriptor) -> None:
    # Fast parity check that needs no data set: noise, flat grey and saturated chips.
    rng = np.random.default_rng(0)
    chips = np.stack(
        [
            rng.integers(0, 256, (150, 150, 3), dtype=np.uint8),
            np.full((150, 150, 3), 128, np.uint8),
            np.full((150, 150, 3), 255, np.uint8),
        ]
    )
    assert np.abs(port.compute(chips) - _dlib_descriptors(dlib_model, chips)).max() < TOLERANCE


def test_empty_batch(port: ResNetDescriptor) -> None:
    out = port.compute(np.zeros((0, 150, 150, 3), np.uint8))
    assert out.shape == (0, 128) and out.dtype == np.float32


def test_batch_and_single_agree(port: ResNetDescriptor) -> None:
    chips = np.random.default_rng(1).integers(0, 256, (3, 150, 150, 3), dtype=np.uint8)
    together = port.compute(chips)
    alone = np.concatenate([port.compute(chips[i : i + 1]) for i in range(3)])
    np.testing.assert_allclose(together, alone, atol=1e-6)


@pytest.mark.parametrize(
    ("chips", "message"),
    [
        (np.zeros((1, 150, 150, 3), np.float32), "float32"),
        (np.zeros((150, 150, 3), np.uint8), r"\(150, 150, 3\)"),
        (np.zeros((1, 150, 150, 4), np.uint8), r"\(1, 150, 150, 4\)"),
        (np.zeros((2, 112, 112, 3), np.uint8), r"\(2, 112, 112, 3\)"),
        ([[0]], "list"),
    ],
    ids=["float", "no-batch-axis", "rgba", "wrong-size", "not-an-array"],
)
def test_rejects_bad_input(port: ResNetDescriptor, chips: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        port.compute(chips)  # type: ignore[arg-type]


@pytest.mark.parametrize("threads", [-1, 1.5])
def test_rejects_bad_thread_count(threads: object) -> None:
    with pytest.raises(ValueError, match="num_threads"):
        ResNetDescriptor(num_threads=threads)  # type: ignore[arg-type]


def test_build_onnx_has_dynamic_batch() -> None:
    model = build_onnx(read_network(weights_path("resnet")))
    (inp,), (out,) = model.graph.input, model.graph.output
    in_dims = [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim]
    out_dims = [d.dim_param or d.dim_value for d in out.type.tensor_type.shape.dim]
    assert in_dims == ["N", 150, 150, 3] and out_dims == ["N", 128]


def test_missing_weights_file(tmp_path: Path) -> None:
    from faceplane.errors import ModelError

    with pytest.raises(ModelError, match=r"nope\.dat"):
        ResNetDescriptor(weights_path=tmp_path / "nope.dat").compute(np.zeros((1, 150, 150, 3), np.uint8))
