"""Export a collection to JSON Lines and import it back (embeddings and records, no photos).

Format: a header line ``{"faceplane_export": 1, "collection": ..., "model": "dlib_resnet_v1"}``, then one
person a line with ``display_name``, ``external_id``, ``metadata``, ``consent``, ``expires_at`` and
``templates`` (``embedding``: 128 floats, ``quality``, ``image_sha256``). Imports refuse embeddings of
another model, and a person with a known ``external_id`` gets the templates added, not a duplicate.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, TextIO

import numpy as np

from ..errors import InvalidArgumentError
from .records import Consent

if TYPE_CHECKING:
    from .gallery import Gallery

__all__ = ["export_collection", "import_collection"]


def export_collection(gallery: Gallery, collection: str, out: TextIO) -> int:
    """Write a collection as JSON Lines (a header, then one person a line); returns people written."""
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


def import_collection(gallery: Gallery, collection: str, lines: Iterable[str]) -> int:
    """Read an export into ``collection`` (created if missing); returns people imported.

    Raises:
        InvalidArgumentError: not a faceplane export, or a malformed line (nothing after it is read).
    """
    it = iter(lines)
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
        )
        count += 1
    return count
