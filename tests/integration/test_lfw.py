"""LFW View 1 DevTest, per embedder: the default pipeline with its stored (DevTrain) thresholds."""

from __future__ import annotations

import numpy as np
import pytest

from faceplane import Engine, load_calibration
from faceplane.evaluation import CentralFaces, LfwPairs, embed_faces, find_central_faces, read_lfw_pairs, tar_at_far


@pytest.fixture(scope="module")
def devtest(data) -> tuple[LfwPairs, CentralFaces]:
    lfw = data / "faces" / "lfw-view1"
    pairs = read_lfw_pairs(lfw / "pairsDevTest.txt", lfw / "images")
    assert len(pairs) == 1000 and pairs.same.sum() == 500
    # the faces are found once (HOG, CNN fallback); each embedder cuts its own chips from the photos
    faces = find_central_faces(Engine(), pairs.paths_a + pairs.paths_b, fallback=Engine(detector="cnn"))
    assert faces.fallbacks["central_box"] <= 5, faces.fallbacks
    return pairs, faces


# measured (bench/lfw_verify.py): accuracy / TAR at FAR 1e-3 of the DevTest pairs, with the DevTrain threshold
@pytest.mark.slow
@pytest.mark.parametrize(
    ("embedder", "min_accuracy", "min_tar_1e3"),
    [("mobilefacenet", 0.99, 0.95), ("dlib", 0.985, 0.85)],
)
def test_devtest_accuracy_with_calibrated_threshold(devtest, embedder, min_accuracy, min_tar_1e3):
    pairs, faces = devtest
    engine = Engine(embedder=embedder)
    dist = embed_faces(engine, faces).distances(pairs)
    cal = load_calibration(engine.calibration_key)
    assert "DevTrain" in cal.source  # the threshold was not fitted on the pairs we test on
    accuracy = float(np.mean((dist <= cal.threshold()) == pairs.same))
    assert accuracy >= min_accuracy, accuracy
    # the FAR=1e-2 threshold keeps impostors out at about that rate on unseen pairs
    impostor_accept = float(np.mean(dist[~pairs.same] <= cal.threshold(1e-2)))
    assert impostor_accept <= 0.03, impostor_accept
    assert tar_at_far(dist, pairs.same, 1e-3) >= min_tar_1e3
