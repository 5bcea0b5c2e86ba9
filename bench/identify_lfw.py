"""LFW View 1 open-set 1:N identification through faceplane's Gallery, per embedder, beside face_recognition.

Run:  python bench/identify_lfw.py                        (all embedders; cached embeddings are reused)
      python bench/identify_lfw.py --model mobilefacenet  (one embedder; --refresh re-embeds)

Protocol: every image of LFW View 1 (4,992). Each person with 2+ images enrolls their first image
(sorted by name) in the gallery; their other images are the mated probes. Every image of a
single-image person is a non-mated probe (nobody in the gallery). Each probe is searched alone.

- rank-1: mated probes whose nearest person is the right one (closed set, no threshold);
- FPIR(t): non-mated probes whose nearest person is within t (a stranger taken for someone);
- DIR(t): mated probes whose nearest person is the right one AND within t.

Rows, on the same faces and landmarks (bench/_lfw.py), each aligned as its embedder expects:

- reference: face_recognition's documented 1:N recipe on raw dlib descriptors (our ONNX port, no
  flip: dlib's own descriptor to 3.6e-7), i.e. ``face_distance(known, probe)``,
  ``compare_faces(known, probe, tolerance=0.6)`` and the nearest matching face, in plain numpy;
- dlib cosine: ``Engine(embedder="dlib")`` embeddings searched through a ``Gallery``;
- MobileFaceNet: ``Engine()`` (the default) embeddings searched through a ``Gallery``.

Which data chose what, and which reports: the "DIR at FPIR 1% / 0.1%" columns use thresholds read
off this run's own non-mated distances (oracle thresholds: how good the ranking is). The "default"
columns use the threshold the Gallery picks by itself (``Gallery.open_set_threshold()``: the 1:1
threshold at FAR = 1% / people from the FAR curve that bench/calibrate_open_set.py measured on
*LFW DevTrain people only*); for the reference, face_recognition's fixed 0.6. DIR/FPIR are reported
on the *whole* View 1 protocol above, which includes the DevTrain people; the line "held out"
repeats the default's FPIR on the non-mated probes of DevTest people only, who took no part in
choosing it.

Per-watchlist FPIR targets (``faceplane.gallery.thresholds``): the DevTrain people with 2+ images
enroll their first image, dealt (seeded shuffle) into watchlists of 10, 100 and 500 people and "others"
(no setting of their own). Each watchlist gets its own target FPIR (10 %, 1 %, 0.1 %), which the Gallery
turns into a distance for its number of people with the FAR curve of the model. Chosen on DevTrain people
(the curve: bench/calibrate_open_set.py; the people enrolled), reported on DevTest people: every image of
every DevTest person is a stranger (enrolled nowhere, in no part of the curve), searched through the
Gallery as a camera would. A watchlist's FPIR is the share of strangers named as one of its people (with
the exact binomial 95 % upper bound); the same on the strangers LFW has one image of; DIR: its own
people's other photos named correctly.

Embeddings are cached per embedder in bench/out/lfw_embeddings_<model>.npz (model: mobilefacenet,
dlib, dlib-raw), keyed by path relative to the images folder. Before the open-set calibration
exists (``calibrate_open_set.py --model X --write``), a model's rows are skipped after caching
its embeddings. Prints a table; writes bench/out/identify_lfw.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from _lfw import OUT, REPO, lfw_chips, lfw_dir, raw_dlib, source_digest
from faceplane import Engine
from faceplane.errors import InvalidArgumentError, ModelError
from faceplane.gallery.gallery import Gallery
from faceplane.gallery.store import SqliteStore
from faceplane.verify import calibrate

FPIR_TARGETS = (1e-2, 1e-3)
WATCHLIST_TARGETS = (1e-1, 1e-2, 1e-3)  # per-watchlist FPIR targets (rows of the watchlist table)
WATCHLIST_SIZES = (10, 100, 500)  # disjoint, of the 804 DevTrain people with 2+ images
REFERENCE_TOLERANCE = 0.6  # face_recognition.compare_faces' default
REFERENCE = "dlib-raw"
GALLERY_MODELS = ("dlib", "mobilefacenet")  # Engine embedder names, searched through a Gallery
LABELS = {
    REFERENCE: f"reference: dlib raw L2, fr {REFERENCE_TOLERANCE}",
    "dlib": "dlib cosine (Gallery)",
    "mobilefacenet": "MobileFaceNet (Gallery)",
}
_SOURCES = {  # the code whose change makes a cache stale, besides the faces and landmarks
    REFERENCE: "src/faceplane/models/resnet.py",
    "dlib": "src/faceplane/models/resnet.py",
    "mobilefacenet": "src/faceplane/models/mobilefacenet.py",
}
_ALIGN = "src/faceplane/align.py"

_F32 = npt.NDArray[np.float32]


def cache_path(model: str) -> Path:
    """Where the embeddings of ``model`` ("mobilefacenet", "dlib" or "dlib-raw") are cached."""
    return OUT / f"lfw_embeddings_{model}.npz"


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


def _embedder(model: str) -> tuple[str, Engine, Callable[[npt.NDArray[np.uint8]], _F32]]:
    """(description of the pipeline, the engine that aligns, chips -> embeddings) of one cache key."""
    digest = f"{_SOURCES[model]} + {_ALIGN} sha1 {source_digest(_SOURCES[model], _ALIGN)}"
    if model == REFERENCE:
        engine = Engine(embedder="dlib")
        return f"ResNetDescriptor raw, no flip; {digest}", engine, lambda c: raw_dlib(c, native=False, flip=False)
    engine = Engine(embedder=model)  # type: ignore[arg-type]
    what = f"Engine(embedder={model}) {engine.embedding_model}, flip_tta={engine.flip_tta}; {digest}"
    return what, engine, engine.embed_chips


def load_embeddings(model: str, rel_paths: list[str], *, refresh: bool) -> tuple[_F32, dict[str, int], float]:
    """(N, D) embeddings of ``model`` in ``rel_paths`` order, HOG-miss counts, seconds embedding (0: cached)."""
    pipeline, aligner, embed = _embedder(model)
    cache = cache_path(model)
    if cache.is_file() and not refresh:
        with np.load(cache) as z:
            if str(z["pipeline"]) == pipeline and set(rel_paths) <= set(z["paths"].tolist()):
                row = {p: i for i, p in enumerate(z["paths"].tolist())}
                fallbacks = {"cnn": int(z["fallback_cnn"]), "central_box": int(z["fallback_central_box"])}
                return z["embedding"][[row[p] for p in rel_paths]], fallbacks, 0.0
    chips, fallbacks, _ = lfw_chips(rel_paths, aligner)
    start = time.perf_counter()
    emb = np.asarray(embed(chips), np.float32)
    seconds = time.perf_counter() - start
    OUT.mkdir(parents=True, exist_ok=True)
    np.savez(
        cache,
        paths=np.asarray(rel_paths),
        embedding=emb,
        pipeline=np.asarray(pipeline),
        fallback_cnn=fallbacks["cnn"],
        fallback_central_box=fallbacks["central_box"],
    )
    return emb, fallbacks, seconds


def build_gallery(model: str, gallery_emb: _F32, names: list[str]) -> tuple[Gallery, list[int]]:
    """An in-memory gallery of ``model`` with one template per person; returns it and each person's id.

    Raises:
        ModelError: the model has no open-set calibration yet.
    """
    engine = Engine(embedder=model)  # type: ignore[arg-type]
    gallery = Gallery(store=SqliteStore(":memory:", model=engine.embedding_model), engine=engine)
    gallery.create_collection("lfw")
    ids = []
    for emb, name in zip(gallery_emb, names, strict=True):
        person = gallery.enroll_embeddings("lfw", emb[None], name=name).person
        if person is None:
            raise RuntimeError(f"enrolling {name} returned no person")
        ids.append(person.id)
    return gallery, ids


def search_gallery(gallery: Gallery, probes: _F32) -> tuple[npt.NDArray[np.int64], _F32, npt.NDArray[np.int64],
                                                            list[float]]:
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


def reference_search(known: _F32, probes: _F32) -> tuple[npt.NDArray[np.int64], _F32, npt.NDArray[np.int64],
                                                         list[float]]:
    """face_recognition's recipe: nearest known face by face_distance (accept if <= tolerance); like
    :func:`search_gallery` but the ids are row numbers of ``known``."""
    best = np.zeros(len(probes), np.int64)
    dist = np.zeros(len(probes), np.float32)
    top5 = np.zeros((len(probes), 5), np.int64)
    ms: list[float] = []
    for i, probe in enumerate(probes):
        start = time.perf_counter()
        distances = np.linalg.norm(known - probe, axis=1)  # face_recognition.face_distance
        best[i] = int(np.argmin(distances))
        dist[i] = distances[best[i]]  # compare_faces(tolerance) accepts it iff dist <= tolerance
        ms.append((time.perf_counter() - start) * 1e3)
        top5[i] = np.argsort(distances)[:5]
    return best, dist, top5, ms


def open_set(threshold: float, correct: npt.NDArray[np.bool_], d_mated: _F32, d_non: _F32) -> dict:
    """DIR and FPIR of one threshold on the top-candidate distances."""
    return {
        "threshold": float(threshold),
        "dir": float(np.mean(correct & (d_mated <= threshold))),
        "fpir": float(np.mean(d_non <= threshold)),
        "false_positives": int(np.sum(d_non <= threshold)),
    }


def evaluate(model: str, split: Split, emb: _F32, held_out: npt.NDArray[np.bool_]) -> dict:
    """One row: rank-1/5, DIR at the FPIR targets and at the default threshold, search times.

    ``held_out``: (non-mated,) True for the probes of people that took no part in the calibration.
    """
    n_gal, n_mat = len(split.gallery), len(split.mated)
    gallery_emb, probes = emb[:n_gal], emb[n_gal:]
    start = time.perf_counter()
    if model == REFERENCE:
        truth = np.asarray(split.mated_owner, np.int64)
        top_id, top_dist, top5, ms = reference_search(gallery_emb, probes)
        default = REFERENCE_TOLERANCE
    else:
        gallery, ids = build_gallery(model, gallery_emb, [p.split("/")[0].replace("_", " ") for p in split.gallery])
        truth = np.asarray(ids, np.int64)[split.mated_owner]
        top_id, top_dist, top5, ms = search_gallery(gallery, probes)
        default = gallery.open_set_threshold()
    seconds = time.perf_counter() - start
    correct, d_mated, d_non = top_id[:n_mat] == truth, top_dist[:n_mat], top_dist[n_mat:]
    _, fpir_thr = calibrate(d_mated, d_non, fars=FPIR_TARGETS)  # FAR over non-mated = FPIR
    return {
        "model": model,
        "name": LABELS[model],
        "rank1": float(np.mean(correct)),
        "rank5": float(np.mean((top5[:n_mat] == truth[:, None]).any(axis=1))),
        "at_fpir": {f"{f:g}": open_set(fpir_thr[f], correct, d_mated, d_non) for f in FPIR_TARGETS},
        "default": open_set(default, correct, d_mated, d_non),
        "default_fpir_held_out": float(np.mean(d_non[held_out] <= default)),
        "held_out_probes": int(held_out.sum()),
        "seconds": seconds,
        "search_ms_median": statistics.median(ms),
        "search_ms_p95": float(np.percentile(ms, 95)),
        "_top_rows": top_id,  # for the agreement with the reference; dropped from the JSON
        "_ids": None if model == REFERENCE else np.asarray(ids, np.int64),
    }


def _upper95(k: int, n: int) -> float:
    """Exact (Clopper-Pearson) one-sided 95 % upper bound of a rate seen k times in n."""
    from scipy.stats import beta

    return 1.0 if k >= n else float(beta.ppf(0.95, k + 1, n - k))


def _people(file_name: str) -> set[str]:
    lines = (lfw_dir() / file_name).read_text().splitlines()[1:]
    return {line.split()[0] for line in lines if line.strip()}


def watchlist_rows(model: str, split: Split, emb: _F32) -> tuple[list[dict], dict[str, int]]:
    """Per-watchlist FPIR targets through the Gallery's own thresholds (see the module docstring).

    Returns the rows and how many stranger probes each column counts.
    """
    from faceplane.gallery.thresholds import MatchThreshold

    train, test = _people("peopleDevTrain.txt"), _people("peopleDevTest.txt")
    paths = split.all_paths
    by_person: dict[str, list[int]] = {}
    for i, p in sorted(enumerate(paths), key=lambda x: x[1]):
        by_person.setdefault(p.split("/")[0], []).append(i)
    enrolled = [rows for name, rows in sorted(by_person.items()) if name in train and len(rows) >= 2]
    order = np.random.default_rng(0).permutation(len(enrolled))
    member = np.full(len(enrolled), "others", dtype=object)
    start = 0
    for size in WATCHLIST_SIZES:
        member[order[start : start + size]] = f"watchlist-{size}"
        start += size
    engine = Engine(embedder=model)  # type: ignore[arg-type]
    gallery = Gallery(store=SqliteStore(":memory:", model=engine.embedding_model), engine=engine)
    for name in sorted(set(member)):
        gallery.create_collection(name)
    ids = [
        gallery.enroll_embeddings(str(m), emb[rows[0]][None], name=paths[rows[0]]).person.id  # type: ignore[union-attr]
        for rows, m in zip(enrolled, member, strict=True)
    ]
    mated = [(i, pid, m) for rows, pid, m in zip(enrolled, ids, member, strict=True) for i in rows[1:]]
    strangers = [i for name, rows in sorted(by_person.items()) if name in test for i in rows]
    single = np.array([len(by_person[paths[i].split("/")[0]]) == 1 for i in strangers], bool)
    probes = emb[[i for i, _, _ in mated] + strangers]
    rows_out = []
    for target in WATCHLIST_TARGETS:
        for size in WATCHLIST_SIZES:
            gallery.thresholds.set(f"watchlist-{size}", MatchThreshold(fpir=target))
        limits = gallery.collection_limits()
        found = [(r.person.person_id, r.person.collection) if r.person else (0, "") for r in gallery.search(probes)]
        named_id = np.array([f[0] for f in found], np.int64)
        named_in = np.array([f[1] for f in found], dtype=object)
        on_mated, on_strangers = named_in[: len(mated)], named_in[len(mated) :]
        for size in WATCHLIST_SIZES:
            wl = f"watchlist-{size}"
            hit = on_strangers == wl  # a stranger named as one of its people
            own = np.array([m == wl for _, _, m in mated], bool)
            right = named_id[: len(mated)] == np.array([pid for _, pid, _ in mated], np.int64)
            rows_out.append({
                "model": model,
                "watchlist": wl,
                "people": size,
                "target_fpir": target,
                "threshold": limits[wl],
                "fpir_held_out": float(hit.mean()),
                "false_positives_held_out": int(hit.sum()),
                "fpir_held_out_upper95": _upper95(int(hit.sum()), len(hit)),
                "fpir_single_image": float(hit[single].mean()),
                "false_positives_single_image": int(hit[single].sum()),
                "dir": float(np.mean(right[own] & (on_mated[own] == wl))),
                "mated_probes": int(own.sum()),
            })  # fmt: skip
    return rows_out, {"strangers": len(strangers), "single_image": int(single.sum()), "enrolled": len(enrolled)}


def _print_watchlists(rows: list[dict], counts: dict[str, int]) -> None:
    print(f"\nPer-watchlist FPIR targets: watchlists of DevTrain people (one photo each; {counts['enrolled']} enrolled "
          f"in all), strangers = every image of the DevTest people ({counts['strangers']}, none enrolled; "
          f"{counts['single_image']} of people with one image)\n")  # fmt: skip
    head = (f"{'embedder':<16}{'watchlist':>10}{'target':>8}{'thr':>8}{'FPIR held out':>18}{'95% up':>8}"
            f"{'one-image people':>19}{'DIR':>8}")  # fmt: skip
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['model']:<16}{r['people']:>10,}{r['target_fpir']:>8.1%}{r['threshold']:>8.4f}"
              f"{r['false_positives_held_out']:>8} = {r['fpir_held_out']:>6.2%}{r['fpir_held_out_upper95']:>8.2%}"
              f"{r['false_positives_single_image']:>9} = {r['fpir_single_image']:>6.2%}{r['dir']:>8.2%}")  # fmt: skip
    print("target: the watchlist's own FPIR setting; thr: the distance the Gallery made of it for the watchlist's "
          "people with the FAR curve of DevTrain people (bench/calibrate_open_set.py). FPIR held out: DevTest "
          "images (people in no part of the calibration, enrolled nowhere) named as one of the watchlist's people; "
          "95% up: exact binomial upper bound; one-image people: the same on the DevTest people LFW holds one "
          "image of. DIR: the watchlist's own other photos named correctly.")


def _print(split: Split, rows: list[dict], notes: list[str]) -> None:
    print(
        f"LFW View 1 open-set 1:N: gallery {len(split.gallery)} people (1 image each), "
        f"{len(split.mated)} mated probes, {len(split.nonmated)} non-mated probes\n"
    )
    head = (f"{'embedder, search':<34}{'rank-1':>8}{'rank-5':>8}{'DIR@FPIR1%':>11}{'DIR@0.1%':>10}"
            f"{'default thr':>12}{'DIR':>8}{'FPIR':>8}{'held out':>9}{'ms/probe':>9}")
    print(head)
    print("-" * len(head))
    for r in rows:
        d = r["default"]
        print(
            f"{r['name']:<34}{r['rank1']:>8.2%}{r['rank5']:>8.2%}{r['at_fpir']['0.01']['dir']:>11.2%}"
            f"{r['at_fpir']['0.001']['dir']:>10.2%}{d['threshold']:>12.4f}{d['dir']:>8.2%}{d['fpir']:>8.2%}"
            f"{r['default_fpir_held_out']:>9.2%}{r['search_ms_median']:>9.2f}"
        )
    print(
        "\nDIR@FPIR: thresholds read off this run's non-mated distances (oracle). default: the Gallery's own "
        f"threshold (FPIR 1% from the DevTrain-people FAR curve); reference: face_recognition's "
        f"{REFERENCE_TOLERANCE}. held out: FPIR at the default on the {rows[0]['held_out_probes']} non-mated "
        "probes of DevTest people."
    )
    for r in rows:
        thr = ", ".join(f"FPIR {k}: {v['threshold']:.4f}" for k, v in r["at_fpir"].items())
        print(f"  {r['name']}: {thr}; default false positives {r['default']['false_positives']}")
    for note in notes:
        print(note)


def _held_out(split: Split) -> npt.NDArray[np.bool_]:
    lines = (lfw_dir() / "peopleDevTest.txt").read_text().splitlines()[1:]
    people = {line.split()[0] for line in lines if line.strip()}
    return np.array([p.split("/")[0] in people for p in split.nonmated], bool)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=[*GALLERY_MODELS, "all"], default="all", help="embedder(s) to evaluate")
    parser.add_argument("--refresh", action="store_true", help="re-embed instead of reading the caches")
    args = parser.parse_args()
    split = split_lfw(lfw_dir() / "images")
    held_out = _held_out(split)
    models = [REFERENCE, *(GALLERY_MODELS if args.model == "all" else (args.model,))]
    rows: list[dict] = []
    watch_rows: list[dict] = []
    watch_counts: dict[str, int] = {}
    notes: list[str] = []
    for model in models:
        emb, fallbacks, embed_s = load_embeddings(model, split.all_paths, refresh=args.refresh)
        how = f"embedded in {embed_s:.0f} s" if embed_s else f"cached in {cache_path(model).relative_to(REPO)}"
        notes.append(f"{LABELS[model]}: {emb.shape[1]}-D, {how}; HOG miss -> CNN / central box: {fallbacks}")
        try:
            rows.append(evaluate(model, split, emb, held_out))
            if model != REFERENCE:
                more, watch_counts = watchlist_rows(model, split, emb)
                watch_rows.extend(more)
        except (ModelError, InvalidArgumentError) as exc:  # no calibration (curve) for this model yet
            notes.append(f"  skipped: {exc} (run bench/calibrate_open_set.py --model {model} --write)")
    ref = rows[0]
    for r in rows[1:]:
        agree = float(np.mean(r["_ids"][ref["_top_rows"]] == r["_top_rows"]))
        notes.append(f"{r['name']}: top-1 same person as the reference for {agree:.2%} of probes")
    _print(split, rows, notes)
    if watch_rows:
        _print_watchlists(watch_rows, watch_counts)
    summary = {
        "protocol": "LFW View 1, all images; gallery = first image of each 2+ person; probes searched alone",
        "gallery": len(split.gallery),
        "mated_probes": len(split.mated),
        "nonmated_probes": len(split.nonmated),
        "rows": [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows],
        "watchlists": watch_rows,
        "notes": notes,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "identify_lfw.json").write_text(json.dumps(summary, indent=2))
    print(f"wrote {OUT / 'identify_lfw.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
