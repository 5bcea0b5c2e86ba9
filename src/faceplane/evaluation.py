"""Verification benchmarks on labelled pairs (LFW's protocol), shared by ``bench/`` and the tests.

LFW pair files list same-person pairs as ``name i j`` and different-person pairs as
``name1 i name2 j``; image ``i`` of ``name`` is ``name/name_000i.jpg``. LFW photos are centred on
the labelled person, so the face nearest the image centre is the one evaluated; when the
detector finds none we fall back to the CNN detector, then to the fixed central box of the
deep-funnelled release (counted and reported, as is usual for LFW).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from .errors import InvalidArgumentError
from .pipeline import Engine

__all__ = [
    "CentralFaces",
    "LfwPairs",
    "PairEmbeddings",
    "embed_faces",
    "embed_pairs",
    "find_central_faces",
    "read_lfw_pairs",
    "roc_points",
    "tar_at_far",
]

logger = logging.getLogger(__name__)

# The face box of LFW's deep-funnelled 250x250 images when no detector finds one.
_LFW_CENTRAL_BOX = np.array([[70.0, 70.0, 180.0, 180.0]], np.float32)


@dataclass(frozen=True)
class LfwPairs:
    """Labelled pairs: ``paths_a[i]`` vs ``paths_b[i]``, ``same[i]`` True for the same person."""

    paths_a: list[Path]
    paths_b: list[Path]
    same: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.same)


def read_lfw_pairs(pairs_file: str | Path, images_dir: str | Path) -> LfwPairs:
    """Parse an LFW ``pairs*.txt`` file.

    Raises:
        InvalidArgumentError: a line that is neither form, or a missing image.
    """
    root = Path(images_dir)
    lines = Path(pairs_file).read_text("utf-8").split("\n")
    paths_a: list[Path] = []
    paths_b: list[Path] = []
    same: list[bool] = []

    def img(name: str, num: str) -> Path:
        path = root / name / f"{name}_{int(num):04d}.jpg"
        if not path.is_file():
            raise InvalidArgumentError(f"{pairs_file}: image {path} is missing")
        return path

    for lineno, line in enumerate(lines[1:], start=2):
        parts = line.split()
        if not parts:
            continue
        if len(parts) == 3:
            paths_a.append(img(parts[0], parts[1]))
            paths_b.append(img(parts[0], parts[2]))
            same.append(True)
        elif len(parts) == 4:
            paths_a.append(img(parts[0], parts[1]))
            paths_b.append(img(parts[2], parts[3]))
            same.append(False)
        else:
            raise InvalidArgumentError(f"{pairs_file}:{lineno}: expected 3 or 4 fields, got {line!r}")
    return LfwPairs(paths_a, paths_b, np.asarray(same, dtype=bool))


@dataclass(frozen=True)
class PairEmbeddings:
    """Embeddings of each distinct image, and how its face was found."""

    embedding: dict[Path, npt.NDArray[np.float32]]
    fallbacks: dict[str, int]  # "cnn" / "central_box" -> how many images needed it

    def distances(self, pairs: LfwPairs) -> npt.NDArray[np.float32]:
        """(len(pairs),) Euclidean distances of the pairs."""
        a = np.stack([self.embedding[p] for p in pairs.paths_a])
        b = np.stack([self.embedding[p] for p in pairs.paths_b])
        return np.linalg.norm(a - b, axis=1).astype(np.float32)


def _central_face(engine: Engine, rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32] | None:
    faces = engine.detect(rgb)
    if len(faces) == 0:
        return None
    centre = np.array([rgb.shape[1] / 2.0, rgb.shape[0] / 2.0], np.float32)
    mids = (faces.xyxy[:, :2] + faces.xyxy[:, 2:]) / 2.0
    return faces.xyxy[int(np.argmin(np.linalg.norm(mids - centre, axis=1)))][None]


@dataclass(frozen=True)
class CentralFaces:
    """Each distinct image's central face: its box and landmarks, and how it was found."""

    paths: list[Path]
    boxes: npt.NDArray[np.float32]  # (N, 4) xyxy pixels
    landmarks: npt.NDArray[np.float32]  # (N, P, 2) pixels
    fallbacks: dict[str, int]  # "cnn" / "central_box" -> how many images needed it


def find_central_faces(engine: Engine, paths: Sequence[Path], *, fallback: Engine | None = None) -> CentralFaces:
    """Find the face nearest the centre of every image (each path once): the slow, embedder-free part.

    Args:
        engine: detector and landmarks under test.
        paths: images; duplicates are looked at once.
        fallback: a second engine (e.g. the CNN detector) tried when ``engine`` finds no face.
    """
    unique = list(dict.fromkeys(paths))
    boxes = np.zeros((len(unique), 4), np.float32)
    landmarks = np.zeros((len(unique), engine.landmark_points, 2), np.float32)
    fallbacks = {"cnn": 0, "central_box": 0}
    for i, path in enumerate(unique):
        rgb = engine.load(path)
        box = _central_face(engine, rgb)
        if box is None and fallback is not None:
            box = _central_face(fallback, rgb)
            fallbacks["cnn"] += box is not None
        if box is None:
            box = _LFW_CENTRAL_BOX
            fallbacks["central_box"] += 1
        boxes[i], landmarks[i] = box[0], engine.landmarks(rgb, box)[0]
    return CentralFaces(unique, boxes, landmarks, fallbacks)


def embed_faces(engine: Engine, faces: CentralFaces, *, batch: int = 64) -> PairEmbeddings:
    """Embed found faces with ``engine``'s embedder (chips cut from the photos as it expects)."""
    out: list[npt.NDArray[np.float32]] = []
    for start in range(0, len(faces.paths), batch):
        chips = np.concatenate([
            engine.align(path, faces.boxes[i : i + 1], faces.landmarks[i : i + 1])
            for i, path in enumerate(faces.paths[start : start + batch], start=start)
        ])
        out.append(engine.embed_chips(chips))
    emb = np.concatenate(out) if out else np.zeros((0, engine.embedding_dim), np.float32)
    return PairEmbeddings(dict(zip(faces.paths, emb, strict=True)), faces.fallbacks)


def embed_pairs(
    engine: Engine, paths: Sequence[Path], *, fallback: Engine | None = None, batch: int = 64
) -> PairEmbeddings:
    """Embed the central face of every image (each path once): :func:`find_central_faces` + :func:`embed_faces`.

    Args:
        engine: the pipeline under test.
        paths: images; duplicates are embedded once.
        fallback: a second engine (e.g. the CNN detector) tried when ``engine`` finds no face.
        batch: chips per embedding call.
    """
    return embed_faces(engine, find_central_faces(engine, paths, fallback=fallback), batch=batch)


def roc_points(
    distances: npt.ArrayLike, same: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """ROC of a distance score: (false-accept rates, true-accept rates, thresholds), ascending."""
    d = np.asarray(distances, np.float64)
    y = np.asarray(same, bool)
    order = np.argsort(d, kind="stable")
    d, y = d[order], y[order]
    tar = np.cumsum(y) / max(int(y.sum()), 1)
    far = np.cumsum(~y) / max(int((~y).sum()), 1)
    return far, tar, d


def tar_at_far(distances: npt.ArrayLike, same: npt.ArrayLike, far_target: float) -> float:
    """True-accept rate at the largest threshold whose false-accept rate is <= ``far_target``."""
    far, tar, _ = roc_points(distances, same)
    ok = far <= far_target + 1e-12
    return float(tar[ok].max()) if ok.any() else 0.0
