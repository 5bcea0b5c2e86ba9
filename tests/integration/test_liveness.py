"""Challenge-response liveness driven by landmark sequences measured from the shared clips.

``real.mov`` is a live person who blinks (~2 s), turns right (~6.9 s), opens the mouth (~7.6 s) and
turns left (~9.9 s); ``fake.mp4`` is a phone replaying a face. The cues are measured here, frame by
frame, with the 68-point model (not stored numbers).
"""

from __future__ import annotations

import numpy as np
import pytest

from faceplane import Engine, InvalidArgumentError
from faceplane.liveness import LivenessSession, measure_cues
from faceplane.video import VideoSource

pytestmark = pytest.mark.slow

CLIP_ORDER = ["blink", "turn_right", "open_mouth", "turn_left"]


@pytest.fixture(scope="module")
def sequences(data):
    engine = Engine(landmarks=68)  # full-size detection: the cues move with the box (detect_width changes them)
    out = {}
    for name in ("real.mov", "fake.mp4"):
        frames = []
        for frame in VideoSource(str(data / "liveness/antispoof-zubair-videos/videos" / name), fps=None).frames():
            faces, chips, _ = engine.detect_detailed(frame.image)
            if not len(faces):
                frames.append((frame.t_s, None, None))
                continue
            cues = measure_cues(faces.landmarks[0], frame.image.shape[1], frame.image.shape[0])
            frames.append((frame.t_s, cues, engine.embed_chips(chips[:1])[0]))
        out[name] = frames
    return out


def _run(frames, session, swap_after_s=None, other=None):
    for t_s, cues, embedding in frames:
        if session.decided:
            break
        if swap_after_s is not None and t_s > swap_after_s and embedding is not None:
            embedding = other
        session.feed(t_s, cues, nonce=session.nonce, embedding=embedding)
    return session.result()


def test_live_person_passes_the_challenges_they_perform(sequences):
    result = _run(sequences["real.mov"], LivenessSession(challenges=CLIP_ORDER))
    assert result.passed and result.completed == CLIP_ORDER, result


def test_phone_replay_fails(sequences):
    result = _run(sequences["fake.mp4"], LivenessSession(challenges=CLIP_ORDER))
    assert not result.passed and "not done within" in result.reasons[0]


@pytest.mark.parametrize(
    "order", [["turn_left", "blink"], ["open_mouth", "blink"], ["turn_left", "turn_right"]]
)
def test_a_recording_in_another_order_fails(sequences, order):
    """What replaying a recorded session amounts to: the recording's order, not the one asked for now."""
    result = _run(sequences["real.mov"], LivenessSession(challenges=order))
    assert not result.passed and result.reasons


def test_a_face_swapped_midway_is_refused(sequences, engine, examples):
    stranger = engine.analyze(examples / "obama.jpg").embedding[0]
    result = _run(sequences["real.mov"], LivenessSession(challenges=CLIP_ORDER), swap_after_s=4.0, other=stranger)
    assert not result.passed and "face changed" in result.reasons[0]


def test_nonce_replay_and_timeouts(sequences):
    session = LivenessSession(challenges=["blink"])
    t_s, cues, _ = next(f for f in sequences["real.mov"] if f[1] is not None)
    with pytest.raises(InvalidArgumentError, match="nonce"):
        session.feed(t_s, cues, nonce="someone-elses-nonce")
    _run(sequences["real.mov"], session)
    assert session.result().passed
    with pytest.raises(InvalidArgumentError, match="decided"):
        session.feed(t_s + 20, cues, nonce=session.nonce)  # frames after the decision: a replay
    slow = LivenessSession(challenges=["open_mouth"], total_timeout_s=1.0, challenge_timeout_s=60)
    result = _run(sequences["real.mov"], slow)
    assert not result.passed and "longer than 1 s" in result.reasons[0]


def test_sessions_draw_different_orders():
    orders = {tuple(LivenessSession().challenges) for _ in range(30)}
    assert len(orders) >= 10 and all(len(o) == 3 and len(set(o)) == 3 for o in orders)
    with pytest.raises(InvalidArgumentError):
        LivenessSession(challenges=["smile_for_suspicion"])


def test_cues_need_68_points():
    with pytest.raises(InvalidArgumentError):
        measure_cues(np.zeros((5, 2)), 640, 480)


def test_head_pose_is_never_upside_down(sequences):
    """The iterative PnP solver flipped 21 of these frames to roll ~180 degrees; SQPnP must not."""
    rolls = [c.roll for name in sequences for _, c, _ in sequences[name] if c is not None]
    assert len(rolls) > 200 and max(abs(r) for r in rolls) < 45


def test_evidence_frames_keep_the_subject_and_blur_bystanders(engine, examples):
    """Obama at the kiosk, a small Biden behind him: the evidence shows Obama, not Biden."""
    from PIL import Image

    from faceplane.liveness import LivenessChecker

    scene = np.array(Image.open(examples / "obama.jpg").convert("RGB"))
    biden = Image.open(examples / "biden.jpg").convert("RGB").crop((360, 180, 800, 620)).resize((220, 220))
    scene[-220:, :220] = np.array(biden)  # bottom-left corner: a bystander
    faces = engine.analyze(scene)
    assert len(faces) == 2
    checker = LivenessChecker(Engine(landmarks=68), redact=True)
    status = checker.start(challenges=["blink"])
    checker.feed_image(status.session_id, checker.nonce(status.session_id), scene, 0.0)
    checker.feed_image(status.session_id, checker.nonce(status.session_id), np.zeros_like(scene), 7.0 - 5.5)
    start = next(e for e in checker._sessions[status.session_id].evidence.values() if e.label == "start")
    kept = engine.analyze(start.jpeg)
    assert len(kept) == 1  # only the subject is still a face
    assert np.linalg.norm(kept.embedding[0] - faces.embedding[0]) < 0.3  # and it is Obama
