"""BlazeFace frame analysis in worker processes, for bench/streams.py's "what it would take" rows.

``AnalyzerSettings`` (the video engine's settings) accepts only ``"hog"`` and ``"cnn"``, while
``Engine(detector="blazeface")`` exists (the ``faceplane[mediapipe]`` extra). This is the worker loop
of ``ProcessAnalyzer`` with that detector, plugged in through the engine's ``Analyzer`` seam (same
``submit``/``close`` interface), so the rest of the engine (tracking, recognition once per track,
rules, events) is unchanged. Usable only where mediapipe is importable.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from importlib import util as importlib_util

import numpy as np
import numpy.typing as npt

from faceplane import Engine
from faceplane.video import FrameAnalysis

_ENGINE: Engine | None = None


def available() -> bool:
    """True when the mediapipe package (faceplane[mediapipe]) is importable."""
    return importlib_util.find_spec("mediapipe") is not None


def _init_worker() -> None:
    global _ENGINE  # one detector per worker process, as in ProcessAnalyzer
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _ENGINE = Engine(detector="blazeface", num_threads=1)


def _analyze(image: npt.NDArray[np.uint8]) -> FrameAnalysis:
    if _ENGINE is None:
        raise RuntimeError("worker not initialised")
    faces, chips, _ = _ENGINE.detect_detailed(image)
    return FrameAnalysis(faces, chips, np.zeros((0, 4), np.float32), np.zeros((0,), np.float32))


class BlazeFaceAnalyzer:
    """``ProcessAnalyzer`` with MediaPipe's full-range BlazeFace instead of HOG."""

    def __init__(self, *, workers: int = 2) -> None:
        self._pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker
        )

    def submit(self, image: npt.NDArray[np.uint8]) -> Future[FrameAnalysis]:
        return self._pool.submit(_analyze, image)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
