"""Log formats: the camera context reaches text and JSON lines, in the thread that set it only."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Iterator

import pytest

from faceplane.logs import CameraFilter, JsonFormatter, TextFormatter, camera_context, error_line


@pytest.fixture
def logged() -> Iterator[tuple[logging.Logger, io.StringIO, logging.StreamHandler[io.StringIO]]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(CameraFilter())
    logger = logging.getLogger("faceplane.test_logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield logger, stream, handler
    finally:
        logger.removeHandler(handler)


def test_json_lines_carry_the_camera_of_their_thread(logged) -> None:
    logger, stream, handler = logged
    handler.setFormatter(JsonFormatter())

    def camera_thread() -> None:
        with camera_context("gate"):
            logger.info("reconnecting after %d s", 2, extra={"attempt": 3})

    worker = threading.Thread(target=camera_thread)
    worker.start()
    worker.join()
    logger.warning("no camera here")
    with camera_context("door"):
        try:
            raise OSError("disk full")
        except OSError:
            logger.exception("snapshot not kept")
    first, second, third = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["camera"] == "gate" and first["message"] == "reconnecting after 2 s" and first["attempt"] == 3
    assert first["level"] == "INFO" and first["logger"] == "faceplane.test_logs" and first["time"].endswith("Z")
    assert "camera" not in second
    assert third["camera"] == "door" and "OSError: disk full" in third["exc_info"]


def test_text_lines_show_camera_equals_id(logged) -> None:
    logger, stream, handler = logged
    handler.setFormatter(TextFormatter())
    with camera_context("door"):
        logger.info("playing")
    logger.info("idle")
    with_camera, without = stream.getvalue().splitlines()
    assert with_camera.endswith("INFO faceplane.test_logs camera=door: playing")
    assert without.endswith("INFO faceplane.test_logs: idle")


def test_cli_error_line_in_json() -> None:
    assert error_line("no such file", "text") == "faceplane: error: no such file"
    record = json.loads(error_line("no such file", "json"))
    assert record["level"] == "ERROR" and record["message"] == "faceplane: error: no such file"
