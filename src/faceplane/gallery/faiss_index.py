"""FAISS vector index: exact flat search for small galleries, IVF for large ones, always removable.

Kinds (``FaissIndex(kind=...)``):

- ``"flat"``: exhaustive L2 search (``IndexIDMap(IndexFlatL2)``); exact.
- ``"ivf"``: IVF-Flat (``IndexIVFFlat``). Vectors are stored raw in their inverted lists, so every
  distance returned is exact; only *which* lists are scanned (``nprobe`` of ``nlist``) is approximate.
  This is the large-gallery default: on the issue's 1M x 128-D figures it reaches recall@1 0.996 at
  2.7 ms, supports ``remove_ids`` natively, and costs no memory beyond the vectors themselves.
- ``"ivf_sq8"``: IVF with 8-bit scalar-quantised codes (4x smaller than float32); the top
  ``k * rerank`` candidates are re-ranked exactly against float32 vectors kept in a row store, in RAM
  or, with ``vectors_path``, in a file-backed memmap (then the resident set is ~1/4 of IVF-Flat's).
- ``"auto"`` (default): ``"flat"`` until the index holds more than ``auto_flat_max`` (50k) vectors,
  then IVF-Flat trained on everything held at that moment.

HNSW is deliberately not offered: FAISS's HNSW cannot remove vectors (deletions would need tombstones
and periodic rebuilds), costs ~1.5x the memory of IVF-Flat for its graph, builds slowly on two cores,
and on the issue's measurement reached recall@1 0.92 at ef=256, short of the 0.995 target that IVF-Flat
meets. For ``nlist >= 8192`` the IVF *coarse quantiser* is an HNSW graph over the centroids, which makes
training and adding 10M vectors minutes instead of tens of minutes, at no measurable recall cost.

FAISS labels are row numbers into our own ``ids`` array (and the re-rank row store); removal deletes
the rows from the FAISS index at once and leaves a hole in the row arrays until :meth:`rebuild`.
IVF centroids are trained on the data present when the index is built; once it has grown
``4x`` past that (``needs_rebuild``), call :meth:`rebuild` at a quiet time: it retrains in the
background of searches and replays mutations made meanwhile. Note that rebuilding exports every
vector, so an IVF-Flat rebuild briefly needs twice the index's memory.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from ..errors import InvalidArgumentError, ModelError
from .index import check_queries, check_vectors

__all__ = ["FaissIndex"]

logger = logging.getLogger(__name__)

_F32 = npt.NDArray[np.float32]
_I64 = npt.NDArray[np.int64]
Kind = Literal["auto", "flat", "ivf", "ivf_sq8"]
_KINDS = ("auto", "flat", "ivf", "ivf_sq8")
_TRAIN_PER_LIST = 40  # k-means sample size per list; FAISS warns below 39
_HNSW_QUANTIZER_NLIST = 8192  # from here on, assign to lists through an HNSW graph over the centroids
_GROWTH_REBUILD = 4.0  # retrain once the index holds this many times the vectors it was trained on
_ADD_CHUNK = 1 << 18  # rows per FAISS add call: bounds temporaries (codes, assignments)
_FORMAT = 1


def _import_faiss() -> Any:
    try:
        import faiss
    except ImportError as exc:
        raise ModelError("the FAISS index needs faiss-cpu: pip install 'faceplane[faiss]'") from exc
    return faiss


def _auto_nlist(n: int) -> int:
    """~4*sqrt(N) lists, but never fewer than 39 training points per list."""
    return max(1, min(int(4 * math.sqrt(n)), n // 39))


class _RWLock:
    """Many concurrent searches or one mutation: FAISS CPU indexes allow concurrent const searches only."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False
        self._waiting = 0

    @contextlib.contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            while self._writer or self._waiting:  # writers first, or a busy server starves them
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextlib.contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            self._waiting += 1
            while self._writer or self._readers:
                self._cond.wait()
            self._waiting -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


class _RawStore:
    """Append-only float32 rows for exact re-ranking: a numpy array, or a file-backed memmap."""

    def __init__(self, dim: int, path: Path | None, capacity: int = 1024) -> None:
        self.dim, self.path, self.n = dim, path, 0
        self._data: Any = self._allocate(max(capacity, 1), truncate=True)

    def _allocate(self, rows: int, *, truncate: bool = False) -> np.ndarray:
        if self.path is None:
            return np.zeros((rows, self.dim), np.float32)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "wb" if truncate else "r+b") as fh:
            fh.truncate(rows * self.dim * 4)
        return np.memmap(self.path, np.float32, "r+", shape=(rows, self.dim))

    def append(self, vectors: _F32) -> None:
        need = self.n + len(vectors)
        if need > len(self._data):
            old = self._data
            if self.path is None:
                self._data = self._allocate(max(need, 2 * len(old)))
                self._data[: self.n] = old[: self.n]
            else:  # the file grows in place; old views stay valid because nothing is truncated
                self._data.flush()
                self._data = self._allocate(max(need, 2 * len(old)))
        self._data[self.n : need] = vectors
        self.n = need

    def take(self, rows: _I64) -> _F32:
        return np.asarray(self._data[rows], dtype=np.float32)

    def view(self) -> _F32:
        return self._data[: self.n]

    def flush(self) -> None:
        if isinstance(self._data, np.memmap):
            self._data.flush()


class _Shard:
    """One built FAISS index. Its labels are row numbers into ``ids`` (-1 marks a removed row)."""

    def __init__(self, faiss: Any, kind: str, dim: int, index: Any, raw: _RawStore | None, trained_n: int) -> None:
        self.faiss, self.kind, self.dim, self.index, self.raw, self.trained_n = faiss, kind, dim, index, raw, trained_n
        self.ids = np.full((1024,), -1, np.int64)
        self.n_rows = 0  # rows ever appended (holes included)
        self.alive = 0
        self.max_id = -1  # largest id ever added: a fast path that skips the replace check on fresh ids

    @property
    def hnsw_quantizer(self) -> bool:
        return self.index is not None and self.kind != "flat" and self.index.nlist >= _HNSW_QUANTIZER_NLIST

    def add(self, ids: _I64, vectors: _F32) -> None:
        start, end = self.n_rows, self.n_rows + len(ids)
        if end > len(self.ids):
            grown = np.full((max(end, 2 * len(self.ids)),), -1, np.int64)
            grown[:start] = self.ids[:start]
            self.ids = grown
        for lo in range(0, len(ids), _ADD_CHUNK):
            hi = min(lo + _ADD_CHUNK, len(ids))
            chunk = np.ascontiguousarray(vectors[lo:hi], dtype=np.float32)
            self.index.add_with_ids(chunk, np.arange(start + lo, start + hi, dtype=np.int64))
            if self.raw is not None:
                self.raw.append(chunk)
        self.ids[start:end] = ids
        self.n_rows, self.alive = end, self.alive + len(ids)
        self.max_id = max(self.max_id, int(ids.max()))

    def remove(self, ids: _I64) -> int:
        if not len(ids) or self.alive == 0 or int(ids.min()) > self.max_id:
            return 0
        rows = np.flatnonzero(np.isin(self.ids[: self.n_rows], ids))
        if len(rows):
            self.index.remove_ids(rows.astype(np.int64))
            self.ids[rows] = -1
            self.alive -= len(rows)
        return len(rows)

    def search(self, queries: _F32, k: int, nprobe: int) -> tuple[_F32, _I64]:
        """Raw FAISS search: squared L2 distances and row labels (-1 padded)."""
        if self.kind == "flat":
            return self.index.search(queries, k)
        params = self.faiss.SearchParametersIVF(nprobe=min(nprobe, self.index.nlist))
        if self.hnsw_quantizer:  # the graph must return at least nprobe centroids
            quantizer_params = self.faiss.SearchParametersHNSW(efSearch=max(2 * nprobe, 64))
            params.quantizer_params = quantizer_params
        return self.index.search(queries, k, params=params)

    def export(self) -> tuple[_I64, _F32]:
        """Every live (id, vector), for rebuilding. IVF-Flat and flat copy out of FAISS."""
        if self.alive == 0:
            return np.zeros((0,), np.int64), np.zeros((0, self.dim), np.float32)
        if self.raw is not None:
            rows = np.flatnonzero(self.ids[: self.n_rows] >= 0)
            return self.ids[rows], self.raw.view()[rows]
        if self.kind == "flat":
            rows = self.faiss.vector_to_array(self.index.id_map).astype(np.int64)
            vectors = self.faiss.downcast_index(self.index.index).reconstruct_n(0, self.index.ntotal)
            return self.ids[rows], vectors
        return self._export_ivf_flat()

    def _export_ivf_flat(self) -> tuple[_I64, _F32]:
        lists, rows_out, vec_out = self.index.invlists, [], []
        for lst in range(self.index.nlist):
            size = lists.list_size(lst)
            if not size:
                continue
            ids_ptr, codes_ptr = lists.get_ids(lst), lists.get_codes(lst)
            rows_out.append(self.faiss.rev_swig_ptr(ids_ptr, size).copy())
            codes = self.faiss.rev_swig_ptr(codes_ptr, size * lists.code_size).copy()
            vec_out.append(codes.view(np.float32).reshape(size, self.dim))
            lists.release_ids(lst, ids_ptr)
            lists.release_codes(lst, codes_ptr)
        rows = np.concatenate(rows_out).astype(np.int64)
        return self.ids[rows], np.concatenate(vec_out)


def _dedupe_last(ids: _I64, vectors: _F32) -> tuple[_I64, _F32]:
    """Keep the last occurrence of an id repeated inside one ``add`` call (as sequential adds would)."""
    if len(ids) < 2:
        return ids, vectors
    _, first_in_reversed = np.unique(ids[::-1], return_index=True)
    if len(first_in_reversed) == len(ids):
        return ids, vectors
    keep = np.sort(len(ids) - 1 - first_in_reversed)
    return ids[keep], vectors[keep]


def _rerank(queries: _F32, rows: _I64, raw: _RawStore, k: int) -> tuple[_F32, _I64]:
    """Exact squared distances to the candidate rows, best k first."""
    safe = np.where(rows >= 0, rows, 0)
    vectors = raw.take(safe.reshape(-1)).reshape(*rows.shape, raw.dim)
    d2 = ((vectors - queries[:, None, :]) ** 2).sum(-1, dtype=np.float32)
    d2[rows < 0] = np.inf
    order = np.argsort(d2, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(d2, order, axis=1), np.take_along_axis(rows, order, axis=1)


class FaissIndex:
    """Euclidean k-NN over int64 template ids with FAISS; see the module docstring for the kinds.

    Args:
        dim: vector dimension (128 for the dlib descriptor).
        kind: ``"auto"``, ``"flat"``, ``"ivf"`` or ``"ivf_sq8"``.
        nlist: IVF lists; ``None`` picks ~4*sqrt(N) at each (re)build.
        nprobe: IVF lists scanned per query (recall/latency trade-off; 256 of 4096 at 1M).
        rerank: ``"ivf_sq8"`` fetches ``k * rerank`` candidates and re-ranks them exactly.
        threads: FAISS OpenMP threads, process-wide; 0 keeps FAISS's default (all cores).
        auto_flat_max: ``"auto"`` switches from flat to IVF above this many vectors.
        vectors_path: ``"ivf_sq8"`` keeps its float32 re-rank rows in this memmapped file, not in RAM.

    Thread-safe: searches run concurrently, mutations exclusively.

    Raises:
        ModelError: faiss-cpu is not installed.
        InvalidArgumentError: a parameter is out of range.

    Example:
        >>> index = FaissIndex(dim=2, kind="flat")
        >>> index.add(np.array([7, 8]), np.array([[0.0, 1.0], [5.0, 5.0]], np.float32))
        >>> index.search(np.array([[0.0, 0.0]], np.float32), k=1)[1].tolist()
        [[7]]
    """

    def __init__(
        self,
        *,
        dim: int = 128,
        kind: Kind = "auto",
        nlist: int | None = None,
        nprobe: int = 64,
        rerank: int = 4,
        threads: int = 0,
        auto_flat_max: int = 50_000,
        vectors_path: str | os.PathLike[str] | None = None,
    ) -> None:
        if kind not in _KINDS:
            raise InvalidArgumentError(f"kind must be one of {', '.join(_KINDS)}; got {kind!r}")
        for name, value in (("dim", dim), ("nprobe", nprobe), ("rerank", rerank), ("nlist", nlist or 1)):
            if value < 1:
                raise InvalidArgumentError(f"{name} must be >= 1, got {value}")
        self._faiss = _import_faiss()
        if threads > 0:
            self._faiss.omp_set_num_threads(threads)
        self.dim, self.kind, self.nlist, self.nprobe, self.rerank = dim, kind, nlist, nprobe, rerank
        self.auto_flat_max = auto_flat_max
        self._vectors_path = Path(vectors_path) if vectors_path is not None else None
        self._lock = _RWLock()
        self._rebuild_mutex = threading.Lock()
        self._journal: list[tuple[str, _I64, _F32]] | None = None
        self._shard = self._empty_shard()

    def __len__(self) -> int:
        return self._shard.alive

    @property
    def index_kind(self) -> str:
        """What the index is now: ``"flat"``, ``"ivf"`` or ``"ivf_sq8"`` (``"auto"`` resolves to one)."""
        return self._shard.kind

    @property
    def needs_rebuild(self) -> bool:
        """True once IVF holds 4x its training size, or half its rows are holes left by removals."""
        shard = self._shard
        grown = shard.trained_n > 0 and shard.alive > _GROWTH_REBUILD * shard.trained_n
        return grown or shard.n_rows > 2 * max(shard.alive, 1024)

    def add(self, ids: _I64, vectors: _F32) -> None:
        """Add vectors under template ids; an id already present is replaced.

        Args:
            ids: (N,) int64 template ids, >= 0.
            vectors: (N, dim) float32 embeddings.

        Raises:
            InvalidArgumentError: bad shapes, non-finite values or negative ids.
        """
        ids_, vec = check_vectors(ids, vectors, self.dim)
        if len(ids_) and int(ids_.min()) < 0:
            raise InvalidArgumentError("template ids must be >= 0 (-1 pads search results)")
        ids_, vec = _dedupe_last(ids_, vec)
        if not len(ids_):
            return
        with self._lock.write():
            self._shard = self._apply(self._shard, ("add", ids_, vec))
            if self._journal is not None:
                self._journal.append(("add", ids_, vec))

    def remove(self, ids: _I64) -> None:
        """Remove template ids; unknown ids are ignored."""
        ids_ = np.asarray(ids, dtype=np.int64).reshape(-1)
        with self._lock.write():
            self._shard = self._apply(self._shard, ("remove", ids_, np.zeros((0, self.dim), np.float32)))
            if self._journal is not None:
                self._journal.append(("remove", ids_, np.zeros((0, self.dim), np.float32)))

    def reset(self) -> None:
        """Forget every vector (IVF kinds retrain on the next add)."""
        empty = np.zeros((0,), np.int64), np.zeros((0, self.dim), np.float32)
        with self._lock.write():
            self._shard = self._empty_shard()
            if self._journal is not None:
                self._journal.append(("reset", *empty))

    def search(self, queries: _F32, k: int) -> tuple[_F32, _I64]:
        """The k nearest templates of each query.

        Args:
            queries: (Q, dim) float32 (or (dim,) for one query).
            k: neighbours per query.

        Returns:
            (Q, k) float32 Euclidean distances ascending and (Q, k) int64 ids, padded ``inf`` / ``-1``.

        Raises:
            InvalidArgumentError: bad query shape or k < 1.
        """
        q = check_queries(queries, k, self.dim)
        dist = np.full((len(q), k), np.inf, np.float32)
        out = np.full((len(q), k), -1, np.int64)
        with self._lock.read():
            shard = self._shard
            if shard.alive == 0:
                return dist, out
            fetch = k * self.rerank if shard.raw is not None else k
            d2, rows = shard.search(q, fetch, self.nprobe)
            if shard.raw is not None:
                d2, rows = _rerank(q, rows, shard.raw, k)
            found = rows[:, :k] >= 0
            out[found] = shard.ids[rows[:, :k][found]]
        dist[found] = np.sqrt(np.maximum(d2[:, :k][found], 0.0))
        return dist, out

    def rebuild(self, *, nlist: int | None = None) -> None:
        """Retrain and re-add everything (and drop holes); searches and mutations go on meanwhile.

        Mutations made during the rebuild go to the old index and are replayed on the new one before
        the swap. ``"auto"`` picks flat or IVF by the current size.

        Args:
            nlist: lists for the new IVF; default: the constructor's, else ~4*sqrt(N).
        """
        with self._rebuild_mutex:
            with self._lock.read():  # no mutation can slip between the snapshot and the journal
                ids, vectors = self._shard.export()
                self._journal = []
            try:
                kind = self._resolve_kind(len(ids))
                tmp = self._vectors_path.with_name(self._vectors_path.name + ".rebuild") if self._vectors_path else None
                new = self._build(kind, ids, vectors, nlist=nlist, raw_path=tmp)
            except BaseException:
                with self._lock.write():
                    self._journal = None
                raise
            with self._lock.write():
                for op in self._journal:
                    new = self._apply(new, op)
                self._journal = None
                if new.raw is not None and tmp is not None and new.raw.path == tmp and self._vectors_path:
                    new.raw.flush()
                    os.replace(tmp, self._vectors_path)  # the open memmap follows the inode
                    new.raw.path = self._vectors_path
                self._shard = new
        logger.info("rebuilt %s index: %d vectors", new.kind, new.alive)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the index into directory ``path`` so a large gallery need not be rebuilt at start-up.

        Files: ``index.faiss`` (faiss.write_index), ``ids.npy`` (row -> template id), ``vectors.npy``
        (``"ivf_sq8"`` re-rank rows) and ``meta.json``, each written to a temporary name first. The
        store stays the source of truth: check ``len(index)`` against it after :meth:`load`.
        """
        directory = Path(path)
        directory.mkdir(parents=True, exist_ok=True)
        written: list[str] = []
        with self._lock.read():
            shard = self._shard
            if shard.index is not None:
                self._faiss.write_index(shard.index, str(directory / "index.faiss.tmp"))
                written.append("index.faiss")
            arrays: dict[str, np.ndarray] = {"ids.npy": shard.ids[: shard.n_rows]}
            if shard.raw is not None:
                shard.raw.flush()
                arrays["vectors.npy"] = shard.raw.view()
            for name, array in arrays.items():
                with open(directory / f"{name}.tmp", "wb") as fh:
                    np.save(fh, array)
                written.append(name)
            meta = {"format": _FORMAT, "dim": self.dim, "kind": shard.kind, "trained_n": shard.trained_n,
                    "max_id": shard.max_id}
        for name in written:
            os.replace(directory / f"{name}.tmp", directory / name)
        for stale in {"index.faiss", "vectors.npy"} - set(written):
            (directory / stale).unlink(missing_ok=True)
        (directory / "meta.json").write_text(json.dumps(meta))
        logger.info("saved %s index (%d vectors) to %s", shard.kind, shard.alive, directory)

    def load(self, path: str | os.PathLike[str]) -> None:
        """Replace this index's contents with one written by :meth:`save` (its kind wins over ours).

        Raises:
            InvalidArgumentError: nothing saved there, another dimension, or unreadable files.
        """
        directory = Path(path)
        try:
            meta = json.loads((directory / "meta.json").read_text())
            index_file = directory / "index.faiss"
            index = self._faiss.read_index(str(index_file)) if index_file.exists() else None
            ids = np.load(directory / "ids.npy")
            vectors_file = directory / "vectors.npy"
            vectors = np.load(vectors_file, mmap_mode="r") if vectors_file.exists() else None
        except (OSError, ValueError, RuntimeError) as exc:
            raise InvalidArgumentError(f"cannot read a saved FAISS index in {directory}: {exc}") from exc
        if meta.get("format") != _FORMAT or meta.get("dim") != self.dim or meta.get("kind") not in _KINDS:
            raise InvalidArgumentError(f"saved index in {directory} is not a dim-{self.dim} faceplane index")
        with self._rebuild_mutex, self._lock.write():  # the memmap file may be ours: nobody may read it now
            shard = _Shard(self._faiss, meta["kind"], self.dim, index, None, int(meta["trained_n"]))
            if vectors is not None:
                shard.raw = _RawStore(self.dim, self._vectors_path, len(vectors))
                for lo in range(0, len(vectors), _ADD_CHUNK):
                    shard.raw.append(np.asarray(vectors[lo : lo + _ADD_CHUNK]))
            shard.ids = np.array(ids, dtype=np.int64) if len(ids) else shard.ids
            shard.n_rows, shard.alive, shard.max_id = len(ids), int((ids >= 0).sum()), int(meta["max_id"])
            if index is not None and index.ntotal != shard.alive:
                raise InvalidArgumentError(f"saved index in {directory} has {index.ntotal} vectors, not {shard.alive}")
            self._shard = shard
        logger.info("loaded %s index (%d vectors) from %s", shard.kind, shard.alive, directory)

    # -- internals: every method below runs under the write lock or on a shard nobody else sees --

    def _resolve_kind(self, n: int) -> str:
        if self.kind == "auto":
            return "flat" if n <= self.auto_flat_max else "ivf"
        return self.kind

    def _empty_shard(self) -> _Shard:
        empty = np.zeros((0,), np.int64), np.zeros((0, self.dim), np.float32)
        return self._build(self._resolve_kind(0), *empty, nlist=None, raw_path=None)

    def _apply(self, shard: _Shard, op: tuple[str, _I64, _F32]) -> _Shard:
        """One mutation; returns the shard to use from now on (a first add or a switch builds a new one)."""
        name, ids, vectors = op
        if name == "reset":
            return self._empty_shard()
        shard.remove(ids)
        if name == "remove":
            return shard
        if shard.index is None:  # an IVF kind trains on its first batch
            return self._build(shard.kind, ids, vectors, nlist=None, raw_path=self._vectors_path)
        if self.kind == "auto" and shard.kind == "flat" and shard.alive + len(ids) > self.auto_flat_max:
            old_ids, old_vectors = shard.export()
            logger.info("auto index: %d vectors, switching from flat to IVF", shard.alive + len(ids))
            all_ids, all_vectors = np.concatenate([old_ids, ids]), np.concatenate([old_vectors, vectors])
            return self._build("ivf", all_ids, all_vectors, nlist=None, raw_path=None)
        shard.add(ids, vectors)
        if shard.trained_n and shard.alive > _GROWTH_REBUILD * shard.trained_n >= shard.alive - len(ids):
            logger.warning("IVF index grew to %d vectors, trained on %d: call rebuild()", shard.alive, shard.trained_n)
        return shard

    def _build(self, kind: str, ids: _I64, vectors: _F32, *, nlist: int | None, raw_path: Path | None) -> _Shard:
        faiss = self._faiss
        if kind == "flat":
            shard = _Shard(faiss, kind, self.dim, faiss.IndexIDMap(faiss.IndexFlatL2(self.dim)), None, 0)
        elif not len(ids):
            return _Shard(faiss, kind, self.dim, None, None, 0)
        else:
            index = self._train_ivf(kind, vectors, nlist or self.nlist)
            raw = _RawStore(self.dim, raw_path, len(ids)) if kind == "ivf_sq8" else None
            shard = _Shard(faiss, kind, self.dim, index, raw, len(ids))
        if len(ids):
            start = time.perf_counter()
            shard.add(ids, vectors)
            logger.info("added %d vectors to %s in %.1f s", len(ids), kind, time.perf_counter() - start)
        return shard

    def _train_ivf(self, kind: str, vectors: _F32, nlist: int | None) -> Any:
        faiss, n = self._faiss, len(vectors)
        nlist = min(nlist or _auto_nlist(n), n)
        # an HNSW graph over many centroids assigns vectors to lists (k-means, add, search) far faster
        quantizer = faiss.IndexHNSWFlat(self.dim, 32) if nlist >= _HNSW_QUANTIZER_NLIST else faiss.IndexFlatL2(self.dim)
        if kind == "ivf":
            index = faiss.IndexIVFFlat(quantizer, self.dim, nlist, faiss.METRIC_L2)
        else:
            qtype = faiss.ScalarQuantizer.QT_8bit
            index = faiss.IndexIVFScalarQuantizer(quantizer, self.dim, nlist, qtype, faiss.METRIC_L2)
        sample_n = min(n, _TRAIN_PER_LIST * nlist)
        rows = np.sort(np.random.default_rng(0).choice(n, sample_n, replace=False)) if sample_n < n else np.arange(n)
        start = time.perf_counter()
        index.train(np.ascontiguousarray(vectors[rows], dtype=np.float32))
        logger.info("trained %s nlist=%d on %d vectors in %.1f s", kind, nlist, sample_n, time.perf_counter() - start)
        return index
