import numpy as np
import pytest

from faceplane import InvalidArgumentError, face_distance, load_calibration, verify_embeddings
from faceplane.verify import calibrate


def test_face_distance_matches_brute_force():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(4, 128)), rng.normal(size=(6, 128))
    brute = np.linalg.norm(a[:, None] - b[None], axis=2)
    np.testing.assert_allclose(face_distance(a, b), brute, rtol=1e-4)
    assert face_distance(a[0], a[0])[0, 0] == pytest.approx(0.0, abs=1e-3)


def test_face_distance_refuses_mismatched_dims():
    with pytest.raises(InvalidArgumentError):
        face_distance(np.zeros((2, 128)), np.zeros((2, 64)))


def test_calibrate_picks_separating_threshold_and_far_limits():
    genuine = np.linspace(0.1, 0.5, 100)
    impostor = np.linspace(0.45, 1.0, 1000)
    best, fars = calibrate(genuine, impostor, fars=(1e-1, 1e-2))
    assert 0.44 <= best <= 0.5
    for far, thr in fars.items():
        assert np.mean(impostor <= thr) <= far
    assert fars[1e-2] <= fars[1e-1]


@pytest.mark.parametrize(
    ("model", "low", "high"),
    [("mobilefacenet", 0.8, 1.2), ("dlib", 0.3, 0.6), ("dlib_resnet_v1", 0.4, 0.8)],  # unit vectors: d <= 2
)
def test_stored_calibration_is_usable(model, low, high):
    cal = load_calibration(model)
    assert "DevTrain" in cal.source and cal.far_curve
    assert low < cal.threshold() < high
    assert cal.threshold_at_far(1e-6) < cal.threshold_at_far(1e-3) < cal.threshold_at_far(1e-1)
    assert cal.threshold(1e-3) <= cal.threshold(1e-2) <= cal.threshold(1e-1)
    with pytest.raises(InvalidArgumentError, match="calibrated"):
        cal.threshold(0.123)


def test_verify_embeddings_uses_threshold():
    a = np.zeros(128, np.float32)
    b = np.zeros(128, np.float32)
    b[0] = 0.3
    m = verify_embeddings(a, b, threshold=0.5)
    assert m.is_match and m.distance == pytest.approx(0.3)
    assert not verify_embeddings(a, b, threshold=0.2).is_match
