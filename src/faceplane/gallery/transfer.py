"""Export a collection to JSON Lines and import it back (embeddings and records, no photos).

Format: a header line ``{"faceplane_export": 1, "collection": ..., "model": "dlib_resnet_v1"}``, then one
person a line with ``display_name``, ``external_id``, ``metadata``, ``consent``, ``expires_at`` and
``templates`` (``embedding``: 128 floats, ``quality``, ``image_sha256``). Imports refuse embeddings of
another model, and a person with a known ``external_id`` gets the templates added, not a duplicate.

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
from typing import TYPE_CHECKING, TextIO

import numpy as np

from ..errors import InvalidArgumentError
from .crypto import is_sealed_export, open_export, seal_export
from .records import Consent

if TYPE_CHECKING:
    from .gallery import Gallery

__all__ = ["export_collection", "import_collection"]


def export_collection(gallery: Gallery, collection: str, out: TextIO, *, passphrase: str | None = None) -> int:
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
    out.write(json.dumps({"faceplane_export": 1, "collection": coll.name, "model": "dlib_resnet_v1"}) + "\n")
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


def import_collection(gallery: Gallery, collection: str, lines: Iterable[str], *, passphrase: str | None = None) -> int:
    """Read an export into ``collection`` (created if missing); returns people imported.

    Args:
        passphrase: the passphrase of a sealed export; it is opened and checked whole before anything
            is imported. None: the file must be a plain export.

    Raises:
        InvalidArgumentError: not a faceplane export, or a malformed line (nothing after it is read); a
            sealed export without a passphrase, with a wrong one, or modified; a plain one with a passphrase.
    """
    it = _plain_lines(lines, passphrase)
    try:
        header = json.loads(next(it))
    except (StopIteration, ValueError):
        raise InvalidArgumentError("not a faceplane export: the first line must be its JSON header") from None
    if not isinstance(header, dict) or header.get("faceplane_export") != 1:
        raise InvalidArgumentError("not a faceplane export (missing 'faceplane_export': 1 header)")
    if header.get("model") != "dlib_resnet_v1":
        raise InvalidArgumentError(f"export made with model {header.get('model')!r}; this gallery uses dlib_resnet_v1")
    if collection not in {c.name for c in gallery.store.list_collections()}:
        gallery.store.create_collection(collection)
    count = 0
    for lineno, line in enumerate(it, start=2):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            emb = np.asarray([t["embedding"] for t in rec["templates"]], np.float32).reshape(-1, 128)
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
