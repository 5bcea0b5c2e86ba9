"""Corrections ("not this person") in the store and the rule a search applies (synthetic embeddings: no model here;
the rule on real look-alike photos is tests/integration/test_corrections.py)."""

from __future__ import annotations

import numpy as np
import pytest

from faceplane.errors import InvalidArgumentError, NotFoundError
from faceplane.gallery.crypto import new_template_key, parse_template_key
from faceplane.gallery.negatives import Negatives, rule_out
from faceplane.gallery.records import Candidate, Identification
from faceplane.gallery.store import SqliteStore

DIM = 192


def _unit(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=DIM)
    return (v / np.linalg.norm(v)).astype(np.float32)


@pytest.fixture
def store(tmp_path):
    s = SqliteStore(tmp_path / "faceplane.db")
    s.create_collection("vip")
    yield s
    s.close()


def test_corrections_round_trip(store):
    ada = store.add_person("vip", "Ada")
    neg = Negatives(store)
    c = neg.add(ada.id, _unit(1), thumbnail=b"\xff\xd8jpeg", template_id=7, distance=0.9, source="photo", note="twin")
    assert neg.of_person(ada.id) == [c] and neg.get(c.id) == c
    assert (c.template_id, c.distance, c.source, c.note) == (7, 0.9, "photo", "twin")
    assert neg.thumbnail(c.id) == b"\xff\xd8jpeg"
    ids, emb = neg.by_person()[ada.id]
    assert ids == [c.id] and np.array_equal(emb[0], _unit(1))
    assert neg.find(_unit(1), 0.01) == [c.id] and neg.find(_unit(2), 0.01) == []
    assert neg.remove([c.id]) == 1 and neg.of_person(ada.id) == [] and neg.by_person() == {}
    with pytest.raises(NotFoundError):
        neg.get(c.id)


def test_a_correction_needs_a_person_and_one_embedding(store):
    ada = store.add_person("vip", "Ada")
    with pytest.raises(NotFoundError):
        Negatives(store).add(ada.id + 1, _unit(1))
    with pytest.raises(InvalidArgumentError):
        Negatives(store).add(ada.id, np.zeros(DIM + 1, np.float32))
    with pytest.raises(InvalidArgumentError):
        Negatives(store).add(ada.id, np.full(DIM, np.nan, np.float32))


def test_corrections_are_erased_with_the_person(store):
    ada = store.add_person("vip", "Ada")
    Negatives(store).add(ada.id, _unit(1))
    store.delete_person(ada.id)
    assert store._query("SELECT COUNT(*) FROM negatives")[0][0] == 0


def test_ids_are_never_reused(store):
    ada = store.add_person("vip", "Ada")
    neg = Negatives(store)
    first = neg.add(ada.id, _unit(1))
    neg.remove([first.id])
    assert neg.add(ada.id, _unit(2)).id == first.id + 1


def test_with_a_template_key_corrections_are_encrypted_at_rest(tmp_path):
    key = parse_template_key(new_template_key())
    path = tmp_path / "faceplane.db"
    clear = SqliteStore(path)
    clear.create_collection("vip")
    ada = clear.add_person("vip", "Ada")
    before = Negatives(clear).add(ada.id, _unit(1), thumbnail=b"face-before-key")
    clear.close()
    store = SqliteStore(path, key=key)  # a clear store given a key is encrypted in place, corrections too
    try:
        after = Negatives(store).add(ada.id, _unit(2), thumbnail=b"face-after-key")
        raw = {r[0]: (bytes(r[1]), bytes(r[2])) for r in store._query("SELECT id, embedding, thumbnail FROM negatives")}
        for cid, seed, thumb in ((before.id, 1, b"face-before-key"), (after.id, 2, b"face-after-key")):
            assert _unit(seed).astype("<f4").tobytes() not in raw[cid][0] and thumb not in raw[cid][1]
            assert Negatives(store).thumbnail(cid) == thumb
        emb = Negatives(store).by_person()[ada.id][1]
        assert np.array_equal(emb, np.stack([_unit(1), _unit(2)]))
    finally:
        store.close()
    with pytest.raises(InvalidArgumentError):
        SqliteStore(path)  # and the store refuses to open without its key


def _candidate(pid: int, collection: str, distance: float) -> Candidate:
    return Candidate(pid, collection, f"#{pid}", distance, template_id=pid * 10)


def test_rule_out_marks_a_candidate_nearer_to_a_correction_than_to_its_template():
    probe = _unit(1)
    near = (probe + 0.01 * _unit(2)).astype(np.float32)  # a correction almost at the probe
    result = Identification([_candidate(1, "vip", 0.8), _candidate(2, "vip", 0.9)], threshold=1.0)
    (marked,) = rule_out(probe[None], [result], {1: ([5], near[None])})
    assert marked.candidates[0].excluded_by == 5 and marked.candidates[1].excluded_by is None
    assert result.person is not None and result.person.person_id == 1
    assert marked.person is not None and marked.person.person_id == 2  # the next one within its threshold


def test_rule_out_keeps_a_candidate_nearer_to_its_template():
    probe = _unit(1)
    far = _unit(3)[None]  # ~1.41 away: farther than the template at 0.8
    result = Identification([_candidate(1, "vip", 0.8)], threshold=1.0)
    (kept,) = rule_out(probe[None], [result], {1: ([5], far)})
    assert kept == result and kept.person is not None


def test_a_collection_threshold_decides_for_its_own_people():
    result = Identification(
        [_candidate(1, "vip", 0.95), _candidate(2, "staff", 0.97)],
        threshold=0.9,
        collection_thresholds={"staff": 1.0},
    )
    assert result.person is not None and result.person.person_id == 2  # vip keeps 0.9; staff's own is 1.0
    assert Identification(result.candidates, threshold=0.9).person is None
