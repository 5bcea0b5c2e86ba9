"""``faceplane -v serve --log-format json`` with a camera on a real clip: every stderr line is one JSON object
(time in ISO 8601 UTC, level, logger, message), the camera's lines carry its id and uvicorn's access
lines go through the same format."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

CAMERA = "door-1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text(errors="replace").splitlines() if line.strip()]


def _health(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/api/v1/health", timeout=5) as r:
            return r.status == 200
    except OSError:
        return False


def _wait_for(proc: subprocess.Popen[bytes], err: Path, what: str, predicate: Any, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"faceplane serve exited with {proc.returncode}:\n{err.read_text(errors='replace')[-4000:]}")
        if predicate():
            return
        time.sleep(0.3)
    pytest.fail(f"{what} not within {timeout_s:.0f} s:\n{err.read_text(errors='replace')[-4000:]}")


def _kill_session(proc: subprocess.Popen[bytes]) -> None:
    for p in psutil.process_iter():
        try:
            if os.getsid(p.pid) == proc.pid:
                p.kill()
        except (OSError, psutil.Error):
            continue
    proc.kill()
    proc.wait(10)


def _serve_json(tmp_path: Path, examples: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Run the server until the camera has logged and one request was served; its stderr, parsed, and raw."""
    port, base = _free_port(), ""
    config = tmp_path / "faceplane.toml"
    clip = examples / "short_hamilton_clip.mp4"
    config.write_text(
        f"workers = 0\n[camera_sources]\nmedia_roots = [{json.dumps(str(examples))}]\n"
        f'[[cameras]]\nid = "{CAMERA}"\nsource = {json.dumps(str(clip))}\nfps = 2\nloop = true\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACEPLANE_")}
    err, out = tmp_path / "stderr.log", tmp_path / "stdout.log"
    command = [sys.executable, "-m", "faceplane.cli", "-v", "serve", "--log-format", "json", "--port", str(port)]
    with err.open("wb") as e, out.open("wb") as o:
        proc = subprocess.Popen(
            [*command, "--data-dir", "data", "--config", str(config)],
            cwd=tmp_path,
            env=env,
            stdout=o,
            stderr=e,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(proc, err, "the server's health", lambda: _health(base))
        _wait_for(proc, err, "a line of the camera", lambda: any(f'"camera": "{CAMERA}"' in x for x in _lines(err)))
        _wait_for(proc, err, "the access line", lambda: any('"uvicorn.access"' in x for x in _lines(err)), 20)
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    finally:
        _kill_session(proc)
    raw = _lines(err)
    return [json.loads(line) for line in raw], raw


def test_every_line_is_json_and_camera_lines_name_the_camera(tmp_path: Path, examples: Path) -> None:
    records, raw = _serve_json(tmp_path, examples)
    assert len(records) == len(raw) >= 3  # json.loads above raised on any line that is not JSON
    for r in records:
        assert {"time", "level", "logger", "message"} <= r.keys(), r
        assert r["time"].endswith("Z") and datetime.fromisoformat(r["time"]).utcoffset().total_seconds() == 0
    camera_lines = [r for r in records if r.get("camera") == CAMERA]
    assert any(r["logger"] == "faceplane.video.sources" for r in camera_lines), raw  # its decoder thread
    assert any(r["logger"] == "faceplane.video.engine" for r in camera_lines), raw  # the engine's loop thread
    assert not any("color_message" in r for r in records)
    # every line about the camera carries its id, whichever thread logged it
    about = [r for r in records if f"camera {CAMERA}" in r["message"]]
    assert about and all(r.get("camera") == CAMERA for r in about), about
    access = [r for r in records if r["logger"] == "uvicorn.access"]
    assert any(r["method"] == "GET" and r["path"] == "/api/v1/health" and r["status"] == 200 for r in access), access
    assert any(r["logger"].startswith("uvicorn.error") for r in records)  # uvicorn's own start/stop lines too
