"""Edit people in place: a person's details, which person a face template belongs to, two people made one.

Every edit is one transaction of the :class:`~faceplane.gallery.store.SqliteStore`, the source of truth: a
refused edit (a taken external id, an unknown id, people of two collections) changes nothing, and a process
killed midway leaves all of it or none of it. The vector index needs no change for any of them: it maps
template ids to embeddings, a template keeps its id and embedding when it changes owner, and every search
maps ids to people through the store (:meth:`~faceplane.gallery.store.SqliteStore.owners`), so the first
search after the commit names the new owner whatever the backend (exact, FAISS, Milvus). The index's
generation marker is brought up to date as after any other change.

A merge is remembered in the store's ``person_merges`` table (merged id -> kept id and the time: ids only),
in the merge's own transaction, so what other stores hold under the merged id (events, liveness evidence
found through the audit log) can still be re-pointed or erased with the kept person, even after a crash
between the two. The table only names people that exist: merging the kept person in turn re-points its
rows, and erasing it deletes them (``ON DELETE CASCADE``).

Example:
    >>> editor = GalleryEditor(gallery)                                     # doctest: +SKIP
    >>> editor.update_person(7, PersonChanges(display_name="Ada Lovelace"))  # doctest: +SKIP
    >>> editor.move_template(31, person_id=9)                                # doctest: +SKIP
    >>> editor.merge_people(keep_id=7, merge_id=9)                           # doctest: +SKIP
"""

from __future__ import annotations

import enum
import json
import math
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any, Final, Literal, cast

from ..errors import InvalidArgumentError, NotFoundError
from .records import Consent, Person

if TYPE_CHECKING:
    from .gallery import Gallery

__all__ = ["KEEP", "GalleryEditor", "Merge", "PersonChanges"]


class _Keep(enum.Enum):
    KEEP = "keep"


#: A field of :class:`PersonChanges` left as it is (``None`` clears an optional field instead).
KEEP: Final = _Keep.KEEP
_Kept = Literal[_Keep.KEEP]

# The longest text each field takes: the enrollment form's limits (server/routes/gallery.py), so an edit
# cannot store what enrollment would refuse.
TEXT_LIMITS: Final = {
    "display_name": 200,
    "external_id": 200,
    "consent_basis": 100,
    "consent_source": 200,
    "consent_date": 40,
    "purpose": 500,
}
METADATA_MAX_BYTES: Final = 16_384  # a person's metadata as JSON: labels and ids, not documents


@dataclass(frozen=True)
class PersonChanges:
    """New values for some of a person's fields; :data:`KEEP` (the default) leaves a field as it is.

    Text is stripped; an empty optional text is stored as NULL, as is ``None``. ``metadata`` replaces the
    whole object. ``expires_at`` is Unix seconds (``None``: no expiry).
    """

    display_name: str | _Kept = KEEP
    external_id: str | _Kept | None = KEEP
    metadata: Mapping[str, Any] | _Kept = KEEP
    consent_basis: str | _Kept | None = KEEP
    consent_source: str | _Kept | None = KEEP
    consent_date: str | _Kept | None = KEEP
    purpose: str | _Kept | None = KEEP
    expires_at: float | _Kept | None = KEEP

    def changed(self) -> list[str]:
        """Names of the fields this change sets, in declaration order."""
        return [f.name for f in fields(self) if getattr(self, f.name) is not KEEP]

    def columns(self) -> dict[str, object]:
        """The ``people`` columns to set and their stored values, checked.

        Raises:
            InvalidArgumentError: an empty display name, text over its limit, metadata that is not a JSON
                object or is too large, an expiry that is not a finite time.
        """
        out: dict[str, object] = {}
        for name in self.changed():
            value = getattr(self, name)
            if name == "metadata":
                out[name] = _metadata_json(value)
            elif name == "expires_at":
                if value is not None and not math.isfinite(float(value)):
                    raise InvalidArgumentError(f"expires_at must be a finite Unix time, got {value!r}")
                out[name] = None if value is None else float(value)
            else:
                out[name] = _text(name, value)
        if out.get("display_name", "") is None:
            raise InvalidArgumentError("a person needs a non-empty display name")
        return out

    def applied_to(self, person: Person) -> Person:
        """The person as this change would leave them, to check a policy before anything is written."""
        values = self.columns()

        def pick(name: str, current: object) -> object:
            return values.get(name, current)

        old = person.consent
        basis, source, date, purpose = (
            pick(name, (getattr(old, attr) or None) if old else None)
            for name, attr in (
                ("consent_basis", "basis"),
                ("consent_source", "source"),
                ("consent_date", "date"),
                ("purpose", "purpose"),
            )
        )
        consent = None
        if basis or purpose:  # as the store reads a person back
            consent = Consent(str(basis or ""), str(source or ""), str(date or ""), str(purpose or ""))
        external_id, expires_at = pick("external_id", person.external_id), pick("expires_at", person.expires_at)
        return replace(
            person,
            display_name=str(pick("display_name", person.display_name)),
            external_id=None if external_id is None else str(external_id),
            metadata=json.loads(str(values["metadata"])) if "metadata" in values else person.metadata,
            consent=consent,
            expires_at=None if expires_at is None else float(cast(float, expires_at)),
        )


def _text(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{name} must be text, got {type(value).__name__}")
    stripped = value.strip()
    if len(stripped) > TEXT_LIMITS[name]:
        raise InvalidArgumentError(f"{name} is at most {TEXT_LIMITS[name]} characters, got {len(stripped)}")
    return stripped or None


def _metadata_json(value: Mapping[str, Any]) -> str:
    if not isinstance(value, Mapping):
        raise InvalidArgumentError(f"metadata must be a JSON object, got {type(value).__name__}")
    try:
        text = json.dumps(dict(value), allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(f"metadata must be JSON-serialisable: {exc}") from None
    if len(text.encode()) > METADATA_MAX_BYTES:
        raise InvalidArgumentError(f"metadata is at most {METADATA_MAX_BYTES} bytes as JSON, got {len(text.encode())}")
    return text


@dataclass(frozen=True)
class Merge:
    """What :meth:`GalleryEditor.merge_people` did: the templates that moved to the kept person."""

    kept_id: int
    merged_id: int
    template_ids: list[int]


def _person_references(db: sqlite3.Connection) -> list[tuple[str, str]]:
    """``(table, column)`` of every foreign key to ``people(id)`` in the store: what a merge re-points, found in
    the schema so that a table added later (e.g. "not this person" corrections) follows without a change here."""
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    found = []
    for table in tables:
        for fk in db.execute(f"PRAGMA foreign_key_list({table})").fetchall():
            if fk[2] == "people" and fk[4] in (None, "id"):  # (id, seq, table, from, to, ...)
                found.append((str(table), str(fk[3])))
    return found


def _merge_rows(db: sqlite3.Connection, keep: int, merge: int) -> list[int]:
    """The rows of a merge, inside its transaction; returns the ids of the templates that moved."""
    sql = "SELECT p.id, c.name FROM people p JOIN collections c ON p.collection_id = c.id WHERE p.id IN (?, ?)"
    where = {int(r[0]): str(r[1]) for r in db.execute(sql, (keep, merge))}
    for pid in (keep, merge):
        if pid not in where:
            raise NotFoundError(f"no person with id {pid}")
    if where[keep] != where[merge]:
        raise InvalidArgumentError(
            f"person {merge} is in {where[merge]!r} and person {keep} in {where[keep]!r}: only people of one "
            "collection can be merged (move single templates across collections instead)"
        )
    moved = [int(r[0]) for r in db.execute("SELECT id FROM templates WHERE person_id = ? ORDER BY id", (merge,))]
    for table, column in _person_references(db):  # templates, earlier merges, corrections...
        db.execute(f"UPDATE {table} SET {column} = ? WHERE {column} = ?", (keep, merge))
    db.execute("INSERT INTO person_merges (merged_id, kept_id, merged_at) VALUES (?, ?, ?)", (merge, keep, time.time()))
    db.execute("DELETE FROM people WHERE id = ?", (merge,))
    return moved


class GalleryEditor:
    """Edits of people and templates in one gallery's store (see the module docstring).

    Args:
        gallery: the gallery whose store is edited and whose index marker is kept current.
    """

    def __init__(self, gallery: Gallery) -> None:
        self.gallery = gallery
        self.store = gallery.store

    def update_person(self, person_id: int, changes: PersonChanges) -> Person:
        """Set some of a person's fields in one transaction; returns the person as stored.

        Raises:
            NotFoundError: no person with that id.
            InvalidArgumentError: nothing to change, a value :meth:`PersonChanges.columns` refuses, or an
                external id another person of the collection has.
        """
        values = changes.columns()
        if not values:
            raise InvalidArgumentError("nothing to change: give at least one field")
        sets = ", ".join(f"{column} = ?" for column in values)  # column names from PersonChanges, never input
        try:
            with self.store.transaction() as db:
                cur = db.execute(f"UPDATE people SET {sets} WHERE id = ?", [*values.values(), int(person_id)])
                if cur.rowcount == 0:
                    raise NotFoundError(f"no person with id {person_id}")
        except sqlite3.IntegrityError:
            raise InvalidArgumentError(
                f"external id {values.get('external_id')!r} is already used by another person of this collection"
            ) from None
        return self.store.get_person(person_id)

    def move_template(self, template_id: int, person_id: int) -> int:
        """Give one face template to another person (of any collection); returns its previous owner's id.

        Raises:
            NotFoundError: no template or no person with that id.
            InvalidArgumentError: the template already belongs to that person.
        """
        with self.store.transaction() as db:
            row = db.execute("SELECT person_id FROM templates WHERE id = ?", (int(template_id),)).fetchone()
            if row is None:
                raise NotFoundError(f"no template with id {template_id}")
            if db.execute("SELECT 1 FROM people WHERE id = ?", (int(person_id),)).fetchone() is None:
                raise NotFoundError(f"no person with id {person_id}")
            previous = int(row[0])
            if previous == int(person_id):
                raise InvalidArgumentError(f"template {template_id} already belongs to person {person_id}")
            db.execute("UPDATE templates SET person_id = ? WHERE id = ?", (int(person_id), int(template_id)))
        self.gallery._after_index_change()  # package-internal: the index marker follows the store's generation
        return previous

    def merge_people(self, keep_id: int, merge_id: int) -> Merge:
        """Make two people of one collection one: every row naming ``merge_id`` through a foreign key (its
        templates, earlier merges into it, its "not this person" corrections) is given to ``keep_id``, then
        ``merge_id`` is deleted and the merge recorded, all in one transaction. The kept person's own fields
        (name, external id, consent, expiry) stay as they are.

        Raises:
            NotFoundError: either person does not exist.
            InvalidArgumentError: the same person twice, or people of two collections (a template can be
                moved across collections, a whole person cannot: their consent and expiry differ).
        """
        keep, merge = int(keep_id), int(merge_id)
        if keep == merge:
            raise InvalidArgumentError(f"cannot merge person {keep} with themselves")
        try:
            with self.store.transaction() as db:
                moved = _merge_rows(db, keep, merge)
        except sqlite3.IntegrityError as exc:  # a table whose rows of the two people may not be one person's
            raise InvalidArgumentError(f"people {keep} and {merge} cannot be merged: {exc}") from None
        self.gallery._after_index_change()
        return Merge(kept_id=keep, merged_id=merge, template_ids=moved)

    def merged_into(self, person_id: int) -> list[int]:
        """Ids of the people merged into this one, directly or through a chain of merges."""
        with self.store.transaction(bump=False) as db:
            rows = db.execute(
                "SELECT merged_id FROM person_merges WHERE kept_id = ? ORDER BY merged_id", (int(person_id),)
            )
            return [int(r[0]) for r in rows]

    def merges(self) -> list[tuple[int, int]]:
        """Every recorded merge as ``(merged id, kept id)``, oldest first."""
        with self.store.transaction(bump=False) as db:
            rows = db.execute("SELECT merged_id, kept_id FROM person_merges ORDER BY merged_at, merged_id")
            return [(int(m), int(k)) for m, k in rows]
