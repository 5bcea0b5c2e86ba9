"""The default passive check (fused cues + device frame + learned models) on the shared liveness samples.

What the shipped fusion (``liveness/fusion.json``) was fitted on: side Z of ``bench/liveness.py`` —
the two zubair videos and synthetic attacks of family A. So the video checks here are on *fitting*
data (a regression guard: they must stay right), while the silent-face stills were never fitted on:
T1 (live) must pass; the print (F1) and the tablet (F2) are known misses of the default clip decision
(bench: p(live) 0.85 and 0.67 against a threshold of 0.57), marked strict xfail so a fix shows up.
Faces are found as the server's liveness engine finds them (``detect_width=320``).
"""

from __future__ import annotations

import numpy as np
import pytest

from faceplane import Engine
from faceplane.liveness import LivenessChecker
from faceplane.liveness.pad import PresentationAttackDetector
from faceplane.video import VideoSource

pytestmark = pytest.mark.slow

VIDEOS = "liveness/antispoof-zubair-videos/videos"
STILLS = "liveness/antispoof-silent-face/images/sample"
MAN_BEHIND = np.array([366, 263, 552, 450], np.float32)  # the live man's box in fake.mp4's first second


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    x0, y0 = np.maximum(a[:2], b[:2])
    x1, y1 = np.minimum(a[2:], b[2:])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    return float(inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter))


@pytest.fixture(scope="module")
def liveness_engine() -> Engine:
    return Engine(landmarks=68, detect_width=320)


@pytest.fixture(scope="module")
def pad() -> PresentationAttackDetector:
    return PresentationAttackDetector()


def _windows(data, engine: Engine, name: str, pick) -> list[list[tuple[np.ndarray, np.ndarray]]]:
    """2 s windows of every 2nd frame (7.5 fps): (image, face box) of the picked face."""
    windows: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in range(8)]
    for i, frame in enumerate(VideoSource(str(data / VIDEOS / name), fps=None).frames()):
        if i % 2:
            continue
        box = pick(engine.detect(frame.image))
        if box is not None:
            windows[int(frame.t_s // 2.0)].append((frame.image, box))
    return [w for w in windows if len(w) >= 5]


def test_default_uses_the_shipped_fusion_and_its_models(pad):
    assert "Z:" in pad.clip_fusion.fitted_on and 0 < pad.clip_fusion.threshold < 1
    assert "liveness" in pad.models and "fas" not in pad.models  # FaceAntiSpoofing is not fused (weight absent)
    assert pad.objects is not None  # NanoDet for the device boxes


def test_live_clip_accepted_and_phone_replay_refused(data, liveness_engine, pad):
    live = _windows(data, liveness_engine, "real.mov", lambda f: f.xyxy[0] if len(f) else None)
    phone = _windows(
        data, liveness_engine, "fake.mp4", lambda f: next((b for b in f.xyxy if _iou(b, MAN_BEHIND) <= 0.5), None)
    )
    assert len(live) >= 5 and len(phone) >= 3

    def decide(window) -> tuple[bool, list[str]]:
        clip = pad.clip()
        for image, box in window:
            clip.add(image, box)
        result = clip.result()
        return result.live, result.reasons

    # the weakest window (t = 8-10 s: the head turned away, 6 faces) sits at the threshold (bench/liveness.py: 0.570)
    assert sum(not decide(w)[0] for w in live) <= 1
    refused = [decide(w) for w in phone]
    assert not any(live for live, _ in refused)
    assert all(reasons for _, reasons in refused)  # an operator is told why


def test_live_still_accepted(data, liveness_engine, pad):
    image = liveness_engine.load(data / STILLS / "image_T1.jpg")
    faces = liveness_engine.detect(image)
    clip = pad.clip()
    clip.add(image, faces.xyxy[0])
    assert clip.result().live


@pytest.mark.xfail(strict=True, reason="known misses: the shared print and tablet stills pass the default clip check")
@pytest.mark.parametrize("name", ["F1", "F2"])
def test_print_and_tablet_stills_refused(data, liveness_engine, pad, name):
    image = liveness_engine.load(data / STILLS / f"image_{name}.jpg")
    faces = liveness_engine.detect(image)
    clip = pad.clip()
    clip.add(image, faces.xyxy[0])
    assert not clip.result().live


def test_passive_mode_session_on_the_videos(data, liveness_engine, pad):
    """liveness_mode = "passive": no challenges; the live clip passes, the phone replay is refused."""

    class Clock:
        now = 0.0

        def __call__(self) -> float:
            return self.now

    clock = Clock()
    checker = LivenessChecker(liveness_engine, mode="passive", pad=pad, clock=clock)
    outcomes = {}
    for name in ("real.mov", "fake.mp4"):
        status = checker.start()
        nonce = checker.nonce(status.session_id)
        start = clock.now
        for i, frame in enumerate(VideoSource(str(data / VIDEOS / name), fps=None).frames()):
            if i % 2 or i < 30:  # from 2 s on: fake.mp4's first second also shows the live man behind the phone
                continue
            clock.now = start + frame.t_s
            checker.feed_image(status.session_id, nonce, frame.image, frame.t_s)
            status = checker.status(status.session_id)
            if status.decided:
                break
        outcomes[name] = status
        clock.now += 1.0
    assert outcomes["real.mov"].decided and outcomes["real.mov"].passed, outcomes["real.mov"].reasons
    assert outcomes["fake.mp4"].decided and not outcomes["fake.mp4"].passed
    assert outcomes["fake.mp4"].challenges == [] and outcomes["fake.mp4"].passive_score < 0.5
