"""One way to open an onnxruntime session for every ONNX model, on the device the user chose."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import InvalidArgumentError, ModelError

__all__ = ["onnx_session", "providers_for"]


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


def onnx_session(model: str | bytes, *, num_threads: int, providers: Sequence[str], name: str) -> Any:
    """An ``onnxruntime.InferenceSession`` of ``model`` (a file path or serialised bytes).

    Args:
        num_threads: intra-op threads (0 = one per core); inter-op parallelism stays 1.
        providers: execution providers (:func:`providers_for`).
        name: the model's name in the error message.

    Raises:
        ModelError: onnxruntime cannot load it (a missing or corrupt file, an unavailable provider).
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = num_threads
    options.inter_op_num_threads = 1
    # idle intra-op threads sleep instead of spinning: a server calls its models now and then, between
    # camera workers and decoders, and spinning threads burn the cores those need
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    try:
        return ort.InferenceSession(model, sess_options=options, providers=list(providers))
    except Exception as exc:  # onnxruntime raises its own exception types for bad files and providers
        where = f" from {model}" if isinstance(model, str) else ""
        raise ModelError(f"cannot load {name}{where}: {exc}") from None
