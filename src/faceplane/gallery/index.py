"""Vector indexes behind one protocol: exact numpy search, FAISS, Milvus.

An index maps integer template ids to embeddings and answers k-nearest-neighbour queries by
Euclidean distance. It is never the source of truth: the :class:`~faceplane.gallery.store.SqliteStore`
is, and every index can be rebuilt from it (``reset`` then ``add``). Results are re-checked
against the store by the gallery, so an index that lags behind a deletion never returns a
deleted person.

Backends (a literal registry in :func:`make_index`; the optional ones import on first use, inside it):

- ``"exact"``: :class:`ExactIndex`, numpy brute force; exact, fine up to ~10^5 templates.
- ``"faiss"``: :class:`~faceplane.gallery.faiss_index.FaissIndex`, IVF/HNSW with exact re-ranking.
- ``"milvus"``: :class:`~faceplane.gallery.milvus_index.MilvusIndex`, a Milvus server or Milvus Lite.

The argument checks every backend shares live in :mod:`faceplane.gallery._index_common`, which the
backends import: they never import this module, so the registry and its backends form no circle.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from ..errors import InvalidArgumentError
from ._index_common import check_queries, check_vectors, empty_hits

__all__ = ["ExactIndex", "VectorIndex", "check_vectors", "make_index"]

_F32 = npt.NDArray[np.float32]
_I64 = npt.NDArray[np.int64]


@runtime_checkable
class VectorIndex(Protocol):
    """What the gallery needs of a vector index.

    ``search`` returns (Q, k) float32 Euclidean distances ascending and (Q, k) int64 ids, padded
    with ``inf`` / ``-1`` when the index holds fewer than k vectors.
    """

    dim: int

    def add(self, ids: _I64, vectors: _F32) -> None: ...

    def remove(self, ids: _I64) -> None: ...

    def search(self, queries: _F32, k: int) -> tuple[_F32, _I64]: ...

    def reset(self) -> None: ...

    def __len__(self) -> int: ...


class ExactIndex:
    """Brute-force Euclidean search in numpy: exact, no training, O(N) per query.

    Example:
        >>> index = ExactIndex(dim=2)
        >>> index.add(np.array([7]), np.array([[0.0, 1.0]]))
        >>> index.search(np.array([[0.0, 0.0]]), k=1)[1].tolist()
        [[7]]
    """

    def __init__(self, *, dim: int = 128) -> None:
        self.dim = dim
        self._ids = np.zeros((0,), np.int64)
        self._vectors = np.zeros((0, dim), np.float32)
        self._sq = np.zeros((0,), np.float32)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, ids: _I64, vectors: _F32) -> None:
        ids_, vec = check_vectors(ids, vectors, self.dim)
        with self._lock:
            # re-adding an id replaces its vector (idempotent rebuilds and retries)
            keep = ~np.isin(self._ids, ids_)
            self._ids = np.concatenate([self._ids[keep], ids_])
            self._vectors = np.concatenate([self._vectors[keep], vec])
            self._sq = (self._vectors.astype(np.float64) ** 2).sum(1).astype(np.float32)

    def remove(self, ids: _I64) -> None:
        with self._lock:
            keep = ~np.isin(self._ids, np.asarray(ids, np.int64).reshape(-1))
            self._ids, self._vectors, self._sq = self._ids[keep], self._vectors[keep], self._sq[keep]

    def reset(self) -> None:
        with self._lock:
            self._ids = np.zeros((0,), np.int64)
            self._vectors = np.zeros((0, self.dim), np.float32)
            self._sq = np.zeros((0,), np.float32)

    def search(self, queries: _F32, k: int) -> tuple[_F32, _I64]:
        q = check_queries(queries, k, self.dim)
        with self._lock:
            ids, vec, sq = self._ids, self._vectors, self._sq
        dist, out = empty_hits(len(q), k)
        if len(ids) == 0:
            return dist, out
        d2 = sq[None, :] - 2.0 * (q @ vec.T) + (q * q).sum(1, keepdims=True)
        kk = min(k, len(ids))
        part = (
            np.argpartition(d2, kk - 1, axis=1)[:, :kk] if kk < len(ids) else np.tile(np.arange(len(ids)), (len(q), 1))
        )
        part_d = np.take_along_axis(d2, part, axis=1)
        order = np.argsort(part_d, axis=1, kind="stable")
        top = np.take_along_axis(part, order, axis=1)
        dist[:, :kk] = np.sqrt(np.clip(np.take_along_axis(part_d, order, axis=1), 0.0, None))
        out[:, :kk] = ids[top]
        return dist, out


def _exact(dim: int, **_options: Any) -> VectorIndex:
    return ExactIndex(dim=dim)  # no options: an exact search has nothing to tune


def _faiss(dim: int, **options: Any) -> VectorIndex:
    from .faiss_index import FaissIndex  # lazy: faiss-cpu is an optional extra

    return FaissIndex(dim=dim, **options)


def _milvus(dim: int, **options: Any) -> VectorIndex:
    from .milvus_index import MilvusIndex  # lazy: pymilvus is an optional extra

    return MilvusIndex(dim=dim, **options)


#: Backend name -> factory ``(dim, **options) -> VectorIndex``.
_BACKENDS: dict[str, Callable[..., VectorIndex]] = {"exact": _exact, "faiss": _faiss, "milvus": _milvus}


def make_index(backend: str, *, dim: int = 128, **options: Any) -> VectorIndex:
    """Build an index by backend name: ``"exact"``, ``"faiss"`` or ``"milvus"``.

    Raises:
        InvalidArgumentError: unknown backend.
    """
    factory = _BACKENDS.get(backend)
    if factory is None:
        raise InvalidArgumentError(f"unknown index backend {backend!r}; choose exact, faiss or milvus")
    return factory(dim, **options)
