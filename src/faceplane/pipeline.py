"""Images in, :class:`~faceplane.types.Faces` out: detect -> landmarks -> align -> quality -> embed.

:class:`Engine` is the library's front door::

    engine = Engine()                      # HOG, 5-point landmarks, ONNX descriptor, flip TTA
    faces = engine.analyze("group.jpg")    # boxes, scores, landmarks, quality, embeddings
    match = engine.verify("a.jpg", "b.jpg")

Models load on first use, never at import or construction, and are shared by every call.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from typing import Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from .align import ARCFACE_SIZE, CHIP_SIZE, arcface_chips, face_chips
from .errors import FaceplaneError, InvalidArgumentError
from .images import DEFAULT_MAX_PIXELS, ImageInput, load_image
from .models._onnx import providers_for
from .models.catalog import EMBEDDING_MODELS
from .models.dlib_models import HogDetector, ShapePredictor
from .quality import QualityReport, assess_quality
from .types import Faces, Match
from .verify import verify_embeddings

__all__ = ["DetectorName", "Engine", "NoFaceError"]

logger = logging.getLogger(__name__)

DetectorName = Literal["hog", "cnn", "blazeface"]
#: "mobilefacenet" (default: most accurate), "dlib" (dlib's ResNet on our ONNX port: commercially clean),
#: "dlib-native" (the same network on dlib's own runtime, the reference; slow). "onnx" is the old name of "dlib".
EmbedderName = Literal["mobilefacenet", "dlib", "dlib-native", "onnx"]
_F32 = npt.NDArray[np.float32]


class EmbedderSpec(NamedTuple):
    """What an embedder makes and eats. ``tag`` changes when the vectors do: "dlib@1" were raw dlib
    descriptors, "dlib@2" are the same scaled to unit length (cosine)."""

    tag: str  # name@version recorded with every template; dimension and calibration: catalog.EMBEDDING_MODELS
    flip_tta: bool  # default: +0.3 pt DevTest for dlib; +0.1 pt for MobileFaceNet, not worth 2x the time
    chip_size: int  # 150: dlib's chip; 112: ArcFace's crop


EMBEDDERS: dict[str, EmbedderSpec] = {
    "mobilefacenet": EmbedderSpec("mobilefacenet@1", False, ARCFACE_SIZE),
    "dlib": EmbedderSpec("dlib@2", True, CHIP_SIZE),
    "dlib-native": EmbedderSpec("dlib@2", True, CHIP_SIZE),
}

# Detector score that maps to a 0.63 confidence cue in the quality score.
_CONFIDENCE_SCALE = {"hog": 0.5, "cnn": 0.3, "blazeface": 0.3}


class NoFaceError(FaceplaneError):
    """An operation that needs a face (verify) found none in an image."""


class Engine:
    """Face detection, landmarks, alignment, quality and 128-D embeddings in one object.

    Args:
        detector: ``"hog"`` (dlib HOG, frontal faces, ~120 ms a 640x480 frame at upsample 1),
            ``"cnn"`` (MMOD CNN ported to onnxruntime: finds small and turned faces, slower) or
            ``"blazeface"`` (MediaPipe's full-range BlazeFace from the model store, ~6 ms a frame;
            faces narrower than ~1/15 of the frame are missed: see ``detect_width``).
        landmarks: 5 (default; free licence) or 68 (iBUG 300-W terms: non-commercial).
        upsample: times the image is doubled before detection (finds smaller faces).
        min_face_px: drop detections narrower than this.
        embedder: ``"mobilefacenet"`` (default; 192-D, from the model store: ``faceplane models install``),
            ``"dlib"`` (dlib's ResNet on our ONNX port, 128-D, CC0 weights) or ``"dlib-native"`` (dlib's
            own runtime, the reference). Every embedder returns unit-length vectors, so the Euclidean
            distance ranks like the cosine distance: ``d = sqrt(2 - 2 cos)``.
        flip_tta: also embed the mirrored chip and average the two. ``None`` (default): on for dlib
            (98.8% -> 99.1% LFW View 1 DevTest), off for MobileFaceNet (no gain; bench/lfw_verify.py).
        device: ``"cpu"`` or ``"cuda"`` (onnxruntime's CUDA provider: ``faceplane[gpu]``) for the ONNX models.
        num_threads: onnxruntime threads per model (0 = one per core).
        max_pixels: decompression-bomb limit for decoded images.
        detect_width: detect on a copy shrunk to this width (0 = full size); landmarks, chips and
            quality still come from the full-size image. A 1280-px video frame detected at 640 costs
            a quarter of the time, and ``upsample`` still finds faces from ~80 px of the original.
            BlazeFace ignores it: it warps any frame straight to its 192 px input, and shrinking a 720p
            frame to 960 first cost ~4 ms of a ~5 ms detection for the same faces (91 vs 92 on the
            Hamilton clip at 720p).

    Example:
        >>> engine = Engine(detector="hog")
        >>> faces = engine.analyze("photo.jpg")            # doctest: +SKIP
        >>> faces.embedding.shape                          # doctest: +SKIP
        (1, 128)
    """

    def __init__(
        self,
        *,
        detector: DetectorName = "hog",
        landmarks: int = 5,
        upsample: int = 1,
        min_face_px: int = 0,
        embedder: EmbedderName = "mobilefacenet",
        flip_tta: bool | None = None,
        device: str = "cpu",
        num_threads: int = 0,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        detect_width: int = 0,
    ) -> None:
        if detector not in _CONFIDENCE_SCALE:
            raise InvalidArgumentError(f"detector must be one of {sorted(_CONFIDENCE_SCALE)}, got {detector!r}")
        embedder = "dlib" if embedder == "onnx" else embedder
        if embedder not in EMBEDDERS:
            raise InvalidArgumentError(f"embedder must be one of {sorted(EMBEDDERS)}, got {embedder!r}")
        if device not in ("cpu", "cuda"):
            raise InvalidArgumentError(f"device must be 'cpu' or 'cuda', got {device!r}")
        if min(upsample, min_face_px, num_threads, detect_width) < 0:
            raise InvalidArgumentError(
                "upsample, min_face_px, num_threads and detect_width must be >= 0; got "
                f"{upsample}, {min_face_px}, {num_threads}, {detect_width}"
            )
        self.detector_name: DetectorName = detector
        self.upsample = upsample
        self.min_face_px = min_face_px
        self.embedder_name: EmbedderName = embedder
        self.flip_tta = EMBEDDERS[embedder].flip_tta if flip_tta is None else bool(flip_tta)
        self.device = device
        self.num_threads = num_threads
        self.max_pixels = max_pixels
        self.detect_width = detect_width
        self._shape = ShapePredictor(points=landmarks)
        self._lock = threading.Lock()
        self._detector: object | None = None
        self._embedder: object | None = None

    def warm_up(self) -> None:
        """Load every model now (about a second), so that the first real frame is not the slow one."""
        self._get_detector()
        self._shape.predict(np.zeros((8, 8, 3), np.uint8), np.zeros((0, 4), np.float32))
        self.embed_chips(np.zeros((1, self.chip_size, self.chip_size, 3), np.uint8))

    @property
    def embedding_model(self) -> str:
        """``name@version`` of the embeddings this engine makes (what gallery templates record)."""
        return EMBEDDERS[self.embedder_name].tag

    @property
    def embedding_dim(self) -> int:
        """Length of this engine's embeddings (128 for dlib, 192 for MobileFaceNet)."""
        return EMBEDDING_MODELS[self.embedding_model][0]

    @property
    def calibration_key(self) -> str:
        """The entry of ``models/calibration.json`` measured for this engine's embedder."""
        return EMBEDDING_MODELS[self.embedding_model][1]

    @property
    def chip_size(self) -> int:
        """Side of this engine's face chips: 150 (dlib's chip) or 112 (MobileFaceNet's ArcFace crop)."""
        return EMBEDDERS[self.embedder_name].chip_size

    def align(self, image: ImageInput, boxes: npt.ArrayLike, landmarks: npt.ArrayLike) -> npt.NDArray[np.uint8]:
        """(N, S, S, 3) uint8 chips of the faces, aligned as this engine's embedder expects (S = ``chip_size``)."""
        rgb = self.load(image)
        if self.chip_size == ARCFACE_SIZE:
            return arcface_chips(rgb, landmarks)
        return face_chips(rgb, boxes, landmarks)

    @property
    def landmark_points(self) -> int:
        """5 or 68: the landmark model this engine runs."""
        return self._shape.points

    # -- model access (lazy) -------------------------------------------------------------------

    def _get_detector(self) -> object:
        with self._lock:
            if self._detector is None:
                if self.detector_name == "hog":
                    self._detector = HogDetector(upsample=self.upsample)
                elif self.detector_name == "blazeface":
                    from .models.blazeface_onnx import BlazeFaceOnnx
                    from .models.store import model_path

                    self._detector = BlazeFaceOnnx(
                        model_path("blazeface"), num_threads=self.num_threads, providers=providers_for(self.device)
                    )
                else:
                    from .models.mmod import MMODDetector

                    self._detector = MMODDetector(
                        num_threads=self.num_threads, upsample=self.upsample, providers=providers_for(self.device)
                    )
            return self._detector

    def _get_embedder(self) -> object:
        with self._lock:
            if self._embedder is None:
                if self.embedder_name == "mobilefacenet":
                    from .models.mobilefacenet import MobileFaceNet

                    self._embedder = MobileFaceNet(num_threads=self.num_threads, providers=providers_for(self.device))
                elif self.embedder_name == "dlib":
                    from .models.resnet import ResNetDescriptor

                    providers = providers_for(self.device)
                    self._embedder = ResNetDescriptor(num_threads=self.num_threads, providers=providers)
                else:
                    from .models.dlib_models import DlibDescriptor

                    self._embedder = DlibDescriptor()
            return self._embedder

    # -- stages ----------------------------------------------------------------------------------

    def load(self, image: ImageInput) -> npt.NDArray[np.uint8]:
        """Decode any accepted input into (H, W, 3) uint8 RGB (see :func:`faceplane.load_image`)."""
        return load_image(image, max_pixels=self.max_pixels)

    def landmarks(self, image: ImageInput, boxes: npt.ArrayLike) -> _F32:
        """(N, P, 2) float32 landmarks of the given (N, 4) xyxy boxes."""
        return self._shape.predict(self.load(image), boxes)

    def detect(self, image: ImageInput) -> Faces:
        """Faces with boxes, scores, landmarks and quality (no embeddings), largest first."""
        faces, _ = self._detect_with_chips(self.load(image))
        return faces

    def _detect_with_chips(self, rgb: npt.NDArray[np.uint8]) -> tuple[Faces, npt.NDArray[np.uint8]]:
        faces, chips, _ = self.detect_detailed(rgb)
        return faces, chips

    def detect_detailed(self, image: ImageInput) -> tuple[Faces, npt.NDArray[np.uint8], QualityReport]:
        """Like :meth:`detect`, also returning the embedder's aligned chips (N, S, S, 3) and every quality cue.

        S is :attr:`chip_size`. The quality cues are measured on dlib's 150x150 chips whatever the embedder.
        """
        rgb = self.load(image)
        boxes, scores = self._detect_boxes(rgb)
        faces = Faces(xyxy=boxes, score=scores)
        if self.min_face_px:
            faces = faces[(faces.xyxy[:, 2] - faces.xyxy[:, 0]) >= self.min_face_px]
        if len(faces) == 0:
            chips = np.zeros((0, self.chip_size, self.chip_size, 3), np.uint8)
            dlib_chips = np.zeros((0, CHIP_SIZE, CHIP_SIZE, 3), np.uint8)
            empty = np.zeros((0, 5, 2), np.float32)
            return Faces.empty(), chips, assess_quality(dlib_chips, faces.xyxy, empty, faces.score)
        faces = faces.largest_first()
        landmarks = self._shape.predict(rgb, faces.xyxy)
        dlib_chips = face_chips(rgb, faces.xyxy, landmarks)
        chips = dlib_chips if self.chip_size == CHIP_SIZE else arcface_chips(rgb, landmarks)
        report = assess_quality(
            dlib_chips, faces.xyxy, landmarks, faces.score, confidence_scale=_CONFIDENCE_SCALE[self.detector_name]
        )
        return faces.with_(landmarks=landmarks, quality=report.overall), chips, report

    def _detect_boxes(self, rgb: npt.NDArray[np.uint8]) -> tuple[_F32, _F32]:
        detector = self._get_detector()
        width = rgb.shape[1]
        if not self.detect_width or width <= self.detect_width or self.detector_name == "blazeface":
            return detector.detect(rgb)  # type: ignore[attr-defined]
        import cv2

        scale = width / self.detect_width
        small = cv2.resize(rgb, (self.detect_width, round(rgb.shape[0] / scale)), interpolation=cv2.INTER_AREA)
        boxes, scores = detector.detect(small)  # type: ignore[attr-defined]
        return np.asarray(boxes, np.float32) * np.float32(scale), scores

    def embed_chips(self, chips: npt.NDArray[np.uint8]) -> _F32:
        """(N, S, S, 3) uint8 chips from :meth:`align` -> (N, D) float32 unit-length embeddings, in one batch."""
        chips = np.asarray(chips)
        s = self.chip_size
        if chips.ndim != 4 or chips.shape[1:] != (s, s, 3) or chips.dtype != np.uint8:
            raise InvalidArgumentError(
                f"chips must be (N, {s}, {s}, 3) uint8 for {self.embedder_name}, got {chips.shape} {chips.dtype}"
            )
        if len(chips) == 0:
            return np.zeros((0, self.embedding_dim), np.float32)
        from .models.mobilefacenet import normalize

        embedder = self._get_embedder()
        emb = embedder.compute(chips)  # type: ignore[attr-defined]
        if self.flip_tta:
            emb = emb + embedder.compute(np.ascontiguousarray(chips[:, :, ::-1]))  # type: ignore[attr-defined]
        return normalize(emb)

    def analyze(self, image: ImageInput) -> Faces:
        """Detect every face and embed it: boxes, scores, landmarks, quality and embeddings."""
        return self.analyze_many([image])[0]

    def analyze_many(self, images: Iterable[ImageInput]) -> list[Faces]:
        """Analyze several images, embedding all their faces in one batched call."""
        detected = [self._detect_with_chips(self.load(img)) for img in images]
        all_chips = [chips for _, chips in detected if len(chips)]
        if not all_chips:
            return [faces for faces, _ in detected]
        emb = self.embed_chips(np.concatenate(all_chips))
        out: list[Faces] = []
        start = 0
        for faces, chips in detected:
            out.append(faces.with_(embedding=emb[start : start + len(chips)]) if len(chips) else faces)
            start += len(chips)
        return out

    def verify(
        self, image_a: ImageInput, image_b: ImageInput, *, far: float | None = None, threshold: float | None = None
    ) -> Match:
        """Are the largest faces of two images the same person?

        Args:
            image_a, image_b: anything :func:`faceplane.load_image` accepts.
            far: use the threshold calibrated for this false-accept rate (e.g. 1e-3).
            threshold: an explicit distance threshold (overrides ``far``).

        Raises:
            NoFaceError: an image has no face.
        """
        faces_a, faces_b = self.analyze_many([image_a, image_b])
        for label, faces in (("first", faces_a), ("second", faces_b)):
            if len(faces) == 0:
                raise NoFaceError(f"no face found in the {label} image")
        return verify_embeddings(
            faces_a.embedding[0], faces_b.embedding[0], threshold=threshold, far=far, model=self.calibration_key
        )

    def verify_faces(
        self, a: Faces | Sequence[float], b: Faces | Sequence[float], *, far: float | None = None,
        threshold: float | None = None,
    ) -> Match:
        """Verify two already-analyzed faces (first row of each) or two embeddings of this engine's model."""
        emb_a = a.embedding[0] if isinstance(a, Faces) else np.asarray(a, np.float32)
        emb_b = b.embedding[0] if isinstance(b, Faces) else np.asarray(b, np.float32)
        return verify_embeddings(emb_a, emb_b, far=far, threshold=threshold, model=self.calibration_key)
