"""People and vehicles: the CNN object detectors beside OpenCV's HOG people detector, on real photos and a highway.

Run:  python bench/objects.py [--data DIR] [--model nanodet --model centernet] [--size 320 --size 416 ...]

Side by side in one run, one row per detector and input size:

- COCO128 val2017 (COCO's held-out split: the real number) and, apart, train2017 (seen in training
  by every COCO-trained detector: optimistic): precision, recall and AP50 for "person", for each
  vehicle class (bicycle, car, motorcycle, bus, truck) and for the vehicles pooled (one ranking of
  all vehicle detections, each matched within its own class). COCO crowd regions (train2017 only:
  val2017 ships none) are ignore regions.
- NGSIM US-101 (156 frames from a highway pole, small cars): "car", with truck/bus detections and
  the car detections inside them as ignore (large trucks are not boxed in its ground truth); and
  "car, truck or bus", where a truck or bus detection on a boxed car (a pickup, a van) counts too.
- HOG (``faceplane.video.people.PersonDetector``, its defaults) is the reference for person.

Precision and recall are at each detector's operating threshold (the ObjectDetector default
min_score, 0.35; HOG: every box it returns); AP50 is taken over all detections down to
``--min-score`` (all-point interpolation, COCO-style matching: bench/_detection_metrics.py).
ms/frame is the median time of one detect() call on one core (onnxruntime and OpenCV limited to one
thread), image decoding excluded. Writes bench/out/objects.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from _detection_metrics import Matched, average_precision, best_f1, match_image, precision_recall
from _object_sets import Truth, load_coco128, load_ngsim
from faceplane.errors import FaceplaneError
from faceplane.objects import OBJECT_MODELS

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
VEHICLES = ("bicycle", "car", "motorcycle", "bus", "truck")
CLASSES = ("person", *VEHICLES)
OPERATING_SCORE = 0.35  # ObjectDetector's default min_score: where P and R are read
LARGE = ("truck", "bus")  # not boxed in NGSIM's ground truth


@dataclass(frozen=True)
class Found:
    """One image's detections: ``xyxy`` (N, 4) float32 pixels, ``score`` (N,), ``names`` (N,) str."""

    xyxy: np.ndarray
    score: np.ndarray
    names: np.ndarray


@dataclass(frozen=True)
class Method:
    """A detector under test: a label, the threshold P/R are read at, its classes, one call per RGB image."""

    label: str
    threshold: float
    classes: tuple[str, ...]
    detect: Callable[[np.ndarray], Found]


def _rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path))
    if bgr is None:
        raise SystemExit(f"cannot read image {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _hog() -> Method:
    from faceplane.video.people import PersonDetector

    detector = PersonDetector()

    def detect(rgb: np.ndarray) -> Found:
        xyxy, score = detector.detect(rgb)
        return Found(xyxy, score, np.full(len(score), "person", dtype=object))

    return Method("HOG (OpenCV, upscale 1.5)", 0.0, ("person",), detect)


def _cnn(model: str, size: int, min_score: float) -> Method:
    from faceplane.objects import ObjectDetector  # imported here: only the CNN rows need onnxruntime

    detector = ObjectDetector(model=model, classes=CLASSES, input_size=size, min_score=min_score, num_threads=1)

    def detect(rgb: np.ndarray) -> Found:
        objs = detector.detect(rgb)
        return Found(objs.xyxy, objs.score, np.asarray(objs.names, dtype=object))

    return Method(f"{model} {size}", OPERATING_SCORE, CLASSES, detect)


def _run(method: Method, truth: list[Truth]) -> tuple[list[Found], float]:
    """Every image through ``method``: the detections and the median ms per image."""
    found, ms = [], []
    for t in truth:
        rgb = _rgb(t.path)
        start = time.perf_counter()
        found.append(method.detect(rgb))
        ms.append(1000 * (time.perf_counter() - start))
    return found, float(np.median(ms)) if ms else float("nan")


def _coco_class(truth: list[Truth], found: list[Found], name: str) -> Matched:
    parts = []
    for t, f in zip(truth, found, strict=True):
        gt = t.names == name
        det = f.names == name
        parts.append(match_image(t.xyxy[gt & ~t.crowd], f.xyxy[det], f.score[det], ignore_xyxy=t.xyxy[gt & t.crowd]))
    return Matched.concat(parts)


def _ngsim(truth: list[Truth], found: list[Found], threshold: float, *, large_may_match: bool) -> Matched:
    parts = []
    for t, f in zip(truth, found, strict=True):
        large = np.isin(f.names, LARGE)
        regions = f.xyxy[large & (f.score >= threshold)]
        det = (f.names == "car") | (large if large_may_match else False)
        parts.append(match_image(t.xyxy, f.xyxy[det], f.score[det], ignore_xyxy=regions, optional=large[det]))
    return Matched.concat(parts)


def _cell(m: Matched, threshold: float) -> dict:
    precision, recall = precision_recall(m, threshold)
    best = dict(zip(("precision", "recall", "threshold"), best_f1(m), strict=True))
    return {"precision": precision, "recall": recall, "ap50": average_precision(m), "n_gt": m.n_gt, "best_f1": best}


def _coco_row(method: Method, truth: list[Truth], found: list[Found], ms: float) -> dict:
    per_class = {n: _coco_class(truth, found, n) for n in method.classes}
    cells = {n: _cell(m, method.threshold) for n, m in per_class.items()}
    if "car" in per_class:
        cells["vehicles"] = _cell(Matched.concat(per_class[n] for n in VEHICLES), method.threshold)
    return {"method": method.label, "threshold": method.threshold, "ms_per_frame": ms, "cells": cells}


def _ngsim_row(method: Method, truth: list[Truth], found: list[Found], ms: float) -> dict:
    cells = {
        "car": _cell(_ngsim(truth, found, method.threshold, large_may_match=False), method.threshold),
        "car, truck or bus": _cell(_ngsim(truth, found, method.threshold, large_may_match=True), method.threshold),
    }
    return {"method": method.label, "threshold": method.threshold, "ms_per_frame": ms, "cells": cells}


def _num(x: float) -> str:
    return "-" if np.isnan(x) else f"{x:.2f}"


def _fmt(cell: dict | None) -> str:
    return "-" if cell is None else " / ".join(_num(cell[k]) for k in ("precision", "recall", "ap50"))


def _fmt_best(cell: dict | None) -> str:
    return "-" if cell is None else " / ".join(_num(cell["best_f1"][k]) for k in ("precision", "recall", "threshold"))


def _gt_count(truth: list[Truth], column: str) -> int:
    names = VEHICLES if column == "vehicles" else ("car",) if column.startswith("car") else (column,)
    return sum(int((np.isin(t.names, names) & ~t.crowd).sum()) for t in truth)


def _print_table(title: str, truth: list[Truth], rows: list[dict], columns: tuple[str, ...]) -> None:
    n_gt = {c: _gt_count(truth, c) for c in columns}
    print(f"\n{title}: precision / recall / AP50 (IoU 0.5); P and R at the threshold shown\n")
    heads = ["method", "threshold", *(f"{c} ({n_gt[c]})" for c in columns), "ms/frame"]
    print("| " + " | ".join(heads) + " |")
    print("|" + "|".join("---" for _ in heads) + "|")
    for r in rows:
        cells = [_fmt(r["cells"].get(c)) for c in columns]
        print(f"| {r['method']} | {r['threshold']:g} | " + " | ".join(cells) + f" | {r['ms_per_frame']:.0f} |")


def _print_best(results: dict[str, list[dict]]) -> None:
    """The operating point each detector could have: P / R at the score threshold of best F1."""
    print("\nBest-F1 operating points: precision / recall / score threshold\n")
    columns = [(n, c) for n in results for c in (("car",) if n.startswith("NGSIM") else ("person", "vehicles"))]
    print("| method | " + " | ".join(f"{n.split(' (')[0]}: {c}" for n, c in columns) + " |")
    print("|" + "|".join("---" for _ in range(len(columns) + 1)) + "|")
    by_method: dict[str, dict[tuple[str, str], dict]] = {}
    for name, rows in results.items():
        for r in rows:
            by_method.setdefault(r["method"], {}).update({(name, c): cell for c, cell in r["cells"].items()})
    for method, cells in by_method.items():
        print(f"| {method} | " + " | ".join(_fmt_best(cells.get(col)) for col in columns) + " |")


def _methods(args: argparse.Namespace) -> list[Method]:
    methods = [_hog()]
    for model in args.model or ["nanodet", "centernet"]:
        for size in args.size or sorted({320, OBJECT_MODELS.get(model, 416), 640}):
            try:
                methods.append(_cnn(model, size, args.min_score))
            except (ImportError, FaceplaneError, ValueError) as exc:  # reported; the other rows still run
                print(f"skipped {model} {size}: {type(exc).__name__}: {exc}", file=sys.stderr)
    return methods


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_data = os.environ.get("FACEPLANE_DATA") or str(REPO.parent / "shared" / "data")
    parser.add_argument("--data", type=Path, default=Path(default_data), help="shared data root ($FACEPLANE_DATA)")
    parser.add_argument("--model", action="append", help="CNN model(s) (default: nanodet and centernet)")
    parser.add_argument("--size", type=int, action="append", help="input size(s) (default: 320, the model's, 640)")
    parser.add_argument("--min-score", type=float, default=0.05, help="lowest score kept for AP (default 0.05)")
    parser.add_argument("--limit", type=int, default=0, help="first N images of each set only (smoke runs)")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    cut = slice(None, args.limit or None)
    sets = {
        "COCO128 val2017": load_coco128(args.data, "val2017")[cut],
        "COCO128 train2017 (seen in training)": load_coco128(args.data, "train2017")[cut],
        "NGSIM US-101 Sequence2": load_ngsim(args.data)[cut],
    }
    results: dict[str, list[dict]] = {name: [] for name in sets}
    for method in _methods(args):
        for name, truth in sets.items():
            if name.startswith("NGSIM") and "car" not in method.classes:
                continue  # HOG: people only, and the highway set has none
            found, ms = _run(method, truth)
            row = (_ngsim_row if name.startswith("NGSIM") else _coco_row)(method, truth, found, ms)
            results[name].append(row)
    for name, rows in results.items():
        columns = ("car", "car, truck or bus") if name.startswith("NGSIM") else ("person", "vehicles", *VEHICLES)
        _print_table(f"{name}, {len(sets[name])} images", sets[name], rows, columns)
    _print_best(results)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "objects.json").write_text(json.dumps(results, indent=2))
    print(f"\nwrote {OUT / 'objects.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
