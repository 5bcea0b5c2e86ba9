import numpy as np
import pytest

from faceplane.errors import InvalidArgumentError
from faceplane.gallery.index import ExactIndex, make_index


def test_exact_search_matches_brute_force():
    rng = np.random.default_rng(0)
    vec = rng.normal(size=(500, 128)).astype(np.float32)
    q = rng.normal(size=(7, 128)).astype(np.float32)
    index = ExactIndex()
    index.add(np.arange(100, 600), vec)
    dist, ids = index.search(q, 5)
    brute = np.linalg.norm(q[:, None] - vec[None], axis=2)
    np.testing.assert_array_equal(ids, np.argsort(brute, axis=1)[:, :5] + 100)
    np.testing.assert_allclose(dist, np.sort(brute, axis=1)[:, :5], rtol=1e-4)


def test_remove_readd_reset_and_padding():
    index = ExactIndex(dim=2)
    index.add(np.array([1, 2]), np.array([[0, 0], [1, 0]], np.float32))
    index.add(np.array([2]), np.array([[5, 0]], np.float32))  # re-add replaces
    dist, ids = index.search(np.array([[1, 0]], np.float32), 3)
    assert ids.tolist() == [[1, 2, -1]] and np.isinf(dist[0, 2])
    index.remove(np.array([1]))
    assert len(index) == 1
    index.reset()
    assert len(index) == 0 and index.search(np.zeros((1, 2), np.float32), 1)[1].tolist() == [[-1]]


@pytest.mark.parametrize(
    "call",
    [
        lambda i: i.add(np.array([1]), np.zeros((1, 3), np.float32)),
        lambda i: i.add(np.array([1, 2]), np.zeros((1, 2), np.float32)),
        lambda i: i.add(np.array([1]), np.array([[np.nan, 0]], np.float32)),
        lambda i: i.search(np.zeros((1, 3), np.float32), 1),
        lambda i: i.search(np.zeros((1, 2), np.float32), 0),
    ],
)
def test_bad_arguments(call):
    with pytest.raises(InvalidArgumentError):
        call(ExactIndex(dim=2))


def test_unknown_backend():
    with pytest.raises(InvalidArgumentError, match="unknown index backend"):
        make_index("annoy")
