"""Finding faces in a gallery: 1:N through the vector index, and every stored trace by an exact scan.

:func:`nearest_people` is the core of :meth:`Gallery.search <faceplane.gallery.gallery.Gallery.search>`: it
asks the index for more neighbours than needed, maps template ids to people through the store (dropping
any deleted behind the index) and keeps one candidate per person, widening the fetch until every probe
has ``k`` people or the index is exhausted. :func:`find_face` scans the store itself, not the index, for
an erasure, which must not depend on an approximate search.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .index import VectorIndex
from .records import Candidate, Identification
from .store import SqliteStore

__all__ = ["FaceSightings", "find_face", "nearest_people", "rank_people"]

_F32 = npt.NDArray[np.float32]


def rank_people(
    dist: _F32,
    ids: npt.NDArray[np.int64],
    owners: dict[int, tuple[int, str, str]],
    wanted: set[str] | None,
    k: int,
    thr: float,
) -> Identification:
    """One probe's index hits -> its ``k`` nearest people, each by their nearest template, counting the
    templates within ``thr``; hits whose template is gone or outside ``wanted`` collections are skipped."""
    people: dict[int, Candidate] = {}
    for d, tid in zip(dist.tolist(), ids.tolist(), strict=True):
        owner = owners.get(tid)
        if owner is None or (wanted and owner[1] not in wanted):
            continue
        pid, coll, name = owner
        prev = people.get(pid)
        matched = (prev.templates_matched if prev else 0) + (d <= thr)
        if prev is None:
            people[pid] = Candidate(pid, coll, name, float(d), int(tid), int(matched))
        else:
            people[pid] = Candidate(pid, coll, name, prev.distance, prev.template_id, int(matched))
    ranked = sorted(people.values(), key=lambda c: c.distance)[:k]
    return Identification(ranked, thr)


def nearest_people(
    index: VectorIndex, store: SqliteStore, emb: _F32, *, wanted: set[str] | None, k: int, thr: float
) -> list[Identification]:
    """The ``k`` nearest people of each (D,) row of ``emb`` (one template per person) in ``wanted``
    collections (None: all), as :func:`rank_people` ranks them."""
    total = len(index)
    fetch = min(max(4 * k, 16), max(total, 1))
    while True:
        dist, ids = index.search(emb, fetch)
        owners = store.owners(ids[ids >= 0].tolist())  # drops ids deleted behind the index
        result = [rank_people(d, i, owners, wanted, k, thr) for d, i in zip(dist, ids, strict=True)]
        if fetch >= total or all(len(r.candidates) >= k for r in result):
            return result
        fetch = min(fetch * 4, total)


@dataclass(frozen=True)
class FaceSightings:
    """Where one face is stored: template ids, the people owning them, unknown-face ids."""

    templates: list[int]
    people: list[int]
    unknown_faces: list[int]


def find_face(store: SqliteStore, probe: _F32, limit: float) -> FaceSightings:
    """Every template of any person and every unknown face within ``limit`` of one (D,) ``probe``."""
    templates: list[int] = []
    for ids, emb in store.iter_embeddings():
        templates.extend(int(i) for i in ids[np.linalg.norm(emb - probe, axis=1) <= limit])
    rows, unknown_emb = store.unknown_faces()
    near = np.linalg.norm(unknown_emb - probe, axis=1) <= limit if len(rows) else np.zeros(0, bool)
    people = sorted({owner[0] for owner in store.owners(templates).values()})
    return FaceSightings(templates, people, [int(r["id"]) for r, hit in zip(rows, near, strict=True) if hit])
