"""LivenessSession's identity continuity on synthetic cues and embeddings (no model is loaded)."""

from __future__ import annotations

import numpy as np
import pytest

from faceplane import InvalidArgumentError
from faceplane.liveness import IDENTITY_FAR, Cues, LivenessSession
from faceplane.verify import load_calibration

FRONTAL = Cues(ear=0.27, mar=0.05, yaw=0.0, pitch=0.0, roll=0.0)
PROFILE = Cues(ear=0.27, mar=0.05, yaw=40.0, pitch=0.0, roll=0.0)  # a head turn: never compared


def _unit(dim: int, axis: int) -> np.ndarray:
    v = np.zeros(dim, np.float32)
    v[axis] = 1.0
    return v


def _at_distance(first: np.ndarray, distance: float) -> np.ndarray:
    """A unit vector at ``distance`` from the unit vector ``first`` (both in the plane of axes 0 and 1)."""
    cos = 1.0 - distance**2 / 2.0
    return np.array([cos, np.sqrt(1.0 - cos**2), *np.zeros(first.size - 2)], np.float32)


def test_the_default_threshold_is_mobilefacenets_calibrated_one():
    session = LivenessSession(challenges=["blink"])
    assert session.same_person_distance == pytest.approx(load_calibration().threshold_at_far(IDENTITY_FAR))
    assert LivenessSession(challenges=["blink"], same_person_distance=0.4).same_person_distance == 0.4


@pytest.mark.parametrize(
    ("margin", "cues", "changed"),
    [(-0.02, FRONTAL, False), (0.02, FRONTAL, True), (0.5, PROFILE, False)],
)
def test_the_face_must_stay_within_the_threshold(margin, cues, changed):
    session = LivenessSession(challenges=["blink"], same_person_distance=1.0)
    first = _unit(192, 0)
    session.feed(0.0, FRONTAL, nonce=session.nonce, embedding=first)
    session.feed(0.1, cues, nonce=session.nonce, embedding=_at_distance(first, 1.0 + margin))
    reasons = session.result().reasons
    assert session.decided == changed and ("face changed" in reasons[0]) == changed, reasons


@pytest.mark.parametrize("distance", [0.0, -1.0, float("nan"), float("inf")])
def test_a_bad_threshold_is_refused(distance):
    with pytest.raises(InvalidArgumentError, match="same_person_distance"):
        LivenessSession(challenges=["blink"], same_person_distance=distance)
