"""Fixtures for the model tests: the original ``.tflite`` files and their conversions, from the model store.

``./scripts/test`` installs the default models (``faceplane models install``) before pytest runs; a
model missing from the store fails these tests with the install command, it never skips them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from faceplane.errors import ModelError
from faceplane.models import store

#: tflite file name -> the model store's name for it
_STORE_NAMES = {
    "MobileFaceNet.tflite": "mobilefacenet",
    "face_detection_full_range_sparse.tflite": "blazeface",
    "FaceAntiSpoofing.tflite": "faceantispoofing",
}


def _installed(name: str) -> Path:
    try:
        return store.model_path(name)
    except ModelError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def tflite_source() -> Callable[[str], Path]:
    """``tflite_source(name)``: the original ``.tflite`` model, byte for byte as its package ships it."""

    def find(name: str) -> Path:
        if name not in _STORE_NAMES:
            pytest.fail(f"no model store entry for {name}")
        return _installed(_STORE_NAMES[name]).parent / "source.tflite"

    return find


@pytest.fixture(scope="session")
def blazeface_onnx_path() -> Path:
    """MediaPipe's full-range BlazeFace converted to ONNX by ``faceplane models install``."""
    return _installed("blazeface")
