"""Shared fixtures (where the shared evaluation data lives, one engine per session) and the leak check."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    """``$FACEPLANE_DATA`` or ``<repo>/../shared/data`` (the layout CI uses)."""
    return Path(os.environ.get("FACEPLANE_DATA") or REPO.parent / "shared" / "data")


@pytest.fixture(scope="session")
def data() -> Path:
    root = data_dir()
    if not (root / "faces").is_dir():
        pytest.fail(f"shared test data not found at {root}; set FACEPLANE_DATA")
    return root


@pytest.fixture(scope="session")
def examples(data: Path) -> Path:
    return data / "faces" / "face_recognition-examples" / "examples"


@pytest.fixture(scope="session")
def engine():
    import faceplane

    return faceplane.Engine()


def pytest_sessionstart(session: pytest.Session) -> None:
    """Make this process the child subreaper (Linux): a process orphaned by a test's process (a server's
    detector worker when the server exits) is re-parented here, not to init, so the leak check sees it."""
    if sys.platform == "linux":
        import ctypes

        if ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")


_PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>
#: Seconds the processes still running after the last test get to end (Ray's node processes stop asynchronously).
LEAK_GRACE_S = 10.0


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when tests left processes behind (servers, brokers, detector workers); then kill them.

    Multiprocessing's resource tracker is expected: it serves this process and ends with it.
    """
    import psutil

    def expected(p: psutil.Process) -> bool:
        try:
            return "multiprocessing.resource_tracker" in " ".join(p.cmdline())
        except psutil.ZombieProcess:  # ended, not yet reaped: waiting for it below reaps it
            return False
        except psutil.Error:  # ended meanwhile
            return True

    children = [p for p in psutil.Process().children(recursive=True) if not expected(p)]
    _, alive = psutil.wait_procs(children, timeout=LEAK_GRACE_S)
    leaked = []
    for p in alive:
        try:
            if p.status() != psutil.STATUS_ZOMBIE:
                leaked.append(f"{p.pid}: {' '.join(p.cmdline())[:200]}")
        except psutil.Error:
            continue
    if not leaked:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    message = f"{len(leaked)} processes left behind by the tests (now killed):\n" + "\n".join(leaked)
    if reporter is not None:
        reporter.write_line("")  # ends the progress line
        reporter.write_line(message, red=True, bold=True)
    for p in alive:
        with contextlib.suppress(psutil.Error):
            p.kill()
    psutil.wait_procs(alive, timeout=5)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
