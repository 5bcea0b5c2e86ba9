"""How ``faceplane serve`` stops: SIGTERM or SIGINT in, a logged stop within a bounded time out.

The stop has three phases, one handler object across all of them (:class:`ServeSignals`):

- **start-up** (stores opening, models loading): the first signal raises :class:`ShutdownRequested` in the
  main thread, like Ctrl-C raises ``KeyboardInterrupt``; the CLI then closes what was built.
- **serving**: uvicorn installs its own handlers and stops the HTTP server; once it returns it re-raises
  the signal it caught, which lands here again and is only recorded (the CLI closes the services next).
- **closing**: signals are only logged. A watchdog thread, started with the stop, bounds it: after
  ``grace_s`` it kills every process this one started and ends the process (status 1), so a camera or a
  webhook that will not stop cannot keep the server, or its detector workers, alive.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

__all__ = ["SHUTDOWN_GRACE_S", "ServeSignals", "ShutdownRequested", "http_server"]

log = logging.getLogger(__name__)

#: Seconds a stop may take before the watchdog kills what is left.
SHUTDOWN_GRACE_S = 10.0
_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class ShutdownRequested(BaseException):  # like KeyboardInterrupt: no `except Exception` swallows it
    """A stop signal arrived while the server was starting."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class ServeSignals:
    """SIGTERM/SIGINT handling of ``faceplane serve`` (see the module docstring).

    Example:
        >>> signals = ServeSignals()  # doctest: +SKIP
        >>> signals.install(); ...; signals.serving(server); ...; signals.closing(); services.close()
    """

    def __init__(self, *, grace_s: float = SHUTDOWN_GRACE_S) -> None:
        self.grace_s = grace_s
        self.signum: int | None = None  # the first stop signal received
        self._phase = "start-up"
        self._server: Any = None  # the uvicorn.Server, once serving
        self._on_stop: Callable[[], None] = _nothing
        self._previous: dict[int, Any] = {}
        self._watchdog: threading.Thread | None = None

    def install(self) -> None:
        """Take over SIGTERM and SIGINT (main thread only)."""
        for signum in _SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)

    def restore(self) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()

    def serving(self, server: Any, on_stop: Callable[[], None]) -> bool:
        """From now on a signal asks ``server`` (from :func:`http_server`) to exit and calls ``on_stop``;
        False if a signal came already."""
        self._phase, self._server, self._on_stop = "serving", server, on_stop
        for signum in _SIGNALS:  # take them back from whoever took them meanwhile (ray.init sets SIGTERM's)
            signal.signal(signum, self._handle)
        return self.signum is None

    def closing(self) -> None:
        """The services are about to close: signals no longer interrupt, and the stop is bounded from now.

        The watchdog stays armed until the process ends (a thread left running would hold the interpreter's
        exit too): only the CLI, whose process ends after the stop, calls this.
        """
        self._phase = "closing"
        self._start_watchdog()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self.signum is not None:
            log.info("%s received: already stopping (at most %.0f s)", name, self.grace_s)
            return
        self.signum = signum
        log.info("%s received during %s: stopping", name, self._phase)
        if self._phase == "start-up":
            self._phase = "closing"
            raise ShutdownRequested(signum)
        if self._server is not None:  # came before uvicorn's own handlers were in place
            self._on_stop()
            self._server.should_exit = True

    def _start_watchdog(self) -> None:
        if self._watchdog is None:
            self._watchdog = threading.Thread(target=self._expire, name="shutdown-watchdog", daemon=True)
            self._watchdog.start()

    def _expire(self) -> None:
        threading.Event().wait(self.grace_s)
        children = _descendants(os.getpid())
        log.error("still stopping after %.0f s: killing %d child processes and exiting", self.grace_s, len(children))
        for pid in children:
            with contextlib.suppress(OSError):  # ended meanwhile
                os.kill(pid, signal.SIGKILL)
        for handler in logging.getLogger().handlers:
            handler.flush()
        sys.stdout.flush()
        os._exit(1)  # the main thread is stuck: no clean interpreter exit is coming


def http_server(config: Any, on_stop: Callable[[], None]) -> Any:
    """A ``uvicorn.Server`` for ``config`` that calls ``on_stop`` on a stop signal, before its connections drain
    (so that endless responses, like event streams, can end)."""
    import uvicorn

    class _Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            on_stop()
            super().handle_exit(sig, frame)

    return _Server(config)


def _nothing() -> None:
    pass


def _descendants(root: int) -> list[int]:
    """Every process below ``root`` (Linux: from /proc; elsewhere the multiprocessing children)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return [p.pid for p in multiprocessing.active_children() if p.pid is not None]
    parents: dict[int, int] = {}
    for entry in proc.iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:  # ended meanwhile
                continue
            parents[int(entry.name)] = int(stat[stat.rindex(")") + 2 :].split()[1])  # the field after the state
    found, frontier = [], [root]
    while frontier:
        below = [pid for pid, ppid in parents.items() if ppid in frontier]
        found.extend(below)
        frontier = below
    return found
