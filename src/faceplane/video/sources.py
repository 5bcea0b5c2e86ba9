"""Video sources: files, RTSP/RTMP/HTTP streams and webcams, decoded in a thread of their own.

A :class:`VideoSource` decodes with PyAV (FFmpeg) in a background thread (FFmpeg releases the GIL
while it decodes), keeps only the frames the analysis needs (``fps``), and hands them over through a
small queue. Live streams never block the decoder: when analysis falls behind, the oldest queued
frame is dropped and counted. Files are read at full speed with back-pressure instead, so a run over
a file is repeatable, unless ``realtime=True`` paces them like a camera.

A live stream that drops, stalls (no packet for ``timeout_s``) or ends is reopened with exponential
back-off; its timeline (:attr:`Frame.t_s`) stays continuous. :attr:`VideoSource.status` tells what
the source is doing at any time::

    connecting -> live -> stalled -> connecting -> live ...      (live streams)
    connecting -> live -> ended                                   (files)
    connecting -> failed (reason)                                 (cannot open, gave up retrying)

FFmpeg may open only the protocols of the source's scheme (``protocol_whitelist``) and, for files
and streams other than RTSP, only media containers (no HLS, concat or SDP playlists, which would
open other files or hosts): see :func:`faceplane.video.source_policy.ffmpeg_options`.

Example:
    >>> with VideoSource("clip.mp4", fps=5) as src:          # doctest: +SKIP
    ...     for frame in src.frames():
    ...         print(frame.index, frame.t_s, frame.image.shape)
"""

from __future__ import annotations

import errno
import logging
import queue
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from ..errors import InvalidArgumentError, SourceError
from ..logs import camera_context
from ..types import Frame
from .source_policy import ffmpeg_options

__all__ = ["SourceState", "SourceStatus", "VideoSource", "describe_source"]

log = logging.getLogger(__name__)

_LIVE_SCHEMES = ("rtsp", "rtsps", "rtmp", "rtmps", "http", "https", "udp", "tcp", "srt")
_END = object()  # queue sentinel: the decoder thread has finished


class SourceState(StrEnum):
    """What a source is doing now."""

    CONNECTING = "connecting"
    LIVE = "live"
    STALLED = "stalled"
    ENDED = "ended"
    FAILED = "failed"
    STOPPED = "stopped"
    REFUSED = "refused"  # never entered by a source: the server's source policy refused its camera


@dataclass(frozen=True)
class SourceStatus:
    """A snapshot of a source's health, safe to show to operators (credentials are masked)."""

    camera: str
    url: str
    state: SourceState
    reason: str
    frames_decoded: int
    frames_emitted: int
    frames_dropped: int
    reconnects: int
    last_frame_wall_s: float | None
    queued: int = 0  # frames decoded and waiting for the analysis loop


@dataclass(frozen=True)
class _Spec:
    url: str
    format: str | None
    live: bool


def describe_source(spec: str) -> tuple[str, str | None, bool]:
    """Turn a source string into ``(url, ffmpeg_format, is_live)``.

    Accepts a file path, a URL (``rtsp://``, ``rtmp://``, ``http(s)://``, ``udp://``, ``srt://``), or a
    webcam as ``webcam:N``, a bare device number ``N`` or ``/dev/videoN``.

    Raises:
        SourceError: an empty string, or a path that does not exist.
    """
    spec = spec.strip()
    if not spec:
        raise SourceError("empty video source")
    match = re.fullmatch(r"(?:webcam:)?(\d+)", spec)
    if match:
        return f"/dev/video{match.group(1)}", "v4l2", True
    if spec.startswith("/dev/video"):
        return spec, "v4l2", True
    scheme = spec.split("://", 1)[0].lower() if "://" in spec else ""
    if scheme in _LIVE_SCHEMES:
        return spec, None, True
    if scheme and scheme != "file":
        raise SourceError(f"unsupported video source scheme {scheme!r} in {mask_credentials(spec)!r}")
    path = Path(spec.removeprefix("file://"))
    if not path.is_file():
        raise SourceError(f"video file not found: {path}")
    return str(path), None, False


def mask_credentials(url: str) -> str:
    """``rtsp://user:secret@host/x`` -> ``rtsp://user:***@host/x`` (for logs and status)."""
    return re.sub(r"(://[^:/@]+):[^@/]*@", r"\1:***@", url)


class VideoSource:
    """Frames from one camera or file, sampled to an analysis rate, decoded in a background thread.

    Args:
        url: file path, stream URL or webcam (see :func:`describe_source`).
        camera: the camera id put on every frame (default: the file name or the masked URL).
        fps: analysis rate in frames per second; ``None`` keeps every frame.
        realtime: pace a file at its native speed and drop frames when analysis lags, like a camera.
        loop: start a file again at its end (for soak tests and benchmarks).
        timeout_s: give up opening or reading a stream after this many seconds without data.
        max_retries: reconnect attempts in a row before the source is ``failed`` (None: forever).
        queue_size: frames held for the analysis loop (default: 1 for live and realtime sources, so the
            analysis always gets the freshest frame and alerts are not delayed by a backlog; 4 for files).
        end_s: stop a file at this point of its timeline (seconds), like ``ffmpeg -t``.
        playlists: also open playlist formats (HLS, concat...), whose entries no policy has checked; for
            the CLI on files its user names, never for server cameras.

    Raises:
        SourceError: the file does not exist or the source string is malformed.
        InvalidArgumentError: a non-positive ``fps``, ``timeout_s`` or ``queue_size``.
    """

    def __init__(
        self,
        url: str,
        *,
        camera: str | None = None,
        fps: float | None = 5.0,
        realtime: bool = False,
        loop: bool = False,
        timeout_s: float = 10.0,
        max_retries: int | None = None,
        queue_size: int | None = None,
        end_s: float | None = None,
        playlists: bool = False,
    ) -> None:
        if fps is not None and not fps > 0:
            raise InvalidArgumentError(f"fps must be > 0 or None, got {fps!r}")
        if not timeout_s > 0:
            raise InvalidArgumentError(f"timeout_s must be > 0, got {timeout_s!r}")
        if end_s is not None and not end_s > 0:
            raise InvalidArgumentError(f"end_s must be > 0 or None, got {end_s!r}")
        if queue_size is not None and queue_size < 1:
            raise InvalidArgumentError(f"queue_size must be >= 1, got {queue_size!r}")
        resolved, fmt, live = describe_source(url)
        self._spec = _Spec(resolved, fmt, live)
        self.camera = camera or (Path(resolved).name if not live else mask_credentials(resolved))
        self.fps = fps
        self.realtime = realtime or live
        self.loop = loop
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.end_s = end_s
        self.playlists = playlists
        self.backoff_s = (0.25, 8.0)
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=queue_size or (1 if self.realtime else 4))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._state, self._reason = SourceState.CONNECTING, ""
        self._decoded = self._emitted = self._dropped = self._reconnects = 0
        self._last_wall: float | None = None

    @property
    def is_live(self) -> bool:
        """True for streams and webcams; False for files."""
        return self._spec.live

    # -- life cycle -------------------------------------------------------------------------------
    def start(self) -> VideoSource:
        """Start decoding in the background (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"source-{self.camera}", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop decoding and wait for the thread to finish."""
        self._stop.set()
        while True:  # unblock a decoder waiting on a full queue
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        if self._thread is not None:
            self._thread.join(timeout_s)
        with self._lock:
            if self._state not in (SourceState.ENDED, SourceState.FAILED):
                self._state = SourceState.STOPPED

    def __enter__(self) -> VideoSource:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- consumer side ----------------------------------------------------------------------------
    def read(self, timeout_s: float | None = None) -> Frame | None:
        """The next frame, or None when none arrived within ``timeout_s`` or the source has finished."""
        self.start()
        try:
            item = self._queue.get(timeout=timeout_s)
        except queue.Empty:
            return None
        if item is _END:
            self._queue.put(_END)  # keep telling later readers
            return None
        return item

    @property
    def finished(self) -> bool:
        """True once the source has ended, failed or been stopped and its queue is drained."""
        return self.status.state in (SourceState.ENDED, SourceState.FAILED, SourceState.STOPPED) and (
            self._queue.empty() or self._peek_end()
        )

    def _frames_queued(self) -> int:
        with self._queue.mutex:
            return sum(1 for item in self._queue.queue if item is not _END)

    def _peek_end(self) -> bool:
        with self._queue.mutex:
            return len(self._queue.queue) == 1 and self._queue.queue[0] is _END

    def frames(self) -> Iterator[Frame]:
        """Yield frames until the source ends, fails or is stopped."""
        self.start()
        while True:
            frame = self.read(timeout_s=0.5)
            if frame is not None:
                yield frame
            elif self.finished:
                return

    @property
    def status(self) -> SourceStatus:
        """The source's state and counters now."""
        with self._lock:
            return SourceStatus(
                camera=self.camera,
                url=mask_credentials(self._spec.url),
                state=self._state,
                reason=self._reason,
                frames_decoded=self._decoded,
                frames_emitted=self._emitted,
                frames_dropped=self._dropped,
                reconnects=self._reconnects,
                last_frame_wall_s=self._last_wall,
                queued=self._frames_queued(),
            )

    # -- decoder thread ---------------------------------------------------------------------------
    def _set_state(self, state: SourceState, reason: str = "") -> None:
        with self._lock:
            if self._state != state or self._reason != reason:
                log.info("camera %s: %s %s", self.camera, state.value, reason)
            self._state, self._reason = state, reason

    def _run(self) -> None:
        with camera_context(self.camera):  # every line this decoder thread logs names its camera
            self._decode()

    def _decode(self) -> None:
        clock = _Timeline(self.fps, live=self._spec.live)
        failures = 0
        try:
            while not self._stop.is_set():
                self._set_state(SourceState.CONNECTING, self._reason)
                decoded_before = self._decoded
                try:
                    self._read_once(clock)
                    error = "stream ended" if self._spec.live else ""
                except Exception as exc:  # FFmpeg and OS errors from open or demux
                    error = self._describe_error(exc)
                # a stream that played and then broke is not a failed attempt: only attempts in a row count
                got_frames = self._decoded > decoded_before
                if self._stop.is_set():
                    break
                if not self._spec.live and not error and self.loop and got_frames:
                    clock.next_loop()
                    continue
                if not self._spec.live:
                    self._set_state(SourceState.FAILED if error else SourceState.ENDED, error)
                    break
                failures = 0 if got_frames else failures + 1
                if self.max_retries is not None and failures > self.max_retries:
                    self._set_state(SourceState.FAILED, f"gave up after {failures} attempts: {error}")
                    break
                with self._lock:
                    self._reconnects += 1
                self._set_state(SourceState.STALLED, error)
                self._stop.wait(min(self.backoff_s[1], self.backoff_s[0] * 2 ** min(failures, 10)))
        finally:
            self._put(_END, block=True)

    def _describe_error(self, exc: BaseException) -> str:
        if type(exc).__name__ == "ExitError":  # PyAV's interrupt callback: our own timeout fired
            return f"no data for {self.timeout_s:g} s"
        return mask_credentials(str(exc) or type(exc).__name__)[:300]

    def _read_once(self, clock: _Timeline) -> bool:
        """Open the source and decode until it ends; True if any frame was decoded."""
        import av  # lazy: FFmpeg loads only when video is used

        # A camera that keeps the connection open but sends nothing is caught by PyAV's read timeout,
        # after one to two timeout_s (FFmpeg's RTSP demuxer hands out one buffered packet at the first interrupt).
        options = ffmpeg_options(self._spec.url, self._spec.format, playlists=self.playlists)
        try:
            container = av.open(
                self._spec.url, format=self._spec.format, options=options, timeout=(self.timeout_s, self.timeout_s)
            )
        except av.error.FFmpegError as exc:  # FFmpeg says only EINVAL when format_whitelist refuses a demuxer
            if exc.errno == errno.EINVAL and "format_whitelist" in options:
                raise SourceError("not a media file or stream FFmpeg may open here (HLS, concat, SDP refused)") from exc
            raise
        got = False
        try:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            clock.reconnected()
            for packet in container.demux(stream):
                if self._stop.is_set():
                    break
                try:
                    decoded = packet.decode()
                except av.error.InvalidDataError:  # one corrupt packet: skip it, keep the stream
                    continue
                for frame in decoded:
                    got = True
                    self._on_frame(frame, clock)
                if self.end_s is not None and clock.last_t >= self.end_s:
                    self.loop = False  # the end of the requested span ends the source, loop or not
                    break
        finally:
            container.close()
        return got

    def _on_frame(self, frame: Any, clock: _Timeline) -> None:
        with self._lock:
            index = self._decoded
            self._decoded += 1
        if self._state != SourceState.LIVE:
            self._set_state(SourceState.LIVE)
        t_s = clock.time_of(frame.time)
        if (self.end_s is not None and t_s >= self.end_s) or not clock.due(t_s):
            return
        if self.realtime and not self._spec.live:
            clock.pace(t_s, self._stop)
        item = Frame(self.camera, index, t_s, time.time(), frame.to_ndarray(format="rgb24"))
        with self._lock:
            self._emitted += 1
            self._last_wall = item.wall_s
        self._put(item, block=not self.realtime)

    def _put(self, item: Any, *, block: bool) -> None:
        if block:  # files: wait for the analysis loop (back-pressure), unless we are stopping
            while not self._stop.is_set():
                try:
                    self._queue.put(item, timeout=0.2)
                    return
                except queue.Full:
                    continue
        while True:  # live, or stopping: make room by dropping the oldest frame
            try:
                self._queue.put_nowait(item)
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    continue
                if not self._stop.is_set():
                    with self._lock:
                        self._dropped += 1


class _Timeline:
    """Maps decoder timestamps to a continuous source timeline and picks the frames to analyse."""

    def __init__(self, fps: float | None, *, live: bool) -> None:
        self.period = 1.0 / fps if fps else 0.0
        self.live = live
        self.start_mono = time.monotonic()
        self.offset = 0.0  # added to media time (files: loops; live: unused)
        self.first_pts: float | None = None
        self.last_t = -1.0
        self.next_t = 0.0

    def reconnected(self) -> None:
        self.first_pts = None

    def next_loop(self) -> None:
        self.offset = self.last_t + max(self.period, 1e-3)
        self.first_pts = None

    def time_of(self, media_time: float | None) -> float:
        if self.live:
            t = time.monotonic() - self.start_mono
        else:
            media = media_time if media_time is not None else self.last_t + 1e-3 - self.offset
            if self.first_pts is None:
                self.first_pts = media  # the timeline starts at the first frame, whatever the stream's start pts
            t = self.offset + media - self.first_pts
        self.last_t = max(self.last_t, t)
        return t

    def due(self, t_s: float) -> bool:
        if t_s + 1e-6 < self.next_t:
            return False
        # after a gap, restart the grid from now instead of emitting a burst
        self.next_t = self.next_t + self.period if t_s - self.next_t < self.period else t_s + self.period
        return True

    def pace(self, t_s: float, stop: threading.Event) -> None:
        delay = self.start_mono + t_s - time.monotonic()
        if delay > 0:
            stop.wait(delay)
