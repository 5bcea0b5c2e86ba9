"""SqliteStore plumbing (synthetic embeddings are fine here: no model is involved)."""

from __future__ import annotations

import numpy as np
import pytest

from faceplane.errors import InvalidArgumentError, NotFoundError
from faceplane.gallery.records import Consent
from faceplane.gallery.store import SqliteStore

DIM = 192  # a new store holds the default model's embeddings (mobilefacenet@1)


@pytest.fixture
def store(tmp_path):
    s = SqliteStore(tmp_path / "g" / "faceplane.db")
    yield s
    s.close()


def _emb(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)


def test_collections_people_templates_round_trip(store: SqliteStore):
    store.create_collection("staff", description="door A")
    consent = Consent("consent", "kiosk form v3", "2026-11-01")
    ada = store.add_person("staff", "Ada", external_id="E1", metadata={"dept": "R&D"}, consent=consent)
    ids = store.add_templates(ada.id, _emb(3), [0.9, 0.8, 0.7], ["a", "b", "c"])
    assert len(ids) == 3
    ada = store.get_person(ada.id)
    assert ada.templates == 3 and ada.metadata == {"dept": "R&D"} and ada.consent == consent
    assert store.get_collection("staff").templates == 3
    got_ids, got = next(store.iter_embeddings())
    np.testing.assert_array_equal(got, _emb(3))
    assert got_ids.tolist() == ids
    assert store.owners(ids) == {i: (ada.id, "staff", "Ada") for i in ids}
    assert store.find_person("staff", external_id="E1").id == ada.id


def test_every_change_bumps_the_generation(store: SqliteStore):
    g0 = store.generation
    store.create_collection("a")
    p = store.add_person("a", "X")
    store.add_templates(p.id, _emb(1), [1.0], [None])
    assert store.generation == g0 + 3


def test_deleting_a_person_or_collection_cascades(store: SqliteStore):
    store.create_collection("a")
    p = store.add_person("a", "X")
    q = store.add_person("a", "Y")
    ids_p = store.add_templates(p.id, _emb(2), [1, 1], [None, None])
    ids_q = store.add_templates(q.id, _emb(2, 1), [1, 1], [None, None])
    assert sorted(store.delete_person(p.id)) == ids_p
    assert store.owners(ids_p) == {} and store.count_templates() == 2
    assert sorted(store.delete_collection("a")) == ids_q
    assert store.count_templates() == 0 and store.integrity_ok()


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda s: s.create_collection(""), InvalidArgumentError),
        (lambda s: s.create_collection("dup"), InvalidArgumentError),
        (lambda s: s.get_collection("nope"), NotFoundError),
        (lambda s: s.add_person("nope", "X"), NotFoundError),
        (lambda s: s.add_person("dup", " "), InvalidArgumentError),
        (lambda s: s.add_person("dup", "X", metadata={"f": object()}), InvalidArgumentError),
        (lambda s: s.get_person(999), NotFoundError),
        (lambda s: s.delete_person(999), NotFoundError),
        (lambda s: s.add_templates(999, _emb(1), [1], [None]), NotFoundError),
        (lambda s: s.add_templates(1, np.zeros((1, 64), np.float32), [1], [None]), InvalidArgumentError),
        (lambda s: s.add_templates(1, np.zeros((1, 128), np.float32), [1], [None]), InvalidArgumentError),  # dlib's
        (lambda s: s.add_templates(1, np.full((1, DIM), np.nan, np.float32), [1], [None]), InvalidArgumentError),
        (lambda s: s.add_unknown(np.zeros((1, 128), np.float32), ["cam"], [None]), InvalidArgumentError),
    ],
)
def test_bad_input_is_refused_and_loses_nothing(store: SqliteStore, call, error):
    store.create_collection("dup")
    p = store.add_person("dup", "Keep", external_id="K")
    store.add_templates(p.id, _emb(1), [1.0], [None])
    before = store.generation
    with pytest.raises(error):
        call(store)
    assert store.generation == before and store.count_templates() == 1


def test_duplicate_external_id_is_refused(store: SqliteStore):
    store.create_collection("a")
    store.add_person("a", "X", external_id="E")
    with pytest.raises(InvalidArgumentError, match="already used"):
        store.add_person("a", "Y", external_id="E")


@pytest.mark.parametrize(("model", "dim"), [("mobilefacenet@1", 192), ("dlib@2", 128)])
def test_a_store_holds_the_embeddings_of_its_model(tmp_path, model: str, dim: int):
    store = SqliteStore(tmp_path / "faceplane.db", model=model)
    assert (store.embedding_model, store.embedding_dim) == (model, dim)
    store.create_collection("a")
    p = store.add_person("a", "X")
    emb = np.random.default_rng(0).normal(size=(2, dim)).astype(np.float32)
    store.add_templates(p.id, emb, [1, 1], [None, None])
    np.testing.assert_array_equal(next(store.iter_embeddings())[1], emb)
    with pytest.raises(InvalidArgumentError):
        store.add_templates(p.id, np.zeros((1, 320 - dim), np.float32), [1], [None])  # the other model's length
    store.close()
    reopened = SqliteStore(tmp_path / "faceplane.db")  # the default model does not override a store's own
    assert reopened.embedding_model == model
    reopened.close()
