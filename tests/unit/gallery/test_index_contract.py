"""One contract, every vector index: exact numpy, FAISS (flat, IVF, IVF-SQ8, auto) and Milvus Lite.

A backend is skipped only when its package is missing (``pytest.importorskip``); CI installs the
``faiss`` and ``milvus`` extras, so nothing is skipped there. Milvus Lite answers a query in tens of
milliseconds, so every test keeps its query count small.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from faceplane.errors import InvalidArgumentError, ModelError
from faceplane.gallery.index import ExactIndex, VectorIndex, make_index

DIM = 192  # the default embedder's (MobileFaceNet) length; the indexes take any dim
NOISE = np.sqrt(128 / DIM)  # scales per-dimension noise so that the distances below hold at any DIM
BACKENDS = ["exact", "faiss-flat", "faiss-ivf", "faiss-ivf_sq8", "faiss-auto", "milvus-lite"]
FAISS_KINDS = ["flat", "ivf", "ivf_sq8", "auto"]


def _make(backend: str, tmp_path: Path) -> VectorIndex:
    if backend == "exact":
        return make_index("exact", dim=DIM)
    if backend.startswith("faiss-"):
        pytest.importorskip("faiss")
        # auto switches to IVF above 1,000 vectors here so that the 3,000-vector tests cover the switch
        return make_index("faiss", dim=DIM, kind=backend[6:], nprobe=16, auto_flat_max=1_000)
    pytest.importorskip("pymilvus")
    pytest.importorskip("milvus_lite")
    return make_index("milvus", dim=DIM, uri=str(tmp_path / "milvus.db"))


@pytest.fixture(params=BACKENDS)
def index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VectorIndex]:
    made = _make(request.param, tmp_path)
    yield made
    close = getattr(made, "close", None)
    if callable(close):
        close()


@pytest.fixture(scope="module")
def lfw_embeddings(data: Path, engine) -> np.ndarray:
    """(8, DIM) real unit-length embeddings of the default model: the first two LFW images of four people."""
    root = data / "faces" / "lfw-view1" / "images"
    people = [p for p in sorted(root.iterdir()) if len(list(p.iterdir())) >= 2][:4]
    paths = [f for p in people for f in sorted(p.iterdir())[:2]]
    return np.stack([engine.analyze(path).embedding[0] for path in paths]).astype(np.float32)


def _real_like(seeds: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n identities around real descriptors: per-dimension noise puts siblings ~0.8 apart (impostor-like)."""
    noise = rng.normal(0.0, 0.05 * NOISE, size=(n, DIM))
    return (seeds[rng.integers(0, len(seeds), n)] + noise).astype(np.float32)


def _dataset(kind: str, seeds: np.ndarray, n: int = 3_000, q: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Gallery vectors and queries that are noisy versions of members (genuine-like, ~0.35 away)."""
    rng = np.random.default_rng(7)
    if kind == "real-like":
        vectors = _real_like(seeds, n, rng)
    else:
        vectors = rng.normal(0.0, 0.13 * NOISE, (n, DIM)).astype(np.float32)  # ~2.1 apart
    members = rng.choice(n, q, replace=False)
    queries = vectors[members] + rng.normal(0.0, 0.03 * NOISE, size=(q, DIM)).astype(np.float32)
    return vectors, queries


def test_is_a_vector_index(index: VectorIndex) -> None:
    assert isinstance(index, VectorIndex)
    assert index.dim == DIM and len(index) == 0


def test_empty_index_pads(index: VectorIndex) -> None:
    dist, ids = index.search(np.zeros((2, DIM), np.float32), 3)
    assert dist.shape == ids.shape == (2, 3) and dist.dtype == np.float32 and ids.dtype == np.int64
    assert np.isinf(dist).all() and (ids == -1).all()


def test_self_is_nearest_at_distance_zero(index: VectorIndex, lfw_embeddings: np.ndarray) -> None:
    vectors = _real_like(lfw_embeddings, 300, np.random.default_rng(1))
    vectors[:8] = lfw_embeddings
    index.add(np.arange(1000, 1300), vectors)
    assert len(index) == 300
    dist, ids = index.search(vectors[:8], 2)
    assert ids[:, 0].tolist() == list(range(1000, 1008))
    assert np.all(dist[:, 0] < 2e-3) and np.all(np.diff(dist, axis=1) >= 0)
    assert np.all(dist[:, 1] > 0.2)  # the next one is somebody else


@pytest.mark.parametrize("data_kind", ["random", "real-like"])
def test_agrees_with_exact_search(index: VectorIndex, lfw_embeddings: np.ndarray, data_kind: str) -> None:
    vectors, queries = _dataset(data_kind, lfw_embeddings)
    ids = np.arange(5, 5 + len(vectors)) * 3  # ids are not row numbers
    index.add(ids, vectors)
    reference = ExactIndex(dim=DIM)
    reference.add(ids, vectors)
    dist, found = index.search(queries, 5)
    ref_dist, ref_ids = reference.search(queries, 5)
    assert np.mean(found[:, 0] == ref_ids[:, 0]) >= 0.99  # recall@1 against exact search
    same = found[:, 0] == ref_ids[:, 0]
    np.testing.assert_allclose(dist[same, 0], ref_dist[same, 0], atol=2e-3)
    assert np.all(np.diff(dist, axis=1) >= 0)


def test_remove_makes_ids_unfindable(index: VectorIndex, lfw_embeddings: np.ndarray) -> None:
    vectors = _real_like(lfw_embeddings, 200, np.random.default_rng(2))
    index.add(np.arange(200), vectors)
    index.remove(np.array([3, 4, 5, 999_999]))  # an unknown id is ignored
    assert len(index) == 197
    _, ids = index.search(vectors[3:6], 5)
    assert not np.isin(ids, [3, 4, 5]).any()
    index.remove(np.arange(200))
    assert len(index) == 0 and (index.search(vectors[:1], 2)[1] == -1).all()


def test_re_add_replaces(index: VectorIndex, lfw_embeddings: np.ndarray) -> None:
    old = lfw_embeddings[:3]
    index.add(np.array([1, 2, 3]), old)
    index.add(np.array([2]), lfw_embeddings[5:6])
    assert len(index) == 3
    dist, ids = index.search(lfw_embeddings[5:6], 1)
    assert ids[0, 0] == 2 and dist[0, 0] < 2e-3
    dist, ids = index.search(old[1:2], 3)
    assert dict(zip(ids[0].tolist(), dist[0].tolist(), strict=True)).get(2, np.inf) > 0.1  # old vector gone


def test_reset_empties_and_index_stays_usable(index: VectorIndex, lfw_embeddings: np.ndarray) -> None:
    index.add(np.arange(8), lfw_embeddings)
    index.reset()
    assert len(index) == 0
    assert (index.search(lfw_embeddings[:1], 1)[1] == -1).all()
    index.add(np.array([42]), lfw_embeddings[:1])
    assert index.search(lfw_embeddings[:1], 1)[1].tolist() == [[42]]


def test_k_larger_than_size_pads(index: VectorIndex, lfw_embeddings: np.ndarray) -> None:
    index.add(np.array([10, 11, 12]), lfw_embeddings[:3])
    dist, ids = index.search(lfw_embeddings[:1], 10)
    assert dist.shape == ids.shape == (1, 10)
    assert sorted(ids[0, :3].tolist()) == [10, 11, 12] and ids[0, 0] == 10
    assert (ids[0, 3:] == -1).all() and np.isinf(dist[0, 3:]).all() and np.isfinite(dist[0, :3]).all()


@pytest.mark.parametrize(
    "call",
    [
        lambda ix: ix.add(np.arange(2), np.zeros((2, 64), np.float32)),  # wrong dimension
        lambda ix: ix.add(np.arange(3), np.zeros((2, DIM), np.float32)),  # ids and vectors disagree
        lambda ix: ix.add(np.arange(1), np.full((1, DIM), np.nan, np.float32)),  # not finite
        lambda ix: ix.search(np.zeros((1, 64), np.float32), 1),  # wrong query dimension
        lambda ix: ix.search(np.zeros((2, 2, DIM), np.float32), 1),  # not 2-D
        lambda ix: ix.search(np.zeros((1, DIM), np.float32), 0),  # k < 1
    ],
)
def test_bad_shapes_raise(index: VectorIndex, call) -> None:
    with pytest.raises(InvalidArgumentError):
        call(index)


# -- FAISS beyond the protocol: persistence and rebuilds ---------------------------------------------


@pytest.mark.parametrize("kind", FAISS_KINDS)
def test_faiss_save_load_round_trip(kind: str, tmp_path: Path, lfw_embeddings: np.ndarray) -> None:
    pytest.importorskip("faiss")
    from faceplane.gallery.faiss_index import FaissIndex

    vectors, queries = _dataset("real-like", lfw_embeddings, n=2_000, q=20)
    index = FaissIndex(dim=DIM, kind=kind, nprobe=16, auto_flat_max=1_000, vectors_dir=tmp_path / "rows")
    index.add(np.arange(2_000), vectors)
    index.remove(np.arange(10))
    index.save(tmp_path / "saved")
    loaded = FaissIndex(dim=DIM, kind=kind, nprobe=16, path=tmp_path / "saved")  # an index saved at path loads
    assert len(loaded) == 1_990 and loaded.index_kind == index.index_kind
    for got, want in zip(loaded.search(queries, 3), index.search(queries, 3), strict=True):
        np.testing.assert_array_equal(got, want)
    loaded.add(np.array([5]), vectors[5:6])  # still mutable after loading
    assert loaded.search(vectors[5:6], 1)[1].tolist() == [[5]]


def test_faiss_grows_from_flat_to_ivf_and_rebuilds(lfw_embeddings: np.ndarray) -> None:
    pytest.importorskip("faiss")
    from faceplane.gallery.faiss_index import FaissIndex

    vectors, queries = _dataset("real-like", lfw_embeddings, n=3_000, q=20)
    index = FaissIndex(dim=DIM, kind="auto", nprobe=16, auto_flat_max=500)
    for lo in range(0, 3_000, 250):  # chunked like a rebuild from the store: flat, then IVF retrained at 4x
        index.add(np.arange(lo, lo + 250), vectors[lo : lo + 250])
    assert index.index_kind == "ivf" and len(index) == 3_000
    index.add(np.arange(100), vectors[:100])  # re-adds leave holes
    index.remove(np.arange(100, 2_000))
    assert index.needs_rebuild
    before = index.search(queries, 1)
    index.rebuild()
    assert not index.needs_rebuild and len(index) == 1_100
    np.testing.assert_array_equal(index.search(queries, 1)[1], before[1])


def test_faiss_load_refuses_garbage(tmp_path: Path) -> None:
    pytest.importorskip("faiss")
    from faceplane.gallery.faiss_index import FaissIndex

    (tmp_path / "meta.json").write_text("{not json")
    with pytest.raises(InvalidArgumentError):
        FaissIndex().load(tmp_path)
    with pytest.raises(InvalidArgumentError):
        FaissIndex().save()  # no path anywhere


@pytest.mark.parametrize(("backend", "module"), [("faiss", "faiss"), ("milvus", "pymilvus")])
def test_missing_backend_package_says_how_to_install(
    backend: str, module: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` raise ImportError
    with pytest.raises(ModelError, match=rf"faceplane\[{backend}\]"):
        make_index(backend, uri=str(tmp_path / "m.db")) if backend == "milvus" else make_index(backend)


def test_milvus_unreachable_server_is_a_faceplane_error() -> None:
    pytest.importorskip("pymilvus")
    from faceplane.errors import FaceplaneError

    with pytest.raises(FaceplaneError, match="Milvus connect failed"):
        make_index("milvus", uri="http://127.0.0.1:1")  # nothing listens on port 1
