"""Scene cuts on real clips: the Hamilton clip's four cuts found, none in fixed-camera footage."""

from __future__ import annotations

import av
import numpy as np
import pytest

from faceplane.errors import InvalidArgumentError
from faceplane.video.cuts import CutDetector


def _cut_times(path, fps=5.0):
    cuts, found = CutDetector(), []
    with av.open(str(path)) as container:
        rate = float(container.streams.video[0].average_rate or 25)
        step = max(1, round(rate / fps))
        for i, frame in enumerate(container.decode(video=0)):
            if i % step == 0 and cuts(frame.to_ndarray(format="rgb24")):
                found.append(round(i / rate, 1))
    return found


def test_the_hamilton_clips_cuts_are_found(examples):
    # the shots change at 0.8 s (stage -> close-up), 1.6 s (audience), 2.8 s (Lin-Manuel) and 7.2 s (a stranger)
    assert _cut_times(examples / "short_hamilton_clip.mp4") == [0.8, 1.6, 2.8, 7.2]


@pytest.mark.parametrize(
    "clip",
    ["video/pets09-s2l1-video/vtest.mp4", "video/mot15/benchmarks/MOT15/TUD-Campus/TUD-Campus.mp4",
     "video/intel-sample-videos/one-by-one-person-detection.mp4"],
)
def test_fixed_cameras_have_no_cuts(data, clip):
    assert _cut_times(data / clip) == []


def test_brightness_changes_and_flat_frames():
    rng = np.random.default_rng(1)
    scene = rng.integers(40, 200, (90, 160, 3), dtype=np.uint8)
    cuts = CutDetector()
    assert not cuts(scene)
    assert not cuts((scene.astype(np.float32) * 0.6 + 30).astype(np.uint8))  # auto-exposure, not a cut
    black = np.zeros_like(scene)
    assert cuts(black)  # the picture went black
    assert not cuts(black)
    assert cuts(np.full_like(scene, 200))  # black to white
    assert cuts(scene)


@pytest.mark.parametrize("bad", [1.0, -1.0, float("nan")])
def test_bad_threshold(bad):
    with pytest.raises(InvalidArgumentError, match="min_correlation"):
        CutDetector(min_correlation=bad)


def test_bad_image():
    with pytest.raises(InvalidArgumentError, match="18x32"):
        CutDetector()(np.zeros((10, 10, 3), np.uint8))
