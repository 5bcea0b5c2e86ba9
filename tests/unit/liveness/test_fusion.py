"""The fusion's arithmetic and the shipped parameters file (no model is run)."""

from __future__ import annotations

import math

import pytest

from faceplane.errors import InvalidArgumentError, ModelError
from faceplane.liveness.fusion import LOGIT_CLIP, Fusion, load_fusion, logit
from faceplane.liveness.pad import clip_signals


def test_logit_is_clipped_and_inverts_the_sigmoid():
    assert logit(0.5) == 0.0
    assert logit(1.0) == pytest.approx(LOGIT_CLIP) and logit(0.0) == pytest.approx(-LOGIT_CLIP)
    assert 1 / (1 + math.exp(-logit(0.8))) == pytest.approx(0.8)


def test_missing_signals_take_their_imputed_value_and_contribute_nothing():
    f = Fusion(
        weights={"device": -4.0, "liveness": 0.5}, bias=1.0, impute={"device": 0.2, "liveness": 2.0}, threshold=0.6
    )
    neutral = f.score({"device": 0.2, "liveness": 2.0})
    assert f.score({}) == f.score({"device": None, "liveness": float("nan")}) == neutral
    assert neutral == pytest.approx(1 / (1 + math.exp(-(1.0 - 0.8 + 1.0))))
    framed = {"device": 1.0, "liveness": 2.0}
    assert f.score(framed) < neutral and f.contributions(framed) == {"device": pytest.approx(-3.2), "liveness": 0.0}
    assert f.score({"device": 0.2, "liveness": 2.0, "unknown": 5.0}) == neutral


def test_bad_parameters_are_refused():
    with pytest.raises(InvalidArgumentError, match="threshold"):
        Fusion(weights={}, bias=0.0, impute={}, threshold=1.0)
    with pytest.raises(InvalidArgumentError, match="imputed"):
        Fusion(weights={"device": -1.0}, bias=0.0, impute={}, threshold=0.5)
    with pytest.raises(ModelError, match="bad fusion"):
        Fusion.from_json({"weights": {}})
    with pytest.raises(InvalidArgumentError, match="kind"):
        load_fusion("session")


def test_shipped_fusion_round_trips_and_says_what_it_was_fitted_on():
    for kind in ("frame", "clip"):
        f = load_fusion(kind)
        assert f.fitted_on.startswith("Z:") and 0 < f.threshold < 1
        assert Fusion.from_json(f.to_json()) == f
        # attack evidence never argues for "live" (sign-constrained fit, bench/_fusion_fit.py)
        assert all(f.weights[k] <= 0 for k in ("moire", "specular", "colour", "texture", "edge", "device"))
    assert "parallax" in load_fusion("clip").weights and "parallax" not in load_fusion("frame").weights


def test_clip_signals_are_medians_of_what_was_measured():
    frames = [{"a": 1.0, "b": None}, {"a": 3.0, "b": 2.0}, {"a": 2.0, "b": None}]
    assert clip_signals(frames) == {"a": 2.0, "b": 2.0}
    assert clip_signals([{"a": None}]) == {"a": None}
