"""Argument checks and result padding shared by every vector index backend.

The backends (:mod:`~faceplane.gallery.index`'s :class:`~faceplane.gallery.index.ExactIndex`,
:mod:`~faceplane.gallery.faiss_index`, :mod:`~faceplane.gallery.milvus_index`) import these helpers
from here, and the registry in :mod:`~faceplane.gallery.index` imports the optional backends only
inside :func:`~faceplane.gallery.index.make_index`: so no backend imports the registry and the
import graph has no circle.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ..errors import InvalidArgumentError

__all__ = ["check_queries", "check_vectors", "dedupe_last", "empty_hits"]

_F32 = npt.NDArray[np.float32]
_I64 = npt.NDArray[np.int64]


def check_vectors(ids: npt.ArrayLike, vectors: npt.ArrayLike, dim: int) -> tuple[_I64, _F32]:
    """Validate and normalise an ``add`` call's arguments.

    Raises:
        InvalidArgumentError: shapes disagree, wrong dimension, or non-finite values.
    """
    ids_ = np.asarray(ids, dtype=np.int64).reshape(-1)
    vec = np.asarray(vectors, dtype=np.float32)
    if vec.ndim != 2 or vec.shape[1] != dim or len(vec) != len(ids_):
        raise InvalidArgumentError(f"expected {len(ids_)} vectors of dimension {dim}, got shape {vec.shape}")
    if not np.isfinite(vec).all():
        raise InvalidArgumentError("vectors contain NaN or infinite values")
    return ids_, np.ascontiguousarray(vec)


def dedupe_last(ids: _I64, vectors: _F32) -> tuple[_I64, _F32]:
    """Keep the last occurrence of an id repeated inside one ``add`` call (as sequential adds would)."""
    if len(ids) < 2:
        return ids, vectors
    _, first_in_reversed = np.unique(ids[::-1], return_index=True)
    if len(first_in_reversed) == len(ids):
        return ids, vectors
    keep = np.sort(len(ids) - 1 - first_in_reversed)
    return ids[keep], vectors[keep]


def empty_hits(queries: int, k: int) -> tuple[_F32, npt.NDArray[np.int64]]:
    """(Q, k) distances of ``inf`` and ids of ``-1``: a search result with no hit yet, filled by a backend."""
    return np.full((queries, k), np.inf, np.float32), np.full((queries, k), -1, np.int64)


def check_queries(queries: npt.ArrayLike, k: int, dim: int) -> _F32:
    """(Q, dim) contiguous float32 queries from one query or many.

    Raises:
        InvalidArgumentError: wrong dimension, or ``k`` < 1.
    """
    q = np.atleast_2d(np.asarray(queries, dtype=np.float32))
    if q.ndim != 2 or q.shape[1] != dim:
        raise InvalidArgumentError(f"queries must be (Q, {dim}), got shape {q.shape}")
    if k < 1:
        raise InvalidArgumentError(f"k must be >= 1, got {k}")
    return np.ascontiguousarray(q)
