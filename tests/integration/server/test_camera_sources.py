"""The camera source policy against a real ``faceplane serve``: every trick refused (403 or 422, audited,
credentials redacted), playlists not followed, cameras of the settings and the saved state that break the
policy kept as ``refused`` and not run, and a clip under the media root still analysed.

The server runs the default policy (RTSP only, loopback and link-local denied, no webcams) with one media
root, a temporary folder holding a copy of the Hamilton clip, a symlink out of it, and HLS playlists that
point out of it: at a clip beside the root, at ``/etc/passwd`` and at a real HTTP server that counts requests.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import httpx
import pytest

from faceplane.config import DEV_ADMIN_KEY

pytestmark = pytest.mark.e2e

API = "/api/v1"
SECRET = "hunter2"  # a camera password: it must never show in an answer, a log line or the audit log


@dataclass
class Served:
    base: str
    media: Path
    outside: Path
    data_dir: Path
    log: Path
    keys: dict[str, str]  # role -> API key
    http_hits: list[str]  # paths the counting HTTP server was asked for

    def client(self, role: str) -> httpx.Client:
        return httpx.Client(base_url=self.base + API, headers={"X-API-Key": self.keys[role]}, timeout=30)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _to_mpegts(clip: Path, out: Path) -> None:
    """The clip's video remuxed into MPEG-TS (an HLS segment), no re-encoding."""
    with av.open(str(clip)) as src, av.open(str(out), "w", format="mpegts") as dst:
        stream = dst.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(src.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                dst.mux(packet)


def _playlist(path: Path, segment: str) -> None:
    path.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n{segment}\n#EXT-X-ENDLIST\n")


@pytest.fixture(scope="module")
def http_hits() -> Iterator[tuple[int, list[str]]]:
    """A real HTTP server on loopback that records every path asked of it."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_error(404)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], hits
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _layout(root: Path, examples: Path, http_port: int) -> tuple[Path, Path]:
    media, outside = root / "media", root / "outside"
    media.mkdir()
    outside.mkdir()
    shutil.copy(examples / "short_hamilton_clip.mp4", media / "clip.mp4")
    shutil.copy(examples / "short_hamilton_clip.mp4", outside / "secret.mp4")
    _to_mpegts(examples / "short_hamilton_clip.mp4", outside / "secret.ts")
    (media / "escape.mp4").symlink_to(outside / "secret.mp4")
    _playlist(media / "outside.m3u8", (outside / "secret.ts").as_uri())
    _playlist(media / "relative.m3u8", "../outside/secret.ts")
    _playlist(media / "passwd.m3u8", "file:///etc/passwd")
    _playlist(media / "http.m3u8", f"http://127.0.0.1:{http_port}/segment.ts")
    return media, outside


def _write_config(root: Path, media: Path, clip_port: int) -> Path:
    config = root / "faceplane.toml"
    config.write_text(
        f"""environment = "development"
workers = 0

[camera_sources]
media_roots = ["{media}"]

[[cameras]]
id = "cfg-passwd"
source = "/etc/passwd"

[[cameras]]
id = "cfg-door"
source = "rtsp://admin:{SECRET}@127.0.0.1:{clip_port}/door"
"""
    )
    return config


def _saved_state(data_dir: Path, media: Path) -> None:
    """A camera saved before roles were kept (a local file, as any operator could add then)."""
    data_dir.mkdir()
    state = {"watchlists": [], "cameras": [{"id": "legacy", "source": str(media / "clip.mp4")}]}
    (data_dir / "server-state.json").write_text(json.dumps(state))


def _wait_healthy(proc: subprocess.Popen[bytes], base: str, log: Path) -> None:
    deadline = time.monotonic() + 90
    while True:
        if proc.poll() is not None:
            pytest.fail(f"faceplane serve exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{base}{API}/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"faceplane serve not healthy after 90 s:\n{log.read_text()}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, examples: Path, http_hits) -> Iterator[Served]:
    http_port, hits = http_hits
    root = tmp_path_factory.mktemp("sources")
    media, outside = _layout(root, examples, http_port)
    config = _write_config(root, media, _free_port())
    _saved_state(root / "data", media)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACEPLANE_")}
    log_path = root / "serve.log"
    command = [sys.executable, "-m", "faceplane.cli", "serve", "--config", str(config), "--port", str(port)]
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [*command, "--data-dir", str(root / "data")], cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(proc, base, log_path)
        keys = {"admin": DEV_ADMIN_KEY}
        with httpx.Client(base_url=base + API, headers={"X-API-Key": DEV_ADMIN_KEY}) as admin:
            for role in ("viewer", "operator"):
                made = admin.post("/keys", json={"name": f"test-{role}", "role": role})
                assert made.status_code == 201, made.text
                keys[role] = made.json()["key"]
        yield Served(base, media, outside, root / "data", log_path, keys, hits)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _audit(served: Served, camera: str) -> list[dict[str, Any]]:
    with served.client("admin") as admin:
        rows = admin.get("/audit", params={"action": "camera.refused", "limit": 1000}).json()
    return [r for r in rows if r["target"] == camera]


def _camera_ids(served: Served) -> set[str]:
    with served.client("viewer") as viewer:
        return {c["id"] for c in viewer.get("/cameras").json()}


# -- each trick through the API --------------------------------------------------------------------------

M = "MEDIA"  # replaced by the media root in the table below
TRICKS = [
    # id, role, source, status, problem title, what the detail says
    ("passwd", "admin", "/etc/passwd", 422, "SourceRefusedError", "outside the media roots"),
    ("file-url", "admin", "file:///etc/passwd", 422, "SourceRefusedError", "outside the media roots"),
    ("dotdot", "admin", f"{M}/../outside/secret.mp4", 422, "SourceRefusedError", "outside the media roots"),
    ("symlink", "admin", f"{M}/escape.mp4", 422, "SourceRefusedError", "outside the media roots"),
    ("concat", "admin", f"concat:{M}/clip.mp4|/etc/passwd", 422, "SourceRefusedError", "scheme 'concat'"),
    ("subfile", "admin", "subfile:,,start,0,end,0,,:/etc/passwd", 422, "SourceRefusedError", "scheme 'subfile'"),
    ("metadata", "admin", "http://169.254.169.254/latest/meta-data/", 422, "SourceRefusedError", "scheme 'http'"),
    ("ssh", "admin", "http://127.0.0.1:22", 422, "SourceRefusedError", "scheme 'http'"),
    ("rtsp-metadata", "admin", f"rtsp://cam:{SECRET}@169.254.169.254/x", 422, "SourceRefusedError", "denied range"),
    ("rtsp-localhost", "admin", "rtsp://localhost:22/x", 422, "SourceRefusedError", "denied range"),
    ("rtsp-decimal-ip", "admin", "rtsp://2130706433:22/x", 422, "SourceRefusedError", "denied range"),
    ("webcam", "admin", "webcam:0", 422, "SourceRefusedError", "webcams are not allowed"),
    ("video-device", "admin", "/dev/video0", 422, "SourceRefusedError", "webcams are not allowed"),
    ("operator-file", "operator", f"{M}/clip.mp4", 403, "PermissionDeniedError", "needs the admin role"),
    ("operator-passwd", "operator", "/etc/passwd", 403, "PermissionDeniedError", "needs the admin role"),
]


@pytest.mark.parametrize(("camera", "role", "source", "status", "title", "reason"), TRICKS, ids=[t[0] for t in TRICKS])
def test_each_trick_is_refused_and_audited(served, camera, role, source, status, title, reason):
    source = source.replace(M, str(served.media))
    with served.client(role) as client:
        response = client.post("/cameras", json={"id": camera, "source": source})
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["title"] == title and reason in problem["detail"], problem
    assert SECRET not in response.text
    assert camera not in _camera_ids(served)
    (row,) = _audit(served, camera)
    detail = json.loads(row["detail"])
    assert row["status"] == status and row["role"] == role
    assert row["actor"] == ("admin" if role == "admin" else "test-operator")
    assert reason in detail["reason"] and row["ip"] == "127.0.0.1"
    assert detail["source"] == source.replace(f"cam:{SECRET}@", "***@")
    assert SECRET not in row["detail"]
    with served.client("admin") as admin:  # one row per refusal: not also the generic "refused" one
        generic = admin.get("/audit", params={"action": "refused", "limit": 1000}).json()
    assert not [r for r in generic if title in r["detail"]]


def test_a_viewer_cannot_add_any_camera(served):
    with served.client("viewer") as viewer:
        response = viewer.post("/cameras", json={"id": "viewer-cam", "source": "rtsp://10.0.0.5/stream"})
    assert response.status_code == 403 and response.json()["title"] == "HTTPException"
    assert "viewer-cam" not in _camera_ids(served)


# -- playlists inside the media root are opened, but FFmpeg follows none of their entries ----------------


def _settled(served: Served, camera: str, timeout_s: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    with served.client("viewer") as viewer:
        while True:
            state = viewer.get(f"/cameras/{camera}").json()
            if state["state"] in ("failed", "ended") or time.monotonic() > deadline:
                return state
            time.sleep(0.3)


@pytest.mark.parametrize("playlist", ["outside", "relative", "passwd", "http"])
def test_a_playlist_in_the_media_root_is_not_followed(served, playlist):
    camera = f"hls-{playlist}"
    with served.client("admin") as admin:
        added = admin.post("/cameras", json={"id": camera, "source": str(served.media / f"{playlist}.m3u8")})
        assert added.status_code == 201, added.text  # a file in the media root: the policy lets an admin add it
        try:
            state = _settled(served, camera)
        finally:
            assert admin.delete(f"/cameras/{camera}").status_code == 204
    # without format_whitelist FFmpeg plays secret.ts, beside the media root, through the playlist
    assert state["state"] == "failed" and state["frames"] == 0, state
    assert "HLS, concat, SDP refused" in state["reason"]
    assert served.http_hits == []


# -- cameras of the settings and of the saved state that break the policy --------------------------------


def test_configured_cameras_that_break_the_policy_are_shown_refused_and_not_run(served):
    with served.client("viewer") as viewer:
        cameras = {c["id"]: c for c in viewer.get("/cameras").json()}
    expected = {
        "cfg-passwd": "outside the media roots",  # the settings file
        "cfg-door": "denied range (127.0.0.0/8)",  # the settings file: loopback is denied by default
        "legacy": "needs the admin role",  # saved before roles were kept: counts as an operator's
    }
    for camera, reason in expected.items():
        shown = cameras[camera]
        assert shown["state"] == "refused" and reason in shown["reason"], shown
        assert shown["frames"] == 0
        (row,) = _audit(served, camera)
        assert row["actor"] == ("server-state" if camera == "legacy" else "settings")
    assert cameras["cfg-door"]["source"].startswith("rtsp://***@127.0.0.1:")
    assert SECRET not in json.dumps(cameras)
    log = served.log.read_text()
    assert "camera cfg-passwd not started: the camera source policy refuses it" in log
    assert "camera legacy not started" in log and SECRET not in log
    saved = json.loads((served.data_dir / "server-state.json").read_text())
    assert "legacy" in {c["id"] for c in saved["cameras"]}  # kept (and shown), not silently dropped


def test_a_refused_camera_can_be_deleted(served):
    with served.client("operator") as operator:
        assert operator.delete("/cameras/legacy").status_code == 204
        assert operator.get("/cameras/legacy").status_code == 404
    saved = json.loads((served.data_dir / "server-state.json").read_text())
    assert "legacy" not in {c["id"] for c in saved["cameras"]}


# -- what the policy allows still works -----------------------------------------------------------------


def test_an_admin_clip_under_the_media_root_is_analysed(served):
    with served.client("admin") as admin:
        added = admin.post("/cameras", json={"id": "stage", "source": str(served.media / "clip.mp4"), "fps": 5})
        assert added.status_code == 201, added.text
        try:
            saved = json.loads((served.data_dir / "server-state.json").read_text())
            assert saved["camera_roles"]["stage"] == "admin"  # it starts again at the next start
            deadline = time.monotonic() + 90
            while (state := admin.get("/cameras/stage").json())["faces"] == 0 and time.monotonic() < deadline:
                time.sleep(0.5)
        finally:
            assert admin.delete("/cameras/stage").status_code == 204
    assert state["frames"] > 0 and state["faces"] > 0, state
    assert state["state"] in ("live", "ended"), state
