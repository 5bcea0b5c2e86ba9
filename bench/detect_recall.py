"""Face detector recall and precision on dlib's hand-labelled example photos, side by side in one run.

Run:  python bench/detect_recall.py [--repeats 3] [--sizes original,640x480]

Ground truth: dlib's ``examples/faces/training.xml`` and ``testing.xml`` (imglab boxes ``top left
width height``; 9 PASCAL VOC photos, 43 faces, many of them only 37 px wide) plus ``dogs.jpg``, which
dlib ships as a negative (no human face). Every detector sees the same images:

- dlib HOG (faceplane's ``HogDetector``) at upsample 0 and 1;
- faceplane's ONNX port of the MMOD CNN (upsample 1) and dlib's own ``cnn_face_detection_model_v1``
  (upsample 1) as the reference it must match;
- MediaPipe BlazeFace short- and full-range (``faceplane[mediapipe]``), only where mediapipe is
  installed; elsewhere their rows say why not.

Each runs at the original size and with every image resized to 640x480 (the truth boxes scaled
with it). A detection is a hit when it takes a not yet matched truth box at IoU >= 0.5 (greedy, best
score first). dlib's boxes are tight, roughly brow to chin; BlazeFace's are larger, forehead to chin
and ear to ear, so recall at IoU >= 0.3 is reported too: it separates "missed the face" from "drew
the box differently". Precision counts every detection that matched no truth as false, which
includes faces the annotators left out. Times are medians over images of the best of ``--repeats``
calls (after one warm-up call), on this machine's CPU.

With 43 faces, one face is 2.3 points of recall: read the table as a coarse comparison.
Prints a table; writes bench/out/detect_recall.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
IOU_STRICT = 0.5
IOU_LOOSE = 0.3
NEGATIVES = ("dogs.jpg",)  # shipped by dlib as a photo without human faces

Detect = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass
class Candidate:
    """A detector in the table: its function, or the reason it cannot run here."""

    name: str
    detect: Detect | None
    note: str = ""
    slow: bool = False  # seconds per image: timed once, no warm-up


@dataclass
class Sample:
    """One photo with its truth boxes, at one size."""

    name: str
    image: np.ndarray  # (H, W, 3) uint8 RGB
    truth: np.ndarray  # (T, 4) float32 xyxy pixels
    ignore: np.ndarray  # (T,) bool: boxes imglab marked ignore (neither missed nor false when hit)


@dataclass
class Row:
    """Counts of one detector at one size, summed over the images."""

    detector: str
    size: str
    available: bool = True
    note: str = ""
    total: int = 0
    detections: int = 0
    hits: dict[str, int] = field(default_factory=dict)  # IoU threshold -> truth faces found
    false: dict[str, int] = field(default_factory=dict)  # IoU threshold -> detections matching nothing
    ious: list[float] = field(default_factory=list)  # IoU of each hit at the loose threshold
    ms: list[float] = field(default_factory=list)  # per image
    per_image: dict[str, str] = field(default_factory=dict)  # image -> "found@0.5/found@0.3/total (+false)"


def _data() -> Path:
    return Path(os.environ.get("FACEPLANE_DATA") or REPO.parent / "shared" / "data")


def read_truth(folder: Path) -> list[tuple[Path, np.ndarray, np.ndarray]]:
    """(path, (T, 4) xyxy truth, (T,) ignore) per annotated image of training.xml and testing.xml."""
    out = []
    for xml_name in ("training.xml", "testing.xml"):
        root = ET.parse(folder / xml_name).getroot()
        for image in root.iter("image"):
            boxes, ignore = [], []
            for box in image.iter("box"):
                left, top = float(box.get("left", 0)), float(box.get("top", 0))
                width, height = float(box.get("width", 0)), float(box.get("height", 0))
                # imglab's rectangle is inclusive (left .. left + width - 1): exclusive edge at left + width.
                boxes.append([left, top, left + width, top + height])
                ignore.append(box.get("ignore", "0") not in ("0", "false", ""))
            out.append((folder / image.get("file", ""), np.asarray(boxes, np.float32).reshape(-1, 4), np.array(ignore)))
    for name in NEGATIVES:
        if (folder / name).is_file():
            out.append((folder / name, np.zeros((0, 4), np.float32), np.zeros(0, bool)))
    return out


def letterbox(rgb: np.ndarray, boxes: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Scale to fit ``width`` x ``height`` keeping the aspect ratio, pad the rest black (top-left aligned).

    A camera frame of that size holds undistorted faces; stretching a portrait photo to 4:3 would
    squash them and test something no camera produces.
    """
    import cv2

    scale = min(width / rgb.shape[1], height / rgb.shape[0])
    new_w, new_h = round(rgb.shape[1] * scale), round(rgb.shape[0] * scale)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    frame = np.zeros((height, width, 3), np.uint8)
    frame[:new_h, :new_w] = cv2.resize(rgb, (new_w, new_h), interpolation=interp)
    sx, sy = new_w / rgb.shape[1], new_h / rgb.shape[0]
    return frame, boxes * np.array([sx, sy, sx, sy], np.float32)


def make_samples(truth: list[tuple[Path, np.ndarray, np.ndarray]], size: str) -> list[Sample]:
    """The photos at ``size``: "original", or "WxH" (letterboxed, see :func:`letterbox`)."""
    from faceplane import load_image

    samples = []
    for path, boxes, ignore in truth:
        rgb = load_image(path)
        if size != "original":
            width, height = (int(v) for v in size.split("x"))
            rgb, boxes = letterbox(rgb, boxes, width, height)
        samples.append(Sample(path.name, np.ascontiguousarray(rgb), boxes, ignore))
    return samples


def match(boxes: np.ndarray, scores: np.ndarray, truth: np.ndarray, iou_min: float) -> tuple[np.ndarray, np.ndarray]:
    """Greedy matching, best score first.

    Returns:
        (D,) int: index of the truth box each detection took, -1 for none; (D,) float32 its IoU.
    """
    from faceplane.geometry import box_iou

    taken = np.full(len(boxes), -1)
    best = np.zeros(len(boxes), np.float32)
    if len(truth) == 0 or len(boxes) == 0:
        return taken, best
    iou = box_iou(boxes, truth)
    free = np.ones(len(truth), bool)
    for d in np.argsort(-np.asarray(scores), kind="stable"):
        cand = np.where(free, iou[d], -1.0)
        t = int(np.argmax(cand))
        if cand[t] >= iou_min:
            taken[d], best[d], free[t] = t, cand[t], False
    return taken, best


def score_image(row: Row, sample: Sample, boxes: np.ndarray, scores: np.ndarray) -> None:
    """Add one image's hits and false detections at both IoU thresholds to ``row``."""
    counted = ~sample.ignore
    row.total += int(counted.sum())
    row.detections += len(boxes)
    found, false = [], 0
    for iou_min in (IOU_STRICT, IOU_LOOSE):
        taken, iou = match(boxes, scores, sample.truth, iou_min)
        hit = taken >= 0
        # A detection on an ignored box is neither a hit nor a false detection.
        on_counted = hit & counted[np.maximum(taken, 0)] if len(counted) else hit
        key = f"{iou_min:.1f}"
        row.hits[key] = row.hits.get(key, 0) + int(on_counted.sum())
        false = int((~hit).sum())
        row.false[key] = row.false.get(key, 0) + false
        found.append(int(on_counted.sum()))
        if iou_min == IOU_LOOSE:
            row.ious.extend(iou[on_counted].tolist())
    # found at IoU 0.5 / found at IoU 0.3 / faces, then detections that matched nothing at 0.3
    row.per_image[sample.name] = f"{found[0]}/{found[1]}/{int(counted.sum())}" + (f" +{false}" if false else "")


def run_detector(cand: Candidate, samples: list[Sample], size: str, repeats: int) -> Row:
    """Time and score one detector on every sample."""
    if cand.detect is None:
        raise ValueError(f"{cand.name} cannot run here: {cand.note}")
    detect = cand.detect
    row = Row(detector=cand.name, size=size)
    if cand.slow:
        repeats = 1
    else:
        detect(samples[0].image)  # warm-up: graph/session creation, lazy imports
    for sample in samples:
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            boxes, scores = detect(sample.image)
            best = min(best, time.perf_counter() - start)
        row.ms.append(1000 * best)
        score_image(row, sample, np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(scores).reshape(-1))
    return row


# -- detectors --------------------------------------------------------------------------------------


def _dlib_cnn(upsample: int) -> Detect:
    """dlib's own MMOD CNN (the reference the ONNX port is checked against)."""
    import dlib

    from faceplane.geometry import xyxy_from_ltrb_inclusive
    from faceplane.models.registry import weights_path

    model = dlib.cnn_face_detection_model_v1(str(weights_path("mmod")))

    def detect(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dets = model(image, upsample)
        ltrb = [[d.rect.left(), d.rect.top(), d.rect.right(), d.rect.bottom()] for d in dets]
        return xyxy_from_ltrb_inclusive(ltrb), np.array([d.confidence for d in dets], np.float32)

    return detect


def _mmod_port(threads: int) -> Candidate:
    """faceplane's ONNX MMOD port, or dlib's CNN in its place where the port is not importable."""
    try:
        from faceplane.models.mmod import MMODDetector
    except ImportError as exc:
        print(f"note: faceplane.models.mmod not importable ({exc}); using dlib's CNN in its place", file=sys.stderr)
        return Candidate("MMOD port -> dlib CNN (fallback), up 1", _dlib_cnn(1), slow=True)
    detector = MMODDetector(num_threads=threads)
    return Candidate(f"MMOD ONNX port, up 1, {threads} thr", lambda image: detector.detect(image, upsample=1))


def _blazeface(model: str) -> Candidate:
    """BlazeFace at mediapipe's default 0.5 score, or why it cannot run here."""
    from importlib import util as importlib_util

    name = f"BlazeFace {model}-range"
    if importlib_util.find_spec("mediapipe") is None:
        return Candidate(name, None, note="not installed (pip install 'faceplane[mediapipe]')")
    from faceplane.errors import ModelError
    from faceplane.models.blazeface import BlazeFaceDetector, mediapipe_model_path

    try:
        mediapipe_model_path(model)
    except ModelError as exc:
        return Candidate(name, None, note=str(exc))
    return Candidate(name, BlazeFaceDetector(model=model).detect)


def detectors(threads: int, reference: bool) -> list[Candidate]:
    """The detectors in table order."""
    from faceplane.models.dlib_models import HogDetector

    hog = HogDetector()
    reference_row = (
        Candidate("dlib CNN (reference), up 1", _dlib_cnn(1), slow=True)
        if reference
        else Candidate("dlib CNN (reference), up 1", None, note="skipped (--no-reference)")
    )
    return [
        Candidate("dlib HOG, up 0", lambda image: hog.detect(image, upsample=0)),
        Candidate("dlib HOG, up 1", lambda image: hog.detect(image, upsample=1)),
        _mmod_port(threads),
        reference_row,
        _blazeface("short"),
        _blazeface("full"),
    ]


# -- report -----------------------------------------------------------------------------------------


def summary(row: Row) -> dict[str, object]:
    """The JSON record of one row."""
    record: dict[str, object] = {"detector": row.detector, "size": row.size, "available": row.available}
    if not row.available:
        return {**record, "note": row.note}
    for key in (f"{IOU_STRICT:.1f}", f"{IOU_LOOSE:.1f}"):
        true_pos = row.detections - row.false[key]
        record[f"found_iou{key}"] = row.hits[key]
        record[f"recall_iou{key}"] = row.hits[key] / max(row.total, 1)
        record[f"precision_iou{key}"] = true_pos / row.detections if row.detections else None
    record.update(
        total=row.total,
        detections=row.detections,
        median_hit_iou=statistics.median(row.ious) if row.ious else None,
        median_ms=statistics.median(row.ms),
        per_image=row.per_image,
    )
    return record


def print_table(records: list[dict[str, object]], size: str) -> None:
    """One table per image size."""
    print(f"\n== {size}")
    head = (
        f"{'detector':<34}{'found@.5':>10}{'recall@.5':>10}{'prec@.5':>9}"
        f"{'found@.3':>10}{'recall@.3':>10}{'prec@.3':>9}{'IoU med':>8}{'ms/img':>9}"
    )
    print(head)
    print("-" * len(head))
    for r in (r for r in records if r["size"] == size):
        if not r["available"]:
            print(f"{r['detector']:<34}  {r['note']}")
            continue
        cells = ""
        for key in (f"{IOU_STRICT:.1f}", f"{IOU_LOOSE:.1f}"):
            prec = r[f"precision_iou{key}"]
            cells += f"{r[f'found_iou{key}']:>6}/{r['total']:<3}{r[f'recall_iou{key}']:>10.1%}"
            cells += f"{prec:>9.1%}" if prec is not None else f"{'-':>9}"
        iou = f"{r['median_hit_iou']:.2f}" if r["median_hit_iou"] is not None else "-"
        print(f"{r['detector']:<34}{cells}{iou:>8}{r['median_ms']:>9.1f}")


def print_per_image(records: list[dict[str, object]], size: str) -> None:
    """found@0.5/found@0.3/faces (+detections matching nothing) per image and detector."""
    rows = [r for r in records if r["size"] == size and r["available"]]
    if not rows:
        return
    print(f"\nper image at {size}: found@0.5/found@0.3/faces (+unmatched detections)")
    print(f"{'image':<28}" + "".join(f"{str(r['detector'])[:15]:>16}" for r in rows))
    for name in rows[0]["per_image"]:  # type: ignore[union-attr]
        print(f"{name:<28}" + "".join(f"{r['per_image'][name]:>16}" for r in rows))  # type: ignore[index]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per image (the best counts)")
    parser.add_argument("--sizes", default="original,640x480", help="comma-separated: original and/or WxH")
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime threads of the MMOD port")
    parser.add_argument("--no-reference", action="store_true", help="skip dlib's own CNN (seconds per image)")
    args = parser.parse_args()

    folder = _data() / "faces" / "dlib-examples" / "examples" / "faces"
    truth = read_truth(folder)
    print(f"{len(truth)} images, {sum(int((~ig).sum()) for _, _, ig in truth)} faces from {folder}")
    print(f"hit = IoU >= {IOU_STRICT} with a truth box; IoU >= {IOU_LOOSE} also shown (box conventions differ)")
    candidates = detectors(args.threads, reference=not args.no_reference)
    records = []
    for size in args.sizes.split(","):
        samples = make_samples(truth, size)
        for cand in candidates:
            if cand.detect is None:
                records.append(summary(Row(cand.name, size, available=False, note=cand.note)))
            else:
                records.append(summary(run_detector(cand, samples, size, args.repeats)))
        print_table(records, size)
        print_per_image(records, size)

    OUT.mkdir(parents=True, exist_ok=True)
    out = OUT / "detect_recall.json"
    config = {"iou_strict": IOU_STRICT, "iou_loose": IOU_LOOSE, "repeats": args.repeats, "threads": args.threads}
    out.write_text(json.dumps({"config": config, "data": str(folder), "results": records}, indent=1))
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
