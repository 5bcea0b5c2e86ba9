"""Per-frame detection for the video engine, in this process or in a pool of worker processes.

Objects (people, vehicles: :class:`~faceplane.objects.ObjectDetector`, or OpenCV's HOG people detector)
are detected in the same call for a camera that asks for them (:class:`ObjectSettings`).

dlib's HOG detector, shape predictor and chip cutter hold the GIL, so several cameras analysed by
threads of one process would take turns on one core. :class:`ProcessAnalyzer` runs them in worker
processes instead; :class:`LocalAnalyzer` runs them inline (one camera, tests). Both have the same
interface, ``submit(image) -> Future[FrameAnalysis]`` (Frigate's rule: a detector in another process
looks like a local one). Embedding is not done here: the engine batches the chips of every camera
into one onnxruntime call, which releases the GIL.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np
import numpy.typing as npt

from ..errors import InvalidArgumentError
from ..objects import COCO_CLASSES, OBJECT_MODELS, Objects, class_ids
from ..pipeline import Engine
from ..types import Faces

if TYPE_CHECKING:
    from ..objects import ObjectDetector
    from .people import PersonDetector

__all__ = ["Analyzer", "AnalyzerSettings", "FrameAnalysis", "LocalAnalyzer", "ObjectSettings", "ProcessAnalyzer"]

log = logging.getLogger(__name__)

#: Object detections scoring below this are not kept: the lowest score a tracker uses (``low_score``).
OBJECT_MIN_SCORE = 0.1
_OBJECT_DETECTORS = (*OBJECT_MODELS, "hog")


def hog_score(margin: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """OpenCV HOG people detector SVM margins (0..~3) -> scores in [0, 1): ``m / (1 + m)``, monotonic."""
    m = np.maximum(np.asarray(margin, np.float32), 0.0)
    return np.asarray(m / (1.0 + m), np.float32)


@dataclass(frozen=True)
class ObjectSettings:
    """Which objects a camera detects (sent with each of its frames to the analyzer).

    Attributes:
        classes: COCO class names to keep (``("person", "car")``).
        detector: ``"nanodet"`` (default), ``"centernet"`` (model store CNNs) or ``"hog"`` (OpenCV's HOG
            people detector: ``("person",)`` only).
        input_size: the CNN's input side in pixels, a multiple of 32 (None: the model's own, 416 / 512).

    Raises:
        InvalidArgumentError: (a ValueError) an unknown class or detector, HOG asked for other than people,
            or a bad input size.
    """

    classes: tuple[str, ...]
    detector: str = "nanodet"
    input_size: int | None = None

    def __post_init__(self) -> None:
        if self.detector not in _OBJECT_DETECTORS:
            raise InvalidArgumentError(f"object detector must be one of {_OBJECT_DETECTORS}, got {self.detector!r}")
        ids = class_ids(self.classes)  # InvalidArgumentError for an empty list or an unknown name
        object.__setattr__(self, "classes", tuple(COCO_CLASSES[i] for i in ids))
        if self.detector == "hog" and self.classes != ("person",):
            raise InvalidArgumentError(f"the HOG detector finds people only, got classes {list(self.classes)}")
        size = self.input_size
        if size is not None and not (type(size) is int and 64 <= size <= 2048 and size % 32 == 0):  # not a bool
            raise InvalidArgumentError(f"object input size must be a multiple of 32 in [64, 2048], got {size!r}")


@dataclass(frozen=True)
class FrameAnalysis:
    """What one frame holds.

    Attributes:
        faces: boxes, scores, 5-point landmarks and quality, largest first (no embeddings).
        chips: (N, S, S, 3) uint8 aligned face chips for the embedder (``Engine.chip_size``), row i for face i.
        objects: people, vehicles... of the classes the camera asked for (empty when it asked for none);
            HOG people have class ``"person"`` and their SVM margin as a score in [0, 1) (:func:`hog_score`).
        detect_s: seconds the face detection, landmarks and chips of this frame took (in the worker).
    """

    faces: Faces
    chips: npt.NDArray[np.uint8]
    objects: Objects
    detect_s: float = 0.0


@dataclass(frozen=True)
class AnalyzerSettings:
    """How frames are analysed.

    Attributes:
        detector: face detector, ``"blazeface"`` (default: MediaPipe's full-range BlazeFace from the
            model store, ~6 ms a frame), ``"hog"`` (frontal) or ``"cnn"`` (MMOD port, slower, turned faces).
        upsample: detector upsampling; 1 finds faces down to ~40 px, 0 only from ~80 px but 4x faster.
        min_face_px: ignore faces narrower than this (pixels).
        detect_width: HOG and CNN detect faces on frames shrunk to this width (0: full size; default 960,
            so 1080p cameras are detected at half size); BlazeFace takes any frame as it is. See ``Engine``.
        device: ``"cpu"`` or ``"cuda"`` for the ONNX detectors.
        embedder: whose chips to cut (the video engine's embedder: ``Engine.embedder_name``).
    """

    detector: Literal["hog", "cnn", "blazeface"] = "blazeface"
    upsample: int = 1
    min_face_px: int = 0
    detect_width: int = 960
    device: Literal["cpu", "cuda"] = "cpu"
    embedder: str = "mobilefacenet"

    def __post_init__(self) -> None:
        if self.detector not in ("hog", "cnn", "blazeface"):
            raise InvalidArgumentError(f"detector must be 'hog', 'cnn' or 'blazeface', got {self.detector!r}")
        if min(self.upsample, self.min_face_px, self.detect_width) < 0:
            raise InvalidArgumentError(
                f"upsample, min_face_px and detect_width must be >= 0, got {self.upsample}, {self.min_face_px}, "
                f"{self.detect_width}"
            )


class Analyzer(Protocol):
    def submit(self, image: npt.NDArray[np.uint8], *, objects: ObjectSettings | None = None) -> Future[FrameAnalysis]:
        """Analyse one frame: faces always, objects when asked."""
        ...

    def close(self) -> None: ...


class _Work:
    """The models one analyzer (or one worker process) uses."""

    def __init__(self, settings: AnalyzerSettings) -> None:
        self.engine = Engine(
            detector=settings.detector,
            upsample=settings.upsample,
            min_face_px=settings.min_face_px,
            num_threads=1,
            detect_width=settings.detect_width,
            device=settings.device,
            embedder=settings.embedder,  # type: ignore[arg-type]
        )
        self.device = settings.device
        self.hog: PersonDetector | None = None  # built on first use
        self.detectors: dict[ObjectSettings, ObjectDetector] = {}  # one per model, input size and classes

    def __call__(self, image: npt.NDArray[np.uint8], objects: ObjectSettings | None) -> FrameAnalysis:
        start = time.perf_counter()
        faces, chips, _ = self.engine.detect_detailed(image)
        detect_s = time.perf_counter() - start
        found = self._objects(image, objects) if objects is not None else Objects.empty()
        return FrameAnalysis(faces, chips, found, detect_s)

    def _objects(self, image: npt.NDArray[np.uint8], wanted: ObjectSettings) -> Objects:
        """Objects of ``wanted.classes`` with the detector it names (made once, kept)."""
        if wanted.detector == "hog":
            if self.hog is None:
                from .people import PersonDetector

                self.hog = PersonDetector()  # the per-camera foreground filter runs in the engine
            xyxy, margin = self.hog.detect(image)
            return Objects(xyxy, hog_score(margin), np.zeros(len(xyxy), np.int64))
        detector = self.detectors.get(wanted)
        if detector is None:
            from ..objects import ObjectDetector

            detector = self.detectors[wanted] = ObjectDetector(
                model=wanted.detector,
                classes=wanted.classes,
                input_size=wanted.input_size,
                min_score=OBJECT_MIN_SCORE,  # weaker boxes still keep tracks alive (ByteTrack)
                device=self.device,
                num_threads=1,
            )
        return detector.detect(image)


class LocalAnalyzer:
    """Analyses frames in the calling thread; ``submit`` returns an already completed future."""

    def __init__(self, settings: AnalyzerSettings | None = None) -> None:
        self._work = _Work(settings or AnalyzerSettings())

    def submit(self, image: npt.NDArray[np.uint8], *, objects: ObjectSettings | None = None) -> Future[FrameAnalysis]:
        future: Future[FrameAnalysis] = Future()
        try:
            future.set_result(self._work(image, objects))
        except Exception as exc:
            future.set_exception(exc)
        return future

    def close(self) -> None:
        pass


_WORKER: _Work | None = None


def _init_worker(settings: AnalyzerSettings) -> None:
    global _WORKER  # one set of models per worker process, built once
    # Ctrl-C reaches the terminal's whole process group: the parent stops its workers, not the keyboard
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, name="parent-watch", daemon=True).start()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _WORKER = _Work(settings)


def _exit_with_parent() -> None:
    """End this worker once its parent is gone, however it went (SIGKILL, the OOM killer): no orphans."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        parent.join()  # waits on the spawn pipe, which the kernel closes when the parent ends
        os._exit(0)


def _analyze_in_worker(image: npt.NDArray[np.uint8], objects: ObjectSettings | None) -> FrameAnalysis:
    if _WORKER is None:  # pragma: no cover - the initializer always runs first
        raise RuntimeError("analyzer worker not initialised")
    return _WORKER(image, objects)


class ProcessAnalyzer:
    """Analyses frames in ``workers`` processes (spawned: safe beside decoder threads)."""

    def __init__(self, settings: AnalyzerSettings | None = None, *, workers: int = 2) -> None:
        if workers < 1:
            raise InvalidArgumentError(f"workers must be >= 1, got {workers}")
        self.workers = workers
        self._pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(settings or AnalyzerSettings(),),
        )

    def submit(self, image: npt.NDArray[np.uint8], *, objects: ObjectSettings | None = None) -> Future[FrameAnalysis]:
        return self._pool.submit(_analyze_in_worker, image, objects)

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the workers: frames in hand finish within ``timeout_s``, then any worker left is killed."""
        workers = list((self._pool._processes or {}).values())  # private, but the only handle on the workers
        closer = threading.Thread(
            target=self._pool.shutdown, kwargs={"cancel_futures": True}, name="analyzer-close", daemon=True
        )
        closer.start()
        closer.join(timeout_s)
        stuck = [p for p in workers if p.is_alive()]
        if stuck:
            log.warning("%d detector workers still busy after %.0f s: killing them", len(stuck), timeout_s)
            for p in stuck:
                p.kill()
            closer.join(timeout_s)  # the pool sees them gone and finishes its shutdown
