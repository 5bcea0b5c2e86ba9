"""Source material of the attack generator: faces (photos, video frames) and where the face is in each.

- LFW View 1: one photo per person, people from ``peopleDevTrain.txt`` or ``peopleDevTest.txt``.
- ``real.mov`` (the man of the zubair videos, 199 frames, 15 fps, 960x540): frames by index.
- stills: ``image_T1.jpg`` of the silent-face samples (EXIF-rotated) and four face_recognition examples.
- bearers: GIF clips of people filmed live (Intel sample videos, 480x270), for the cut-out masks.

Face boxes are *found*, not annotated: faceplane's HOG detector (``Engine(detector="hog")``, upsample 1,
5-point landmarks) on the image, shrunk first so its longer side is at most 640 px; the largest face
(LFW: the one nearest the centre). They are cached in ``bench/out/attack_faces.json`` keyed by
``<path>#<frame>`` and :data:`RECIPE`, one detection per key on first use (~70 ms each), so a set only
pays for the frames it uses. A video frame where no face is found takes its box from the nearest frames
that have one (linear in time); an LFW photo or still without one is not used.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

U8 = NDArray[np.uint8]
F32 = NDArray[np.float32]

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / "bench" / "out" / "attack_faces.json"
RECIPE = "hog upsample 1, longer side <= 640, largest face (LFW: most central), 5-point landmarks"
LFW = "faces/lfw-view1"
REAL_MOV = "liveness/antispoof-zubair-videos/videos/real.mov"
REAL_FPS = 15.0
STILLS = (
    "liveness/antispoof-silent-face/images/sample/image_T1.jpg",
    "faces/face_recognition-examples/examples/obama.jpg",
    "faces/face_recognition-examples/examples/obama2.jpg",
    "faces/face_recognition-examples/examples/alex-lacamoire.png",
    "faces/face_recognition-examples/examples/lin-manuel-miranda.png",
)  # biden.jpg is left out: Joseph_Biden is an LFW DevTrain person


@dataclass(frozen=True)
class Face:
    """One picture of a face: the RGB image, its face box and 5 landmarks (both in image pixels)."""

    image: U8  # (H, W, 3) uint8 RGB
    box: F32  # (4,) xyxy float32 px
    landmarks: F32  # (5, 2) float32 px: dlib's 5 points (eye corners x4, nose base)

    @property
    def eyes(self) -> F32:
        """(2, 2) float32 px: centres of the subject's right and left eye (image left first)."""
        pts = self.landmarks
        pair = np.stack([(pts[2] + pts[3]) / 2, (pts[0] + pts[1]) / 2])
        return pair[np.argsort(pair[:, 0])].astype(np.float32)


class FaceCache:
    """Detected face boxes and landmarks per ``<path>#<frame>``, read from and written to :data:`CACHE`."""

    def __init__(self, path: Path = CACHE) -> None:
        self.path = path
        self._engine: object | None = None
        self._entries: dict[str, list[float] | None] = {}
        if path.is_file():
            stored = json.loads(path.read_text())
            if stored.get("recipe") == RECIPE:
                self._entries = stored["faces"]

    def find(self, key: str, rgb: U8, central: bool = False) -> tuple[F32, F32] | None:
        """(box (4,), landmarks (5, 2)) of the face in ``rgb``, or None; detected once per ``key``."""
        if key not in self._entries:
            self._entries[key] = self._detect(rgb, central)
            self._save()
        entry = self._entries[key]
        if entry is None:
            return None
        values = np.asarray(entry, np.float32)
        return values[:4], values[4:].reshape(5, 2)

    def _detect(self, rgb: U8, central: bool) -> list[float] | None:
        if self._engine is None:
            from faceplane import Engine

            self._engine = Engine(detector="hog", upsample=1, num_threads=1)
        scale = min(1.0, 640 / max(rgb.shape[:2]))
        small = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else rgb
        faces = self._engine.detect(small)  # type: ignore[attr-defined]
        if not len(faces):
            return None
        if central:
            mids = (faces.xyxy[:, :2] + faces.xyxy[:, 2:]) / 2
            pick = int(np.argmin(np.linalg.norm(mids - np.array(small.shape[1::-1]) / 2, axis=1)))
        else:
            pick = int(np.argmax((faces.xyxy[:, 2] - faces.xyxy[:, 0]) * (faces.xyxy[:, 3] - faces.xyxy[:, 1])))
        values = np.concatenate([faces.xyxy[pick], faces.landmarks[pick].reshape(-1)]) / scale
        return [round(float(v), 2) for v in values]

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp")
        with os.fdopen(fd, "w") as fh:
            json.dump({"recipe": RECIPE, "faces": self._entries}, fh)
        os.replace(tmp, self.path)  # atomic: other processes never read half a file


def lfw_people(data: Path, listing: str) -> list[str]:
    """Names in an LFW people list (``peopleDevTrain.txt`` / ``peopleDevTest.txt``) that have images here."""
    images = data / LFW / "images"
    lines = (data / LFW / listing).read_text().splitlines()[1:]
    return [n for n in (line.split("\t")[0] for line in lines if "\t" in line) if (images / n).is_dir()]


def _load_rgb(path: Path) -> U8:
    from faceplane import load_image  # applies the EXIF rotation (the silent-face stills are stored rotated)

    return load_image(path)


def photo_face(data: Path, cache: FaceCache, rel: str, central: bool = False) -> Face | None:
    """The face of one photo (path relative to ``data``), or None when the detector finds none."""
    rgb = _load_rgb(data / rel)
    found = cache.find(f"{rel}#0", rgb, central)
    return None if found is None else Face(rgb, *found)


def lfw_face(data: Path, cache: FaceCache, name: str, rng: np.random.Generator) -> Face | None:
    """One photo of LFW person ``name`` (picked by ``rng`` among theirs) with its central face.

    The photo is cropped to the part the deep funnelling left filled (:func:`trim_black`).
    """
    photos = sorted((data / LFW / "images" / name).iterdir())
    face = photo_face(data, cache, str(photos[int(rng.integers(len(photos)))].relative_to(data)), central=True)
    return None if face is None else trim_black(face)


def trim_black(face: Face, strip_px: int = 3, max_dark: float = 0.03) -> Face:
    """Crop away the black wedges that LFW's deep funnelling leaves at the borders (never into the face).

    Moves the darkest side inwards, 2 px at a time, while more than ``max_dark`` of its outer strip is
    black (< 8 grey levels).
    """
    dark = face.image.max(axis=2) < 8
    h, w = dark.shape
    x0, y0, x1, y1 = 0, 0, w, h
    fx0, fy0, fx1, fy1 = face.box.tolist()
    while True:
        sides = {
            "l": dark[y0:y1, x0 : x0 + strip_px].mean() if x0 + 2 < fx0 else 0.0,
            "r": dark[y0:y1, x1 - strip_px : x1].mean() if x1 - 2 > fx1 else 0.0,
            "t": dark[y0 : y0 + strip_px, x0:x1].mean() if y0 + 2 < fy0 else 0.0,
            "b": dark[y1 - strip_px : y1, x0:x1].mean() if y1 - 2 > fy1 else 0.0,
        }
        worst = max(sides, key=lambda k: sides[k])
        if sides[worst] <= max_dark:
            break
        x0, x1 = x0 + 2 * (worst == "l"), x1 - 2 * (worst == "r")
        y0, y1 = y0 + 2 * (worst == "t"), y1 - 2 * (worst == "b")
    shift = np.array([x0, y0], np.float32)
    return Face(
        np.ascontiguousarray(face.image[y0:y1, x0:x1]),
        (face.box - np.tile(shift, 2)).astype(np.float32),
        (face.landmarks - shift).astype(np.float32),
    )


@lru_cache(maxsize=4)
def _clip_frames(path: str) -> tuple[U8, ...]:
    """Every frame of a video or GIF as RGB (real.mov: 199 x 960x540; kept for the few clips in use)."""
    if path.endswith(".gif"):
        from PIL import Image, ImageSequence

        with Image.open(path) as gif:
            return tuple(np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(gif))
    capture = cv2.VideoCapture(path)
    frames = []
    while True:
        ok, bgr = capture.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    capture.release()
    return tuple(frames)


def clip_length(data: Path, rel: str) -> int:
    return len(_clip_frames(str(data / rel)))


def clip_faces(data: Path, cache: FaceCache, rel: str, indices: list[int]) -> list[Face] | None:
    """Frames ``indices`` of a clip with their faces; a frame without one borrows its neighbours' (linear).

    Returns None when no frame of the list has a face.
    """
    frames = _clip_frames(str(data / rel))
    found = [cache.find(f"{rel}#{i}", frames[i]) for i in indices]
    have = [k for k, f in enumerate(found) if f is not None]
    if not have:
        return None
    values = np.array([np.concatenate([f[0], f[1].reshape(-1)]) for f in found if f is not None], np.float32)
    filled = np.stack([np.interp(np.arange(len(indices)), have, values[:, c]) for c in range(14)], axis=1)
    return [
        Face(frames[i], v[:4].astype(np.float32), v[4:].reshape(5, 2).astype(np.float32))
        for i, v in zip(indices, filled, strict=True)
    ]
