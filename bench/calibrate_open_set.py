"""Calibrate open-set (1:N) thresholds: the 1:1 false-accept curve down to 1e-6, from every impostor pair.

Run:  python bench/identify_lfw.py --model mobilefacenet          (once: caches the embeddings)
      python bench/calibrate_open_set.py --model mobilefacenet    (prints the curve; --write stores it)

Chooses on LFW's DevTrain people only (peopleDevTrain.txt): the DevTest people take no part, so
bench/identify_lfw.py can report the resulting gallery threshold on them as held out (it also
reports it on the whole View 1 protocol, DevTrain people included). Every pair of images of two
different people is an impostor pair: ~6 million of them, enough to place thresholds at
FAR = 1e-6 on about 6 pairs. A gallery of N people searched for one stranger makes N such
comparisons, so for a target false-positive identification rate the gallery uses the threshold at
FAR = FPIR / N (``Calibration.threshold_for_fpir``).

``--model`` names both the embeddings cache (bench/out/lfw_embeddings_<model>.npz) and the entry of
models/calibration.json whose "far_curve" and "far_curve_source" ``--write`` sets (the 1:1
thresholds of the entry come from bench/lfw_verify.py --write-calibration). Beside the new curve
the table shows the one stored for the model and, as the reference, face_recognition's raw dlib
L2 distances on the same pairs (when bench/out/lfw_embeddings_dlib-raw.npz exists).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from _lfw import OUT, REPO, lfw_dir

FARS = (1e-1, 3e-2, 1e-2, 3e-3, 1e-3, 3e-4, 1e-4, 3e-5, 1e-5, 3e-6, 1e-6)
MODELS = ("mobilefacenet", "dlib")  # cache name == calibration.json key
REFERENCE = "dlib-raw"
CALIBRATION = REPO / "src" / "faceplane" / "models" / "calibration.json"


def _impostor_distances(emb: np.ndarray, labels: np.ndarray) -> np.ndarray:
    out = []
    for start in range(0, len(emb), 512):
        block = emb[start : start + 512]
        d = np.sqrt(np.clip((block**2).sum(1)[:, None] + (emb**2).sum(1)[None] - 2 * block @ emb.T, 0, None))
        rows = np.arange(start, start + len(block))[:, None]
        upper = np.arange(len(emb))[None, :] > rows  # each unordered pair once
        out.append(d[upper & (labels[start : start + 512, None] != labels[None, :])])
    return np.concatenate(out).astype(np.float32)


def far_curve(cache: Path, people: set[str]) -> tuple[dict[str, float], int, int, str]:
    """{far: threshold} over the impostor pairs of ``people``, images used, pairs, the cache's pipeline."""
    with np.load(cache, allow_pickle=False) as z:
        names = np.array([p.split("/")[0] for p in z["paths"]])
        keep = np.isin(names, list(people))
        emb = z["embedding"][keep].astype(np.float64)
        pipeline = str(z["pipeline"])
    d = np.sort(_impostor_distances(emb, names[keep]))
    curve = {}
    for far in FARS:
        allowed = int(np.floor(far * len(d)))
        # the largest distance that accepts at most `allowed` pairs
        curve[f"{far:g}"] = round(float(d[allowed] - 1e-6) if allowed < len(d) else float(d[-1]), 6)
    return curve, int(keep.sum()), len(d), pipeline


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=MODELS, default="mobilefacenet", help="embeddings and calibration key")
    parser.add_argument("--write", action="store_true", help="store the curve in the package's calibration.json")
    args = parser.parse_args()
    cache = OUT / f"lfw_embeddings_{args.model}.npz"
    if not cache.is_file():
        print(f"{cache} missing: run python bench/identify_lfw.py --model {args.model} first", file=sys.stderr)
        return 2
    lines = (lfw_dir() / "peopleDevTrain.txt").read_text().splitlines()[1:]
    people = {line.split()[0] for line in lines if line.strip()}
    curve, n_images, n_pairs, pipeline = far_curve(cache, people)
    ref_cache = OUT / f"lfw_embeddings_{REFERENCE}.npz"
    ref = far_curve(ref_cache, people)[0] if ref_cache.is_file() else {}
    cal = json.loads(CALIBRATION.read_text())
    stored = cal.get(args.model, {}).get("far_curve", {})
    print(f"{args.model}: {n_images} DevTrain images, {n_pairs:,} impostor pairs; pipeline: {pipeline}\n")
    head = f"{'FAR':>8}{'threshold':>11}{'pairs accepted':>16}{'stored':>10}{'ref: raw dlib L2':>18}"
    print(head)
    print("-" * len(head))
    for far in FARS:
        key = f"{far:g}"
        old = f"{stored[key]:>10.4f}" if key in stored else f"{'-':>10}"
        raw = f"{ref[key]:>18.4f}" if key in ref else f"{'-':>18}"
        print(f"{far:>8g}{curve[key]:>11.4f}{int(np.floor(far * n_pairs)):>16,}{old}{raw}")
    print("\nthresholds are Euclidean distances: unit-length embeddings for the model (cos = 1 - d^2 / 2), raw "
          "dlib descriptors for the reference (face_recognition's 0.6 sits near FAR 1e-2 there)")
    if args.write:
        cal.setdefault(args.model, {})["far_curve"] = curve
        cal[args.model]["far_curve_source"] = (
            f"LFW View 1 DevTrain people: {n_images} images, {n_pairs:,} impostor pairs (bench/calibrate_open_set.py)"
        )
        CALIBRATION.write_text(json.dumps(cal, indent=2) + "\n")
        print(f"\nwrote far_curve of {args.model!r} in {CALIBRATION}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
