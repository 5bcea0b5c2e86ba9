import numpy as np
import pytest

from faceplane.errors import InvalidArgumentError
from faceplane.gallery.cluster import cluster_embeddings


def _people(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(3, 128)) * 0.15  # ~1.7 apart: three different people
    counts = [5, 3, 1]
    return np.concatenate([c + rng.normal(size=(n, 128)) * 0.01 for c, n in zip(centres, counts, strict=True)])


def test_groups_by_person_largest_first_singletons_unlabelled():
    labels = cluster_embeddings(_people(), threshold=0.5, min_size=2)
    assert labels.tolist() == [0] * 5 + [1] * 3 + [-1]


def test_min_size_one_keeps_singletons_and_is_repeatable():
    a = cluster_embeddings(_people(), threshold=0.5, min_size=1)
    b = cluster_embeddings(_people(), threshold=0.5, min_size=1)
    assert a.tolist() == b.tolist() == [0] * 5 + [1] * 3 + [2]


@pytest.mark.parametrize("kwargs", [{"threshold": 0.0}, {"min_size": 0}])
def test_bad_arguments(kwargs):
    with pytest.raises(InvalidArgumentError):
        cluster_embeddings(_people(), **kwargs)


def test_empty_and_bad_shape():
    assert cluster_embeddings(np.zeros((0, 128))).shape == (0,)
    with pytest.raises(InvalidArgumentError):
        cluster_embeddings(np.zeros((3, 64)))
