"""TFLite sparse constants (``SparsityParameters``), densified in numpy at conversion time.

Used by :mod:`faceplane.models._tflite`: MediaPipe's BlazeFace stores most conv filters sparse (``DENSIFY``);
the converter turns them into plain float32 initializers with :func:`_read_sparse`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import ModelError

__all__ = ["_DimMeta", "_densify", "_read_sparse"]



@dataclass(frozen=True)
class _DimMeta:
    """One level of a TFLite sparse tensor, in traversal order.

    A DENSE level has ``dense_size`` entries under each parent. A SPARSE_CSR level lists, for parent
    ``p``, the entries ``indices[segments[p]:segments[p + 1]]`` (``segments`` and ``indices`` int64).
    """

    dense_size: int
    segments: npt.NDArray[np.int64] | None = None
    indices: npt.NDArray[np.int64] | None = None


def _densify(
    values: np.ndarray,
    shape: Sequence[int],
    traversal_order: Sequence[int],
    block_map: Sequence[int],
    dims: Sequence[_DimMeta],
) -> np.ndarray:
    """Dense array of ``shape`` from the stored ``values`` of a TFLite sparse tensor.

    Follows TFLite's ``FormatConverter``: walk the levels in traversal order (the first ``len(shape)``
    are the tensor's dimensions, possibly permuted, the rest are dimensions inside a block), collect
    one coordinate per stored value, then fold block coordinates into the dimensions ``block_map``
    names. Missing entries are zero.

    Raises:
        ModelError: the metadata does not describe ``len(values)`` entries inside ``shape``.
    """
    rank, order = len(shape), list(traversal_order)
    permutations = sorted(order[:rank]) == list(range(rank)) and sorted(order[rank:]) == list(range(rank, len(dims)))
    if len(order) != len(dims) or len(dims) != rank + len(block_map) or not permutations:
        raise ModelError(f"sparse tensor: traversal_order {order} for rank {rank} and {len(block_map)} blocks")
    if any(not 0 <= axis < rank for axis in block_map):
        raise ModelError(f"sparse tensor: block_map {list(block_map)} names an axis outside rank {rank}")
    parents = np.zeros(1, np.int64)
    columns: list[np.ndarray] = []
    for dim in dims:
        parents, column, owner = _expand_level(parents, dim)
        columns = [c[owner] for c in columns] + [column]
    if len(parents) != values.size:
        raise ModelError(f"sparse tensor: metadata lists {len(parents)} entries, buffer holds {values.size}")
    coords = _fold_blocks(columns, rank, order, block_map, dims)
    dense = np.zeros(tuple(shape), values.dtype)
    if any(bool((c < 0).any() or (c >= n).any()) for c, n in zip(coords, shape, strict=True)):
        raise ModelError(f"sparse tensor: an index lies outside the shape {tuple(shape)}")
    dense[tuple(coords)] = values.reshape(-1)
    return dense


def _expand_level(parents: np.ndarray, dim: _DimMeta) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Children of every parent position at one level: (their positions, coordinates, parent rows)."""
    if dim.segments is None or dim.indices is None:
        size = dim.dense_size
        column = np.tile(np.arange(size, dtype=np.int64), len(parents))
        owner = np.repeat(np.arange(len(parents)), size)
        return parents[owner] * size + column, column, owner
    segments, indices = dim.segments, dim.indices
    if parents.size and (parents.max() + 1 >= len(segments) or segments[-1] > len(indices) or segments[0] < 0):
        raise ModelError("sparse tensor: array_segments do not match array_indices")
    starts, counts = segments[parents], segments[parents + 1] - segments[parents]
    if (counts < 0).any():
        raise ModelError("sparse tensor: array_segments decrease")
    offsets = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    positions = np.repeat(starts, counts) + offsets
    return positions, indices[positions], np.repeat(np.arange(len(parents)), counts)


def _fold_blocks(
    columns: list[np.ndarray],
    rank: int,
    traversal_order: Sequence[int],
    block_map: Sequence[int],
    dims: Sequence[_DimMeta],
) -> list[np.ndarray]:
    """Coordinates per tensor dimension from per-level coordinates (block levels folded in)."""
    coords: list[np.ndarray] = [np.zeros(0, np.int64)] * rank
    for level in range(rank):
        coords[traversal_order[level]] = columns[level]
    for level in range(rank, len(dims)):
        block = traversal_order[level] - rank
        size_level = list(traversal_order).index(rank + block)
        axis = block_map[block]
        coords[axis] = coords[axis] * dims[size_level].dense_size + columns[level]
    return coords


def _index_vector(table: Any, kind: int) -> npt.NDArray[np.int64]:
    """The values of a tflite ``SparseIndexVector`` union (Int32/Uint16/Uint8Vector)."""
    import tflite

    classes = {1: tflite.Int32Vector, 2: tflite.Uint16Vector, 3: tflite.Uint8Vector}
    if kind not in classes or table is None:
        raise ModelError(f"sparse tensor: unsupported index vector type {kind}")
    vector = classes[kind]()
    vector.Init(table.Bytes, table.Pos)
    return np.asarray(vector.ValuesAsNumpy(), np.int64).reshape(-1)


def _read_sparse(values: np.ndarray, shape: Sequence[int], sparsity: Any) -> np.ndarray:
    """Densify a constant stored with flatbuffer ``SparsityParameters``."""
    dims = []
    for level in range(sparsity.DimMetadataLength()):
        meta = sparsity.DimMetadata(level)
        if meta.Format() == 0:
            dims.append(_DimMeta(int(meta.DenseSize())))
        else:
            segments = _index_vector(meta.ArraySegments(), meta.ArraySegmentsType())
            indices = _index_vector(meta.ArrayIndices(), meta.ArrayIndicesType())
            dims.append(_DimMeta(0, segments, indices))
    blocks = [int(v) for v in (sparsity.BlockMapAsNumpy() if sparsity.BlockMapLength() else [])]
    order = [int(v) for v in sparsity.TraversalOrderAsNumpy()] if sparsity.TraversalOrderLength() else []
    order = order or list(range(len(dims)))  # the schema requires it; absent means the natural order
    return _densify(values, shape, order, blocks, dims)
