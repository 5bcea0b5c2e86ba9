"""Reading a TensorFlow.js graph model: ``model.json`` (a GraphDef as JSON) and its ``.bin`` weights.

Used by :mod:`faceplane.models._tfjs` (the ONNX converter). ``weightsManifest`` lists, in order, every
constant stored in the concatenated ``.bin`` shards (little-endian); ``quantization`` says when a float32
tensor is stored as float16, or as uint8/uint16 with ``min`` and ``scale``.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ModelError

__all__ = ["TF_DTYPES", "Node", "graph_ops", "ordered", "parse", "read_weights", "split_ref"]

_DTYPES: dict[str, Any] = {
    "float32": np.float32,
    "int32": np.int32,
    "bool": np.bool_,
    "float16": np.float16,
    "uint8": np.uint8,
    "uint16": np.uint16,
}
TF_DTYPES: dict[str, Any] = {
    "DT_FLOAT": np.float32,
    "DT_INT32": np.int32,
    "DT_INT64": np.int64,
    "DT_BOOL": np.bool_,
    "DT_HALF": np.float16,
}


def read_weights(manifest: Sequence[Mapping[str, Any]], data: bytes) -> dict[str, np.ndarray]:
    """Every constant of a ``weightsManifest``, dequantized, from the concatenated shards ``data``.

    Raises:
        ModelError: an unknown dtype or quantization, or fewer bytes than the manifest lists.
    """
    out: dict[str, np.ndarray] = {}
    offset = 0
    for group in manifest:
        for entry in group.get("weights", []):
            shape = [int(d) for d in entry.get("shape", [])]
            quant = entry.get("quantization") or {}
            stored = quant.get("dtype", entry.get("dtype"))
            if stored not in _DTYPES or entry.get("dtype") not in _DTYPES:
                raise ModelError(f"weight {entry.get('name')!r}: unsupported dtype {stored!r}")
            count = math.prod(shape)
            size = count * np.dtype(_DTYPES[stored]).itemsize
            if offset + size > len(data):
                raise ModelError(f"weight {entry['name']!r}: the .bin holds {len(data)} bytes, need {offset + size}")
            raw = np.frombuffer(data, _DTYPES[stored], count, offset).reshape(shape)
            offset += size
            out[entry["name"]] = _dequantize(raw, quant, entry)
    if offset != len(data):
        raise ModelError(f"the weights manifest lists {offset} bytes, the .bin holds {len(data)}")
    return out


def _dequantize(raw: np.ndarray, quant: Mapping[str, Any], entry: Mapping[str, Any]) -> np.ndarray:
    if not quant:
        return raw.copy()
    if quant["dtype"] == "float16":
        return raw.astype(np.float32)
    if quant["dtype"] in ("uint8", "uint16") and "scale" in quant and "min" in quant:
        value = raw.astype(np.float32) * np.float32(quant["scale"]) + np.float32(quant["min"])
        return value.astype(_DTYPES[entry["dtype"]])
    raise ModelError(f"weight {entry['name']!r}: unsupported quantization {dict(quant)}")


def parse(model_json: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(model_json)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelError(f"not a TF.js model.json: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != "graph-model" or "modelTopology" not in doc:
        raise ModelError("not a TF.js graph model (format must be 'graph-model' with a modelTopology)")
    return doc


def graph_ops(model_json: bytes) -> dict[str, int]:
    """How many nodes of each op type the graph holds (what a converter has to map)."""
    counts: dict[str, int] = {}
    for node in parse(model_json)["modelTopology"].get("node", []):
        counts[node["op"]] = counts.get(node["op"], 0) + 1
    return counts


@dataclass(frozen=True)
class Node:
    name: str
    op: str
    inputs: list[str]  # "name" or "name:k"; control inputs ("^name") dropped
    attr: dict[str, Any]

    def ints(self, key: str) -> list[int]:
        return [int(v) for v in self.attr.get(key, {}).get("list", {}).get("i", [])]

    def text(self, key: str, default: str = "") -> str:
        value = self.attr.get(key, {}).get("s")
        return base64.b64decode(value).decode() if value is not None else default

    def texts(self, key: str) -> list[str]:
        return [base64.b64decode(s).decode() for s in self.attr.get(key, {}).get("list", {}).get("s", [])]

    def flag(self, key: str) -> bool:
        return bool(self.attr.get(key, {}).get("b", False))

    def number(self, key: str, default: float) -> float:
        return float(self.attr.get(key, {}).get("f", default))


def split_ref(ref: str) -> tuple[str, int]:
    name, _, index = ref.partition(":")
    return name, int(index) if index else 0


def ordered(nodes: Mapping[str, Node], outputs: Sequence[str]) -> list[Node]:
    """The nodes ``outputs`` depend on, each after its inputs (iterative depth-first search)."""
    order: list[Node] = []
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    for out in outputs:
        stack = [(split_ref(out)[0], False)]
        while stack:
            name, expanded = stack.pop()
            if state.get(name) == 2:
                continue
            if name not in nodes:
                raise ModelError(f"the graph has no node {name!r}")
            if expanded:
                state[name] = 2
                order.append(nodes[name])
                continue
            if state.get(name) == 1:
                raise ModelError(f"the graph has a cycle through {name!r}")
            state[name] = 1
            stack.append((name, True))
            stack.extend(
                (split_ref(i)[0], False) for i in reversed(nodes[name].inputs) if state.get(split_ref(i)[0]) != 2
            )
    return order
