"""Passive presentation-attack cues: input checks, result shapes, determinism, and that each cue
responds to the artifact it is named after on synthetic images (plumbing, not accuracy: see
tests/integration/test_liveness_passive.py and bench/liveness.py for real data)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from faceplane import InvalidArgumentError
from faceplane.liveness.passive import PASSIVE_THRESHOLD, PassiveClip, PassiveCues, passive_frame

BOX = np.array([220, 140, 380, 300], np.float32)


def _texture(shape: tuple[int, int], seed: int, sigma: float = 4.0) -> np.ndarray:
    """Smooth random texture (H, W, 3) uint8 with a warm, skin-like tint."""
    rng = np.random.default_rng(seed)
    noise = cv2.GaussianBlur(rng.normal(0, 1, shape).astype(np.float32), (0, 0), sigma)
    grey = 128 + 40 * noise / (noise.std() + 1e-6)
    tint = np.array([1.1, 0.9, 0.8], np.float32)
    return np.clip(grey[..., None] * tint, 0, 255).astype(np.uint8)


@pytest.fixture
def scene() -> np.ndarray:
    return _texture((480, 640), seed=1)


@pytest.mark.parametrize(
    ("image", "box", "match"),
    [
        (np.zeros((480, 640, 3), np.float32), BOX, "uint8"),
        (np.zeros((480, 640), np.uint8), BOX, r"\(H, W, 3\)"),
        (np.zeros((480, 640, 4), np.uint8), BOX, r"\(H, W, 3\)"),
        ([[0, 0, 0]], BOX, "array"),
        (np.zeros((480, 640, 3), np.uint8), np.array([1, 2, 3], np.float32), "4 finite"),
        (np.zeros((480, 640, 3), np.uint8), np.array([0, 0, np.nan, 10], np.float32), "4 finite"),
        (np.zeros((480, 640, 3), np.uint8), np.array([300, 300, 200, 400], np.float32), "empty"),
        (np.zeros((480, 640, 3), np.uint8), np.array([10, 10, 14, 14], np.float32), "empty"),
        (np.zeros((480, 640, 3), np.uint8), np.array([620, 400, 820, 600], np.float32), "outside"),
        (np.zeros((480, 640, 3), np.uint8), np.array([-500, 0, -300, 200], np.float32), "outside"),
    ],
)
def test_bad_input_is_refused(image, box, match):
    with pytest.raises(InvalidArgumentError, match=match):
        passive_frame(image, box)
    with pytest.raises(InvalidArgumentError, match=match):
        PassiveClip().add(image, box)


def test_result_shape_and_determinism(scene):
    first = passive_frame(scene, BOX)
    assert first == passive_frame(scene.copy(), BOX.copy())
    assert isinstance(first.cues, PassiveCues) and first.cues.parallax is None
    assert 0.0 <= first.score <= 1.0 and first.live == (first.score >= PASSIVE_THRESHOLD)
    for name in ("moire", "specular", "colour", "texture", "edge"):
        assert 0.0 <= getattr(first.cues, name) <= 1.0
    assert first.live and first.reasons == []  # a warm, contrasty, frameless texture: nothing to flag
    strict = passive_frame(scene, BOX, threshold=1.01)
    assert not strict.live and strict.reasons and strict.score == first.score


def test_a_screen_grid_raises_the_moire_cue(scene):
    yy, xx = np.mgrid[0:480, 0:640].astype(np.float32)
    angle = np.deg2rad(12)  # a slightly rotated sub-pixel grid, as a camera sees a screen
    grid = 0.75 + 0.25 * np.cos(2 * np.pi * 0.4 * (xx * np.cos(angle) + yy * np.sin(angle)))
    screen = np.clip(scene * grid[..., None], 0, 255).astype(np.uint8)
    plain, moire = passive_frame(scene, BOX), passive_frame(screen, BOX)
    assert plain.cues.moire == 0.0 and moire.cues.moire > 0.5
    assert moire.score < plain.score


def test_a_blue_cast_and_a_bezel_are_flagged(scene):
    blue = scene.copy()
    blue[..., 0] //= 3  # a cyan screen: red squeezed out
    assert passive_frame(blue, BOX).cues.colour == 1.0 and passive_frame(scene, BOX).cues.colour == 0.0
    framed = scene.copy()
    cv2.rectangle(framed, (175, 95), (425, 345), (10, 10, 10), 12)  # a dark bezel round the face
    result = passive_frame(framed, BOX)
    assert result.cues.edge == 1.0 and passive_frame(scene, BOX).cues.edge == 0.0
    assert not passive_frame(blue, BOX).live and any("colour" in r for r in passive_frame(blue, BOX).reasons)


def _moving(rigid: bool, frames: int = 8) -> PassiveClip:
    """A textured face moving 3 px a frame over a still room (live), or with the room around it (held)."""
    room, face = _texture((480, 640), seed=2), _texture((160, 160), seed=3, sigma=2.0)
    base = room.copy()
    base[140:300, 240:400] = face
    clip = PassiveClip(max_frames=5)
    for i in range(frames):
        dx = 3 * i
        if rigid:
            image = np.roll(base, dx, axis=1)  # everything near the face moves with it
        else:
            image = room.copy()
            image[140:300, 240 + dx : 400 + dx] = face
        clip.add(image, np.array([240 + dx, 140, 400 + dx, 300], np.float32))
    return clip


def test_clip_parallax_and_bounded_memory():
    live, held = _moving(rigid=False).result(), _moving(rigid=True).result()
    assert live.cues.parallax is not None and held.cues.parallax is not None
    assert live.cues.parallax < 0.2 < 0.8 < held.cues.parallax
    assert len(_moving(rigid=False)) == 5  # max_frames
    with pytest.raises(InvalidArgumentError, match="at least one frame"):
        PassiveClip().result()
    with pytest.raises(InvalidArgumentError, match="max_frames"):
        PassiveClip(max_frames=0)
