"""Ids of collections, people, templates, unknown faces and clusters are never handed out twice.

SQLite without AUTOINCREMENT gives a new row the largest rowid + 1, so erasing the newest person made the
next one "person 3" again. A store written with the schema faceplane used before (copied below from the
previous ``gallery/store.py``) is upgraded in place when it is opened: rows, ids, indexes, foreign keys and
encrypted cells survive, and from then on no id up to the largest present is reused.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from faceplane.errors import InvalidArgumentError, NotFoundError
from faceplane.gallery.cluster import stable_cluster_ids
from faceplane.gallery.crypto import TemplateCipher
from faceplane.gallery.gallery import Gallery
from faceplane.gallery.store import SqliteStore

DIM = 192  # mobilefacenet@1, a new store's model
KEY = bytes(range(32))
TABLES = ("collections", "people", "templates", "unknown_faces")

# The schema of faceplane before ids were AUTOINCREMENT (git show HEAD~:src/faceplane/gallery/store.py) ...
OLD_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS collections (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS people (
    id INTEGER PRIMARY KEY,
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
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    embedding BLOB NOT NULL,
    quality REAL,  -- NULL: unknown (embeddings enrolled without a photo)
    image_sha256 TEXT,
    thumbnail BLOB,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS templates_person ON templates(person_id);
CREATE TABLE IF NOT EXISTS unknown_faces (
    id INTEGER PRIMARY KEY,
    embedding BLOB NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    seen_at REAL NOT NULL,
    thumbnail BLOB,
    cluster_id INTEGER
);
CREATE INDEX IF NOT EXISTS people_collection ON people(collection_id);
"""
# ... and the columns its SqliteStore added to every store it opened
OLD_COLUMNS = """
ALTER TABLE people ADD COLUMN purpose TEXT;
ALTER TABLE templates ADD COLUMN model TEXT NOT NULL DEFAULT 'dlib@1';
ALTER TABLE templates ADD COLUMN embedding_next BLOB;
ALTER TABLE unknown_faces ADD COLUMN embedding_next BLOB;
"""


def _emb(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)


def _stranger(n: int, seed: int) -> np.ndarray:
    """``n`` faces of one made-up person: close together, ~1.7 from any other seed's."""
    rng = np.random.default_rng(seed)
    centre = rng.normal(size=DIM) * 0.15 * np.sqrt(128 / DIM)
    return (centre + rng.normal(size=(n, DIM)) * 0.01 * np.sqrt(128 / DIM)).astype(np.float32)


def _seal(cipher: TemplateCipher | None, cell: str, row_id: int, value: bytes) -> bytes:
    """A cell as the old store wrote it (encrypted and bound to its row when there is a key)."""
    return value if cipher is None else cipher.seal(value, f"faceplane/{cell}/{row_id}".encode())


def _old_gallery(path: Path, *, key: bytes | None = None) -> dict[str, object]:
    """A gallery file as the previous faceplane left it: staff (Ada 1, Bob 2), visitors (Cy 3).

    Templates 1-5 (3 was deleted: a hole below the largest id), unknown faces 1-3 (1 and 2 in cluster 0).
    """
    cipher = TemplateCipher(key) if key is not None else None
    db = sqlite3.connect(path)
    db.executescript(OLD_SCHEMA + OLD_COLUMNS)
    meta = [("schema_version", "1"), ("generation", "7"), ("embedding_model", "mobilefacenet@1")]
    if cipher is not None:
        meta.append(("template_key_check", cipher.check_value()))
    db.executemany("INSERT INTO meta VALUES (?, ?)", meta)
    db.executemany("INSERT INTO collections (id, name, created_at) VALUES (?, ?, 0)", [(1, "staff"), (2, "visitors")])
    db.executemany(
        "INSERT INTO people (id, collection_id, display_name, external_id, created_at) VALUES (?, ?, ?, ?, 0)",
        [(1, 1, "Ada", "E1"), (2, 1, "Bob", None), (3, 2, "Cy", None)],
    )
    emb = _emb(5)
    db.executemany(
        "INSERT INTO templates (id, person_id, embedding, thumbnail, created_at, model) "
        "VALUES (?, ?, ?, ?, 0, 'mobilefacenet@1')",
        [
            (tid, pid, _seal(cipher, "templates/embedding", tid, emb[tid - 1].tobytes()), None)
            for tid, pid in ((1, 1), (2, 1), (3, 2), (4, 2), (5, 3))
        ],
    )
    db.execute("DELETE FROM templates WHERE id = 3")
    faces = _stranger(3, seed=7)
    db.executemany(
        "INSERT INTO unknown_faces (id, embedding, source, seen_at, cluster_id) VALUES (?, ?, 'door', 0, ?)",
        [(i + 1, _seal(cipher, "unknown_faces/embedding", i + 1, faces[i].tobytes()), c) for i, c in enumerate((0, 0))]
        + [(3, _seal(cipher, "unknown_faces/embedding", 3, _emb(1, 9)[0].tobytes()), None)],
    )
    db.commit()
    db.close()
    return {"templates": {1: emb[0], 2: emb[1], 4: emb[3], 5: emb[4]}, "faces": faces}


def _definitions(path: Path) -> dict[str, str]:
    with sqlite3.connect(path) as db:
        return dict(db.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL").fetchall())


# -- a store made now ------------------------------------------------------------------------------------

_KINDS: dict[str, tuple[Callable[[SqliteStore, int], int], Callable[[SqliteStore, int], object]]] = {
    # kind: (create one -> its id, erase it by id)
    "collection": (
        lambda s, n: s.create_collection(f"c{n}").id,
        lambda s, i: s.delete_collection(next(c.name for c in s.list_collections() if c.id == i)),
    ),
    "person": (lambda s, n: s.add_person("staff", f"P{n}").id, lambda s, i: s.delete_person(i)),
    "template": (
        lambda s, n: s.add_templates(s.find_person("staff", name="Ada").id, _emb(1, n), [1.0], [None])[0],
        lambda s, i: s.delete_templates([i]),
    ),
    "unknown face": (lambda s, n: s.add_unknown(_emb(1, n), ["door"], [None])[0], lambda s, i: s.delete_unknown([i])),
}


@pytest.mark.parametrize("kind", list(_KINDS))
def test_the_newest_id_erased_is_not_handed_out_again(tmp_path: Path, kind: str):
    create, erase = _KINDS[kind]
    store = SqliteStore(tmp_path / "faceplane.db")
    store.add_person(store.create_collection("staff").name, "Ada")
    first, newest = create(store, 1), create(store, 2)
    erase(store, newest)
    assert create(store, 3) == newest + 1  # not newest again
    erase(store, newest + 1)
    store.close()
    store = SqliteStore(tmp_path / "faceplane.db")  # the high-water mark is on disk, not in the process
    assert create(store, 4) == newest + 2 and first < newest
    store.close()


def test_cluster_ids_are_never_reissued_and_stay_while_a_cluster_is_the_same(tmp_path: Path):
    gallery = Gallery(store=SqliteStore(tmp_path / "faceplane.db"))
    gallery.store.add_unknown(_stranger(3, seed=1), ["door"] * 3, [None] * 3)
    gallery.store.add_unknown(_stranger(2, seed=2), ["door"] * 2, [None] * 2)
    first = gallery.cluster_unknown(threshold=0.5)
    assert [c.size for c in first] == [3, 2]
    a, b = (c.id for c in first)
    gallery.store.add_unknown(_stranger(1, seed=2), ["hall"], [None])  # b seen once more
    again = gallery.cluster_unknown(threshold=0.5)
    assert [(c.id, c.size) for c in again] == [(a, 3), (b, 3)]  # same strangers, same ids
    assert gallery.dismiss_cluster(a) == 3
    gallery.store.add_unknown(_stranger(4, seed=3), ["door"] * 4, [None] * 4)  # a new stranger, the largest
    new, kept = gallery.cluster_unknown(threshold=0.5)
    assert kept.id == b and new.id not in (a, b) and new.id > max(a, b)
    with pytest.raises(NotFoundError):
        gallery.name_cluster(a, "staff", "Someone")  # an old listing's id names nobody now
    gallery.close()


@pytest.mark.parametrize(
    ("previous", "labels", "expected"),
    [
        ([4, 4, None], [0, 0, 0], [4]),  # the same stranger seen again keeps its id
        ([4, 4, 5, 5], [0, 0, 1, 1], [4, 5]),
        ([4, 4, 5, 5], [0, 0, 0, 0], [9]),  # two clusters merged: a new id
        ([4, 4, 4, 4], [0, 0, 1, 1], [9, 10]),  # one cluster split: new ids for both parts
        ([4, 4, 4], [0, 0, -1], [9]),  # a face left it: not the same faces any more
        ([None, None], [0, 0], [9]),
        ([4, 4], [-1, -1], []),
    ],
)
def test_stable_cluster_ids(previous: list[int | None], labels: list[int], expected: list[int]):
    assert stable_cluster_ids(previous, labels, lambda n: list(range(9, 9 + n))) == expected


# -- a store made by the previous schema -------------------------------------------------------------------


def test_an_old_store_is_upgraded_once_and_keeps_every_row(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    path = tmp_path / "faceplane.db"
    old = _old_gallery(path)
    assert not any("AUTOINCREMENT" in _definitions(path)[t] for t in TABLES)
    with caplog.at_level(logging.WARNING):
        store = SqliteStore(path)
    definitions = _definitions(path)
    assert all("AUTOINCREMENT" in definitions[t] for t in TABLES)
    assert {"templates_person", "people_collection"} <= set(definitions)  # indexes recreated
    assert sum("upgraded so that ids are never reused" in r.getMessage() for r in caplog.records) == len(TABLES)
    assert store.generation == 7  # the data did not change: a saved vector index stays current
    people = [(p.id, p.display_name, p.external_id) for p in store.list_people("staff")]
    assert people == [(1, "Ada", "E1"), (2, "Bob", None)]
    ids, emb = next(store.iter_embeddings())
    assert ids.tolist() == [1, 2, 4, 5]
    np.testing.assert_array_equal(emb, np.stack(list(old["templates"].values())))  # type: ignore[union-attr]
    rows, faces = store.unknown_faces(cluster_id=0)
    assert [r["id"] for r in rows] == [1, 2]
    np.testing.assert_array_equal(faces, old["faces"][:2])  # type: ignore[index]
    with pytest.raises(InvalidArgumentError, match="already used"):
        store.add_person("staff", "Ada again", external_id="E1")  # UNIQUE constraint kept
    assert store.delete_collection("visitors") == [5]  # ON DELETE CASCADE kept: Cy and his template went too
    assert store.count_templates() == 3 and store.integrity_ok()
    store.close()
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        SqliteStore(path).close()
    assert not caplog.records  # upgraded once


def test_an_upgraded_store_does_not_reuse_ids_up_to_the_largest_it_held(tmp_path: Path):
    path = tmp_path / "faceplane.db"
    _old_gallery(path)
    store = SqliteStore(path)
    store.delete_person(2)
    assert store.add_person("staff", "Dee").id == 4  # 3 (Cy) is still there
    store.delete_person(3)
    store.delete_person(4)
    assert store.add_person("staff", "Eve").id == 5
    store.delete_templates([5])
    assert store.add_templates(1, _emb(1, 5), [1.0], [None]) == [6]
    store.delete_unknown([3])
    assert store.add_unknown(_emb(1, 6), ["door"], [None]) == [4]
    store.delete_collection("visitors")
    assert store.create_collection("guests").id == 3
    store.close()


def test_old_cluster_ids_are_kept_and_new_ones_come_after_them(tmp_path: Path):
    path = tmp_path / "faceplane.db"
    _old_gallery(path)
    gallery = Gallery(store=SqliteStore(path))
    gallery.store.add_unknown(_stranger(3, seed=8), ["hall"] * 3, [None] * 3)  # the largest cluster now
    clusters = gallery.cluster_unknown(threshold=0.5)
    assert [(c.id, c.face_ids) for c in clusters] == [(1, [4, 5, 6]), (0, [1, 2])]
    gallery.close()


def test_an_encrypted_old_store_is_upgraded_and_its_cells_still_open(tmp_path: Path):
    path = tmp_path / "faceplane.db"
    old = _old_gallery(path, key=KEY)
    store = SqliteStore(path, key=KEY)
    assert store.encrypted and all("AUTOINCREMENT" in _definitions(path)[t] for t in TABLES)
    _, emb = store.embeddings_of(1)  # each cell is bound to its row id: the ids were kept
    np.testing.assert_array_equal(emb, np.stack([old["templates"][1], old["templates"][2]]))  # type: ignore[index]
    store.delete_templates([5])
    assert store.add_templates(1, _emb(1, 5), [1.0], [None]) == [6]
    store.close()
    with pytest.raises(InvalidArgumentError, match="encrypted"):
        SqliteStore(path)


def test_a_failed_upgrade_leaves_the_old_tables_as_they_were(tmp_path: Path):
    path = tmp_path / "faceplane.db"
    _old_gallery(path)
    with sqlite3.connect(path) as db:  # a table the upgrade cannot read: it fails after rebuilding three others
        db.execute("ALTER TABLE unknown_faces RENAME TO unknown_faces_old")
        db.execute(
            "CREATE TABLE unknown_faces (id INTEGER NOT NULL PRIMARY KEY, embedding BLOB NOT NULL, "
            "source TEXT NOT NULL DEFAULT '', seen_at REAL NOT NULL, thumbnail BLOB, cluster_id INTEGER, "
            "embedding_next BLOB)"
        )
        db.execute("INSERT INTO unknown_faces SELECT * FROM unknown_faces_old")
        db.execute("DROP TABLE unknown_faces_old")
    before = _definitions(path)
    with pytest.raises(InvalidArgumentError, match="unknown_faces"):
        SqliteStore(path)
    after = _definitions(path)
    # nothing half-done: no AUTOINCREMENT, no staging table (tables new in this version may be created, empty)
    assert {name: after.get(name) for name in before} == before
    assert not [name for name in after if name not in before and name.endswith("_autoincrement")]
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT id FROM people ORDER BY id").fetchall() == [(1,), (2,), (3,)]
        assert db.execute("SELECT id FROM templates ORDER BY id").fetchall() == [(1,), (2,), (4,), (5,)]
