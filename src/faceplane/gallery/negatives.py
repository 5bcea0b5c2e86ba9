"""Corrections ("not this person"): faces recorded as *not* being someone, so they stop being named as them.

When an operator says an alert or an identification named the wrong person ``P``, the face's
embedding is kept as a **negative** of ``P`` (table ``negatives``; the face is enrolled as nobody).
Every later search applies this rule to each candidate:

    a probe ``q`` is not ``P`` when it is closer to one of ``P``'s negatives than to ``P``'s nearest
    template: ``min_n |q - n| < min_t |q - t|``.

``P``'s templates and ``P``'s negatives act as two nearest-neighbour classes, "P" and "not P", and
the nearer one wins. The same face (distance to its negative near 0) is never named ``P`` again,
whatever the threshold; another photo of the same look-alike usually lies nearer to the look-alike's
first photo than to ``P`` (same person beats look-alike), so new sightings are corrected too; and a
true photo of ``P`` still lies nearer to ``P``'s own templates than to a stranger's face, so ``P``'s
true matches are kept. The rule has no tuned number. A candidate ruled out keeps its place in the
search result, marked with the correction that ruled it out (:attr:`Candidate.excluded_by`), and the
next candidate within its threshold may be named instead.

Negatives are biometric data like templates: with a template key their embedding and thumbnail are
encrypted the same way (AES-GCM, bound to table, column and row), they are deleted with the person
(foreign key, ``ON DELETE CASCADE``), re-embedded by ``gallery migrate`` from their thumbnail, and
found by an erasure by photo (:meth:`Negatives.find`).

Example:
    >>> gallery.add_negative(person_id, embedding, thumbnail=None, source="photo")   # doctest: +SKIP
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from .._sqlite_ids import next_id
from ..errors import InvalidArgumentError, NotFoundError
from .protection import reveal, seal
from .records import Candidate, Identification
from .schema import embeddings_of_blobs
from .store import SqliteStore

__all__ = ["Correction", "CorrectionResult", "Negatives", "rule_out"]

_F32 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Correction:
    """One "not this person" correction (the embedding itself stays in the store).

    Attributes:
        id: the negative's id (never reused).
        person_id: who the face is not.
        template_id: the template of that person nearest to the face when it was corrected (the one that
            made the false match; it may have been removed since).
        distance: the face's distance to that template then.
        source: where the face came from: ``"event:<id>"`` (an alert) or ``"photo"`` (an identification).
        note: the operator's words, if any.
        created_at: Unix seconds.
    """

    id: int
    person_id: int
    template_id: int | None
    distance: float | None
    source: str
    note: str
    created_at: float


@dataclass(frozen=True)
class CorrectionResult:
    """A correction just made, and what a search of the corrected face answers now.

    Attributes:
        correction: the stored correction.
        after: the face searched again after the correction (``after.person`` is not the corrected person).
    """

    correction: Correction
    after: Identification


def _correction(row: sqlite3.Row) -> Correction:
    return Correction(
        id=int(row["id"]),
        person_id=int(row["person_id"]),
        template_id=None if row["template_id"] is None else int(row["template_id"]),
        distance=None if row["distance"] is None else float(row["distance"]),
        source=str(row["source"]),
        note=str(row["note"]),
        created_at=float(row["created_at"]),
    )


_COLUMNS = "id, person_id, template_id, distance, source, note, created_at"


def rule_out(
    probes: _F32, results: list[Identification], negatives: dict[int, tuple[list[int], _F32]]
) -> list[Identification]:
    """Mark the candidates that a correction rules out (see the module docstring).

    Args:
        probes: (Q, D) probe embeddings, one per result.
        results: the searches of those probes.
        negatives: person id -> (negative ids, (M, D) embeddings), for the people that have some.
    """
    if not negatives:
        return results
    out = []
    for probe, result in zip(probes, results, strict=True):
        marked = [_judge(probe, c, negatives.get(c.person_id)) for c in result.candidates]
        out.append(replace(result, candidates=marked) if marked != result.candidates else result)
    return out


def _judge(probe: _F32, candidate: Candidate, negatives: tuple[list[int], _F32] | None) -> Candidate:
    if negatives is None:
        return candidate
    ids, emb = negatives
    dist = np.linalg.norm(emb - probe, axis=1)
    nearest = int(np.argmin(dist))
    if float(dist[nearest]) < candidate.distance:
        return replace(candidate, excluded_by=ids[nearest])
    return candidate


class Negatives:
    """The corrections of a gallery's store (table ``negatives``), with an in-memory copy for searches.

    The copy is renewed when the store's generation moves (any process's change), so a correction made
    through one process is honoured by every other that searches the same gallery.
    """

    def __init__(self, store: SqliteStore) -> None:
        self.store = store
        self._cache: tuple[int, dict[int, tuple[list[int], _F32]]] | None = None

    def add(
        self,
        person_id: int,
        embedding: npt.ArrayLike,
        *,
        thumbnail: bytes | None = None,
        template_id: int | None = None,
        distance: float | None = None,
        source: str = "",
        note: str = "",
    ) -> Correction:
        """Record that this face is not ``person_id``.

        Raises:
            NotFoundError: no such person.
            InvalidArgumentError: not one finite embedding of the gallery's model.
        """
        vec = np.asarray(embedding, np.float32).reshape(-1)
        dim = self.store.embedding_dim
        if vec.shape != (dim,) or not np.isfinite(vec).all():
            raise InvalidArgumentError(f"a correction needs one finite ({dim},) embedding, got {np.shape(embedding)}")
        now = time.time()
        with self.store._tx() as db:
            if db.execute("SELECT 1 FROM people WHERE id = ?", (int(person_id),)).fetchone() is None:
                raise NotFoundError(f"no person with id {person_id}")
            nid = next_id(db, "negatives")  # chosen here so the encrypted cells are bound to the row id
            cipher = self.store._cipher
            db.execute(
                "INSERT INTO negatives (id, person_id, embedding, thumbnail, template_id, distance, source, note, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    nid,
                    int(person_id),
                    seal(cipher, "negatives/embedding", nid, vec.astype("<f4").tobytes()),
                    seal(cipher, "negatives/thumbnail", nid, thumbnail),
                    template_id,
                    distance,
                    source,
                    note,
                    now,
                ),
            )
        return Correction(nid, int(person_id), template_id, distance, source, note, now)

    def of_person(self, person_id: int) -> list[Correction]:
        """A person's corrections, oldest first."""
        rows = self.store._query(f"SELECT {_COLUMNS} FROM negatives WHERE person_id = ? ORDER BY id", (int(person_id),))
        return [_correction(r) for r in rows]

    def get(self, correction_id: int) -> Correction:
        """Raises NotFoundError for an unknown id."""
        rows = self.store._query(f"SELECT {_COLUMNS} FROM negatives WHERE id = ?", (int(correction_id),))
        if not rows:
            raise NotFoundError(f"no correction with id {correction_id}")
        return _correction(rows[0])

    def remove(self, correction_ids: Sequence[int]) -> int:
        """Delete corrections (undo a mistaken "not this person"); returns how many existed."""
        ids = [int(i) for i in correction_ids]
        if not ids:
            return 0
        with self.store._tx() as db:
            cur = db.execute(f"DELETE FROM negatives WHERE id IN ({','.join('?' * len(ids))})", ids)
        return int(cur.rowcount)

    def thumbnail(self, correction_id: int) -> bytes | None:
        """The JPEG chip of a corrected face (None when none was kept).

        Raises:
            NotFoundError: no correction with that id.
        """
        rows = self.store._query("SELECT thumbnail FROM negatives WHERE id = ?", (int(correction_id),))
        if not rows:
            raise NotFoundError(f"no correction with id {correction_id}")
        blob = rows[0][0]
        return None if blob is None else reveal(self.store._cipher, "negatives/thumbnail", correction_id, blob)

    def by_person(self) -> dict[int, tuple[list[int], _F32]]:
        """person id -> (negative ids, (M, D) embeddings), from a copy renewed per store generation."""
        generation = self.store.generation
        if self._cache is None or self._cache[0] != generation:
            rows = self.store._query("SELECT id, person_id, embedding FROM negatives ORDER BY person_id, id")
            emb = embeddings_of_blobs(
                (reveal(self.store._cipher, "negatives/embedding", r[0], r[2]) for r in rows), self.store.embedding_dim
            )
            grouped: dict[int, tuple[list[int], _F32]] = {}
            for pid in sorted({int(r[1]) for r in rows}):
                rows_of = [i for i, r in enumerate(rows) if int(r[1]) == pid]
                grouped[pid] = ([int(rows[i][0]) for i in rows_of], emb[rows_of].astype(np.float32))
            self._cache = (generation, grouped)
        return self._cache[1]

    def find(self, embedding: npt.ArrayLike, threshold: float) -> list[int]:
        """Ids of corrections whose face lies within ``threshold`` of this one (erasure by photo)."""
        probe = np.asarray(embedding, np.float32).reshape(-1)
        found: list[int] = []
        for ids, emb in self.by_person().values():
            found.extend(i for i, d in zip(ids, np.linalg.norm(emb - probe, axis=1), strict=True) if d <= threshold)
        return sorted(found)
