"""Export a collection to JSON Lines and import it back (embeddings and records, no photos).

Format: a header line ``{"faceplane_export": 1, "collection": ..., "model": "mobilefacenet@1"}`` (the
gallery's :attr:`~faceplane.gallery.store.SqliteStore.embedding_model`), then one person a line with
``display_name``, ``external_id``, ``metadata``, ``consent``, ``expires_at`` and ``templates``
(``embedding``: the model's floats, 192 for MobileFaceNet, 128 for dlib; ``quality``, ``image_sha256``).
Imports refuse embeddings of another model than the gallery's, and a person with a known
``external_id`` gets the templates added, not a duplicate. Exports made before galleries recorded
their model say ``"model": "dlib_resnet_v1"`` and hold raw dlib descriptors: they import into a dlib
gallery only (``dlib@2``), scaled to unit length on the way in, exactly as such a gallery is upgraded.

Sealed exports: given a passphrase, the whole plain export is encrypted and authenticated with
AES-256-GCM under a scrypt key (see :func:`~faceplane.gallery.crypto.seal_export` for the two-line
format). This is what "signed" means here: an import with the passphrase refuses any modified
byte, header included, and a wrong passphrase, before it imports anything. It is symmetric:
everyone who can import the file could have made it; it is not a public-key signature. A sealed
export is at most 2 GiB of plain JSON Lines and is held in memory while it is sealed or opened.
"""

from __future__ import annotations

import dataclasses
import io
import itertools
import json
from collections.abc import Iterable, Iterator
from typing import Any, Protocol, TextIO

import numpy as np
import numpy.typing as npt

from ..errors import InvalidArgumentError
from ..models.catalog import LEGACY_MODEL
from ..models.mobilefacenet import normalize
from .crypto import is_sealed_export, open_export, seal_export
from .records import Consent, EnrollReport
from .store import SqliteStore

__all__ = ["Transferable", "export_collection", "import_collection"]

#: The header's model in exports written before galleries recorded theirs: raw dlib descriptors.
_LEGACY_EXPORT_MODEL = "dlib_resnet_v1"


class Transferable(Protocol):
    """What an export or import needs of a gallery: its store, and enrolling precomputed embeddings.

    :class:`~faceplane.gallery.Gallery` is one; it calls these functions, so they name this protocol
    rather than import the gallery (which would close a circle ``gallery`` <-> ``transfer``).
    """

    @property
    def store(self) -> SqliteStore: ...

    def enroll_embeddings(self, *args: Any, **kwargs: Any) -> EnrollReport:
        """:meth:`Gallery.enroll_embeddings <faceplane.gallery.Gallery.enroll_embeddings>`, whose signature rules."""


def export_collection(gallery: Transferable, collection: str, out: TextIO, *, passphrase: str | None = None) -> int:
    """Write a collection as JSON Lines (a header, then one person a line); returns people written.

    Args:
        passphrase: seal the export (encrypted and authenticated); None: plain JSON Lines.

    Raises:
        NotFoundError: no such collection.
        InvalidArgumentError: an empty passphrase, or too much for one sealed export.
    """
    if passphrase is not None:
        if not passphrase:
            raise InvalidArgumentError("an export passphrase must not be empty")
        plain = io.StringIO()
        count = export_collection(gallery, collection, plain)
        out.write(seal_export(plain.getvalue(), passphrase))
        return count
    coll = gallery.store.get_collection(collection)
    header = {"faceplane_export": 1, "collection": coll.name, "model": gallery.store.embedding_model}
    out.write(json.dumps(header) + "\n")
    count = 0
    offset = 0
    while batch := gallery.store.list_people(collection, limit=500, offset=offset):
        offset += len(batch)
        for person in batch:
            templates, emb = gallery.store.embeddings_of(person.id)
            record = {
                "display_name": person.display_name,
                "external_id": person.external_id,
                "metadata": person.metadata,
                "consent": dataclasses.asdict(person.consent) if person.consent else None,
                "expires_at": person.expires_at,
                "templates": [
                    {"embedding": [float(v) for v in e], "quality": t.quality, "image_sha256": t.image_sha256}
                    for t, e in zip(templates, emb, strict=True)
                ],
            }
            out.write(json.dumps(record) + "\n")
            count += 1
    return count


def _check_model(exported: object, model: str) -> bool:
    """Refuse an export of another model than the gallery's (``model``); True for a legacy raw dlib one."""
    if exported in (_LEGACY_EXPORT_MODEL, LEGACY_MODEL):
        if model == "dlib@2":
            return True
        raise InvalidArgumentError(
            f"this export holds raw dlib descriptors (made before galleries recorded their model) and this "
            f"gallery holds {model} embeddings: import it into a dlib gallery (embedder 'dlib'), or re-enroll "
            "these people from their photos"
        )
    if exported != model:
        raise InvalidArgumentError(
            f"export made with model {exported!r} and this gallery holds {model} embeddings: import it into a "
            "gallery of that model, or re-enroll these people from their photos"
        )
    return False


def _embeddings(templates: list[dict[str, object]], dim: int, *, legacy: bool) -> npt.NDArray[np.float32]:
    """(N, dim) float32 embeddings of one record's templates; a legacy export's scaled to unit length.

    Raises:
        ValueError: an embedding of another length (another model's), or not finite.
    """
    rows = [np.asarray(t["embedding"], np.float32) for t in templates]
    if any(row.shape != (dim,) for row in rows):
        got = next(row.shape for row in rows if row.shape != (dim,))
        raise ValueError(f"each embedding must be {dim} floats (the gallery's model), got shape {got}")
    emb = np.stack(rows) if rows else np.zeros((0, dim), np.float32)
    if not np.isfinite(emb).all():
        raise ValueError("embeddings must be finite")
    return normalize(emb) if legacy else emb


def _plain_lines(lines: Iterable[str], passphrase: str | None) -> Iterator[str]:
    """The lines of the plain export: ``lines`` as they are, or the checked contents of a sealed export."""
    it = iter(lines)
    first = next(it, "")
    if is_sealed_export(first):
        if passphrase is None:
            raise InvalidArgumentError("this export is sealed (encrypted): its passphrase is needed to import it")
        return iter(open_export(first, "".join(it), passphrase).splitlines())
    if passphrase is not None:
        raise InvalidArgumentError(
            "this export is not sealed, so nothing proves it is intact or where it came from; "
            "import it without a passphrase to accept it anyway"
        )
    return itertools.chain([first], it)


def import_collection(
    gallery: Transferable, collection: str, lines: Iterable[str], *, passphrase: str | None = None
) -> int:
    """Read an export into ``collection`` (created if missing); returns people imported.

    Args:
        passphrase: the passphrase of a sealed export; it is opened and checked whole before anything
            is imported. None: the file must be a plain export.

    Raises:
        InvalidArgumentError: not a faceplane export, an export of another model than the gallery's, or
            a malformed line (nothing after it is read); a sealed export without a passphrase, with a
            wrong one, or modified; a plain one with a passphrase.
    """
    it = _plain_lines(lines, passphrase)
    try:
        header = json.loads(next(it))
    except (StopIteration, ValueError):
        raise InvalidArgumentError("not a faceplane export: the first line must be its JSON header") from None
    if not isinstance(header, dict) or header.get("faceplane_export") != 1:
        raise InvalidArgumentError("not a faceplane export (missing 'faceplane_export': 1 header)")
    legacy = _check_model(header.get("model"), gallery.store.embedding_model)
    dim = gallery.store.embedding_dim
    if collection not in {c.name for c in gallery.store.list_collections()}:
        gallery.store.create_collection(collection)
    count = 0
    for lineno, line in enumerate(it, start=2):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            emb = _embeddings(rec["templates"], dim, legacy=legacy)
            consent = Consent(**rec["consent"]) if rec.get("consent") else None
            existing = (
                gallery.store.find_person(collection, external_id=rec["external_id"])
                if rec.get("external_id")
                else None
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidArgumentError(f"line {lineno}: malformed person record ({exc})") from None
        gallery.enroll_embeddings(
            collection,
            emb,
            name=rec["display_name"],
            external_id=rec.get("external_id"),
            person_id=existing.id if existing else None,
            metadata=rec.get("metadata") or {},
            consent=consent,
            qualities=[float("nan") if t.get("quality") is None else t["quality"] for t in rec["templates"]],
            expires_at=rec.get("expires_at"),  # an export/import cycle must not escape retention
        )
        count += 1
    return count
