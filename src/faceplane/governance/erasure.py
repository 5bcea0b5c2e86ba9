"""Erasure of a person everywhere ("delete this person everywhere"), :class:`Eraser`:

- the person's templates and their index entries (the person row goes too);
- unknown faces of the same face (kept for clustering, perhaps before they were enrolled);
- every event naming them, with its snapshot file and webhook dead letters;
- snapshots of other events (same camera, within two minutes) in which their face is found;
- liveness evidence frames of verify-live / identify-live decisions about them;
- events and evidence frames still under the ids of people merged into them (:mod:`faceplane.gallery.editing`).

What stays is an audit entry with counts and ids only: no name, no embedding, no image. Erasure by
a probe photo finds every person whose templates match the face (calibrated FAR 1e-3 distance, an
exact scan) and erases each of them, plus the matching unknown faces.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ..events import EventStore
from ..gallery.editing import GalleryEditor
from ..gallery.gallery import Gallery
from .audit import AuditLog

__all__ = ["Eraser", "ErasureReport"]

_NEARBY_S = 120.0  # other events within this time of the person's, on the same camera, may show them


@dataclass(frozen=True)
class ErasureReport:
    """What an erasure removed (or, for a dry run, would remove): ids and counts, never biometric data."""

    people: list[int]
    templates: int
    unknown_faces: int
    events: int
    evidence_frames: int
    dry_run: bool = False
    corrections: int = 0  # "not this person" corrections holding the face (erasure by photo)


class Eraser:
    """Erases people everywhere (see the module docstring)."""

    def __init__(
        self,
        *,
        gallery: Gallery,
        events: EventStore,
        audit: AuditLog,
        evidence_dir: Path,
        forget: Sequence[Callable[[Sequence[int]], int]] = (),
    ) -> None:
        self.gallery = gallery
        self.events = events
        self.forget = list(forget)  # other stores that name people (import reports): called with the erased ids
        self.audit = audit
        self.evidence_dir = evidence_dir

    def erase_person(self, person_id: int) -> ErasureReport:
        """Erase one person everywhere.

        Raises:
            NotFoundError: no person with that id.
        """
        templates, unknown, events, evidence = self._erase(person_id)
        return ErasureReport([person_id], templates, len(unknown), events, evidence)

    def erase_face(self, embedding: npt.ArrayLike, *, dry_run: bool = False) -> ErasureReport:
        """Erase every person whose templates match this face, and the matching unknown faces."""
        found = self.gallery.find_face(np.asarray(embedding, np.float32))
        # the face kept as a correction of someone it is not (a look-alike's): the same FAR 1e-3 distance
        corrections = self.gallery.negatives.find(embedding, self.gallery.calibration.threshold(1e-3))
        if dry_run:
            events = sum(self.events.count(person_id=p) for p in found.people)
            return ErasureReport(
                found.people, len(found.templates), len(found.unknown_faces), events, 0, True, len(corrections)
            )
        self.gallery.negatives.remove(corrections)
        templates = events = evidence = 0
        unknown = set(found.unknown_faces)
        for person_id in found.people:
            t, u, e, v = self._erase(person_id)
            templates, events, evidence = templates + t, events + e, evidence + v
            unknown |= u
        self.gallery.remove_unknown(sorted(unknown))
        return ErasureReport(found.people, templates, len(unknown), events, evidence, corrections=len(corrections))

    def _erase(self, person_id: int) -> tuple[int, set[int], int, int]:
        self.gallery.store.get_person(person_id)  # NotFoundError before anything is touched
        # people merged into this one: events a crash left under their ids, evidence the audit log names them in
        merged = GalleryEditor(self.gallery).merged_into(person_id)
        _, embeddings = self.gallery.store.embeddings_of(person_id)
        unknown = {f for e in embeddings for f in self.gallery.find_face(e).unknown_faces}
        self._erase_from_other_snapshots(person_id, embeddings)
        templates = self.gallery.remove_person(person_id)
        self.gallery.remove_unknown(sorted(unknown))
        events = sum(self.events.delete(person_id=p) for p in (person_id, *merged))
        for forget in self.forget:
            forget([person_id, *merged])
        return templates, unknown, events, self._erase_evidence({person_id, *merged})

    def _erase_from_other_snapshots(self, person_id: int, embeddings: npt.NDArray[np.float32]) -> int:
        """Snapshots of other events taken on the same cameras while the person was there may show them too:
        each is searched for their face and dropped when it is found. Returns how many were dropped."""
        named = self.events.query(person_id=person_id, limit=10_000)
        if not named or not len(embeddings):
            return 0
        threshold = self.gallery.calibration.threshold(1e-3)
        dropped = 0
        for camera in sorted({e.camera for e in named}):
            times = [e.wall_s for e in named if e.camera == camera]
            nearby = self.events.query(
                cameras=[camera], since_s=min(times) - _NEARBY_S, until_s=max(times) + _NEARBY_S, limit=10_000
            )
            for event in nearby:
                if event.person_id == person_id or not event.snapshot:
                    continue
                faces = self.gallery.engine.analyze(self.events.directory / event.snapshot)
                distances = np.linalg.norm(faces.embedding[:, None] - embeddings[None], axis=2)
                if distances.size and distances.min() <= threshold:
                    self.events.drop_snapshot(event.id)
                    dropped += 1
        return dropped

    def _erase_evidence(self, person_ids: set[int]) -> int:
        """Evidence frames of liveness decisions about these people (found through the audit log)."""
        removed = 0
        for action in ("verify-live", "identify-live"):
            offset = 0
            while batch := self.audit.query(action=action, limit=1000, offset=offset):
                offset += len(batch)
                for entry in batch:
                    detail = json.loads(entry.detail) if entry.detail else {}
                    if detail.get("person") not in person_ids:
                        continue
                    for rel in detail.get("evidence", []):
                        removed += _remove_below(self.evidence_dir, rel)
        return removed


def _remove_below(root: Path, relative: str) -> int:
    path = (root / relative).resolve()
    if not path.is_relative_to(root.resolve()) or not path.is_file():
        return 0
    path.unlink()
    folder = path.parent
    if folder != root.resolve() and not any(folder.iterdir()):
        shutil.rmtree(folder, ignore_errors=True)
    return 1
