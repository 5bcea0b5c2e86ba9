"""LFW View 1 verification: threshold from DevTrain, accuracy on DevTest, ROC over all 3,200 pairs.

Run:  python bench/lfw_verify.py            (add --no-reference to skip dlib's own runtime, ~5 min)
      python bench/lfw_verify.py --write-calibration   (store the DevTrain thresholds in the package)

Every row embeds the same faces (each image's central face, HOG -> CNN fallback -> central box,
5-point landmarks; cached by bench/_lfw.py), aligned as its embedder expects (dlib's 150x150 chip,
or MobileFaceNet's 112x112 ArcFace crop cut from the photo), so the rows differ only in the
embedder, its alignment and the distance:

- reference: face_recognition's path: dlib's own runtime (dlib.face_recognition_model_v1), raw
  descriptors, Euclidean distance, no flip;
- dlib L2 raw: our ONNX port of the same network, raw descriptors averaged with the mirrored chip
  (faceplane's default until embeddings were normalised; the legacy "dlib_resnet_v1" calibration);
- dlib cosine: ``Engine(embedder="dlib")``: the same, unit-normalised (Euclidean ranks like cosine);
- MobileFaceNet: ``Engine()``, the default embedder (192-D, unit length, no flip);
- MobileFaceNet + flip: ``Engine(flip_tta=True)``.

Thresholds (best accuracy and FAR 1e-1/1e-2/1e-3) are chosen on DevTrain only, accuracy is
reported on DevTest; TAR@FAR is over all 3,200 pairs. ``--write-calibration`` stores the
"dlib" (dlib cosine) and "mobilefacenet" (MobileFaceNet) entries of models/calibration.json,
keeping any open-set FAR curve already there (bench/calibrate_open_set.py). Prints a table;
writes bench/out/lfw_roc.png and bench/out/lfw_verify.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt

from _lfw import OUT, REPO, lfw_chips, lfw_dir, raw_dlib
from faceplane import Engine
from faceplane.evaluation import LfwPairs, read_lfw_pairs, roc_points, tar_at_far
from faceplane.verify import calibrate

CALIBRATION = REPO / "src" / "faceplane" / "models" / "calibration.json"
SOURCE = "LFW View 1 DevTrain (1,100 genuine + 1,100 impostor pairs), bench/lfw_verify.py"
# row name -> calibration.json key written from it by --write-calibration
CALIBRATED_ROWS = {"dlib cosine (flip TTA)": "dlib", "MobileFaceNet (default)": "mobilefacenet"}

_F32 = npt.NDArray[np.float32]
Embed = Callable[[npt.NDArray[np.uint8]], _F32]


def _rows(reference: bool) -> list[tuple[str, Engine, Embed]]:
    """(name, the engine whose alignment the row uses, chips -> embeddings)."""
    dlib, mobilefacenet = Engine(embedder="dlib"), Engine()
    rows: list[tuple[str, Engine, Embed]] = []
    if reference:
        rows.append(("reference: dlib native, L2 raw", dlib, lambda c: raw_dlib(c, native=True, flip=False)))
    rows += [
        ("dlib L2 raw (flip TTA)", dlib, lambda c: raw_dlib(c, native=False, flip=True)),
        ("dlib cosine (flip TTA)", dlib, dlib.embed_chips),
        ("MobileFaceNet (default)", mobilefacenet, mobilefacenet.embed_chips),
        ("MobileFaceNet + flip TTA", mobilefacenet, Engine(flip_tta=True).embed_chips),
    ]
    return rows


def _distances(emb: dict[Path, _F32], pairs: LfwPairs) -> _F32:
    a = np.stack([emb[p] for p in pairs.paths_a])
    b = np.stack([emb[p] for p in pairs.paths_b])
    return np.linalg.norm(a - b, axis=1).astype(np.float32)


def _evaluate(name: str, embed: Embed, paths: list[Path], chips: npt.NDArray[np.uint8], train, test) -> dict:
    start = time.perf_counter()
    emb = dict(zip(paths, embed(chips), strict=True))
    seconds = time.perf_counter() - start
    d_train, d_test = _distances(emb, train), _distances(emb, test)
    best, fars = calibrate(d_train[train.same], d_train[~train.same])  # DevTrain only
    d_all = np.concatenate([d_train, d_test])
    same_all = np.concatenate([train.same, test.same])
    far, tar, _ = roc_points(d_all, same_all)
    return {
        "name": name,
        "seconds": seconds,
        "images": len(paths),
        "threshold": best,
        "far_thresholds": fars,
        "devtrain_accuracy": float(np.mean((d_train <= best) == train.same)),
        "devtest_accuracy": float(np.mean((d_test <= best) == test.same)),
        "tar_at_far_1e-2": tar_at_far(d_all, same_all, 1e-2),
        "tar_at_far_1e-3": tar_at_far(d_all, same_all, 1e-3),
        "roc": (far.tolist(), tar.tolist()),
    }


def _plot(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.5))
    for r in results:
        far, tar = r["roc"]
        ax.plot(np.maximum(far, 1e-4), tar, label=f"{r['name']} (DevTest {r['devtest_accuracy']:.2%})")
    ax.set_xscale("log")
    ax.set_xlabel("false accept rate (3,200 LFW View 1 pairs)")
    ax.set_ylabel("true accept rate")
    ax.set_ylim(0.8, 1.0)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def _print(train, test, results: list[dict], fallbacks: dict[str, int], chip_s: float) -> None:
    print(f"LFW View 1: DevTrain {len(train)} pairs (thresholds), DevTest {len(test)} pairs (accuracy); "
          f"{results[0]['images']} images, the same faces for every row\n")
    head = (f"{'embedder, distance':<32}{'thr':>7}{'train acc':>11}{'test acc':>10}{'vs ref':>8}"
            f"{'TAR@1e-2':>10}{'TAR@1e-3':>10}{'embed s':>9}")
    print(head)
    print("-" * len(head))
    ref = results[0]["devtest_accuracy"] if results[0]["name"].startswith("reference") else None
    for r in results:
        delta = f"{100 * (r['devtest_accuracy'] - ref):>+7.2f}" if ref is not None else f"{'':>7}"
        print(
            f"{r['name']:<32}{r['threshold']:>7.4f}{r['devtrain_accuracy']:>11.2%}{r['devtest_accuracy']:>10.2%}"
            f"{delta:>8}{r['tar_at_far_1e-2']:>10.2%}{r['tar_at_far_1e-3']:>10.2%}{r['seconds']:>9.1f}"
        )
    found = f"{chip_s:.0f} s" if chip_s else "cached"
    print(f"\n'vs ref': DevTest points over the reference. HOG miss -> CNN / central box: {fallbacks}; "
          f"finding faces: {found}")


def _write_calibration(results: list[dict]) -> None:
    cal = json.loads(CALIBRATION.read_text()) if CALIBRATION.is_file() else {}
    for r in results:
        key = CALIBRATED_ROWS.get(r["name"])
        if key is None:
            continue
        entry = {
            "source": f"{SOURCE}, row {r['name']!r}",
            "best_accuracy_threshold": round(r["threshold"], 6),
            "far_thresholds": {f"{k:g}": round(v, 6) for k, v in r["far_thresholds"].items()},
            "devtest_accuracy": round(r["devtest_accuracy"], 6),
        }
        cal.setdefault(key, {}).update(entry)  # keep the open-set FAR curve
    CALIBRATION.write_text(json.dumps(cal, indent=2) + "\n")
    print(f"wrote {', '.join(repr(k) for k in CALIBRATED_ROWS.values())} in {CALIBRATION}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-reference", action="store_true", help="skip dlib's own runtime (~5 min)")
    parser.add_argument("--write-calibration", action="store_true", help="store DevTrain thresholds in the package")
    parser.add_argument("--refresh", action="store_true", help="find the faces again instead of using the cache")
    args = parser.parse_args()
    lfw = lfw_dir()
    train = read_lfw_pairs(lfw / "pairsDevTrain.txt", lfw / "images")
    test = read_lfw_pairs(lfw / "pairsDevTest.txt", lfw / "images")
    paths = list(dict.fromkeys(train.paths_a + train.paths_b + test.paths_a + test.paths_b))
    rel = [p.relative_to(lfw / "images").as_posix() for p in paths]
    chips: dict[int, npt.NDArray[np.uint8]] = {}  # chip size -> chips of every image
    results = []
    chip_s = 0.0
    for name, aligner, embed in _rows(reference=not args.no_reference):
        if aligner.chip_size not in chips:
            chips[aligner.chip_size], fallbacks, seconds = lfw_chips(rel, aligner, refresh=args.refresh and not chips)
            chip_s += seconds
        results.append(_evaluate(name, embed, paths, chips[aligner.chip_size], train, test))
        print(f"  {name}: {results[-1]['seconds']:.1f} s", file=sys.stderr, flush=True)
    _print(train, test, results, fallbacks, chip_s)
    OUT.mkdir(parents=True, exist_ok=True)
    _plot(results, OUT / "lfw_roc.png")
    summary = [{k: v for k, v in r.items() if k != "roc"} for r in results]
    (OUT / "lfw_verify.json").write_text(json.dumps(summary, indent=2, default=str))
    print(f"wrote {OUT / 'lfw_roc.png'} and {OUT / 'lfw_verify.json'}")
    if args.write_calibration:
        _write_calibration(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
