"""Group faces of the same (unknown) person: recurring strangers an operator can name or dismiss.

Chinese whispers (Biemann 2006, as in dlib and face_recognition's examples) on the graph that links
two faces when their distance is within ``threshold``. It needs no number of clusters, handles
thousands of faces, and, unlike plain connected components, does not chain two people together
through one ambiguous face. dlib's implementation is seeded, so results are repeatable.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from ..errors import InvalidArgumentError

__all__ = ["cluster_embeddings", "stable_cluster_ids"]


def cluster_embeddings(
    embeddings: npt.ArrayLike, *, threshold: float = 0.5, min_size: int = 2
) -> npt.NDArray[np.int64]:
    """Cluster labels of (N, D) embeddings.

    Args:
        embeddings: (N, D) face embeddings of one model.
        threshold: link faces closer than this (tighter than the 1:1 threshold keeps clusters pure).
        min_size: clusters smaller than this are labelled -1 (a one-off stranger, not recurring).

    Returns:
        (N,) int64 labels 0, 1, ... ordered by cluster size (largest first); -1 for no cluster.

    Example:
        >>> cluster_embeddings(np.zeros((3, 128)), threshold=0.5).tolist()
        [0, 0, 0]
    """
    emb = np.asarray(embeddings, np.float64)
    if emb.ndim != 2:
        raise InvalidArgumentError(f"embeddings must be (N, D), got shape {emb.shape}")
    if threshold <= 0 or min_size < 1:
        raise InvalidArgumentError(f"threshold must be > 0 and min_size >= 1, got {threshold}, {min_size}")
    if len(emb) == 0:
        return np.zeros((0,), np.int64)
    import dlib

    raw = np.asarray(dlib.chinese_whispers_clustering([dlib.vector(row.tolist()) for row in emb], threshold))
    ids, counts = np.unique(raw, return_counts=True)
    order = ids[np.lexsort((ids, -counts))]  # biggest cluster first, ties by first label
    rank = {int(c): r for r, c in enumerate(order)}
    labels = np.array([rank[int(c)] for c in raw], np.int64)
    sizes = np.bincount(labels)
    labels[sizes[labels] < min_size] = -1
    # renumber the surviving clusters 0..K-1
    kept = np.unique(labels[labels >= 0])
    remap = {int(c): i for i, c in enumerate(kept)}
    return np.array([remap.get(int(x), -1) for x in labels], np.int64)


def stable_cluster_ids(
    previous: Sequence[int | None], labels: Sequence[int], issue: Callable[[int], list[int]]
) -> list[int]:
    """Ids for the clusters of a new clustering: an id is never given to other faces than the ones it named.

    A new cluster keeps the id of an old cluster when it holds all that cluster's faces and no face of
    another old cluster (it is the same stranger, perhaps seen again); any other cluster (a split, a merge,
    a new stranger) gets a fresh id from ``issue``, so an operator naming cluster 7 from an older listing
    never enrolls someone else's faces.

    Args:
        previous: (N,) the cluster id each face had before (None: none).
        labels: (N,) the new labels from :func:`cluster_embeddings` (0..K-1, -1 for no cluster).
        issue: returns that many ids never issued before (``SqliteStore.issue_cluster_ids``).

    Returns:
        The id of each new label 0..K-1.

    Example:
        >>> stable_cluster_ids([4, 4, None, 5, 5], [0, 0, 0, 1, -1], lambda n: list(range(9, 9 + n)))
        [4, 9]
    """
    count = max((int(x) for x in labels), default=-1) + 1
    members: dict[int, set[int | None]] = {}  # new label -> the old ids of its faces
    holders: dict[int, set[int]] = {}  # old id -> the new labels its faces went to (-1 included)
    for old, label in zip(previous, labels, strict=True):
        members.setdefault(int(label), set()).add(old)
        if old is not None:
            holders.setdefault(int(old), set()).add(int(label))
    kept: dict[int, int] = {}
    for label in range(count):
        olds = [old for old in members.get(label, set()) if old is not None]
        if len(olds) == 1 and holders[olds[0]] == {label}:
            kept[label] = olds[0]
    fresh = iter(issue(count - len(kept)))
    return [kept[label] if label in kept else next(fresh) for label in range(count)]
