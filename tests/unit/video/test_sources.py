"""Video sources on real files: sampling, status, bad input. (RTSP: tests/integration/video/test_rtsp.py.)"""

from __future__ import annotations

import itertools

import pytest

from faceplane.errors import InvalidArgumentError, SourceError
from faceplane.video.sources import SourceState, VideoSource, describe_source, mask_credentials


@pytest.fixture(scope="module")
def clip(examples):
    return examples / "short_hamilton_clip.mp4"  # 275 frames at 29.97 fps, 640x360, first pts 0.85 s


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("webcam:0", ("/dev/video0", "v4l2", True)),
        ("2", ("/dev/video2", "v4l2", True)),
        ("rtsp://cam.local/stream", ("rtsp://cam.local/stream", None, True)),
        ("https://x/y.m3u8", ("https://x/y.m3u8", None, True)),
    ],
)
def test_describe_source(spec, expected):
    assert describe_source(spec) == expected


@pytest.mark.parametrize("spec", ["", "  ", "/no/such/file.mp4", "gopher://x/y"])
def test_describe_source_rejects(spec):
    with pytest.raises(SourceError):
        describe_source(spec)


def test_mask_credentials():
    assert mask_credentials("rtsp://admin:hunter2@10.0.0.5:554/s") == "rtsp://admin:***@10.0.0.5:554/s"
    assert mask_credentials("rtsp://10.0.0.5/s") == "rtsp://10.0.0.5/s"


@pytest.mark.parametrize(("fps", "expected"), [(5.0, 46), (1.0, 10), (None, 275)])
def test_file_is_sampled_to_the_analysis_rate(clip, fps, expected):
    with VideoSource(str(clip), fps=fps) as src:
        frames = list(src.frames())
    assert len(frames) == expected
    assert frames[0].t_s == 0.0 and frames[0].image.shape == (360, 640, 3)
    times = [f.t_s for f in frames]
    assert times == sorted(times) and len({f.index for f in frames}) == len(frames)
    status = src.status
    assert status.state == SourceState.ENDED and status.frames_decoded == 275 and status.frames_dropped == 0


def test_loop_keeps_time_increasing(clip):
    src = VideoSource(str(clip), fps=2, loop=True)
    frames = [f for _, f in zip(range(30), src.frames(), strict=False)]
    src.stop()
    times = [f.t_s for f in frames]
    assert times[-1] > 10.0 and all(b > a for a, b in itertools.pairwise(times))


def test_not_a_video_fails_with_a_reason(tmp_path):
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    src = VideoSource(str(bad))
    assert list(src.frames()) == []
    assert src.status.state == SourceState.FAILED and "Invalid data" in src.status.reason


@pytest.mark.parametrize("kwargs", [{"fps": 0}, {"timeout_s": 0}, {"queue_size": 0}])
def test_bad_arguments(clip, kwargs):
    with pytest.raises(InvalidArgumentError):
        VideoSource(str(clip), **kwargs)


def test_stop_ends_a_paced_file_promptly(clip):
    src = VideoSource(str(clip), fps=None, realtime=True, queue_size=2).start()
    assert src.read(timeout_s=5) is not None
    src.stop(timeout_s=5)
    assert src.status.state == SourceState.STOPPED


def test_end_s_stops_a_file_early(clip):
    with VideoSource(str(clip), fps=5, end_s=3.0) as src:
        frames = list(src.frames())
    assert len(frames) == 15 and frames[-1].t_s < 3.0 and src.status.state == SourceState.ENDED
