"""LFW View 1 for the benches: the images folder, each image's central face, and its aligned chips.

Every LFW bench compares embedders on the *same* faces: each image's face nearest the centre (HOG,
upsample 1; the MMOD CNN when HOG finds none; LFW's fixed central box when neither does) and its
5-point landmarks. Finding them is the slow part, so boxes and landmarks are cached in
``bench/out/lfw_faces.npz`` keyed by path relative to the images folder (rebuilt when the detector
or landmark code changes, or with ``refresh=True``). Chips are then cut from the photo as each
engine's embedder expects (:meth:`faceplane.Engine.align`: dlib's 150x150 chip or the 112x112
ArcFace crop), which takes seconds.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
FACES_CACHE = OUT / "lfw_faces.npz"
RECIPE = "central face: hog upsample 1 -> cnn upsample 1 -> central box 70..180; 5-point landmarks"
# Code whose change makes the cached boxes and landmarks stale.
_SOURCES = ("src/faceplane/models/dlib_models.py", "src/faceplane/models/mmod.py")
# The face box of LFW's deep-funnelled 250x250 images when no detector finds one.
_CENTRAL_BOX = np.array([[70.0, 70.0, 180.0, 180.0]], np.float32)

_F32 = npt.NDArray[np.float32]
_U8 = npt.NDArray[np.uint8]


def lfw_dir() -> Path:
    root = Path(os.environ.get("FACEPLANE_DATA") or REPO.parent / "shared" / "data")
    return root / "faces" / "lfw-view1"


def source_digest(*paths: str) -> str:
    """Short sha1 of repository files, to key a cache on the code that made it."""
    sha = hashlib.sha1()
    for path in paths:
        sha.update((REPO / path).read_bytes())
    return sha.hexdigest()[:12]


def _central_box(engine, rgb: _U8) -> _F32 | None:
    faces = engine.detect(rgb)
    if len(faces) == 0:
        return None
    centre = np.array([rgb.shape[1] / 2.0, rgb.shape[0] / 2.0], np.float32)
    mids = (faces.xyxy[:, :2] + faces.xyxy[:, 2:]) / 2.0
    return faces.xyxy[int(np.argmin(np.linalg.norm(mids - centre, axis=1)))][None]


def _find_faces(images: Path, rel_paths: list[str]) -> tuple[_F32, _F32, npt.NDArray[np.int8]]:
    from faceplane import Engine

    hog, cnn = Engine(detector="hog"), Engine(detector="cnn")
    boxes = np.zeros((len(rel_paths), 4), np.float32)
    landmarks = np.zeros((len(rel_paths), 5, 2), np.float32)
    how = np.zeros(len(rel_paths), np.int8)  # 0 HOG, 1 CNN, 2 central box
    for i, rel in enumerate(rel_paths):
        rgb = hog.load(images / rel)
        box = _central_box(hog, rgb)
        if box is None:
            box, how[i] = _central_box(cnn, rgb), 1
        if box is None:
            box, how[i] = _CENTRAL_BOX, 2
        boxes[i], landmarks[i] = box[0], hog.landmarks(rgb, box)[0]
        if (i + 1) % 500 == 0:
            print(f"  faces {i + 1}/{len(rel_paths)}", file=sys.stderr, flush=True)
    return boxes, landmarks, how


def lfw_faces(rel_paths: list[str], *, refresh: bool = False) -> tuple[_F32, _F32, dict[str, int], float]:
    """Central face of each of ``rel_paths`` (relative to the images folder), in that order.

    Returns:
        (N, 4) xyxy boxes, (N, 5, 2) landmarks, how many faces HOG missed ({"cnn": n,
        "central_box": m}, distinct paths), seconds spent finding faces (0.0: all cached).
    """
    key = f"{RECIPE}; {source_digest(*_SOURCES)}"
    cached: dict[str, tuple[np.ndarray, np.ndarray, int]] = {}
    if FACES_CACHE.is_file() and not refresh:
        with np.load(FACES_CACHE) as z:
            if str(z["recipe"]) == key:
                rows = zip(z["paths"].tolist(), z["boxes"], z["landmarks"], z["how"].tolist(), strict=True)
                cached = {p: (b, lm, h) for p, b, lm, h in rows}
    missing = [p for p in dict.fromkeys(rel_paths) if p not in cached]
    seconds = 0.0
    if missing:
        start = time.perf_counter()
        boxes, landmarks, how = _find_faces(lfw_dir() / "images", missing)
        seconds = time.perf_counter() - start
        cached.update({p: (b, lm, int(h)) for p, b, lm, h in zip(missing, boxes, landmarks, how, strict=True)})
        OUT.mkdir(parents=True, exist_ok=True)
        paths = sorted(cached)
        np.savez(
            FACES_CACHE,
            paths=np.asarray(paths),
            boxes=np.stack([cached[p][0] for p in paths]),
            landmarks=np.stack([cached[p][1] for p in paths]),
            how=np.asarray([cached[p][2] for p in paths], np.int8),
            recipe=np.asarray(key),
        )
    counts = np.bincount([cached[p][2] for p in dict.fromkeys(rel_paths)], minlength=3)
    return (
        np.stack([cached[p][0] for p in rel_paths]),
        np.stack([cached[p][1] for p in rel_paths]),
        {"cnn": int(counts[1]), "central_box": int(counts[2])},
        seconds,
    )


def lfw_chips(rel_paths: list[str], engine, *, refresh: bool = False) -> tuple[_U8, dict[str, int], float]:
    """Chips of the central faces of ``rel_paths``, aligned as ``engine`` (a :class:`faceplane.Engine`) expects.

    Returns:
        (N, S, S, 3) uint8 RGB chips (S = ``engine.chip_size``), HOG misses and seconds finding
        faces as :func:`lfw_faces`.
    """
    boxes, landmarks, fallbacks, seconds = lfw_faces(rel_paths, refresh=refresh)
    images = lfw_dir() / "images"
    size = engine.chip_size
    chips = np.zeros((len(rel_paths), size, size, 3), np.uint8)
    for i, rel in enumerate(rel_paths):
        chips[i] = engine.align(images / rel, boxes[i : i + 1], landmarks[i : i + 1])[0]
    return chips, fallbacks, seconds


def raw_dlib(chips: _U8, *, native: bool, flip: bool) -> _F32:
    """Raw (not normalised) dlib descriptors of 150x150 dlib chips: dlib's own runtime or our ONNX port,
    optionally averaged with the mirrored chip. ``native=True, flip=False`` is face_recognition's
    ``face_encodings``."""
    if native:
        from faceplane.models.dlib_models import DlibDescriptor

        desc = DlibDescriptor()
    else:
        from faceplane.models.resnet import ResNetDescriptor

        desc = ResNetDescriptor()
    emb = desc.compute(chips)
    if flip:
        emb = (emb + desc.compute(np.ascontiguousarray(chips[:, :, ::-1]))) / 2.0
    return np.asarray(emb, np.float32)
