"""LFW View 1 open-set 1:N identification through faceplane's Gallery, side by side with face_recognition.

Run:  python bench/identify_lfw.py            (add --refresh to re-embed instead of using the cache)

Protocol: every image of LFW View 1 (4,992). Each person with 2+ images enrolls their first image
(sorted by name) in the gallery; their other images are the mated probes. Every image of a
single-image person is a non-mated probe (nobody in the gallery). Each probe is searched alone.

- rank-1: mated probes whose nearest person is the right one (closed set, no threshold);
- FPIR(t): non-mated probes whose nearest person is within t (a stranger taken for someone);
- DIR(t): mated probes whose nearest person is the right one AND within t.

t for FPIR = 1% and 0.1% is read off the non-mated distances (the largest observed distance that
keeps at most that share of them, as `faceplane.verify.calibrate` does for 1:1 FARs); the gallery's
own default (the calibrated 1:1 FAR = 1e-3 threshold) is reported as it stands.

Reference, on the same embeddings: face_recognition's documented 1:N recipe, i.e.
``face_distance(known, probe)``, ``compare_faces(known, probe, tolerance=0.6)`` and the nearest
matching face (its webcam examples), computed here with plain numpy: the same ranking, fixed 0.6.

Embeddings (central face, HOG then CNN fallback, flip TTA) are cached in bench/out/lfw_embeddings.npz
keyed by path relative to the images folder. Prints a table; writes bench/out/identify_lfw.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from faceplane import Engine, face_distance
from faceplane.evaluation import embed_pairs
from faceplane.gallery.gallery import Gallery
from faceplane.gallery.store import SqliteStore
from faceplane.verify import calibrate

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
CACHE = OUT / "lfw_embeddings.npz"
# What produced the cached embeddings; a different value means the cache is stale.
PIPELINE = "Engine(detector=hog, landmarks=5, embedder=onnx, flip_tta=True), fallback cnn, central face"
FPIR_TARGETS = (1e-2, 1e-3)
REFERENCE_TOLERANCE = 0.6  # face_recognition.compare_faces' default
_CHUNK = 256  # images per embed_pairs call: bounded memory, visible progress

_F32 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Split:
    """The open-set protocol, as paths relative to the images folder."""

    gallery: list[str]  # one image per person with 2+ images: their first (sorted)
    mated: list[str]  # those people's other images
    mated_owner: list[int]  # index into ``gallery`` of each mated probe's person
    nonmated: list[str]  # every image of a single-image person

    @property
    def all_paths(self) -> list[str]:
        return self.gallery + self.mated + self.nonmated


def _images_dir() -> Path:
    root = Path(os.environ.get("FACEPLANE_DATA") or REPO.parent / "shared" / "data")
    return root / "faces" / "lfw-view1" / "images"


def split_lfw(images: Path) -> Split:
    """Gallery / mated / non-mated split of every ``<Name>/<Name>_NNNN.jpg`` under ``images``."""
    gallery: list[str] = []
    mated: list[str] = []
    owner: list[int] = []
    nonmated: list[str] = []
    for person in sorted(p for p in images.iterdir() if p.is_dir()):
        files = sorted(f"{person.name}/{f.name}" for f in person.glob("*.jpg"))
        if len(files) == 1:
            nonmated.append(files[0])
        elif files:
            owner.extend([len(gallery)] * (len(files) - 1))
            gallery.append(files[0])
            mated.extend(files[1:])
    return Split(gallery, mated, owner, nonmated)


def _embed(images: Path, rel_paths: list[str]) -> tuple[_F32, dict[str, int]]:
    engine, fallback = Engine(), Engine(detector="cnn")
    out: list[_F32] = []
    fallbacks = {"cnn": 0, "central_box": 0}
    for start in range(0, len(rel_paths), _CHUNK):
        paths = [images / p for p in rel_paths[start : start + _CHUNK]]
        emb = embed_pairs(engine, paths, fallback=fallback)
        out.append(np.stack([emb.embedding[p] for p in paths]))
        fallbacks = {k: fallbacks[k] + emb.fallbacks.get(k, 0) for k in fallbacks}
        print(f"  embedded {start + len(paths)}/{len(rel_paths)}", file=sys.stderr, flush=True)
    return np.concatenate(out).astype(np.float32), fallbacks


def load_embeddings(images: Path, rel_paths: list[str], *, refresh: bool) -> tuple[_F32, dict[str, int], float]:
    """(N, 128) embeddings in ``rel_paths`` order, fallback counts, seconds spent embedding (0: cached)."""
    if CACHE.is_file() and not refresh:
        with np.load(CACHE) as z:
            if str(z["pipeline"]) == PIPELINE and set(rel_paths) <= set(z["paths"].tolist()):
                row = {p: i for i, p in enumerate(z["paths"].tolist())}
                emb = z["embedding"][[row[p] for p in rel_paths]]
                return emb, {"cnn": int(z["fallback_cnn"]), "central_box": int(z["fallback_central_box"])}, 0.0
    start = time.perf_counter()
    emb, fallbacks = _embed(images, rel_paths)
    seconds = time.perf_counter() - start
    OUT.mkdir(parents=True, exist_ok=True)
    np.savez(
        CACHE,
        paths=np.asarray(rel_paths),
        embedding=emb,
        pipeline=np.asarray(PIPELINE),
        fallback_cnn=fallbacks["cnn"],
        fallback_central_box=fallbacks["central_box"],
    )
    return emb, fallbacks, seconds


def build_gallery(gallery_emb: _F32, names: list[str]) -> tuple[Gallery, list[int]]:
    """An in-memory gallery with one template per person; returns it and each person's id."""
    gallery = Gallery(store=SqliteStore(":memory:"), engine=Engine())
    gallery.create_collection("lfw")
    ids = []
    for emb, name in zip(gallery_emb, names, strict=True):
        person = gallery.enroll_embeddings("lfw", emb[None], name=name).person
        if person is None:
            raise RuntimeError(f"enrolling {name} returned no person")
        ids.append(person.id)
    return gallery, ids


def search_gallery(
    gallery: Gallery, probes: _F32
) -> tuple[npt.NDArray[np.int64], _F32, npt.NDArray[np.int64], list[float]]:
    """Each probe searched alone (k=5): top person id (Q,), its distance (Q,), top-5 ids (Q, 5), ms per probe."""
    top_id = np.zeros(len(probes), np.int64)
    top_dist = np.zeros(len(probes), np.float32)
    top5 = np.full((len(probes), 5), -1, np.int64)
    ms: list[float] = []
    for i, probe in enumerate(probes):
        start = time.perf_counter()
        (ident,) = gallery.search(probe[None], k=5)
        ms.append((time.perf_counter() - start) * 1e3)
        top_id[i], top_dist[i] = ident.candidates[0].person_id, ident.candidates[0].distance
        top5[i, : len(ident.candidates)] = [c.person_id for c in ident.candidates]
    return top_id, top_dist, top5, ms


def reference_search(known: _F32, probes: _F32) -> tuple[npt.NDArray[np.int64], _F32, list[float]]:
    """face_recognition's recipe: nearest known face by face_distance (accept if <= tolerance)."""
    best = np.zeros(len(probes), np.int64)
    dist = np.zeros(len(probes), np.float32)
    ms: list[float] = []
    for i, probe in enumerate(probes):
        start = time.perf_counter()
        distances = np.linalg.norm(known - probe, axis=1)  # face_recognition.face_distance
        best[i] = int(np.argmin(distances))
        dist[i] = distances[best[i]]  # compare_faces(tolerance) accepts it iff dist <= tolerance
        ms.append((time.perf_counter() - start) * 1e3)
    return best, dist, ms


def open_set(name: str, threshold: float, correct: npt.NDArray[np.bool_], d_mated: _F32, d_non: _F32) -> dict:
    """DIR and FPIR of one threshold on the top-candidate distances."""
    return {
        "name": name,
        "threshold": float(threshold),
        "rank1": float(np.mean(correct)),
        "dir": float(np.mean(correct & (d_mated <= threshold))),
        "fpir": float(np.mean(d_non <= threshold)),
        "false_positives": int(np.sum(d_non <= threshold)),
    }


def _evaluate(split: Split, emb: _F32) -> tuple[list[dict], dict]:
    n_gal, n_mat = len(split.gallery), len(split.mated)
    gallery_emb, probes = emb[:n_gal], emb[n_gal:]
    start = time.perf_counter()
    gallery, ids = build_gallery(gallery_emb, [p.split("/")[0].replace("_", " ") for p in split.gallery])
    enroll_s = time.perf_counter() - start
    top_id, top_dist, top5, ms = search_gallery(gallery, probes)
    truth = np.asarray(ids, np.int64)[split.mated_owner]
    correct, d_mated, d_non = top_id[:n_mat] == truth, top_dist[:n_mat], top_dist[n_mat:]
    _, fpir_thr = calibrate(d_mated, d_non, fars=FPIR_TARGETS)  # FAR over non-mated = FPIR
    rows = [open_set(f"faceplane, FPIR={f:.1%} threshold", fpir_thr[f], correct, d_mated, d_non) for f in FPIR_TARGETS]
    rows.append(open_set("faceplane, gallery default (FPIR 1%)", gallery.open_set_threshold(), correct, d_mated, d_non))
    ref_best, ref_dist, ref_ms = reference_search(gallery_emb, probes)
    ref_correct = ref_best[:n_mat] == np.asarray(split.mated_owner)
    ref_name = f"reference: face_recognition {REFERENCE_TOLERANCE}"
    rows.append(open_set(ref_name, REFERENCE_TOLERANCE, ref_correct, ref_dist[:n_mat], ref_dist[n_mat:]))
    extra = {
        "rank5": float(np.mean((top5[:n_mat] == truth[:, None]).any(axis=1))),
        "same_top1_as_reference": float(np.mean(np.asarray(ids)[ref_best] == top_id)),
        "enroll_seconds": enroll_s,
        "search_ms_median": statistics.median(ms),
        "search_ms_p95": float(np.percentile(ms, 95)),
        "reference_ms_median": statistics.median(ref_ms),
        "fpir_thresholds": {f"{f:g}": fpir_thr[f] for f in FPIR_TARGETS},
        "pair_far_at_default": float(
            np.mean(face_distance(gallery_emb, probes[n_mat:]) <= gallery.open_set_threshold())
        ),
    }
    return rows, extra


def _print(split: Split, fallbacks: dict[str, int], embed_s: float, rows: list[dict], extra: dict) -> None:
    print(
        f"LFW View 1 open-set 1:N: gallery {len(split.gallery)} people (1 image each), "
        f"{len(split.mated)} mated probes, {len(split.nonmated)} non-mated probes\n"
    )
    head = f"{'method':<36}{'threshold':>10}{'rank-1':>9}{'DIR':>9}{'FPIR':>9}{'false pos':>11}"
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r['name']:<36}{r['threshold']:>10.4f}{r['rank1']:>9.2%}{r['dir']:>9.2%}{r['fpir']:>9.2%}"
            f"{r['false_positives']:>11d}"
        )
    embedded = f"{embed_s:.0f} s" if embed_s else f"cached in {CACHE.relative_to(REPO)}"
    print(f"\nrank-5 {extra['rank5']:.2%}; top-1 same as the reference's for {extra['same_top1_as_reference']:.2%}")
    print(
        f"1:1 false-accept rate of the default threshold over gallery x non-mated pairs: "
        f"{extra['pair_far_at_default']:.2e} (FPIR grows about as gallery size x FAR)"
    )
    print(f"embedding {len(split.all_paths)} images: {embedded}; HOG miss -> CNN / central box: {fallbacks}")
    print(
        f"enroll {extra['enroll_seconds']:.2f} s; search {extra['search_ms_median']:.2f} ms/probe median "
        f"(p95 {extra['search_ms_p95']:.2f}); reference {extra['reference_ms_median']:.2f} ms/probe median"
    )
    print(f"threshold for FPIR=1%: {extra['fpir_thresholds']['0.01']:.6f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--refresh", action="store_true", help=f"re-embed instead of reading {CACHE.name}")
    args = parser.parse_args()
    images = _images_dir()
    split = split_lfw(images)
    emb, fallbacks, embed_s = load_embeddings(images, split.all_paths, refresh=args.refresh)
    rows, extra = _evaluate(split, emb)
    _print(split, fallbacks, embed_s, rows, extra)
    summary = {
        "protocol": "LFW View 1, all images; gallery = first image of each 2+ person; probes searched alone",
        "gallery": len(split.gallery),
        "mated_probes": len(split.mated),
        "nonmated_probes": len(split.nonmated),
        "pipeline": PIPELINE,
        "fallbacks": fallbacks,
        "embed_seconds": embed_s or None,
        "rows": rows,
        **extra,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "identify_lfw.json").write_text(json.dumps(summary, indent=2))
    print(f"wrote {OUT / 'identify_lfw.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
