"""Milvus vector index: a Milvus server or cluster over ``http(s)://``, or Milvus Lite in a local ``.db`` file.

The same :class:`pymilvus.MilvusClient` code serves both: a ``uri`` ending in ``.db`` starts Milvus Lite
inside this process (pymilvus does that); anything else is a server address. One collection holds
``id`` (INT64 primary key = our template id) and ``vector`` (FLOAT_VECTOR, ``dim``), indexed for the
L2 metric. Milvus reports *squared* L2 for ``"L2"``; :meth:`MilvusIndex.search` returns Euclidean
distances like every other index.

Milvus Lite (milvus-lite 3.x is a pure-Python engine over FAISS) is for development and tests: on this
machine it answers one query in ~0.1-0.2 s at 100k vectors; production galleries belong on a Milvus
server (see docs/capacity-plan.md). ``pip install 'faceplane[milvus]'`` installs pymilvus and
milvus-lite.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import FaceplaneError, InvalidArgumentError, ModelError
from ._index_common import check_queries, check_vectors, dedupe_last, empty_hits

__all__ = ["MilvusIndex"]

logger = logging.getLogger(__name__)

_F32 = npt.NDArray[np.float32]
_I64 = npt.NDArray[np.int64]
_BATCH_ROWS = 5_000  # rows per upsert/delete request: ~2.6 MB, far below gRPC's 64 MB message limit
_FLUSH_ROWS = 10_000  # after an add this large, seal segments so they are indexed (Lite searches them fast)
_MAX_TOPK = 16_384  # Milvus's limit on k


def _import_pymilvus(lite: bool) -> Any:
    hint = "pip install 'faceplane[milvus]'"
    try:
        import pymilvus
    except ImportError as exc:
        raise ModelError(f"the Milvus index needs pymilvus: {hint}") from exc
    if lite:
        try:
            import milvus_lite  # noqa: F401
        except ImportError as exc:
            raise ModelError(f"a local .db uri needs Milvus Lite (milvus-lite): {hint}") from exc
    return pymilvus


class MilvusIndex:
    """Euclidean k-NN over int64 template ids in a Milvus collection.

    Args:
        dim: vector dimension (128 for the dlib descriptor).
        uri: ``"./milvus.db"`` (Milvus Lite, a local file) or ``"http://host:19530"`` (a server).
        collection: collection name; created on first use, reused (dimension checked) afterwards.
        index_type: Milvus index type; ``None`` means ``"FLAT"`` on Lite, ``"AUTOINDEX"`` on a server.
        token: ``"user:password"`` or an API key for a server with authentication.
        index_params: build parameters, e.g. ``{"nlist": 4096}`` for IVF_FLAT.
        search_params: search parameters, e.g. ``{"nprobe": 64}`` for IVF types or ``{"ef": 128}`` for HNSW.

    Raises:
        ModelError: pymilvus (or milvus-lite for a ``.db`` uri) is not installed.
        FaceplaneError: the server cannot be reached or rejects a request.
        InvalidArgumentError: the collection exists with another dimension.

    Example:
        >>> index = MilvusIndex(uri=str(tmp_path / "gallery.db"))  # doctest: +SKIP
        >>> index.add(np.array([7]), embedding[None])  # doctest: +SKIP
        >>> index.search(embedding[None], k=1)[1].tolist()  # doctest: +SKIP
        [[7]]
    """

    def __init__(
        self,
        *,
        dim: int = 128,
        uri: str = "./milvus.db",
        collection: str = "faceplane_templates",
        index_type: str | None = None,
        token: str | None = None,
        index_params: Mapping[str, int | float | str] | None = None,
        search_params: Mapping[str, int | float | str] | None = None,
    ) -> None:
        self._lite = uri.endswith(".db")
        self._pymilvus = _import_pymilvus(self._lite)
        self.dim, self.uri, self.collection = dim, uri, collection
        self.index_type = index_type or ("FLAT" if self._lite else "AUTOINDEX")
        self._index_params = dict(index_params or {})
        self._search_params = dict(search_params or {})
        self._lock = threading.Lock()
        if self._lite:
            Path(uri).parent.mkdir(parents=True, exist_ok=True)
        with self._errors("connect"):
            self._client = self._pymilvus.MilvusClient(uri=uri, token=token or "")
            self._ensure_collection()

    def __enter__(self) -> MilvusIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __len__(self) -> int:
        with self._errors("count"):
            rows = self._client.query(self.collection, filter="", output_fields=["count(*)"])
        return int(rows[0]["count(*)"]) if rows else 0

    def add(self, ids: _I64, vectors: _F32) -> None:
        """Upsert vectors under template ids (an id already present is replaced), in batches.

        Args:
            ids: (N,) int64 template ids.
            vectors: (N, dim) float32 embeddings.

        Raises:
            InvalidArgumentError: bad shapes or non-finite values.
        """
        ids_, vec = check_vectors(ids, vectors, self.dim)
        ids_, vec = dedupe_last(ids_, vec)  # Milvus rejects duplicate keys in one batch
        with self._lock, self._errors("upsert"):
            for lo in range(0, len(ids_), _BATCH_ROWS):
                batch = zip(ids_[lo : lo + _BATCH_ROWS].tolist(), vec[lo : lo + _BATCH_ROWS], strict=True)
                self._client.upsert(self.collection, [{"id": i, "vector": v} for i, v in batch])
            if len(ids_) >= _FLUSH_ROWS:
                self._client.flush(self.collection)
        logger.debug("upserted %d vectors into %s", len(ids_), self.collection)

    def remove(self, ids: _I64) -> None:
        """Delete template ids; unknown ids are ignored."""
        ids_ = np.asarray(ids, dtype=np.int64).reshape(-1)
        with self._lock, self._errors("delete"):
            for lo in range(0, len(ids_), _BATCH_ROWS):
                self._client.delete(self.collection, ids=[int(i) for i in ids_[lo : lo + _BATCH_ROWS]])

    def reset(self) -> None:
        """Drop the collection and create it again, empty."""
        with self._lock, self._errors("reset"):
            self._client.drop_collection(self.collection)
            self._ensure_collection()

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
        dist, out = empty_hits(len(q), k)
        params = {"metric_type": "L2", "params": self._search_params}
        with self._errors("search"):
            results = self._client.search(
                self.collection, data=q.tolist(), limit=min(k, _MAX_TOPK), search_params=params, output_fields=["id"]
            )
        for row, hits in enumerate(results):
            for col, hit in enumerate(hits):
                out[row, col] = hit["id"]
                dist[row, col] = np.sqrt(max(float(hit["distance"]), 0.0))  # Milvus "L2" is squared
        return dist, out

    def close(self) -> None:
        """Close the connection (and stop this process's Milvus Lite server for the file)."""
        with contextlib.suppress(Exception):
            self._client.close()
        if self._lite:
            with contextlib.suppress(ImportError):
                from milvus_lite.server_manager import server_manager_instance

                server_manager_instance.release_server(self.uri)

    def _ensure_collection(self) -> None:
        client, DataType = self._client, self._pymilvus.DataType
        if client.has_collection(self.collection):
            fields = client.describe_collection(self.collection)["fields"]
            dims = [int(f["params"]["dim"]) for f in fields if f["name"] == "vector"]
            if dims != [self.dim]:
                raise InvalidArgumentError(f"Milvus collection {self.collection!r} holds dim {dims}, not {self.dim}")
        else:
            schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
            schema.add_field("id", DataType.INT64, is_primary=True)
            schema.add_field("vector", DataType.FLOAT_VECTOR, dim=self.dim)
            index = client.prepare_index_params()
            index.add_index(
                field_name="vector", index_type=self.index_type, metric_type="L2", params=self._index_params
            )
            client.create_collection(self.collection, schema=schema, index_params=index, consistency_level="Strong")
            logger.info("created Milvus collection %s (%s, dim %d)", self.collection, self.index_type, self.dim)
        client.load_collection(self.collection)

    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Turn pymilvus's exceptions into faceplane's (one root for callers to catch)."""
        try:
            yield
        except self._pymilvus.MilvusException as exc:
            raise FaceplaneError(f"Milvus {action} failed at {self.uri}: {exc}") from exc
