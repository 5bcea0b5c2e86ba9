"""The console's test harness: a real ``faceplane serve`` and Debian's Chromium driven by Playwright.

Needs Debian's ``chromium`` (``/usr/bin/chromium``, or ``$FACEPLANE_CHROMIUM``) and ``playwright`` (the
Python package only: no ``playwright install``, no browser download). ``launch(*args)`` starts another
Chromium with extra flags (e.g. a fake webcam playing a clip).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

try:
    from playwright import sync_api
except ImportError:  # CI installs it (test extra); a missing browser stack is a failure, not a skip
    pytest.fail("the console tests need playwright: pip install -e '.[test]'", pytrace=False)

CHROMIUM = os.environ.get("FACEPLANE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, data: Path) -> Iterator[str]:
    """A real ``faceplane serve`` on a free port with an empty data folder; its base URL. The shared data is
    its media root: the console's admin may start a camera on a clip there. A test module may define
    ``seed_data_dir(path)`` to put data in that folder before the server starts (plumbing, e.g. past events), and
    ``SERVER_ENV`` (a dict) to set more of its environment (settings, e.g. ``FACEPLANE_UNKNOWN_CLUSTERING``)."""
    root = tmp_path_factory.mktemp("serve")
    seed = getattr(request.module, "seed_data_dir", None)
    if seed is not None:
        seed(root / "data")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACEPLANE_")}
    env["FACEPLANE_ENVIRONMENT"] = "development"
    env["FACEPLANE_CAMERA_SOURCES"] = json.dumps({"media_roots": [str(data)]})
    env.update(getattr(request.module, "SERVER_ENV", {}))
    log = (root / "serve.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "faceplane.cli", "serve", "--port", str(port), "--data-dir", str(root / "data")],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its detector workers too: one group to kill if it does not stop
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"faceplane serve exited with {proc.returncode}:\n{(root / 'serve.log').read_text()}")
            try:
                with urllib.request.urlopen(f"{base}/api/v1/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"faceplane serve not healthy after 60 s:\n{(root / 'serve.log').read_text()}")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()  # SIGTERM: the server stops its cameras and workers itself (tests/integration/server)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def launch(server: str) -> Iterator[Callable[..., object]]:
    """Start Chromium with extra command-line flags (closed at the end of the module)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set FACEPLANE_CHROMIUM)")
    with sync_api.sync_playwright() as pw:
        started: list[object] = []

        def start(*args: str) -> object:
            b = pw.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *args], headless=True)
            started.append(b)
            return b

        try:
            yield start
        finally:
            for b in started:
                b.close()  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def browser(launch: Callable[..., object]) -> object:
    return launch()


def _watch_errors(page: Any) -> list[str]:
    """Collect the page's errors: uncaught exceptions and console errors (a CSP violation, an inline script or
    style, is one). "Failed to load resource" is left out: it is an HTTP status a journey may provoke on purpose
    (401 before login, a duplicate's 400, a frame not there yet)."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    page.on(
        "console",
        lambda msg: (
            msg.type == "error"
            and not msg.text.startswith("Failed to load resource")
            and errors.append(f"console: {msg.text}")
        ),
    )
    return errors


@pytest.fixture
def watch_errors() -> Callable[[Any], list[str]]:
    """``errors = watch_errors(page)``: the list the page's errors go to (see :func:`_watch_errors`)."""
    return _watch_errors


ADMIN_LOGIN = ("admin", "fp-dev-admin-key")  # the development-mode administrator


def _log_in(page: Any, user: str = ADMIN_LOGIN[0], password: str = ADMIN_LOGIN[1]) -> None:
    """Open the console and log in (as the development administrator unless told otherwise)."""
    from playwright.sync_api import expect

    page.goto("/")
    page.fill("#login-user", user)
    page.fill("#login-pass", password)
    page.click("#login-submit")
    expect(page.locator("#shell")).to_be_visible()


@pytest.fixture
def log_in() -> Callable[..., None]:
    """``log_in(page)``: open the console and log in (see :func:`_log_in`)."""
    return _log_in
