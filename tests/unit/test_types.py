import numpy as np
import pytest

from faceplane import Faces


def _faces(n: int = 3) -> Faces:
    xyxy = np.array([[0, 0, 10, 10], [0, 0, 30, 30], [5, 5, 25, 25]], np.float32)[:n]
    return Faces(xyxy=xyxy, score=np.arange(n, dtype=np.float32))


def test_empty_is_consistent():
    f = Faces.empty()
    assert len(f) == 0 and f.landmarks.shape == (0, 0, 2) and f.embedding.shape == (0, 0)
    assert not f.has_embeddings and f.largest_first().xyxy.shape == (0, 4)


def test_numpy_style_filtering_and_order():
    f = _faces()
    assert len(f[f.score > 0.5]) == 2
    assert f[1].xyxy.shape == (1, 4)
    assert f.largest_first().area.tolist() == [900.0, 400.0, 100.0]
    assert np.isnan(f.quality).all()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"xyxy": np.zeros((2, 3)), "score": np.zeros(2)},
        {"xyxy": np.zeros((2, 4)), "score": np.zeros(3)},
        {"xyxy": np.zeros((2, 4)), "score": np.zeros(2), "embedding": np.zeros((3, 128))},
        {"xyxy": np.zeros((2, 4)), "score": np.zeros(2), "landmarks": np.zeros((2, 5, 3))},
    ],
)
def test_inconsistent_shapes_raise(kwargs):
    with pytest.raises(ValueError):
        Faces(**kwargs)


def test_with_returns_a_new_object():
    f = _faces()
    g = f.with_(score=np.ones(3, np.float32))
    assert f.score.tolist() == [0, 1, 2] and g.score.tolist() == [1, 1, 1]
