import numpy as np
import pytest

from faceplane.errors import InvalidArgumentError
from faceplane.gallery.cluster import cluster_embeddings

DIMS = [192, 128]  # MobileFaceNet, dlib: clustering takes any model's embeddings


def _people(seed: int = 0, dim: int = 192) -> np.ndarray:
    rng = np.random.default_rng(seed)
    scale = np.sqrt(128 / dim)  # the same distances at any dim
    centres = rng.normal(size=(3, dim)) * 0.15 * scale  # ~1.7 apart: three different people
    counts = [5, 3, 1]
    return np.concatenate([c + rng.normal(size=(n, dim)) * 0.01 * scale for c, n in zip(centres, counts, strict=True)])


@pytest.mark.parametrize("dim", DIMS)
def test_groups_by_person_largest_first_singletons_unlabelled(dim: int):
    labels = cluster_embeddings(_people(dim=dim), threshold=0.5, min_size=2)
    assert labels.tolist() == [0] * 5 + [1] * 3 + [-1]


def test_min_size_one_keeps_singletons_and_is_repeatable():
    a = cluster_embeddings(_people(), threshold=0.5, min_size=1)
    b = cluster_embeddings(_people(), threshold=0.5, min_size=1)
    assert a.tolist() == b.tolist() == [0] * 5 + [1] * 3 + [2]


@pytest.mark.parametrize("kwargs", [{"threshold": 0.0}, {"min_size": 0}])
def test_bad_arguments(kwargs):
    with pytest.raises(InvalidArgumentError):
        cluster_embeddings(_people(), **kwargs)


@pytest.mark.parametrize("dim", DIMS)
def test_empty_input_has_no_labels(dim: int):
    assert cluster_embeddings(np.zeros((0, dim))).shape == (0,)


@pytest.mark.parametrize("shape", [(192,), (0,), (2, 3, 192)])
def test_not_a_2d_batch_is_refused(shape: tuple[int, ...]):
    with pytest.raises(InvalidArgumentError, match=r"\(N, D\)"):
        cluster_embeddings(np.zeros(shape))
