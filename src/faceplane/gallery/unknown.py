"""Unknown faces for an operator: listings with filters and pages, the best shots of each cluster, and
clustering, all at once (:func:`cluster_all`) or as faces arrive with bounded work.

Cameras keep every face that matched nobody (``unknown_faces`` in the store, until retention deletes it).
:class:`IncrementalClusterer` groups them into recurring strangers without re-clustering everything at every
new face:

- every step, at most ``faces_per_run`` new faces each join the existing cluster they are linked to (a member
  closer than the clustering threshold; with several, the cluster with most such members, then the nearest):
  a stranger seen again shows up in their cluster within a step;
- at most every ``full_every_s``, and only when some new face joined no cluster, all faces (the newest
  ``max_faces``) are clustered again with Chinese whispers (:func:`~.cluster.cluster_embeddings`): that is
  when a new stranger's cluster appears, and when a wrong join is undone.

Cluster ids stay the operator's handle throughout: a join keeps its cluster's id, and a full run keeps an
id only for the same faces (plus new ones), giving fresh ids to splits and merges
(:func:`~.cluster.stable_cluster_ids`), so naming cluster 7 from an older listing never enrolls other faces.

Example:
    >>> clusterer = IncrementalClusterer(gallery.store, threshold=1.0)   # doctest: +SKIP
    >>> clusterer.step()                                                 # doctest: +SKIP
    ClusterStep(new_faces=3, joined=2, full_run=True, clusters=5)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..errors import InvalidArgumentError
from .cluster import cluster_embeddings, stable_cluster_ids
from .records import UnknownCluster, UnknownFace, UnknownFilter
from .store import SqliteStore

__all__ = [
    "ClusterStep",
    "ClusterView",
    "IncrementalClusterer",
    "best_faces",
    "cluster_all",
    "join_clusters",
    "list_clusters",
    "list_faces",
]

_ORDERS = {"size": "COUNT(*) DESC, MAX(seen_at) DESC", "last_seen": "MAX(seen_at) DESC, COUNT(*) DESC"}


@dataclass(frozen=True)
class ClusterView:
    """A cluster as an operator sees it: its faces, cameras and times, and its best shots (quality first)."""

    cluster: UnknownCluster
    best: list[UnknownFace]


@dataclass(frozen=True)
class ClusterStep:
    """What one :meth:`IncrementalClusterer.step` did."""

    new_faces: int  # new faces tried against the clusters
    joined: int  # of which joined one
    full_run: bool  # whether every face was clustered again
    clusters: int | None  # clusters after a full run (None: no full run)


# -- listings (read-only SQL on the store's connection) ------------------------------------------------


def _where(f: UnknownFilter) -> tuple[str, list[object]]:
    clauses, args = ["1"], list[object]()
    for clause, value in (("seen_at >= ?", f.since_s), ("seen_at < ?", f.until_s), ("cluster_id = ?", f.cluster_id)):
        if value is not None:
            clauses.append(clause)
            args.append(value)
    if f.sources:
        clauses.append(f"source IN ({','.join('?' * len(f.sources))})")
        args.extend(f.sources)
    if f.clustered is not None:
        clauses.append("cluster_id IS NOT NULL" if f.clustered else "cluster_id IS NULL")
    return " AND ".join(clauses), args


def _read(store: SqliteStore, sql: str, args: Sequence[object]) -> list[tuple[object, ...]]:
    with store.transaction(bump=False) as db:  # a read: no generation bump, no index marked stale
        return [tuple(r) for r in db.execute(sql, tuple(args)).fetchall()]


def _face(row: tuple[object, ...]) -> UnknownFace:
    fid, source, seen_at, cluster, quality = row
    return UnknownFace(
        id=int(fid),  # type: ignore[call-overload]
        source=str(source),
        seen_at=float(seen_at),  # type: ignore[arg-type]
        cluster_id=None if cluster is None else int(cluster),  # type: ignore[call-overload]
        quality=None if quality is None else float(quality),  # type: ignore[arg-type]
    )


def list_faces(store: SqliteStore, where: UnknownFilter, *, limit: int = 100, offset: int = 0) -> list[UnknownFace]:
    """Unknown faces matching ``where``, newest first (a page of ``limit`` from ``offset``)."""
    sql, args = _where(where)
    rows = _read(
        store,
        f"SELECT id, source, seen_at, cluster_id, quality FROM unknown_faces WHERE {sql} "
        "ORDER BY seen_at DESC, id DESC LIMIT ? OFFSET ?",
        [*args, int(limit), int(offset)],
    )
    return [_face(r) for r in rows]


def list_clusters(
    store: SqliteStore, where: UnknownFilter, *, order: str = "size", limit: int = 100, offset: int = 0
) -> list[UnknownCluster]:
    """Clusters holding at least one face that matches ``where``, each with all its faces.

    Args:
        order: ``"size"`` (most sightings first) or ``"last_seen"`` (most recently seen first).

    Raises:
        InvalidArgumentError: another order.
    """
    if order not in _ORDERS:
        raise InvalidArgumentError(f"order must be one of {sorted(_ORDERS)}, got {order!r}")
    sql, args = _where(where)
    rows = _read(
        store,
        "SELECT cluster_id, GROUP_CONCAT(id), GROUP_CONCAT(DISTINCT source), MIN(seen_at), MAX(seen_at) "
        f"FROM unknown_faces WHERE cluster_id IN (SELECT cluster_id FROM unknown_faces WHERE {sql}) "
        f"GROUP BY cluster_id ORDER BY {_ORDERS[order]}, cluster_id LIMIT ? OFFSET ?",
        [*args, int(limit), int(offset)],
    )
    return [
        UnknownCluster(
            id=int(cid),  # type: ignore[call-overload]
            face_ids=sorted(int(x) for x in str(ids).split(",")),
            sources=sorted(set(str(sources).split(","))),  # camera ids hold no commas (the camera id pattern)
            first_seen=float(first),  # type: ignore[arg-type]
            last_seen=float(last),  # type: ignore[arg-type]
        )
        for cid, ids, sources, first, last in rows
    ]


def best_faces(store: SqliteStore, cluster_ids: Sequence[int], per_cluster: int) -> dict[int, list[UnknownFace]]:
    """The ``per_cluster`` best faces of each cluster: highest quality first (unrecorded last), then newest."""
    ids = sorted({int(c) for c in cluster_ids})
    out: dict[int, list[UnknownFace]] = {}
    for start in range(0, len(ids), 900):  # SQLite's bound-parameter limit
        chunk = ids[start : start + 900]
        rows = _read(
            store,
            "SELECT id, source, seen_at, cluster_id, quality FROM (SELECT id, source, seen_at, cluster_id, quality, "
            "ROW_NUMBER() OVER (PARTITION BY cluster_id ORDER BY quality IS NULL, quality DESC, seen_at DESC, id DESC) "
            f"AS rank FROM unknown_faces WHERE cluster_id IN ({','.join('?' * len(chunk))})) WHERE rank <= ? "
            "ORDER BY cluster_id, rank",
            [*chunk, int(per_cluster)],
        )
        for r in rows:
            face = _face(r)
            out.setdefault(int(face.cluster_id or 0), []).append(face)
    return out


# -- clustering as faces arrive --------------------------------------------------------------------------


def cluster_all(store: SqliteStore, *, threshold: float, min_size: int = 2) -> list[UnknownCluster]:
    """Cluster every unknown face again at once; returns the clusters, largest first.

    A cluster keeps its id while it is the same faces (plus new ones); an id is never reused
    (:func:`~.cluster.stable_cluster_ids`). :class:`IncrementalClusterer` does the same in bounded steps.
    """
    rows, emb = store.unknown_faces()
    labels = cluster_embeddings(emb, threshold=threshold, min_size=min_size)
    ids = stable_cluster_ids([r["cluster_id"] for r in rows], labels.tolist(), store.issue_cluster_ids)
    store.set_clusters([r["id"] for r in rows], [ids[x] if x >= 0 else None for x in labels])
    clusters = []
    for label in range(int(labels.max()) + 1 if len(labels) else 0):
        members = [r for r, lab in zip(rows, labels, strict=True) if lab == label]
        clusters.append(
            UnknownCluster(
                id=ids[label],
                face_ids=[int(r["id"]) for r in members],
                sources=sorted({str(r["source"]) for r in members}),
                first_seen=min(float(r["seen_at"]) for r in members),
                last_seen=max(float(r["seen_at"]) for r in members),
            )
        )
    return clusters


def join_clusters(
    new: npt.ArrayLike, members: npt.ArrayLike, member_clusters: npt.ArrayLike, threshold: float
) -> npt.NDArray[np.int64]:
    """The existing cluster each new face joins, or -1.

    A face is linked to every member closer than ``threshold`` (the edges Chinese whispers would draw); it
    joins the cluster with most linked members, ties going to the one with the nearest member.

    Args:
        new: (N, D) embeddings of new faces.
        members: (M, D) embeddings of faces already in clusters.
        member_clusters: (M,) the cluster id of each member.
        threshold: the clustering link distance.

    Returns:
        (N,) int64 cluster ids, -1 where no member is linked.

    Example:
        >>> join_clusters(np.eye(2), np.eye(2), [7, 9], 0.5).tolist()
        [7, 9]
    """
    a = np.atleast_2d(np.asarray(new, np.float32))
    b = np.atleast_2d(np.asarray(members, np.float32))
    owner = np.asarray(member_clusters, np.int64).reshape(-1)
    out = np.full(len(a), -1, np.int64)
    if not len(a) or not len(owner):
        return out
    if len(owner) != len(b) or a.shape[1] != b.shape[1]:
        raise InvalidArgumentError(f"{b.shape} members, {owner.shape} cluster ids and {a.shape} new faces disagree")
    sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
    dist = np.sqrt(np.maximum(sq, 0.0))  # (N, M)
    for i, row in enumerate(dist):
        linked = row < threshold
        if not linked.any():
            continue
        clusters, counts = np.unique(owner[linked], return_counts=True)
        nearest = np.array([row[linked][owner[linked] == c].min() for c in clusters])
        out[i] = clusters[np.lexsort((nearest, -counts))[0]]
    return out


class IncrementalClusterer:
    """Clusters unknown faces as they arrive, with bounded work per step (see the module docstring).

    Not thread-safe: one caller steps it (the server's clustering job, under its lock).

    Args:
        store: the gallery's store.
        threshold: link distance of two faces (the gallery's calibrated 1:1 distance at FAR 3e-4 by default
            in the server, as :meth:`~.gallery.Gallery.cluster_unknown`).
        min_size: faces a full run's cluster needs (fewer: in no cluster, "seen once").
        faces_per_run: new faces a step tries against the clusters at most.
        full_every_s: seconds between two full runs at least.
        max_faces: a full run clusters the newest this many faces (older ones keep their clusters).
        clock: seconds, for the full-run interval (tests pass their own).
    """

    def __init__(
        self,
        store: SqliteStore,
        *,
        threshold: float,
        min_size: int = 2,
        faces_per_run: int = 500,
        full_every_s: float = 600.0,
        max_faces: int = 5000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if threshold <= 0 or min_size < 1 or faces_per_run < 1 or full_every_s < 0 or max_faces < 2:
            raise InvalidArgumentError(
                f"bad clustering settings: threshold {threshold}, min_size {min_size}, faces_per_run "
                f"{faces_per_run}, full_every_s {full_every_s}, max_faces {max_faces}"
            )
        self.store = store
        self.threshold = float(threshold)
        self.min_size = min_size
        self.faces_per_run = faces_per_run
        self.full_every_s = full_every_s
        self.max_faces = max_faces
        self._clock = clock
        self._tried_to = 0  # new faces up to this id were tried against the clusters
        self._full_to = 0  # the last full run saw faces up to this id
        self._last_full: float | None = None

    def step(self) -> ClusterStep:
        """Join new faces to clusters (bounded), then re-cluster all if due and needed."""
        tried, joined = self._join_new()
        now = self._clock()
        due = self._last_full is None or now - self._last_full >= self.full_every_s
        if not (due and self._left_out()):
            return ClusterStep(tried, joined, False, None)
        clusters = self.recluster()
        self._last_full = now
        return ClusterStep(tried, joined, True, clusters)

    def _join_new(self) -> tuple[int, int]:
        rows, emb = self.store.unknown_faces(after_id=self._tried_to, clustered=False, limit=self.faces_per_run)
        if not rows:
            return 0, 0
        members, member_emb = self.store.unknown_faces(clustered=True)
        owner = [int(r["cluster_id"]) for r in members]
        labels = join_clusters(emb, member_emb, owner, self.threshold)
        hit = np.flatnonzero(labels >= 0)
        if len(hit):
            self.store.set_clusters([int(rows[i]["id"]) for i in hit], [int(labels[i]) for i in hit])
        self._tried_to = int(rows[-1]["id"])
        return len(rows), len(hit)

    def _left_out(self) -> bool:
        """Whether a face that arrived since the last full run is in no cluster (so a full run may change things)."""
        rows, _ = self.store.unknown_faces(after_id=self._full_to, clustered=False, limit=1)
        return bool(rows)

    def recluster(self) -> int:
        """Cluster the newest ``max_faces`` faces again, keeping ids of unchanged clusters; returns clusters."""
        rows, emb = self.store.unknown_faces(limit=-self.max_faces)
        if not rows:
            return 0
        labels = cluster_embeddings(emb, threshold=self.threshold, min_size=self.min_size)
        before = [r["cluster_id"] for r in rows]
        ids = stable_cluster_ids(before, labels.tolist(), self.store.issue_cluster_ids)
        after = [ids[x] if x >= 0 else None for x in labels.tolist()]
        changed = [i for i, (b, a) in enumerate(zip(before, after, strict=True)) if b != a]
        if changed:
            self.store.set_clusters([int(rows[i]["id"]) for i in changed], [after[i] for i in changed])
        self._full_to = max(self._full_to, int(rows[-1]["id"]))
        self._tried_to = max(self._tried_to, self._full_to)  # a full run tried them all
        return len(ids)
