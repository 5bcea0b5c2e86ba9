"""The reader of dlib's DNN serialisation, on the two real CNN weight files dlib publishes."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from faceplane.models._dlib_dat import DlibFormatError, DlibLayer, read_network
from faceplane.models.registry import weights_path


@pytest.fixture(scope="module")
def resnet_path() -> Path:
    return weights_path("resnet")


@pytest.fixture(scope="module")
def mmod_path() -> Path:
    return weights_path("mmod")


@pytest.fixture(scope="module")
def resnet(resnet_path: Path) -> list[DlibLayer]:
    return read_network(resnet_path)


@pytest.fixture(scope="module")
def mmod(mmod_path: Path) -> list[DlibLayer]:
    return read_network(mmod_path)


def test_resnet_layers_match_dlibs_anet_type(resnet: list[DlibLayer]) -> None:
    # anet_type in dlib's dnn_face_recognition_ex.cpp: 29 conv/affine/relu triples, 14 residual
    # adds (4 of them down-sampling, with a skip and a 2x2 average pool each).
    assert Counter(layer.kind for layer in resnet) == {
        "input_rgb_image_sized": 1,
        "con": 29,
        "affine": 29,
        "relu": 29,
        "max_pool": 1,
        "tag": 18,
        "skip": 4,
        "avg_pool": 5,
        "add_prev": 14,
        "fc": 1,
        "loss_metric": 1,
    }
    head = ["input_rgb_image_sized", "con", "affine", "relu", "max_pool"]
    assert [layer.kind for layer in resnet[:5]] == head
    assert [layer.kind for layer in resnet[-4:]] == ["relu", "avg_pool", "fc", "loss_metric"]


def test_resnet_attrs_and_tensors(resnet: list[DlibLayer]) -> None:
    inp, first_con, fc, loss = resnet[0], resnet[1], resnet[-2], resnet[-1]
    assert (inp.attrs["nr"], inp.attrs["nc"]) == (150, 150)
    assert inp.attrs["avg_red"] == pytest.approx(122.782, abs=1e-3)
    assert {"num_filters": 32, "nr": 7, "stride_y": 2, "padding_y": 0}.items() <= first_con.attrs.items()
    assert first_con.tensors["filters"].shape == (32, 3, 7, 7)
    assert first_con.tensors["bias"].shape == (32,)
    assert resnet[2].tensors["gamma"].shape == resnet[2].tensors["beta"].shape == (32,)
    assert fc.tensors["weights"].shape == (256, 128) and not fc.attrs["use_bias"]
    assert resnet[-3].attrs["nr"] == 0  # avg_pool_everything
    assert loss.attrs == {"margin": pytest.approx(0.04), "dist_thresh": pytest.approx(0.6)}
    for layer in resnet:
        for array in layer.tensors.values():
            assert array.dtype == np.float32 and np.isfinite(array).all()


def test_resnet_tags_resolve_in_order(resnet: list[DlibLayer]) -> None:
    opened: set[object] = set()
    for layer in resnet:
        if layer.kind == "tag":
            opened.add(layer.attrs["id"])
        elif layer.kind in ("skip", "add_prev"):
            assert layer.attrs["id"] in opened, layer
    # Every down-sampling residual is tag, skip, avg_pool, add_prev right after its block.
    for i, layer in enumerate(resnet):
        if layer.kind == "skip":
            assert [x.kind for x in resnet[i - 1 : i + 3]] == ["tag", "skip", "avg_pool", "add_prev"]


def test_mmod_layers(mmod: list[DlibLayer]) -> None:
    kinds = [layer.kind for layer in mmod]
    assert kinds == ["input_rgb_image_pyramid"] + ["con", "bn_con", "relu"] * 6 + ["con", "loss_mmod"]
    options = mmod[-1].attrs
    assert options["detector_windows"] == ({"width": 80, "height": 80, "label": ""},)
    assert options["overlaps_nms"]["iou_thresh"] == pytest.approx(0.3383, abs=1e-4)  # type: ignore[index]
    assert mmod[0].attrs["pyramid_padding"] == 10
    assert mmod[2].tensors["running_variances"].shape == (16,)
    assert mmod[-2].tensors["filters"].shape == (1, 45, 9, 9)


def test_resnet_parses_fast(resnet_path: Path) -> None:
    start = time.perf_counter()
    read_network(resnet_path)
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize("keep", [0, 1, 20, 300, 5000, -1], ids=lambda k: f"keep{k}")
def test_truncated_file_raises_with_offset(mmod_path: Path, tmp_path: Path, keep: int) -> None:
    data = mmod_path.read_bytes()
    broken = tmp_path / "truncated.dat"
    broken.write_bytes(data[:keep])
    with pytest.raises(ValueError, match=r"byte offset \d+ .*expected .*file ends") as info:
        read_network(broken)
    assert isinstance(info.value, DlibFormatError)
    assert str(broken) in str(info.value)


def test_trailing_bytes_raise(mmod_path: Path, tmp_path: Path) -> None:
    padded = tmp_path / "padded.dat"
    padded.write_bytes(mmod_path.read_bytes() + b"\x00\x00")
    with pytest.raises(ValueError, match="2 more bytes"):
        read_network(padded)


def test_unknown_layer_type_raises(mmod_path: Path, tmp_path: Path) -> None:
    renamed = tmp_path / "renamed.dat"
    renamed.write_bytes(mmod_path.read_bytes().replace(b"relu_", b"gelu_", 1))
    with pytest.raises(ValueError, match=r"unknown dlib layer 'gelu_' at byte offset \d+"):
        read_network(renamed)


def test_corrupt_integer_raises(mmod_path: Path, tmp_path: Path) -> None:
    data = bytearray(mmod_path.read_bytes())
    data[0] = 0x71  # the add_loss_layer version's control byte, with reserved bits set
    corrupt = tmp_path / "corrupt.dat"
    corrupt.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"byte offset 0 .*control byte, got 0x71"):
        read_network(corrupt)
