"""VideoSource against a real RTSP server (gst-rtsp-server looping the shared clips): reading, sharing a
camera, surviving a server crash, giving up on a dead address."""

from __future__ import annotations

import socket
import time

import numpy as np
import pytest

from faceplane.types import Frame
from faceplane.video.sources import SourceState, VideoSource

pytestmark = pytest.mark.e2e


def next_frame(src: VideoSource, timeout_s: float = 10.0) -> Frame:
    frame = src.read(timeout_s=timeout_s)
    if frame is None:
        pytest.fail(f"no frame within {timeout_s} s: {src.status}")
    return frame


@pytest.mark.parametrize(("mount", "shape"), [("/cam", (360, 640, 3)), ("/cam2", (432, 768, 3))])
def test_reads_a_live_stream_at_the_analysis_rate(rtsp_server, mount, shape):
    with VideoSource(rtsp_server.url(mount), fps=5, timeout_s=5) as src:
        frames = [next_frame(src) for _ in range(6)]
        status = src.status
    assert status.state is SourceState.LIVE
    assert status.camera == rtsp_server.url(mount)
    assert all(f.image.shape == shape and f.image.dtype == np.uint8 for f in frames)
    assert frames[-1].image.std() > 5  # a real picture, not a grey or black frame
    gaps = np.diff([f.t_s for f in frames[1:]])  # the first frame may have waited in the queue
    assert gaps.min() > 0.1, gaps  # 5 fps out of 10 or 29.97: about 0.2 s apart


def test_two_clients_watch_the_same_camera(rtsp_server):
    with VideoSource(rtsp_server.url("/cam"), fps=5) as a, VideoSource(rtsp_server.url("/cam"), fps=5) as b:
        frames = [(next_frame(a), next_frame(b)) for _ in range(4)]
        states = (a.status.state, b.status.state)
    assert states == (SourceState.LIVE, SourceState.LIVE)
    assert all(fa.image.shape == fb.image.shape == (360, 640, 3) for fa, fb in frames)


def test_keeps_reading_across_a_server_crash(rtsp_server):
    with VideoSource(rtsp_server.url("/cam"), fps=5) as src:
        before = [next_frame(src) for _ in range(3)]
        rtsp_server.restart(pause_s=1.0)  # kill -9, nothing listening for 1 s, then the same port again
        restarted_wall_s = time.time()
        after: list[Frame] = []
        deadline = time.monotonic() + 20
        while len([f for f in after if f.wall_s > restarted_wall_s]) < 3 and time.monotonic() < deadline:
            after.append(next_frame(src, timeout_s=deadline - time.monotonic()))
        status = src.status
    assert len([f for f in after if f.wall_s > restarted_wall_s]) >= 3, status
    assert status.state is SourceState.LIVE
    assert status.reconnects >= 1
    t_s = [f.t_s for f in before + after]
    assert np.all(np.diff(t_s) > 0), t_s
    assert np.all(np.diff([f.index for f in before + after]) > 0)


def test_gives_up_on_an_address_with_nothing_listening():
    with socket.socket() as sock:  # a port that was free a moment ago
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started = time.monotonic()
    with VideoSource(f"rtsp://127.0.0.1:{port}/cam", max_retries=1, timeout_s=2) as src:
        while not src.finished and time.monotonic() - started < 15:
            assert src.read(timeout_s=0.2) is None
        status = src.status
    elapsed_s = time.monotonic() - started
    assert status.state is SourceState.FAILED
    assert status.reason.startswith("gave up after 2 attempts"), status.reason
    assert status.frames_decoded == 0
    assert elapsed_s < 8, elapsed_s  # two attempts refused at once, 0.5 s back-off between them


def test_survives_repeated_stalls(rtsp_server):
    """A camera that freezes now and then (no data, connection open) is reopened every time.

    With ``max_retries=1`` only attempts *in a row* that get no frame count: two stalls separated by
    good frames must not make the source give up.
    """
    with VideoSource(rtsp_server.url("/cam"), fps=5, timeout_s=2, max_retries=1) as src:
        next_frame(src)
        reasons = []
        for _ in range(2):
            rtsp_server.freeze(5.5)  # > 2 x timeout_s: the read times out (the first timeout yields a buffered packet)
            reasons.append(src.status.reason)
            frozen_until = time.time()
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and next_frame(src, timeout_s=20).wall_s <= frozen_until:
                pass
        status = src.status
    assert status.state is SourceState.LIVE, status
    assert status.reconnects >= 2, (status, reasons)
    assert any("no data for 2 s" in r for r in reasons), reasons
