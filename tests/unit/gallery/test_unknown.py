"""Unknown faces clustered as they arrive (bounded work, stable ids) and listed with filters, on LFW embeddings.

People (LFW View 1, embedded by the session's engine): Paul Wolfowitz (6 photos), Jennifer Lopez (4),
Ricardo Lagos (3). The clustering threshold is the gallery's default, the calibrated 1:1 distance at FAR 3e-4.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from faceplane.errors import InvalidArgumentError
from faceplane.gallery.records import UnknownFilter
from faceplane.gallery.store import SqliteStore
from faceplane.gallery.unknown import IncrementalClusterer, best_faces, join_clusters, list_clusters, list_faces
from faceplane.verify import load_calibration

PEOPLE = {"Paul_Wolfowitz": (2, 3, 4, 5, 6, 7), "Jennifer_Lopez": (3, 4, 5, 7), "Ricardo_Lagos": (1, 2, 3)}


@pytest.fixture(scope="module")
def lfw(data: Path, engine) -> dict[str, np.ndarray]:
    """(N, D) embeddings of each person's photos (the largest face of each)."""
    root = data / "faces" / "lfw-view1" / "images"
    return {
        name: np.stack([engine.analyze(str(root / name / f"{name}_{n:04d}.jpg")).embedding[0] for n in numbers])
        for name, numbers in PEOPLE.items()
    }


@pytest.fixture()
def store(engine) -> SqliteStore:
    return SqliteStore(":memory:", model=engine.embedding_model)


@pytest.fixture(scope="module")
def threshold(engine) -> float:
    return float(load_calibration(engine.calibration_key).threshold_at_far(3e-4))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def add(store: SqliteStore, emb: np.ndarray, source: str = "door", qualities: list[float | None] | None = None):
    return store.add_unknown(emb, [source] * len(emb), [None] * len(emb), qualities)


def clusters_of(store: SqliteStore, ids: list[int]) -> list[int | None]:
    rows, _ = store.unknown_faces(face_ids=ids)
    return [r["cluster_id"] for r in rows]


# -- join_clusters: which cluster a new face joins -----------------------------------------------------------

E = np.eye(4, dtype=np.float32)


@pytest.mark.parametrize(
    ("new", "members", "owners", "expected"),
    [
        (E[:1], E[[0, 1]], [7, 9], [7]),  # the linked member's cluster
        (E[:1] * 0.9, np.stack([E[0], E[0] * 0.8, E[0] * 0.95]), [7, 9, 9], [9]),  # most linked members win
        (E[:1], np.stack([E[0] * 0.9, E[0] * 0.8]), [7, 9], [7]),  # a tie: the nearest member's cluster
        (E[2:3], E[[0, 1]], [7, 9], [-1]),  # nobody within the threshold: no cluster
        (E[:2], np.zeros((0, 4), np.float32), [], [-1, -1]),  # no clusters yet
    ],
)
def test_join_clusters(new, members, owners, expected):
    assert join_clusters(new, members, owners, 0.5).tolist() == expected


def test_join_clusters_refuses_mismatched_inputs():
    with pytest.raises(InvalidArgumentError):
        join_clusters(E[:1], E[:2], [1], 0.5)


# -- IncrementalClusterer ------------------------------------------------------------------------------------


def test_new_faces_join_their_cluster_and_new_strangers_wait_for_the_next_full_run(store, lfw, threshold):
    clock = Clock()
    clusterer = IncrementalClusterer(store, threshold=threshold, full_every_s=600, clock=clock)
    w = add(store, lfw["Paul_Wolfowitz"][:3])
    j = add(store, lfw["Jennifer_Lopez"][:3], "yard")
    first = clusterer.step()
    assert first.full_run and first.clusters == 2 and first.new_faces == 6 and first.joined == 0
    (w_id,), (j_id,) = set(clusters_of(store, w)), set(clusters_of(store, j))
    assert w_id != j_id

    again = add(store, lfw["Paul_Wolfowitz"][3:4], "yard")  # seen again, a minute later: no full run due
    clock.now += 60
    step = clusterer.step()
    assert (step.new_faces, step.joined, step.full_run) == (1, 1, False)
    assert clusters_of(store, again) == [w_id]

    lagos = add(store, lfw["Ricardo_Lagos"])  # a new stranger: in no cluster until the next full run
    clock.now += 60
    assert clusterer.step().joined == 0 and clusters_of(store, lagos) == [None] * 3
    clock.now += 600
    full = clusterer.step()
    assert full.full_run and full.clusters == 3
    (l_id,) = set(clusters_of(store, lagos))
    assert l_id not in (None, w_id, j_id)  # a fresh id ...
    assert set(clusters_of(store, w + again)) == {w_id} and set(clusters_of(store, j)) == {j_id}  # ... the rest kept


def test_a_step_takes_at_most_faces_per_run_new_faces(store, lfw, threshold):
    clusterer = IncrementalClusterer(store, threshold=threshold, faces_per_run=2, full_every_s=600, clock=Clock())
    add(store, lfw["Paul_Wolfowitz"][:2])
    clusterer.step()  # the first full run: one cluster
    later = add(store, lfw["Paul_Wolfowitz"][2:])  # four more sightings
    steps = [clusterer.step() for _ in range(3)]
    assert [(s.new_faces, s.joined, s.full_run) for s in steps] == [(2, 2, False), (2, 2, False), (0, 0, False)]
    assert len(set(clusters_of(store, later))) == 1


def test_a_full_run_happens_only_when_a_new_face_joined_no_cluster(store, lfw, threshold):
    clock = Clock()
    clusterer = IncrementalClusterer(store, threshold=threshold, full_every_s=600, clock=clock)
    assert not clusterer.step().full_run  # nothing to cluster
    add(store, lfw["Paul_Wolfowitz"][:2])
    assert clusterer.step().full_run
    add(store, lfw["Paul_Wolfowitz"][2:3])
    clock.now += 3600
    assert not clusterer.step().full_run  # the new face joined its cluster: nothing left out


def test_a_full_run_clusters_the_newest_max_faces_and_older_faces_keep_their_cluster(store, lfw, threshold):
    clock = Clock()
    clusterer = IncrementalClusterer(store, threshold=threshold, max_faces=4, full_every_s=0, clock=clock)
    old = add(store, lfw["Paul_Wolfowitz"][:3])
    clusterer.step()
    (w_id,) = set(clusters_of(store, old))
    new = add(store, lfw["Jennifer_Lopez"][:3])  # the newest four: one of Wolfowitz's, three of Lopez's
    assert clusterer.step().clusters == 1  # Wolfowitz's newest face alone is not a cluster in this window
    assert clusters_of(store, old)[:2] == [w_id, w_id]  # outside the window: unchanged
    assert len(set(clusters_of(store, new))) == 1 and clusters_of(store, new)[0] not in (None, w_id)


def test_bad_settings_are_refused(store):
    with pytest.raises(InvalidArgumentError):
        IncrementalClusterer(store, threshold=0.0)
    with pytest.raises(InvalidArgumentError):
        IncrementalClusterer(store, threshold=1.0, faces_per_run=0)


# -- listings ------------------------------------------------------------------------------------------------


def test_listings_filter_page_and_rank_best_shots_by_quality(store, lfw, threshold):
    w = add(store, lfw["Paul_Wolfowitz"][:4], "door", [0.5, None, 0.9, 0.7])
    j = add(store, lfw["Jennifer_Lopez"][:2], "yard", [0.6, 0.8])
    r = add(store, lfw["Ricardo_Lagos"][:1], "door", [0.4])
    IncrementalClusterer(store, threshold=threshold).step()

    assert [f.id for f in list_faces(store, UnknownFilter())] == sorted(w + j + r, reverse=True)
    assert [f.id for f in list_faces(store, UnknownFilter(sources=("yard",)))] == sorted(j, reverse=True)
    assert [f.id for f in list_faces(store, UnknownFilter(clustered=False))] == r
    assert [f.id for f in list_faces(store, UnknownFilter(), limit=2, offset=5)] == sorted(w)[:2][::-1]
    (w_id,) = set(clusters_of(store, w))
    assert {f.id for f in list_faces(store, UnknownFilter(cluster_id=w_id))} == set(w)

    by_size = list_clusters(store, UnknownFilter())
    assert [(c.id, c.size, c.sources) for c in by_size] == [
        (w_id, 4, ["door"]),
        (clusters_of(store, j)[0], 2, ["yard"]),
    ]
    assert [c.size for c in list_clusters(store, UnknownFilter(), order="last_seen")] == [2, 4]
    assert list_clusters(store, UnknownFilter(sources=("nowhere",))) == []
    with pytest.raises(InvalidArgumentError):
        list_clusters(store, UnknownFilter(), order="name")

    best = best_faces(store, [w_id], 3)[w_id]
    assert [f.quality for f in best] == [0.9, 0.7, 0.5]  # highest first, the unrecorded one last
    assert [f.quality for f in best_faces(store, [w_id], 9)[w_id]][-1] is None


def test_an_encrypted_store_gives_back_the_chips_and_qualities(engine, lfw):
    store = SqliteStore(":memory:", model=engine.embedding_model, key=bytes(range(32)))
    ids = store.add_unknown(lfw["Ricardo_Lagos"][:2], ["door", "door"], [b"\xff\xd8chip-1", None], [0.75, None])
    assert store.unknown_details([*ids, 999]) == {ids[0]: (0.75, b"\xff\xd8chip-1"), ids[1]: (None, None)}
    _, emb = store.unknown_faces(face_ids=ids)
    np.testing.assert_array_equal(emb, lfw["Ricardo_Lagos"][:2])
