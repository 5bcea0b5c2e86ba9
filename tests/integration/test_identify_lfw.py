"""Open-set 1:N on LFW View 1 through the Gallery, on the people whose names start with A-C.

The protocol of bench/identify_lfw.py on a deterministic subset (980 of the 4,992 images, about a
minute on 2 cores): each person with 2+ images enrolls their first image, their other images are
mated probes, single-image people are non-mated probes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from faceplane import Engine
from faceplane.evaluation import embed_pairs
from faceplane.gallery.gallery import Gallery
from faceplane.gallery.store import SqliteStore


@dataclass(frozen=True)
class OpenSetResult:
    gallery: int  # people enrolled
    fallbacks: dict[str, int]
    correct: npt.NDArray[np.bool_]  # (mated,) top candidate is the right person
    accepted: npt.NDArray[np.bool_]  # (mated,) top candidate within the gallery's threshold
    false_positive: npt.NDArray[np.bool_]  # (non-mated,) someone returned for a stranger

    @property
    def rank1(self) -> float:
        return float(self.correct.mean())

    @property
    def dir(self) -> float:
        return float((self.correct & self.accepted).mean())

    @property
    def fpir(self) -> float:
        return float(self.false_positive.mean())


def _split(images: Path, initials: str) -> tuple[list[Path], list[Path], list[int], list[Path]]:
    """gallery (first image of each 2+ person), mated probes, their gallery index, non-mated probes."""
    gallery, mated, owner, nonmated = [], [], [], []
    for person in sorted(p for p in images.iterdir() if p.is_dir() and p.name[0] in initials):
        files = sorted(person.glob("*.jpg"))
        if len(files) == 1:
            nonmated.append(files[0])
        elif files:
            owner.extend([len(gallery)] * (len(files) - 1))
            gallery.append(files[0])
            mated.extend(files[1:])
    return gallery, mated, owner, nonmated


@pytest.fixture(scope="module")
def a_to_c(data: Path, engine: Engine) -> OpenSetResult:
    gallery_paths, mated, owner, nonmated = _split(data / "faces" / "lfw-view1" / "images", "ABC")
    emb = embed_pairs(engine, gallery_paths + mated + nonmated, fallback=Engine(detector="cnn"))
    gallery = Gallery(store=SqliteStore(":memory:"), engine=engine)
    gallery.create_collection("lfw")
    ids = []
    for path in gallery_paths:
        person = gallery.enroll_embeddings("lfw", emb.embedding[path][None], name=path.parent.name).person
        assert person is not None
        ids.append(person.id)
    found = gallery.search(np.stack([emb.embedding[p] for p in mated + nonmated]), k=1)
    mated_found, nonmated_found = found[: len(mated)], found[len(mated) :]
    return OpenSetResult(
        gallery=len(ids),
        fallbacks=emb.fallbacks,
        correct=np.array([f.candidates[0].person_id == ids[o] for f, o in zip(mated_found, owner, strict=True)]),
        accepted=np.array([f.person is not None for f in mated_found]),
        false_positive=np.array([f.person is not None for f in nonmated_found]),
    )


@pytest.mark.slow
def test_split_is_the_protocol(a_to_c: OpenSetResult):
    assert (a_to_c.gallery, len(a_to_c.correct), len(a_to_c.false_positive)) == (222, 390, 368)
    assert a_to_c.fallbacks["central_box"] <= 2, a_to_c.fallbacks


@pytest.mark.slow
def test_rank1_closed_set(a_to_c: OpenSetResult):
    assert a_to_c.rank1 >= 0.975, a_to_c.rank1  # measured 0.987 (MobileFaceNet; dlib's descriptor: 0.974)


@pytest.mark.slow
def test_default_threshold_keeps_the_fpir_target(a_to_c: OpenSetResult):
    # the gallery's default threshold targets FPIR = 1% for the number of people searched
    # measured with MobileFaceNet over 222 people: FPIR 0.011 (4 of 368 strangers), DIR 0.938; dlib's
    # descriptor (cosine) reaches DIR 0.777 at FPIR 0.005 (bench/identify_lfw.py has the full-gallery figures)
    assert a_to_c.fpir <= 0.02, a_to_c.fpir
    assert a_to_c.dir >= 0.90, a_to_c.dir
