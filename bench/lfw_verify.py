"""LFW View 1 verification: threshold from DevTrain, accuracy on DevTest, ROC over all 3,200 pairs.

Run:  python bench/lfw_verify.py            (add --no-reference to skip dlib's own descriptor)
      python bench/lfw_verify.py --write-calibration   (store the DevTrain thresholds in the package)

Side by side in one run: faceplane's default pipeline (HOG -> 5-point -> dlib chip -> ONNX ResNet
port, averaged with the mirrored chip), the same without the flip, and the reference (the same
chips through dlib.face_recognition_model_v1, i.e. face_recognition's default path). Prints a
table; writes bench/out/lfw_roc.png and bench/out/lfw_verify.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from faceplane import Engine
from faceplane.evaluation import embed_pairs, read_lfw_pairs, roc_points, tar_at_far
from faceplane.verify import calibrate

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"


def _lfw_dir() -> Path:
    root = Path(os.environ.get("FACEPLANE_DATA") or REPO.parent / "shared" / "data")
    return root / "faces" / "lfw-view1"


def _evaluate(name: str, engine: Engine, fallback: Engine, train, test) -> dict:
    start = time.perf_counter()
    emb = embed_pairs(engine, train.paths_a + train.paths_b + test.paths_a + test.paths_b, fallback=fallback)
    seconds = time.perf_counter() - start
    d_train, d_test = emb.distances(train), emb.distances(test)
    best, fars = calibrate(d_train[train.same], d_train[~train.same])
    acc_test = float(np.mean((d_test <= best) == test.same))
    d_all = np.concatenate([d_train, d_test])
    same_all = np.concatenate([train.same, test.same])
    far, tar, _ = roc_points(d_all, same_all)
    return {
        "name": name,
        "seconds": seconds,
        "images": len(emb.embedding),
        "fallbacks": emb.fallbacks,
        "threshold": best,
        "far_thresholds": fars,
        "devtrain_accuracy": float(np.mean((d_train <= best) == train.same)),
        "devtest_accuracy": acc_test,
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
        ax.plot(np.maximum(far, 1e-4), tar, label=f"{r['name']} (DevTest acc {r['devtest_accuracy']:.2%})")
    ax.set_xscale("log")
    ax.set_xlabel("false accept rate (3,200 LFW View 1 pairs)")
    ax.set_ylabel("true accept rate")
    ax.set_ylim(0.8, 1.0)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-reference", action="store_true", help="skip dlib's own descriptor")
    parser.add_argument("--write-calibration", action="store_true", help="store DevTrain thresholds in the package")
    args = parser.parse_args()
    lfw = _lfw_dir()
    train = read_lfw_pairs(lfw / "pairsDevTrain.txt", lfw / "images")
    test = read_lfw_pairs(lfw / "pairsDevTest.txt", lfw / "images")
    fallback = Engine(detector="cnn")
    runs = [
        ("faceplane default (flip TTA)", Engine()),
        ("faceplane, no flip TTA", Engine(flip_tta=False)),
    ]
    if not args.no_reference:
        # face_recognition's path: the same chips through dlib's own descriptor, no TTA
        runs.append(("reference: dlib descriptor", Engine(embedder="dlib", flip_tta=False)))
    results = [_evaluate(name, eng, fallback, train, test) for name, eng in runs]

    print(f"LFW View 1: DevTrain {len(train)} pairs (threshold), DevTest {len(test)} pairs (accuracy)\n")
    head = f"{'pipeline':<32}{'thr':>7}{'train acc':>11}{'test acc':>10}{'TAR@1e-2':>10}{'TAR@1e-3':>10}{'s':>8}"
    print(head)
    print("-" * len(head))
    for r in results:
        print(
            f"{r['name']:<32}{r['threshold']:>7.4f}{r['devtrain_accuracy']:>11.2%}{r['devtest_accuracy']:>10.2%}"
            f"{r['tar_at_far_1e-2']:>10.2%}{r['tar_at_far_1e-3']:>10.2%}{r['seconds']:>8.1f}"
        )
    print(f"\nface not found by HOG -> CNN fallback / central box: {results[0]['fallbacks']}")
    OUT.mkdir(parents=True, exist_ok=True)
    _plot(results, OUT / "lfw_roc.png")
    summary = [{k: v for k, v in r.items() if k != "roc"} for r in results]
    (OUT / "lfw_verify.json").write_text(json.dumps(summary, indent=2, default=str))
    print(f"wrote {OUT / 'lfw_roc.png'} and {OUT / 'lfw_verify.json'}")
    if args.write_calibration:
        ours = results[0]
        entry = {
            "source": "LFW View 1 DevTrain (1,100 genuine + 1,100 impostor pairs), bench/lfw_verify.py",
            "best_accuracy_threshold": round(ours["threshold"], 6),
            "far_thresholds": {f"{k:g}": round(v, 6) for k, v in ours["far_thresholds"].items()},
            "devtest_accuracy": round(ours["devtest_accuracy"], 6),
        }
        target = REPO / "src" / "faceplane" / "models" / "calibration.json"
        cal = json.loads(target.read_text()) if target.is_file() else {}
        cal.setdefault("dlib_resnet_v1", {}).update(entry)  # keep the open-set FAR curve
        target.write_text(json.dumps(cal, indent=2) + "\n")
        print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
