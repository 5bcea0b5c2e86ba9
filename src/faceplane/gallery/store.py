"""The identity store: collections -> people -> face templates, in one SQLite file.

The store is the source of truth; vector indexes are rebuilt from it. Every change bumps a
``generation`` counter in the same transaction, so a persisted index that was saved at another
generation is known to be stale and is rebuilt (see :class:`~faceplane.gallery.gallery.Gallery`).
SQLite runs in WAL mode with foreign keys on: deleting a collection or a person deletes their
templates in the same transaction, and a process killed mid-write leaves either the whole change
or none of it. Ids are ``AUTOINCREMENT``: an erased person's, template's or face's id is never given to
another (stores made before are upgraded on open, see :mod:`faceplane._sqlite_ids`).

Template protection: opened with a ``key``, the store encrypts every embedding and thumbnail of
templates and unknown faces (AES-256-GCM, the row bound as associated data; see
:mod:`faceplane.gallery.protection`) and keeps a key-check value in ``meta``. An encrypted store
opened without its key, or with another key, refuses to open. A clear store opened with a key is
encrypted in place, once, in one transaction (then VACUUMed, so no plaintext stays in free
pages); there is no way back short of an export and an import into a clear gallery.

The tables and their upgrades are in :mod:`.schema`, the connection and its transactions in
:mod:`.database`; this module is what the rest of faceplane asks of them.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .._sqlite_ids import next_id, upgrade_to_autoincrement
from ..errors import InvalidArgumentError, NotFoundError
from ..models.catalog import embedding_dim
from .crypto import TemplateCipher
from .database import Database
from .protection import reveal, seal, unlock
from .records import Collection, Consent, Person, Template
from .schema import (
    ID_TABLES,
    SCHEMA_VERSION,
    add_unknown_listing,
    collection_of,
    create_tables,
    embeddings_of_blobs,
    person_of,
    template_of,
)

__all__ = ["SqliteStore"]


class SqliteStore:
    """Collections, people and templates in one SQLite database file.

    Args:
        path: the database file (created with its folder), or ``":memory:"``.
        key: 32 bytes: encrypt embeddings and thumbnails at rest (a clear store with data is
            encrypted now, once). None: a clear store; an encrypted one refuses to open.
        model: the embedding model (``name@version``) a new store is made for. An existing store keeps
            the model it was made with (:attr:`embedding_model`; galleries made before models were
            recorded hold raw dlib descriptors, ``"dlib@1"``); the gallery refuses to mix them.

    Raises:
        InvalidArgumentError: another schema version; an encrypted store and no key or the wrong key.

    Example:
        >>> store = SqliteStore(":memory:")
        >>> staff = store.create_collection("staff")
        >>> store.add_person("staff", "Ada").display_name
        'Ada'
    """

    def __init__(self, path: str | Path, *, key: bytes | None = None, model: str = "mobilefacenet@1") -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._database = Database(self.path)
        # the connection and its lock, for the gallery modules that run their own SQL (negatives, migrate, ...)
        self._db, self._lock = self._database.db, self._database.lock
        with self._tx(bump=False) as db:  # opening changes no data: a saved index stays current
            create_tables(db, model)
        found = int(self._meta("schema_version"))
        if found != SCHEMA_VERSION:
            raise InvalidArgumentError(f"{self.path}: schema version {found}, this faceplane reads {SCHEMA_VERSION}")
        self._cipher: TemplateCipher | None = None
        try:
            self._cipher = unlock(self._database, key)
            with self._lock:  # stores made before ids were never reused: their tables are rebuilt, once
                upgrade_to_autoincrement(self._db, ID_TABLES)
            with self._tx(bump=False) as db:
                add_unknown_listing(db)
        except BaseException:
            self._db.close()
            raise

    @property
    def embedding_model(self) -> str:
        """``name@version`` of the embedding model every template of this store was made with."""
        return self._meta("embedding_model")

    @property
    def embedding_dim(self) -> int:
        """Length of this store's embeddings."""
        return embedding_dim(self.embedding_model)

    # -- plumbing ----------------------------------------------------------------------------------

    def _tx(self, *, bump: bool = True) -> AbstractContextManager[sqlite3.Connection]:
        """One write transaction; bumps the generation counter when it commits (unless ``bump`` is False)."""
        return self._database.transaction(bump=bump)

    def transaction(self, *, bump: bool = True) -> AbstractContextManager[sqlite3.Connection]:
        """One write transaction for other modules of the gallery package (:mod:`~faceplane.gallery.editing`):
        an error inside it rolls everything back; it bumps the generation when it commits unless ``bump`` is
        False (a read, or a change no index or cached threshold depends on)."""
        return self._database.transaction(bump=bump)

    def _meta(self, key: str) -> str:
        return self._database.meta(key)

    @property
    def generation(self) -> int:
        """Increases with every committed change."""
        return int(self._meta("generation"))

    def close(self) -> None:
        self._database.close()

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        return self._database.query(sql, args)

    @property
    def encrypted(self) -> bool:
        """Whether embeddings and thumbnails are encrypted at rest (the store was opened with its key)."""
        return self._cipher is not None

    # -- collections -------------------------------------------------------------------------------

    def create_collection(self, name: str, *, description: str = "") -> Collection:
        """Create a collection. Raises InvalidArgumentError if the name is empty or taken."""
        name = name.strip()
        if not name or len(name) > 200:
            raise InvalidArgumentError(f"a collection name must be 1-200 characters, got {name!r}")
        try:
            with self._tx() as db:
                db.execute(
                    "INSERT INTO collections (name, description, created_at) VALUES (?, ?, ?)",
                    (name, description, time.time()),
                )
        except sqlite3.IntegrityError:
            raise InvalidArgumentError(f"collection {name!r} already exists") from None
        return self.get_collection(name)

    def get_collection(self, name: str) -> Collection:
        rows = self._query(
            "SELECT c.*, (SELECT COUNT(*) FROM people p WHERE p.collection_id = c.id) AS people, "
            "(SELECT COUNT(*) FROM templates t JOIN people p ON t.person_id = p.id WHERE p.collection_id = c.id) "
            "AS templates FROM collections c WHERE c.name = ?",
            (name,),
        )
        if not rows:
            raise NotFoundError(f"no collection named {name!r}")
        return collection_of(rows[0])

    def collection_id(self, name: str) -> int:
        """The id of a collection, without counting its people and templates as :meth:`get_collection` does.

        Raises:
            NotFoundError: no collection with that name.
        """
        rows = self._query("SELECT id FROM collections WHERE name = ?", (name,))
        if not rows:
            raise NotFoundError(f"no collection named {name!r}")
        return int(rows[0][0])

    def count_people(self, collections: Sequence[str] | None = None) -> int:
        """People in these collections (default: all), without counting their templates."""
        if not collections:
            return int(self._query("SELECT COUNT(*) FROM people")[0][0])
        names = sorted(set(collections))
        sql = "SELECT COUNT(*) FROM people p JOIN collections c ON p.collection_id = c.id WHERE c.name IN ({})"
        return int(self._query(sql.format(",".join("?" * len(names))), names)[0][0])

    def list_collections(self) -> list[Collection]:
        names = [r["name"] for r in self._query("SELECT name FROM collections ORDER BY name")]
        return [self.get_collection(n) for n in names]

    def delete_collection(self, name: str) -> list[int]:
        """Delete a collection with its people and templates; returns the deleted template ids."""
        with self._tx() as db:
            row = db.execute("SELECT id FROM collections WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise NotFoundError(f"no collection named {name!r}")
            ids = [
                r[0]
                for r in db.execute(
                    "SELECT t.id FROM templates t JOIN people p ON t.person_id = p.id WHERE p.collection_id = ?",
                    (row[0],),
                )
            ]
            db.execute("DELETE FROM collections WHERE id = ?", (row[0],))
        return ids

    # -- people ------------------------------------------------------------------------------------

    def add_person(
        self,
        collection: str,
        display_name: str,
        *,
        external_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        consent: Consent | None = None,
        expires_at: float | None = None,
    ) -> Person:
        """Add a person to a collection (no templates yet)."""
        if not display_name.strip():
            raise InvalidArgumentError("a person needs a non-empty display name")
        try:
            meta_json = json.dumps(metadata or {})
        except TypeError as exc:
            raise InvalidArgumentError(f"metadata must be JSON-serialisable: {exc}") from None
        collection_id = self.collection_id(collection)
        try:
            with self._tx() as db:
                cur = db.execute(
                    "INSERT INTO people (collection_id, display_name, external_id, metadata, consent_basis, "
                    "consent_source, consent_date, purpose, expires_at, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        collection_id,
                        display_name.strip(),
                        external_id,
                        meta_json,
                        (consent.basis or None) if consent else None,
                        consent.source if consent else None,
                        consent.date if consent else None,
                        (consent.purpose or None) if consent else None,
                        expires_at,
                        time.time(),
                    ),
                )
                person_id = int(cur.lastrowid or 0)
        except sqlite3.IntegrityError:
            raise InvalidArgumentError(
                f"external id {external_id!r} is already used in collection {collection!r}"
            ) from None
        return self.get_person(person_id)

    _PERSON_SQL = (
        "SELECT p.*, c.name AS collection, (SELECT COUNT(*) FROM templates t WHERE t.person_id = p.id) AS templates "
        "FROM people p JOIN collections c ON p.collection_id = c.id "
    )

    def get_person(self, person_id: int) -> Person:
        rows = self._query(self._PERSON_SQL + "WHERE p.id = ?", (int(person_id),))
        if not rows:
            raise NotFoundError(f"no person with id {person_id}")
        return person_of(rows[0])

    def find_person(self, collection: str, *, external_id: str | None = None, name: str | None = None) -> Person | None:
        """The person of a collection with this external id (or else display name), if any."""
        if external_id is not None:
            rows = self._query(self._PERSON_SQL + "WHERE c.name = ? AND p.external_id = ?", (collection, external_id))
        else:
            rows = self._query(
                self._PERSON_SQL + "WHERE c.name = ? AND p.display_name = ? ORDER BY p.id", (collection, name)
            )
        return person_of(rows[0]) if rows else None

    def list_people(self, collection: str, *, limit: int = 1000, offset: int = 0) -> list[Person]:
        self.collection_id(collection)
        rows = self._query(
            self._PERSON_SQL + "WHERE c.name = ? ORDER BY p.id LIMIT ? OFFSET ?", (collection, limit, offset)
        )
        return [person_of(r) for r in rows]

    def delete_person(self, person_id: int) -> list[int]:
        """Delete a person and their templates; returns the deleted template ids."""
        with self._tx() as db:
            if db.execute("SELECT 1 FROM people WHERE id = ?", (int(person_id),)).fetchone() is None:
                raise NotFoundError(f"no person with id {person_id}")
            ids = [r[0] for r in db.execute("SELECT id FROM templates WHERE person_id = ?", (int(person_id),))]
            db.execute("DELETE FROM people WHERE id = ?", (int(person_id),))
        return ids

    # -- templates ---------------------------------------------------------------------------------

    def add_templates(
        self,
        person_id: int,
        embeddings: npt.NDArray[np.float32],
        qualities: Sequence[float],
        image_sha256: Sequence[str | None],
        thumbnails: Sequence[bytes | None] | None = None,
    ) -> list[int]:
        """Store templates of one person in one transaction; returns their ids."""
        emb = np.asarray(embeddings, np.float32)
        dim, model = self.embedding_dim, self.embedding_model
        if emb.ndim != 2 or emb.shape[1] != dim or not np.isfinite(emb).all():
            raise InvalidArgumentError(f"embeddings must be finite (N, {dim}) for {model}, got {emb.shape}")
        thumbs = list(thumbnails) if thumbnails is not None else [None] * len(emb)
        if not (len(qualities) == len(image_sha256) == len(thumbs) == len(emb)):
            raise InvalidArgumentError("embeddings, qualities, hashes and thumbnails must have the same length")
        ids: list[int] = []
        now = time.time()
        with self._tx() as db:
            if db.execute("SELECT 1 FROM people WHERE id = ?", (int(person_id),)).fetchone() is None:
                raise NotFoundError(f"no person with id {person_id}")
            # ids chosen here (as AUTOINCREMENT would) so each encrypted cell is bound to its row id
            tid = next_id(db, "templates") - 1
            for vec, q, sha, thumb in zip(emb, qualities, image_sha256, thumbs, strict=True):
                tid += 1
                db.execute(
                    "INSERT INTO templates (id, person_id, embedding, quality, image_sha256, thumbnail, created_at, "
                    "model) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        tid,
                        int(person_id),
                        seal(self._cipher, "templates/embedding", tid, vec.astype("<f4").tobytes()),
                        None if q != q else float(q),
                        sha,
                        seal(self._cipher, "templates/thumbnail", tid, thumb),
                        now,
                        model,
                    ),
                )
                ids.append(tid)
        return ids

    def delete_templates(self, template_ids: Sequence[int]) -> list[int]:
        """Delete templates by id; returns the ids that existed."""
        ids = [int(i) for i in template_ids]
        with self._tx() as db:
            found = (
                [r[0] for r in db.execute(f"SELECT id FROM templates WHERE id IN ({','.join('?' * len(ids))})", ids)]
                if ids
                else []
            )
            if found:
                db.execute(f"DELETE FROM templates WHERE id IN ({','.join('?' * len(found))})", found)
        return found

    def template_thumbnail(self, template_id: int) -> bytes | None:
        """The JPEG chip kept with a template (None when it was enrolled from an embedding).

        Raises:
            NotFoundError: no template with that id.
        """
        rows = self._query("SELECT thumbnail FROM templates WHERE id = ?", (int(template_id),))
        if not rows:
            raise NotFoundError(f"no template with id {template_id}")
        thumb = rows[0][0]
        return reveal(self._cipher, "templates/thumbnail", template_id, thumb) if thumb is not None else None

    def templates_of(self, person_id: int) -> list[Template]:
        rows = self._query(
            "SELECT id, person_id, quality, image_sha256, created_at FROM templates WHERE person_id = ? ORDER BY id",
            (int(person_id),),
        )
        return [template_of(r) for r in rows]

    def iter_embeddings(
        self, *, batch: int = 50_000
    ) -> Iterator[tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]]:
        """All (template ids, embeddings) in batches, for rebuilding an index."""
        last = 0
        while True:
            rows = self._query("SELECT id, embedding FROM templates WHERE id > ? ORDER BY id LIMIT ?", (last, batch))
            if not rows:
                return
            ids = np.array([r[0] for r in rows], np.int64)
            blobs = (reveal(self._cipher, "templates/embedding", r[0], r[1]) for r in rows)
            emb = embeddings_of_blobs(blobs, self.embedding_dim)
            yield ids, emb.astype(np.float32)
            last = int(ids[-1])

    def owners(self, template_ids: Sequence[int]) -> dict[int, tuple[int, str, str]]:
        """template id -> (person id, collection name, display name), for ids that still exist."""
        ids = sorted({int(i) for i in template_ids if i >= 0})
        out: dict[int, tuple[int, str, str]] = {}
        for start in range(0, len(ids), 900):  # stay under SQLite's bound-parameter limit
            chunk = ids[start : start + 900]
            rows = self._query(
                "SELECT t.id, p.id AS pid, c.name, p.display_name FROM templates t JOIN people p ON t.person_id = p.id "
                f"JOIN collections c ON p.collection_id = c.id WHERE t.id IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            out.update({r[0]: (r[1], r[2], r[3]) for r in rows})
        return out

    def embeddings_of(self, person_id: int) -> tuple[list[Template], npt.NDArray[np.float32]]:
        """A person's templates and their (N, D) embeddings."""
        rows = self._query(
            "SELECT id, person_id, quality, image_sha256, created_at, embedding FROM templates "
            "WHERE person_id = ? ORDER BY id",
            (int(person_id),),
        )
        templates = [template_of(r) for r in rows]
        emb = embeddings_of_blobs(
            (reveal(self._cipher, "templates/embedding", r["id"], r["embedding"]) for r in rows), self.embedding_dim
        )
        return templates, emb.astype(np.float32)

    # -- unknown faces (for clustering) ----------------------------------------------------------------

    def add_unknown(
        self,
        embeddings: npt.NDArray[np.float32],
        sources: Sequence[str],
        thumbnails: Sequence[bytes | None],
        qualities: Sequence[float | None] | None = None,
    ) -> list[int]:
        """Keep faces that matched nobody, for clustering into recurring strangers (``qualities``: 0..1 each)."""
        emb = np.asarray(embeddings, np.float32)
        if emb.ndim != 2 or emb.shape[1] != self.embedding_dim:
            raise InvalidArgumentError(f"embeddings must be (N, {self.embedding_dim}), got shape {emb.shape}")
        quality = list(qualities) if qualities is not None else [None] * len(emb)
        ids: list[int] = []
        now = time.time()
        with self._tx() as db:
            fid = next_id(db, "unknown_faces") - 1  # see add_templates
            for vec, src, thumb, q in zip(emb, sources, thumbnails, quality, strict=True):
                fid += 1
                db.execute(
                    "INSERT INTO unknown_faces (id, embedding, source, seen_at, thumbnail, quality) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        fid,
                        seal(self._cipher, "unknown_faces/embedding", fid, vec.astype("<f4").tobytes()),
                        src,
                        now,
                        seal(self._cipher, "unknown_faces/thumbnail", fid, thumb),
                        None if q is None or q != q else float(q),
                    ),
                )
                ids.append(fid)
        return ids

    def unknown_faces(
        self,
        *,
        cluster_id: int | None = None,
        face_ids: Sequence[int] | None = None,
        after_id: int = 0,
        clustered: bool | None = None,
        limit: int | None = None,
    ) -> tuple[list[sqlite3.Row], npt.NDArray[np.float32]]:
        """Rows (id, source, seen_at, cluster_id) and (N, D) embeddings of unknown faces, by id.

        Args:
            cluster_id: only this cluster's faces. face_ids: only these faces (at most 900).
            after_id: only ids above it. clustered: only faces in a cluster (True) or in none (False).
            limit: the first this many (by id); a negative limit: the last ``-limit`` (the newest).
        """
        clauses, args = ["id > ?"], [int(after_id)]
        if cluster_id is not None:
            clauses.append("cluster_id = ?")
            args.append(int(cluster_id))
        if face_ids is not None:
            ids = sorted({int(f) for f in face_ids})
            if len(ids) > 900:  # SQLite's bound-parameter limit
                raise InvalidArgumentError(f"at most 900 face ids at once, got {len(ids)}")
            clauses.append(f"id IN ({','.join('?' * len(ids))})" if ids else "0")
            args.extend(ids)
        if clustered is not None:
            clauses.append("cluster_id IS NOT NULL" if clustered else "cluster_id IS NULL")
        sql = f"SELECT id, source, seen_at, cluster_id, embedding FROM unknown_faces WHERE {' AND '.join(clauses)}"
        if limit is not None and limit < 0:
            sql = f"SELECT * FROM ({sql} ORDER BY id DESC LIMIT {int(-limit)})"
        sql += " ORDER BY id" + (f" LIMIT {int(limit)}" if limit is not None and limit >= 0 else "")
        rows = self._query(sql, args)
        blobs = (reveal(self._cipher, "unknown_faces/embedding", r["id"], r["embedding"]) for r in rows)
        emb = embeddings_of_blobs(blobs, self.embedding_dim)
        return rows, emb.astype(np.float32)

    def unknown_details(self, face_ids: Sequence[int]) -> dict[int, tuple[float | None, bytes | None]]:
        """face id -> (quality when seen, the JPEG chip kept with it), for the ids that exist (None: not kept)."""
        ids = sorted({int(f) for f in face_ids})
        out: dict[int, tuple[float | None, bytes | None]] = {}
        for start in range(0, len(ids), 900):
            chunk = ids[start : start + 900]
            rows = self._query(
                f"SELECT id, quality, thumbnail FROM unknown_faces WHERE id IN ({','.join('?' * len(chunk))})", chunk
            )
            for r in rows:
                thumb = reveal(self._cipher, "unknown_faces/thumbnail", r[0], r[2]) if r[2] is not None else None
                out[int(r[0])] = (r[1], thumb)
        return out

    def issue_cluster_ids(self, count: int) -> list[int]:
        """``count`` new unknown-face cluster ids, never issued before (a named or dismissed cluster's stays dead)."""
        with self._tx(bump=False) as db:
            last = int(db.execute("SELECT value FROM meta WHERE key = 'cluster_seq'").fetchone()[0])
            db.execute("UPDATE meta SET value = ? WHERE key = 'cluster_seq'", (str(last + max(count, 0)),))
        return list(range(last + 1, last + 1 + max(count, 0)))

    def set_clusters(self, face_ids: Sequence[int], cluster_ids: Sequence[int | None]) -> None:
        with self._tx() as db:
            db.executemany(
                "UPDATE unknown_faces SET cluster_id = ? WHERE id = ?",
                [(c, int(f)) for f, c in zip(face_ids, cluster_ids, strict=True)],
            )

    def delete_unknown(self, face_ids: Sequence[int]) -> None:
        with self._tx() as db:
            db.executemany("DELETE FROM unknown_faces WHERE id = ?", [(int(f),) for f in face_ids])

    def count_templates(self) -> int:
        return int(self._query("SELECT COUNT(*) FROM templates")[0][0])

    def integrity_ok(self) -> bool:
        return self._query("PRAGMA integrity_check")[0][0] == "ok"

    # -- retention and erasure --------------------------------------------------------------------------

    def unknown_seen_before(
        self, cutoff_s: float, *, sources: Sequence[str] | None = None, except_sources: Sequence[str] = ()
    ) -> list[int]:
        """Ids of unknown faces seen before ``cutoff_s`` (Unix s): only from ``sources`` if given, never from
        ``except_sources``."""
        sql = "SELECT id FROM unknown_faces WHERE seen_at < ?"
        args: list[object] = [cutoff_s]
        for values, op in ((sources, "IN"), (except_sources, "NOT IN")):
            if values is None or (op == "NOT IN" and not values):
                continue
            if not values:
                return []
            sql += f" AND source {op} ({', '.join('?' * len(values))})"
            args.extend(values)
        return [int(r[0]) for r in self._query(sql, args)]

    def expired_people(self, now_s: float) -> list[int]:
        """Ids of people whose ``expires_at`` has passed."""
        rows = self._query("SELECT id FROM people WHERE expires_at IS NOT NULL AND expires_at <= ?", (now_s,))
        return [int(r[0]) for r in rows]

    def next_expiry(self) -> float | None:
        """The earliest ``expires_at`` of anyone (Unix s), or None."""
        value = self._query("SELECT MIN(expires_at) FROM people")[0][0]
        return None if value is None else float(value)
