"""Galleries know their embedding model: searches never mix models, raw dlib galleries are upgraded in place,
and ``gallery migrate`` re-embeds every template from its stored chip, resumably and all-or-nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from faceplane import Engine
from faceplane.cli import main
from faceplane.errors import InvalidArgumentError, ModelError
from faceplane.gallery.gallery import Gallery
from faceplane.gallery.migrate import migrate_gallery
from faceplane.gallery.store import SqliteStore

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def johns(data: Path) -> dict[str, list[Path]]:
    root = data / "faces" / "dlib-examples" / "examples" / "johns"
    return {p.name.replace("_", " "): sorted(p.iterdir()) for p in sorted(root.iterdir()) if p.is_dir()}


@pytest.fixture(scope="module")
def dlib_engine() -> Engine:
    return Engine(embedder="dlib")


@pytest.fixture(scope="module")
def mfn_engine() -> Engine:
    return Engine(embedder="mobilefacenet")


def _dlib_gallery(root: Path, engine: Engine, johns: dict[str, list[Path]], stranger: Path) -> None:
    with Gallery.open(root, engine=engine) as g:
        g.create_collection("johns")
        for name, images in johns.items():
            assert len(g.enroll("johns", images[:3], name=name).template_ids) == 3
        assert len(g.add_unknown_faces(stranger, source="door")) == 1


def _hits(g: Gallery, johns: dict[str, list[Path]]) -> float:
    found = [g.identify(img)[0] for imgs in johns.values() for img in imgs[6:9]]
    names = [name for name, imgs in johns.items() for _ in imgs[6:9]]
    return sum(f.person is not None and f.person.display_name == n for f, n in zip(found, names, strict=True)) / len(
        names
    )


def test_new_gallery_records_its_model_and_refuses_another(tmp_path: Path, dlib_engine: Engine) -> None:
    with Gallery.open(tmp_path) as g:  # default: MobileFaceNet
        assert g.store.embedding_model == "mobilefacenet@1" and g.engine.embedding_dim == 192
    with pytest.raises(ModelError, match="gallery migrate --to dlib"):
        Gallery.open(tmp_path, engine=dlib_engine)
    with Gallery.open(tmp_path, embedder="auto") as g:  # auto follows the gallery
        assert g.engine.embedder_name == "mobilefacenet"


def test_raw_dlib_gallery_is_upgraded_to_unit_length_in_place(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "faceplane.db", model="dlib@1")  # as galleries made before models were recorded
    store.create_collection("c")
    person = store.add_person("c", "Ada")
    raw = np.random.default_rng(1).normal(0, 0.1, (2, 128)).astype(np.float32)
    store.add_templates(person.id, raw, [0.9, 0.9], [None, None])
    store.close()
    with Gallery.open(tmp_path) as g:
        assert g.store.embedding_model == "dlib@2" and g.engine.embedder_name == "dlib"
        _, emb = g.store.embeddings_of(person.id)
        np.testing.assert_allclose(emb, raw / np.linalg.norm(raw, axis=1, keepdims=True), rtol=1e-6)
        hit = g.search(emb[:1], k=1)[0]
        assert hit.person is not None and hit.person.display_name == "Ada"


def test_migrate_reembeds_everything_and_search_still_names_people(
    tmp_path: Path, dlib_engine: Engine, mfn_engine: Engine, johns: dict[str, list[Path]], examples: Path
) -> None:
    _dlib_gallery(tmp_path, dlib_engine, johns, examples / "obama.jpg")
    with Gallery.open(tmp_path) as g:
        before = _hits(g, johns)
    assert main(["gallery", "migrate", "--to", "mobilefacenet", "--data-dir", str(tmp_path)]) == 0
    with Gallery.open(tmp_path) as g:
        assert g.store.embedding_model == "mobilefacenet@1"
        rows = g.store._query("SELECT DISTINCT model FROM templates")
        assert [r[0] for r in rows] == ["mobilefacenet@1"]  # every template records its model
        _, unknown = g.store.unknown_faces()
        assert unknown.shape == (1, 192)
        after = _hits(g, johns)
        assert after >= 0.9 and after >= before - 0.1, (before, after)


def test_interrupted_migration_leaves_the_old_model_whole_and_resumes(
    tmp_path: Path, dlib_engine: Engine, mfn_engine: Engine, johns: dict[str, list[Path]], examples: Path
) -> None:
    _dlib_gallery(tmp_path, dlib_engine, johns, examples / "obama.jpg")

    def crash(done: int, total: int) -> None:
        if done >= 4:
            raise KeyboardInterrupt  # the process dies mid-migration

    store = SqliteStore(tmp_path / "faceplane.db")
    with pytest.raises(KeyboardInterrupt):
        migrate_gallery(store, mfn_engine, batch=4, progress=crash)
    store.close()
    with Gallery.open(tmp_path) as g:  # still entirely dlib: searchable as before
        assert g.store.embedding_model == "dlib@2"
        assert _hits(g, johns) >= 0.9
    store = SqliteStore(tmp_path / "faceplane.db")
    report = migrate_gallery(store, mfn_engine, batch=4)
    store.close()
    assert report.resumed == 4 and report.embedded == 3 * len(johns) + 1 - 4
    with Gallery.open(tmp_path) as g:
        assert g.store.embedding_model == "mobilefacenet@1" and _hits(g, johns) >= 0.9


def test_templates_without_a_chip_block_migration_unless_dropped(tmp_path: Path, mfn_engine: Engine) -> None:
    with Gallery.open(tmp_path, embedder="dlib") as g:
        g.create_collection("c")
        g.enroll_embeddings("c", np.eye(128, dtype=np.float32)[:1], name="Imported")
    store = SqliteStore(tmp_path / "faceplane.db")
    with pytest.raises(InvalidArgumentError, match="drop-unembeddable"):
        migrate_gallery(store, mfn_engine)
    assert store.embedding_model == "dlib@2"
    report = migrate_gallery(store, mfn_engine, drop_unembeddable=True)
    assert report.dropped_templates == 1 and store.embedding_model == "mobilefacenet@1"
    store.close()
