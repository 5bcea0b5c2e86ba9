"""Log lines for people and for log shippers: text or one JSON object a line, each naming its camera.

The library only logs (``logging.getLogger(__name__)``); the CLI and the server call
:func:`configure_logging` once. Code that works for one camera (a source's decoder thread, the
engine's per-camera stages) runs inside :func:`camera_context`, so every line it logs carries the
camera's id without each call site saying it: ``camera=door`` in text, ``"camera": "door"`` in JSON.

A JSON line::

    {"time": "2026-01-02T03:04:05.678Z", "level": "INFO", "logger": "faceplane.video.sources",
     "message": "camera door: playing", "camera": "door"}

``time`` is ISO 8601 UTC; fields passed with ``extra={...}`` are added as they are; uvicorn's access
lines add ``client``, ``method``, ``path`` and ``status``; an exception adds ``exc_info`` (the traceback).

Example:
    >>> with camera_context("door"):                                  # doctest: +SKIP
    ...     logging.getLogger("faceplane.video").warning("stalled")   # ... camera=door: stalled
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

__all__ = ["LOG_FORMATS", "CameraFilter", "JsonFormatter", "TextFormatter", "camera_context", "configure_logging"]

LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("text", "json")

#: The camera the current thread (or task) works for; None outside camera work.
_CAMERA: ContextVar[str | None] = ContextVar("faceplane_camera", default=None)

# Attributes every LogRecord has: anything else on a record came from ``extra=`` and is logged as a field.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "camera",
    "camera_part",
    "taskName",
    "color_message",  # uvicorn's ANSI copy
}
_UVICORN = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")


@contextlib.contextmanager
def camera_context(camera: str) -> Iterator[None]:
    """Log lines inside this block (in this thread) carry ``camera``."""
    token = _CAMERA.set(camera)
    try:
        yield
    finally:
        _CAMERA.reset(token)


class CameraFilter(logging.Filter):
    """Sets ``record.camera`` from :func:`camera_context` unless the call passed ``extra={"camera": ...}``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "camera", None) is None:
            record.camera = _CAMERA.get()
        return True


class TextFormatter(logging.Formatter):
    """``2026-01-02 03:04:05,678 INFO faceplane.video.sources camera=door: message``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(camera_part)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        camera = getattr(record, "camera", None)
        record.camera_part = f" camera={camera}" if camera else ""
        return super().format(record)


class JsonFormatter(logging.Formatter):
    """One JSON object per record (see the module docstring); never raises on odd ``extra`` values."""

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        out: dict[str, Any] = {
            "time": when.replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if camera := getattr(record, "camera", None):
            out["camera"] = camera
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            out.update(zip(("client", "method", "path", "http_version", "status"), record.args, strict=True))
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            out["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(out, default=str, ensure_ascii=False)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (tests and tools swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:  # StreamHandler.__init__ sets it
        pass


def configure_logging(level: int, log_format: LogFormat = "text") -> None:
    """Send every log line (faceplane's, uvicorn's, Python warnings) to stderr in ``log_format``.

    Called again, it replaces its own handler. Where something else configured the root logger
    first (an application embedding faceplane, a test runner), it leaves logging alone, like
    :func:`logging.basicConfig`.

    Raises:
        ValueError: an unknown ``log_format``.
    """
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {LOG_FORMATS}, got {log_format!r}")
    root = logging.getLogger()
    ours = [h for h in root.handlers if isinstance(h, _StderrHandler)]
    if len(ours) != len(root.handlers):
        return
    for old in ours:
        root.removeHandler(old)
    handler = _StderrHandler()
    handler.addFilter(CameraFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    for name in _UVICORN:  # uvicorn's own lines go through the same handler (serve passes log_config=None)
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    logging.captureWarnings(True)


def uvicorn_log_level() -> str:
    """The uvicorn ``log_level`` that matches the root logger's (access lines are INFO: shown with ``-v``)."""
    return logging.getLevelName(logging.getLogger().getEffectiveLevel()).lower()


def error_line(message: str, log_format: LogFormat) -> str:
    """The CLI's one-line error: ``faceplane: error: ...`` in text, a JSON log object in JSON."""
    text = f"faceplane: error: {message}"
    if log_format != "json":
        return text
    record = logging.makeLogRecord(
        {"name": "faceplane.cli", "levelno": logging.ERROR, "levelname": "ERROR", "msg": text}
    )
    return JsonFormatter().format(record)
