"""Calibrate open-set (1:N) thresholds: the 1:1 false-accept curve down to 1e-6, from every impostor pair.

Run:  python bench/identify_lfw.py           (once: embeds LFW View 1, caches bench/out/lfw_embeddings.npz)
      python bench/calibrate_open_set.py     (prints the curve; --write stores it in models/calibration.json)

Only images of LFW's DevTrain people are used (peopleDevTrain.txt), so the DevTest people that the
tests identify are not part of the calibration. Every pair of images of two different people is an
impostor pair: ~5 million of them, enough to place thresholds at FAR = 1e-6 on about 5 pairs. A
gallery of N people searched for one stranger makes N such comparisons, so for a target
false-positive identification rate the gallery uses the threshold at FAR = FPIR / N
(``Calibration.threshold_for_fpir``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
FARS = (1e-1, 3e-2, 1e-2, 3e-3, 1e-3, 3e-4, 1e-4, 3e-5, 1e-5, 3e-6, 1e-6)


def _impostor_distances(emb: np.ndarray, labels: np.ndarray) -> np.ndarray:
    out = []
    for start in range(0, len(emb), 512):
        block = emb[start : start + 512]
        d = np.sqrt(np.clip((block**2).sum(1)[:, None] + (emb**2).sum(1)[None] - 2 * block @ emb.T, 0, None))
        rows = np.arange(start, start + len(block))[:, None]
        upper = np.arange(len(emb))[None, :] > rows  # each unordered pair once
        out.append(d[upper & (labels[start : start + 512, None] != labels[None, :])])
    return np.concatenate(out).astype(np.float32)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="store the curve in the package's calibration.json")
    args = parser.parse_args()
    cache = REPO / "bench" / "out" / "lfw_embeddings.npz"
    if not cache.is_file():
        print(f"{cache} missing: run python bench/identify_lfw.py first", file=sys.stderr)
        return 2
    data = Path(os.environ.get("FACEPLANE_DATA") or REPO.parent / "shared" / "data")
    people = {line.split()[0] for line in (data / "faces/lfw-view1/peopleDevTrain.txt").read_text().splitlines()[1:]}
    z = np.load(cache, allow_pickle=False)
    names = np.array([p.split("/")[0] for p in z["paths"]])
    keep = np.isin(names, list(people))
    emb = z["embedding"][keep].astype(np.float64)
    d = np.sort(_impostor_distances(emb, names[keep]))
    print(f"{keep.sum()} DevTrain images, {len(d):,} impostor pairs; pipeline: {z['pipeline']}\n")
    print(f"{'FAR':>8}{'threshold':>11}{'pairs accepted':>16}")
    curve = {}
    for far in FARS:
        allowed = int(np.floor(far * len(d)))
        thr = float(d[allowed] - 1e-6) if allowed < len(d) else float(d[-1])
        curve[f"{far:g}"] = round(thr, 6)
        print(f"{far:>8g}{thr:>11.4f}{allowed:>16,}")
    if args.write:
        target = REPO / "src" / "faceplane" / "models" / "calibration.json"
        cal = json.loads(target.read_text())
        cal["dlib_resnet_v1"]["far_curve"] = curve
        cal["dlib_resnet_v1"]["far_curve_source"] = (
            f"LFW View 1 DevTrain people: {keep.sum()} images, {len(d):,} impostor pairs (bench/calibrate_open_set.py)"
        )
        target.write_text(json.dumps(cal, indent=2) + "\n")
        print(f"\nwrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
