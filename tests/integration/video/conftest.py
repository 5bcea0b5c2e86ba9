"""``rtsp_server``: a real RTSP camera (gst-rtsp-server in a subprocess) looping the shared test clips;
``gallery``: Lin-Manuel Miranda on the "watchlist" collection, Alex Lacamoire on "staff" (one per module)."""

from __future__ import annotations

import select
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from faceplane import Gallery

SCRIPT = Path(__file__).resolve().parents[2] / "support" / "rtsp_server.py"
# python3-gi and GstRtspServer are Debian packages, so the server runs under the system Python, not the venv
SYSTEM_PYTHON = "/usr/bin/python3"
PACKAGES = "python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good"
# the probe checks the bindings and the elements that rtsp_server.py and gst-rtsp-server link
PROBE = """
import gi
gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import Gst, GstRtspServer
Gst.init(None)
elements = ("filesrc", "qtdemux", "appsink", "appsrc", "rtph264pay", "rtpbin", "udpsink")
missing = [name for name in elements if not Gst.ElementFactory.find(name)]
if missing:
    raise SystemExit(f"missing GStreamer elements {missing}")
"""
READY_TIMEOUT_S = 15.0


class RtspServer:
    """One server process serving ``mounts`` (``{"/cam": clip}``); its port survives :meth:`restart`."""

    def __init__(self, mounts: dict[str, Path], log_path: Path) -> None:
        self.mounts = mounts
        self.log_path = log_path
        self.port = 0  # 0: the first start lets the server pick a free port
        self._proc: subprocess.Popen[str] | None = None

    def url(self, mount: str) -> str:
        if mount not in self.mounts:
            raise ValueError(f"no mount {mount!r}; have {sorted(self.mounts)}")
        return f"rtsp://127.0.0.1:{self.port}{mount}"

    def start(self) -> None:
        args = [SYSTEM_PYTHON, str(SCRIPT), "--port", str(self.port)]
        for mount, path in self.mounts.items():
            args += ["--mount", f"{mount}={path}"]
        with self.log_path.open("a") as log:
            self._proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log, text=True)
        stdout = self._proc.stdout  # a pipe: stdout=PIPE
        ready, _, _ = select.select([stdout], [], [], READY_TIMEOUT_S)
        line = stdout.readline() if ready else ""  # type: ignore[union-attr]
        if not line.startswith("ready "):
            self.stop()
            pytest.fail(f"RTSP server not ready within {READY_TIMEOUT_S} s: {self.log_path.read_text()[-2000:]}")
        self.port = int(line.split()[1])

    def restart(self, pause_s: float = 1.0) -> None:
        """Kill the server as a crash would (SIGKILL), wait ``pause_s``, start it again on the same port."""
        self.stop()
        time.sleep(pause_s)
        self.start()

    def freeze(self, seconds: float) -> None:
        """SIGSTOP the server for ``seconds``: connections stay open but no data flows (a stalled camera)."""
        assert self._proc is not None
        self._proc.send_signal(signal.SIGSTOP)
        try:
            time.sleep(seconds)
        finally:
            self._proc.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            if self._proc.stdout is not None:
                self._proc.stdout.close()
            self._proc = None


def _check_gst_rtsp_server() -> None:
    try:
        result = subprocess.run([SYSTEM_PYTHON, "-c", PROBE], capture_output=True, text=True, timeout=30)
        error = (result.stderr.strip().splitlines() or ["failed"])[-1] if result.returncode else None
    except (OSError, subprocess.TimeoutExpired) as exc:
        error = str(exc)
    if error is not None:
        pytest.fail(
            f"gst-rtsp-server is not usable from {SYSTEM_PYTHON} ({error}); "
            f"install the Debian packages: apt-get install {PACKAGES}"
        )


@pytest.fixture
def rtsp_server(data: Path, tmp_path: Path) -> Iterator[RtspServer]:
    """Serves ``/cam`` (640x360 H.264, 29.97 fps, 9 s) and ``/cam2`` (768x432, 10 fps, 139 s), both looping."""
    _check_gst_rtsp_server()
    mounts = {
        "/cam": data / "faces" / "face_recognition-examples" / "examples" / "short_hamilton_clip.mp4",
        "/cam2": data / "video" / "intel-sample-videos" / "one-by-one-person-detection.mp4",
    }
    missing = [str(path) for path in mounts.values() if not path.is_file()]
    if missing:
        pytest.fail(f"test clips not found: {missing}")
    server = RtspServer(mounts, tmp_path / "rtsp_server.log")
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def gallery_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("gallery")


@pytest.fixture(scope="module")
def gallery(gallery_dir, examples, engine):
    g = Gallery.open(gallery_dir, engine=engine)
    g.create_collection("watchlist")
    g.create_collection("staff")
    assert g.enroll("watchlist", [examples / "lin-manuel-miranda.png"], name="Lin-Manuel Miranda").template_ids
    assert g.enroll("staff", [examples / "alex-lacamoire.png"], name="Alex Lacamoire").template_ids
    yield g
    g.close()
