"""The tables of a gallery store, how an older file is brought up to date, and how rows become records.

One SQLite file holds collections -> people -> face templates, the unknown faces cameras keep, "not this
person" corrections (:mod:`.negatives`), per-collection thresholds (:mod:`.thresholds`) and merges
(:mod:`.editing`). :func:`create_tables` runs when a store opens, inside its first transaction: it creates
what is missing and adds the columns later versions introduced (each is added once, to files made before
it), so any older file opens. :func:`add_unknown_listing` runs after the ids upgrade (see
:mod:`faceplane._sqlite_ids`), which rebuilds the tables. The row readers turn query rows into the
:mod:`.records` types; :func:`embeddings_of_blobs` decodes stored vectors (little-endian float32).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import fields

import numpy as np
import numpy.typing as npt

from ..models.catalog import LEGACY_MODEL, embedding_dim
from .records import Collection, Consent, Person, Template

__all__ = [
    "ID_TABLES",
    "SCHEMA_VERSION",
    "add_unknown_listing",
    "collection_of",
    "create_tables",
    "embeddings_of_blobs",
    "person_of",
    "template_of",
]

SCHEMA_VERSION = 1
ID_TABLES = ("collections", "people", "templates", "unknown_faces", "negatives")  # ids never reused: AUTOINCREMENT
_TABLES = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS collections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS people (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    display_name TEXT NOT NULL,
    external_id TEXT,
    metadata TEXT NOT NULL DEFAULT '{}',
    consent_basis TEXT, consent_source TEXT, consent_date TEXT,
    expires_at REAL,
    created_at REAL NOT NULL,
    UNIQUE (collection_id, external_id)
);
CREATE TABLE IF NOT EXISTS templates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    embedding BLOB NOT NULL,
    quality REAL,  -- NULL: unknown (embeddings enrolled without a photo)
    image_sha256 TEXT,
    thumbnail BLOB,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS templates_person ON templates(person_id);
CREATE TABLE IF NOT EXISTS unknown_faces (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    embedding BLOB NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    seen_at REAL NOT NULL,
    thumbnail BLOB,
    cluster_id INTEGER
);
CREATE INDEX IF NOT EXISTS people_collection ON people(collection_id);
-- "not this person" corrections (gallery/negatives.py): faces that are NOT person_id, encrypted like templates
CREATE TABLE IF NOT EXISTS negatives (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    embedding BLOB NOT NULL,
    embedding_next BLOB,
    thumbnail BLOB,
    template_id INTEGER,
    distance REAL,
    source TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS negatives_person ON negatives(person_id);
-- per-collection match thresholds (gallery/thresholds.py): a target FPIR or an explicit distance
CREATE TABLE IF NOT EXISTS collection_thresholds (
    collection_id INTEGER PRIMARY KEY REFERENCES collections(id) ON DELETE CASCADE,
    fpir REAL,
    distance REAL,
    source TEXT NOT NULL,
    updated_at REAL NOT NULL
);
-- who was merged into whom (gallery/editing.py), ids only: kept_id always names a person that exists
CREATE TABLE IF NOT EXISTS person_merges (
    merged_id INTEGER PRIMARY KEY,
    kept_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    merged_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS person_merges_kept ON person_merges(kept_id);
"""


def create_tables(db: sqlite3.Connection, model: str) -> None:
    """Create the missing tables and meta values, and add the columns files made before them lack.

    Args:
        db: the store's connection, inside a transaction (statement by statement: ``executescript()`` would
            commit in the middle of it).
        model: the embedding model (``name@version``) a new store is made for.
    """
    for statement in filter(None, (s.strip() for s in _TABLES.split(";"))):
        db.execute(statement)
    db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
    db.execute("INSERT OR IGNORE INTO meta VALUES ('generation', '0')")
    # the largest unknown-face cluster id ever issued (see issue_cluster_ids); older stores: the largest held
    db.execute(
        "INSERT OR IGNORE INTO meta VALUES ('cluster_seq', (SELECT COALESCE(MAX(cluster_id), 0) FROM unknown_faces))"
    )
    if "purpose" not in _columns(db, "people"):
        db.execute("ALTER TABLE people ADD COLUMN purpose TEXT")  # galleries made before watchlist reasons
    _add_model_columns(db, model)


def _columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {r[1] for r in db.execute(f"PRAGMA table_info({table})")}


def _add_model_columns(db: sqlite3.Connection, model: str) -> None:
    """Record the embedding model: per store (meta) and per template; columns for a migration."""
    embedding_dim(model)  # an unknown model fails before anything is written
    if "model" not in _columns(db, "templates"):  # galleries made before models were recorded: raw dlib descriptors
        db.execute(f"ALTER TABLE templates ADD COLUMN model TEXT NOT NULL DEFAULT '{LEGACY_MODEL}'")
    for table in ("templates", "unknown_faces"):
        if "embedding_next" not in _columns(db, table):
            db.execute(f"ALTER TABLE {table} ADD COLUMN embedding_next BLOB")  # gallery migrate
    if db.execute("SELECT 1 FROM meta WHERE key = 'embedding_model'").fetchone() is None:
        used = db.execute("SELECT 1 FROM templates UNION ALL SELECT 1 FROM unknown_faces LIMIT 1").fetchone()
        db.execute("INSERT INTO meta VALUES ('embedding_model', ?)", (LEGACY_MODEL if used else model,))


def add_unknown_listing(db: sqlite3.Connection) -> None:
    """What the unknown-face library lists by (:mod:`~faceplane.gallery.unknown`): each face's quality (best
    shots first) and indexes on cluster and time; added after the ids upgrade, which rebuilds the table."""
    if "quality" not in _columns(db, "unknown_faces"):
        db.execute("ALTER TABLE unknown_faces ADD COLUMN quality REAL")
    db.execute("CREATE INDEX IF NOT EXISTS unknown_faces_cluster ON unknown_faces(cluster_id)")
    db.execute("CREATE INDEX IF NOT EXISTS unknown_faces_seen ON unknown_faces(seen_at)")


def embeddings_of_blobs(blobs: Iterable[bytes], dim: int) -> npt.NDArray[np.float32]:
    """(N, dim) float32 from stored little-endian float32 blobs."""
    return np.frombuffer(b"".join(blobs), dtype="<f4").reshape(-1, dim).astype(np.float32)


def collection_of(row: sqlite3.Row) -> Collection:
    """A collection from its row (``c.*``) with its ``people`` and ``templates`` counts."""
    return Collection(**{f.name: row[f.name] for f in fields(Collection)})


def template_of(row: sqlite3.Row) -> Template:
    """A template from a row with its columns (the embedding itself is not part of it)."""
    return Template(**{f.name: row[f.name] for f in fields(Template)})


def person_of(row: sqlite3.Row) -> Person:
    """A person from a row of ``people`` with its ``collection`` name and ``templates`` count."""
    consent = None
    if row["consent_basis"] or row["purpose"]:
        consent = Consent(
            basis=row["consent_basis"] or "",
            source=row["consent_source"] or "",
            date=row["consent_date"] or "",
            purpose=row["purpose"] or "",
        )
    return Person(
        id=row["id"],
        collection=row["collection"],
        display_name=row["display_name"],
        external_id=row["external_id"],
        metadata=json.loads(row["metadata"]),
        consent=consent,
        expires_at=row["expires_at"],
        created_at=row["created_at"],
        templates=row["templates"],
    )
