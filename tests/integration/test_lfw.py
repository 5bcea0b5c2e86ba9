"""LFW View 1 DevTest: the default pipeline with the stored (DevTrain) threshold is >= 99% accurate."""

from __future__ import annotations

import numpy as np
import pytest

from faceplane import Engine, load_calibration
from faceplane.evaluation import embed_pairs, read_lfw_pairs, tar_at_far


@pytest.mark.slow
def test_devtest_accuracy_with_calibrated_threshold(data, engine: Engine):
    lfw = data / "faces" / "lfw-view1"
    pairs = read_lfw_pairs(lfw / "pairsDevTest.txt", lfw / "images")
    assert len(pairs) == 1000 and pairs.same.sum() == 500
    emb = embed_pairs(engine, pairs.paths_a + pairs.paths_b, fallback=Engine(detector="cnn"))
    dist = emb.distances(pairs)
    cal = load_calibration()
    assert "DevTrain" in cal.source  # the threshold was not fitted on the pairs we test on
    accuracy = float(np.mean((dist <= cal.threshold()) == pairs.same))
    assert accuracy >= 0.99, accuracy
    # the FAR=1e-2 threshold keeps impostors out at about that rate on unseen pairs
    impostor_accept = float(np.mean(dist[~pairs.same] <= cal.threshold(1e-2)))
    assert impostor_accept <= 0.03, impostor_accept
    assert tar_at_far(dist, pairs.same, 1e-2) >= 0.97
    assert emb.fallbacks["central_box"] <= 5, emb.fallbacks
