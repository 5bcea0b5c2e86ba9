"""SilentSession (liveness_mode = "passive") and the checker's modes: plumbing with synthetic cues."""

from __future__ import annotations

import numpy as np
import pytest

from faceplane import Engine, InvalidArgumentError
from faceplane.liveness import LivenessChecker
from faceplane.liveness.challenge import Cues
from faceplane.liveness.silent import SilentSession

FRONT = Cues(ear=0.3, mar=0.1, yaw=0.0, pitch=0.0, roll=0.0)


def _unit(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=128).astype(np.float32)
    return v / np.linalg.norm(v)


def test_decided_after_enough_face_frames_over_the_span():
    s = SilentSession(frames=4, span_s=1.0, same_person_distance=1.0)
    assert s.challenges == [] and s.current is None and not s.ready
    for i, t in enumerate([0.0, 0.1, 0.2, 0.3, 0.5]):
        s.feed(t, FRONT if i != 1 else None, nonce=s.nonce)  # a frame without a face does not count
    assert not s.decided  # 4 faces, but over 0.5 s only
    s.feed(1.0, FRONT, nonce=s.nonce)
    assert s.decided and s.result().passed and s.result().reasons == []
    with pytest.raises(InvalidArgumentError, match="decided"):
        s.feed(1.1, FRONT, nonce=s.nonce)


def test_a_swapped_face_fails_and_a_late_face_times_out():
    s = SilentSession(frames=3, span_s=0.0, same_person_distance=0.5)
    s.feed(0.0, FRONT, nonce=s.nonce, embedding=_unit(1))
    s.feed(0.1, FRONT, nonce=s.nonce, embedding=_unit(2))  # two random unit vectors: ~1.4 apart
    assert s.decided and not s.result().passed and "face changed" in s.result().reasons[0]
    late = SilentSession(frames=3, total_timeout_s=2.0, same_person_distance=0.5)
    late.feed(0.0, None, nonce=late.nonce)
    late.feed(2.5, FRONT, nonce=late.nonce)
    assert late.decided and "long enough" in late.result().reasons[0]
    with pytest.raises(InvalidArgumentError, match="nonce"):
        SilentSession(same_person_distance=0.5).feed(0.0, FRONT, nonce="forged")
    with pytest.raises(InvalidArgumentError, match="frames"):
        SilentSession(frames=1)


def test_checker_modes():
    engine = Engine(landmarks=68)
    passive = LivenessChecker(engine, mode="passive")
    status = passive.start(count=3)
    assert status.challenges == [] and status.current is None  # kiosks ask nothing
    with pytest.raises(InvalidArgumentError, match="passive"):
        passive.start(challenges=["blink"])
    assert LivenessChecker(engine, mode="challenge").start(count=2).challenges
    with pytest.raises(InvalidArgumentError, match="mode"):
        LivenessChecker(engine, mode="silent")
