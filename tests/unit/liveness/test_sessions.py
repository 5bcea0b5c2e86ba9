"""LivenessChecker plumbing without frames: session lifetime, limits and one-time use (no model is loaded)."""

from __future__ import annotations

import numpy as np
import pytest

from faceplane import Engine, InvalidArgumentError, NotFoundError
from faceplane.liveness import IDENTITY_FAR, LivenessChecker
from faceplane.verify import load_calibration


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def checker(clock: Clock) -> LivenessChecker:
    return LivenessChecker(Engine(landmarks=68), ttl_s=60, max_sessions=2, clock=clock)


def test_sessions_expire_on_the_server_clock(checker, clock):
    status = checker.start(challenges=["blink"])
    assert status.current == "blink" and not status.ready and not status.decided and status.frames == 0
    clock.now += 59
    assert checker.status(status.session_id).session_id == status.session_id
    clock.now += 2
    with pytest.raises(NotFoundError, match="unknown or expired"):
        checker.status(status.session_id)


def test_open_sessions_are_capped(checker, clock):
    checker.start()
    checker.start()
    with pytest.raises(InvalidArgumentError, match="2 liveness sessions are open"):
        checker.start()
    clock.now += 61  # the old ones expire and make room
    assert checker.start().challenges


def test_a_session_is_taken_once_and_only_when_decided(checker):
    status = checker.start(challenges=["turn_left"])
    with pytest.raises(InvalidArgumentError, match="not decided"):
        checker.take(status.session_id)
    with pytest.raises(InvalidArgumentError, match="nonce"):
        checker.feed_image(status.session_id, "forged", np.zeros((48, 64, 3), np.uint8), 0.0)
    nonce = checker.nonce(status.session_id)
    blank = np.zeros((48, 64, 3), np.uint8)  # no face: the detector finds nothing, the challenge times out
    checker.feed_image(status.session_id, nonce, blank, 0.0)
    with pytest.raises(InvalidArgumentError, match="runs backwards"):
        checker.feed_image(status.session_id, nonce, blank, -1.0)
    with pytest.raises(InvalidArgumentError, match="started"):
        checker.feed_image(status.session_id, nonce, blank, 5.0)  # ahead of the server's clock (+2 s slack)
    assert checker.status(status.session_id).frames == 1


@pytest.mark.parametrize("embedder", ["mobilefacenet", "dlib"])
def test_sessions_keep_the_identity_at_the_engines_calibrated_threshold(embedder, clock):
    """Embedding distances differ per embedder: each session gets its engine's own 1:1 threshold."""
    engine = Engine(landmarks=68, embedder=embedder)
    expected = load_calibration(engine.calibration_key).threshold_at_far(IDENTITY_FAR)
    checker = LivenessChecker(engine, clock=clock)
    session = checker._sessions[checker.start().session_id].active
    assert session.same_person_distance == pytest.approx(expected) == checker.same_person_distance
    stricter = LivenessChecker(engine, clock=clock, identity_far=1e-5)
    assert stricter.same_person_distance < expected


def test_bad_arguments(clock):
    with pytest.raises(InvalidArgumentError, match="landmarks=68"):
        LivenessChecker(Engine())
    with pytest.raises(InvalidArgumentError, match="false-accept rate"):
        LivenessChecker(Engine(landmarks=68), identity_far=0.0)
    checker = LivenessChecker(Engine(landmarks=68), ttl_s=10, clock=clock)
    with pytest.raises(InvalidArgumentError, match="shorter than a session"):
        checker.start()
    with pytest.raises(InvalidArgumentError, match="unknown challenges"):
        LivenessChecker(Engine(landmarks=68), clock=clock).start(challenges=["guess_mood"])
