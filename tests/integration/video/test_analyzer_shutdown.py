"""Detector worker processes end with their pool, even when one hangs or the parent is killed outright."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import psutil
import pytest

from faceplane.images import load_image
from faceplane.video import ProcessAnalyzer

pytestmark = pytest.mark.slow


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _wait_gone(pids: list[int], timeout_s: float) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while (alive := [p for p in pids if _alive(p)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive


def _workers() -> list[int]:
    """The pool workers below this process (multiprocessing's resource tracker is not one)."""
    found = []
    for p in psutil.Process().children():
        with contextlib.suppress(psutil.Error):  # ended (or a zombie left by another test)
            if "spawn_main" in " ".join(p.cmdline()):
                found.append(p.pid)
    return found


def test_close_kills_a_worker_that_does_not_stop(examples: Path) -> None:
    analyzer = ProcessAnalyzer(workers=1)
    closer: threading.Thread | None = None
    workers: list[int] = []
    try:
        analysis = analyzer.submit(load_image(examples / "obama.jpg")).result(timeout=120)
        assert len(analysis.faces) == 1
        (worker,) = workers = _workers()
        os.kill(worker, signal.SIGSTOP)  # a worker stuck in native code answers nothing, not even its stop
        closer = threading.Thread(target=analyzer.close)  # gives the frames in hand 5 s
        started = time.monotonic()
        closer.start()
        closer.join(20)
        assert not closer.is_alive(), "close() waited for a stuck worker"
        assert time.monotonic() - started < 10
        assert not _wait_gone(workers, 5), "the stuck worker survived close()"
    finally:
        for pid in workers:
            with contextlib.suppress(psutil.Error):
                psutil.Process(pid).kill()
        if closer is None:
            analyzer.close()


_PARENT = """
import os, signal, sys
from faceplane.images import load_image
from faceplane.video import ProcessAnalyzer
analyzer = ProcessAnalyzer(workers=2)
futures = [analyzer.submit(load_image(sys.argv[1])) for _ in range(4)]
assert all(len(f.result(timeout=120).faces) == 1 for f in futures)
import psutil
print(" ".join(str(p.pid) for p in psutil.Process().children()), flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # no clean-up of any kind: as the OOM killer would end it
"""


def test_workers_end_when_their_parent_is_killed(examples: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(_PARENT), str(examples / "obama.jpg")],
        stdout=subprocess.PIPE,
        text=True,
    )
    children: list[int] = []
    try:
        children = [int(pid) for pid in proc.stdout.readline().split()]  # type: ignore[union-attr]
        assert proc.wait(120) == -signal.SIGKILL
        assert len(children) >= 3, "expected two workers and the resource tracker"
        left = _wait_gone(children, 10)
        assert not left, f"orphaned: {[' '.join(psutil.Process(p).cmdline()) for p in left]}"
    finally:
        for pid in children:
            with contextlib.suppress(psutil.Error):
                psutil.Process(pid).kill()
        proc.kill()
        proc.wait()
        proc.stdout.close()  # type: ignore[union-attr]
