"""What enrollment checks before photos become templates, and where bulk enrollments find their people.

:meth:`Gallery.enroll <faceplane.gallery.gallery.Gallery.enroll>` writes; this module decides. Every photo
passes the :class:`QualityGate` (one face, large and sharp enough) or is refused with its reasons
(:func:`accepted_faces`); a batch whose photos do not all show one person is refused whole
(:func:`mixed_identities`); faces that already match someone else are reported (:func:`duplicate_people`).
:func:`folder_people` and :func:`manifest_people` read the two bulk layouts, a folder per person and a
CSV manifest, into the people :meth:`~faceplane.gallery.gallery.Gallery.enroll_folder` and
:meth:`~faceplane.gallery.gallery.Gallery.enroll_manifest` enroll one by one.

Example:
    >>> QualityGate().check(1, 40.0, [])
    ['face too small (40 px wide, minimum 60)']
"""

from __future__ import annotations

import csv
import hashlib
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ..errors import FaceplaneError, InvalidArgumentError
from ..images import ImageInput, encode_jpeg
from ..pipeline import Engine
from .records import Candidate, Consent, EnrollReport, Identification, Person, Rejection
from .store import SqliteStore

__all__ = [
    "BulkPerson",
    "QualityGate",
    "accepted_faces",
    "duplicate_people",
    "enroll_people",
    "existing_person",
    "folder_people",
    "manifest_people",
    "mixed_identities",
    "photo_sha256",
]

_F32 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class QualityGate:
    """What an enrollment photo must pass.

    Attributes:
        min_face_px: the face box must be at least this wide.
        min_cue: every quality cue (sharpness, pose, detector confidence) must reach this.
        largest_face_only: with several faces, enroll the largest instead of refusing the photo.
    """

    min_face_px: int = 60
    min_cue: float = 0.3
    largest_face_only: bool = False

    def check(self, faces_count: int, width_px: float, reasons: list[str]) -> list[str]:
        """The reasons to refuse a photo (empty = accepted)."""
        if faces_count == 0:
            return ["no face found"]
        out: list[str] = []
        if faces_count > 1 and not self.largest_face_only:
            out.append(f"several faces ({faces_count}); crop the photo or pass largest_face_only")
        if width_px < self.min_face_px:
            out.append(f"face too small ({width_px:.0f} px wide, minimum {self.min_face_px})")
        out.extend(r for r in reasons if r != "too small")
        return out


def existing_person(
    store: SqliteStore, collection: str, person_id: int | None, external_id: str | None
) -> Person | None:
    """The enrolled person an enrollment adds to: by id (who must belong to ``collection``), else by external id.

    Raises:
        NotFoundError: no person ``person_id``. InvalidArgumentError: they belong to another collection.
    """
    if person_id is not None:
        person = store.get_person(person_id)
        if person.collection != collection:
            raise InvalidArgumentError(f"person {person_id} belongs to {person.collection!r}, not {collection!r}")
        return person
    if external_id is not None:
        return store.find_person(collection, external_id=external_id)
    return None


def photo_sha256(source: ImageInput) -> str | None:
    """SHA-256 of a photo's bytes (a file's, or an array's), kept with its template; None for other inputs."""
    if isinstance(source, (str, os.PathLike)):
        return hashlib.sha256(Path(source).read_bytes()).hexdigest()
    if isinstance(source, (bytes, bytearray, memoryview)):
        return hashlib.sha256(bytes(source)).hexdigest()
    if isinstance(source, np.ndarray):
        return hashlib.sha256(np.ascontiguousarray(source).tobytes()).hexdigest()
    return None


def accepted_faces(
    engine: Engine, images: Sequence[ImageInput], gate: QualityGate, dim: int
) -> tuple[_F32, list[float], list[str | None], list[bytes | None], list[Rejection]]:
    """The faces of the photos that pass ``gate``, embedded in one batch, and the photos refused.

    Returns:
        (N, ``dim``) embeddings, and for each its quality, photo hash and JPEG chip; the refusals.
    """
    chips, qualities, hashes, rejected = [], [], [], []
    for i, source in enumerate(images):
        label = str(source) if isinstance(source, (str, os.PathLike)) else f"image #{i + 1}"
        try:
            faces, face_chips, report = engine.detect_detailed(source)
            digest = photo_sha256(source)
        except FaceplaneError as exc:
            rejected.append(Rejection(label, [str(exc)]))
            continue
        width = float(faces.xyxy[0, 2] - faces.xyxy[0, 0]) if len(faces) else 0.0
        reasons = gate.check(len(faces), width, report.reasons(0, min_cue=gate.min_cue) if len(faces) else [])
        if reasons:
            rejected.append(Rejection(label, reasons))
            continue
        chips.append(face_chips[0])
        qualities.append(float(faces.quality[0]))
        hashes.append(digest)
    if not chips:
        return np.zeros((0, dim), np.float32), [], [], [], rejected
    stacked = np.stack(chips)
    return engine.embed_chips(stacked), qualities, hashes, [encode_jpeg(c) for c in stacked], rejected


def mixed_identities(embeddings: _F32, threshold: float) -> str:
    """A reason when some accepted photo matches none of the others of the batch, else ``""``."""
    if len(embeddings) < 2:
        return ""
    dist = np.linalg.norm(embeddings[:, None, :] - embeddings[None, :, :], axis=2)
    np.fill_diagonal(dist, np.inf)
    nearest = dist.min(axis=1)
    if float(nearest.max()) <= threshold:
        return ""
    odd = [int(i) + 1 for i in np.flatnonzero(nearest > threshold)]
    return (
        f"the photos do not all show one person: accepted photo(s) {odd} match none of the others "
        f"(nearest distance {float(nearest.max()):.2f} > {threshold:.2f}); enroll each person separately"
    )


def duplicate_people(
    found: Sequence[Identification], threshold: float, *, exclude_person: int | None
) -> list[Candidate]:
    """The people (other than ``exclude_person``) some face of a search matches within ``threshold``,
    each with its nearest match, nearest first."""
    people: dict[int, Candidate] = {}
    for ident in found:
        for cand in ident.candidates:
            if cand.distance > threshold or cand.person_id == exclude_person:
                continue
            if cand.person_id not in people or cand.distance < people[cand.person_id].distance:
                people[cand.person_id] = cand
    return sorted(people.values(), key=lambda c: c.distance)


@dataclass(frozen=True)
class BulkPerson:
    """One person of a bulk enrollment: their photos, and what finds them if they are enrolled already.

    Attributes:
        external_id: finds an enrolled person of the collection by external id (None: by ``name`` when
            ``by_name``, else a new person).
    """

    name: str
    images: Sequence[ImageInput]
    external_id: str | None = None
    consent: Consent | None = None
    by_name: bool = False


def folder_people(folder: str | Path) -> Iterator[BulkPerson]:
    """One person per sub-folder (its name, underscores as spaces) with the images in it, found again by name.

    A sub-folder's images are listed when its person is reached, as the enrollment goes.
    """
    root = Path(folder)
    if not root.is_dir():
        raise InvalidArgumentError(f"{root} is not a folder")
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        images = sorted(p for p in sub.iterdir() if p.is_file() and not p.name.startswith("."))
        yield BulkPerson(sub.name.replace("_", " "), images, by_name=True)


def manifest_people(manifest: str | Path) -> list[BulkPerson]:
    """The people of a CSV with columns ``path,name`` and optional ``external_id``, ``consent_basis``,
    ``consent_source``, ``consent_date`` (paths relative to the CSV): the rows grouped by name and external id."""
    path = Path(manifest)
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    missing = {"path", "name"} - set(rows[0].keys() if rows else [])
    if not rows or missing:
        raise InvalidArgumentError(f"{path}: needs a header with path,name (missing: {sorted(missing)})")
    groups: dict[tuple[str, str], list[dict[str, str]]] = {}
    for row in rows:
        groups.setdefault((row["name"].strip(), (row.get("external_id") or "").strip()), []).append(row)
    people = []
    for (name, ext), group in groups.items():
        basis = (group[0].get("consent_basis") or "").strip()
        consent = (
            Consent(basis, group[0].get("consent_source") or "", group[0].get("consent_date") or "") if basis else None
        )
        images = [str((path.parent / r["path"]).resolve()) for r in group]
        people.append(BulkPerson(name, images, external_id=ext or None, consent=consent))
    return people


def enroll_people(
    store: SqliteStore,
    enroll: Callable[..., EnrollReport],
    collection: str,
    people: Iterable[BulkPerson],
    gate: QualityGate | None,
    progress: Callable[[str], None] | None,
) -> list[EnrollReport]:
    """Enroll each person in turn with ``enroll`` (:meth:`Gallery.enroll
    <faceplane.gallery.gallery.Gallery.enroll>`), adding to the one already enrolled under their external id
    (or name); ``progress`` is told each name once done."""
    reports = []
    for p in people:
        if p.external_id:
            existing = store.find_person(collection, external_id=p.external_id)
        else:
            existing = store.find_person(collection, name=p.name) if p.by_name else None
        reports.append(
            enroll(
                collection,
                p.images,
                name=p.name,
                external_id=p.external_id,
                consent=p.consent,
                person_id=existing.id if existing else None,
                gate=gate,
            )
        )
        if progress:
            progress(p.name)
    return reports
