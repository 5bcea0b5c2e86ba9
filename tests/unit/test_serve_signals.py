"""``faceplane._shutdown``: what a stop signal does in each phase of ``faceplane serve``, and the watchdog."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from types import SimpleNamespace

import psutil
import pytest

from faceplane._shutdown import ServeSignals, ShutdownRequested


@pytest.fixture
def signals() -> Iterator[ServeSignals]:
    handlers = ServeSignals(grace_s=60)
    handlers.install()
    try:
        yield handlers
    finally:
        handlers.restore()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_start_up_interrupts_it(signals: ServeSignals, signum: int) -> None:
    with pytest.raises(ShutdownRequested) as raised:
        signal.raise_signal(signum)
    assert raised.value.signum == signum and signals.signum == signum
    assert not isinstance(raised.value, Exception)  # `except Exception` in start-up code cannot swallow it
    signal.raise_signal(signum)  # a second one, while closing, only logs
    server = SimpleNamespace(should_exit=False)  # plumbing: the uvicorn.Server attribute it sets
    assert signals.serving(server, lambda: None) is False, "a stop requested in start-up must skip serving"


def test_a_signal_while_serving_asks_the_server_to_exit(signals: ServeSignals) -> None:
    stopped: list[bool] = []
    server = SimpleNamespace(should_exit=False)
    assert signals.serving(server, lambda: stopped.append(True)) is True
    signal.raise_signal(signal.SIGTERM)  # no exception: the CLI closes the services after uvicorn returns
    assert server.should_exit and stopped == [True] and signals.signum == signal.SIGTERM


def test_serving_takes_the_signals_back(signals: ServeSignals) -> None:
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(15))  # what ray.init does in start-up
    signals.serving(SimpleNamespace(should_exit=False), lambda: None)
    signal.raise_signal(signal.SIGTERM)  # not SystemExit
    assert signals.signum == signal.SIGTERM


def test_restore_puts_back_the_previous_handlers() -> None:
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    handlers = ServeSignals()
    handlers.install()
    assert signal.getsignal(signal.SIGTERM) != before[0]
    handlers.restore()
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


_STUCK = """
import logging, subprocess, sys, time
from faceplane._shutdown import ServeSignals
logging.basicConfig(level=logging.INFO)
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
print(child.pid, flush=True)
signals = ServeSignals(grace_s=1.0)
signals.closing()
time.sleep(120)  # a close that never ends
"""


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_the_watchdog_kills_the_children_of_a_stuck_stop_and_exits() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(_STUCK)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    child = 0
    try:
        child = int(proc.stdout.readline())  # type: ignore[union-attr]
        started = time.monotonic()
        code = proc.wait(15)
        assert code == 1 and time.monotonic() - started < 10
        assert "still stopping after 1 s: killing 1 child processes" in proc.stderr.read()  # type: ignore[union-attr]
        deadline = time.monotonic() + 5
        while _alive(child):
            assert time.monotonic() < deadline, "the stuck stop's child survived"
            time.sleep(0.05)
    finally:
        for pid in [p for p in (proc.pid, child) if p]:
            with contextlib.suppress(psutil.Error):
                psutil.Process(pid).kill()
        proc.wait()
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]
