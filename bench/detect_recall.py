"""Face detectors side by side with dlib's HOG: recall, precision, landmarks from their boxes, video.

Run:  python bench/detect_recall.py            (about 3 minutes on one core; --reference adds dlib's CNN)

Detectors (rows), every one on the same images:

- dlib HOG (faceplane's ``HogDetector``) at upsample 0 and 1: the reference the others are read against;
- ``cnn``: faceplane's ONNX port of dlib's MMOD CNN, upsample 1 (``--reference`` adds dlib's own
  ``cnn_face_detection_model_v1``, seconds per image, which the port must match);
- ``blazeface``: MediaPipe's full-range BlazeFace on onnxruntime (``BlazeFaceOnnx``, the model store's
  ``blazeface``, installed by ``faceplane models install``); its row says why where it is not installed.

1. Photos with ground truth: dlib's ``examples/faces/training.xml`` and ``testing.xml`` (imglab boxes
   ``top left width height``; 9 PASCAL VOC photos, 43 faces, many only 37 px wide) plus ``dogs.jpg``,
   which dlib ships as a negative. Each runs at the original size and letterboxed into 640x480 (the
   truth boxes scaled with it). A detection is a hit when it takes a not yet matched truth box at
   IoU >= 0.5 (greedy, best score first). dlib's boxes are tight, roughly brow to chin; BlazeFace's
   are square, forehead to chin, so recall at IoU >= 0.3 is reported too: it separates "missed the
   face" from "drew the box differently". Precision counts every detection that matched no truth as
   false, which includes faces the annotators left out. Times are medians over images of the best of
   ``--repeats`` calls (after one warm-up call), on this machine's CPU.
2. Landmarks from each detector's box: dlib's 5-point shape predictor (what the pipeline aligns with)
   run on the detection box, against the 68-point landmarks in dlib's ``*_with_face_landmarks.xml``
   (point 0 -> 45, 1 -> 42, 2 -> 36, 3 -> 39, 4 -> 33: outer/inner eye corners and the nose base).
   Error: the mean distance over the five points divided by the outer-eye-corner distance (300-W's
   inter-ocular normalisation), on the faces that the detector and HOG at upsample 1 both find, with
   HOG's error on the same faces beside it. Those 68 points were themselves made by dlib's 68-point
   model, so they measure agreement with dlib's landmarking more than with a human annotator.
3. Videos with turned, tilted and small faces (no ground truth): the shared Hamilton clip (every 5th
   frame) and Intel's GIF previews of people walking up, turning their heads and sitting in a
   classroom, at their own size. Per detector: frames with at least one face, detections per frame,
   the share of HOG's (upsample 1) detections it also finds (IoU >= 0.3) and the detections HOG has
   no box for (a turned face HOG misses, or a false one), median ms per frame (one call per frame).

With 43 faces, one face is 2.3 points of recall: read the tables as a coarse comparison.
Prints the tables; writes bench/out/detect_recall.json.
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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import cast

import numpy as np

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
IOU_STRICT = 0.5
IOU_LOOSE = 0.3
NEGATIVES = ("dogs.jpg",)  # shipped by dlib as a photo without human faces
HOG_REFERENCE = "dlib HOG, up 1"  # the row the others are read against

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


def _blazeface(threads: int) -> Candidate:
    """The pipeline's ``blazeface`` detector, or why it cannot run here."""
    from faceplane.errors import ModelError
    from faceplane.models.blazeface_onnx import BlazeFaceOnnx
    from faceplane.models.store import model_path

    name = "BlazeFace full-range ONNX"
    try:
        path = model_path("blazeface")
    except ModelError as exc:
        return Candidate(name, None, note=str(exc))
    return Candidate(name, BlazeFaceOnnx(path, num_threads=threads).detect)


def detectors(threads: int, reference: bool) -> list[Candidate]:
    """The detectors in table order; ``HOG_REFERENCE`` is the second."""
    from faceplane.models.dlib_models import HogDetector
    from faceplane.models.mmod import MMODDetector

    hog = HogDetector()
    mmod = MMODDetector(num_threads=threads)
    out = [
        Candidate("dlib HOG, up 0", lambda image: hog.detect(image, upsample=0)),
        Candidate(HOG_REFERENCE, lambda image: hog.detect(image, upsample=1)),
        Candidate(f"cnn: MMOD ONNX port, up 1, {threads} thr", lambda image: mmod.detect(image, upsample=1)),
        _blazeface(threads),
    ]
    if reference:
        out.insert(3, Candidate("dlib CNN (reference), up 1", _dlib_cnn(1), slow=True))
    return out


# -- landmarks from each detector's box ------------------------------------------------------------

LANDMARKS_5_IN_68 = [45, 42, 36, 39, 33]  # dlib's 5-point order -> iBUG 68-point index (nearest, checked)
Annotated = list[tuple[Path, np.ndarray, np.ndarray]]  # path, (T, 4) xyxy boxes, (T, 68, 2) landmarks


def read_landmarks(folder: Path) -> Annotated:
    """Boxes and 68-point landmarks of ``training_with_face_landmarks.xml`` and ``testing_...``."""
    out = []
    for xml_name in ("training_with_face_landmarks.xml", "testing_with_face_landmarks.xml"):
        for image in ET.parse(folder / xml_name).getroot().iter("image"):
            boxes, points = [], []
            for box in image.iter("box"):
                parts = {int(q.get("name", -1)): (float(q.get("x", 0)), float(q.get("y", 0))) for q in box.iter("part")}
                if sorted(parts) != list(range(68)):
                    continue
                left, top = float(box.get("left", 0)), float(box.get("top", 0))
                boxes.append([left, top, left + float(box.get("width", 0)), top + float(box.get("height", 0))])
                points.append([parts[i] for i in range(68)])
            boxes_xyxy = np.asarray(boxes, np.float32).reshape(-1, 4)
            out.append((folder / image.get("file", ""), boxes_xyxy, np.asarray(points, np.float32).reshape(-1, 68, 2)))
    return out


def landmark_error(points5: np.ndarray, truth68: np.ndarray) -> float:
    """Mean distance of dlib's 5 points (5, 2) to their 68-point counterparts / outer-eye-corner distance."""
    inter_ocular = float(np.linalg.norm(truth68[36] - truth68[45]))
    return float(np.linalg.norm(points5 - truth68[LANDMARKS_5_IN_68], axis=1).mean()) / inter_ocular


def face_errors(detect: Detect | None, annotated: Annotated) -> dict[str, float]:
    """Per "image#face": the landmark error from the detection overlapping that truth face most (IoU >= 0.3).

    ``detect`` None: from the truth box itself.
    """
    from faceplane import load_image
    from faceplane.geometry import box_iou
    from faceplane.models.dlib_models import ShapePredictor

    shapes = ShapePredictor(points=5)
    out = {}
    for path, truth, points in annotated:
        rgb = load_image(path)
        boxes = truth if detect is None else np.asarray(detect(rgb)[0], np.float32).reshape(-1, 4)
        if not len(boxes) or not len(truth):
            continue
        iou = box_iou(truth, boxes)
        for t in range(len(truth)):
            d = int(np.argmax(iou[t]))
            if iou[t, d] >= IOU_LOOSE:
                out[f"{path.name}#{t}"] = landmark_error(shapes.predict(rgb, boxes[d : d + 1])[0], points[t])
    return out


@dataclass
class LandmarkRow:
    """Landmark error from one detector's boxes, on the faces it and HOG (upsample 1) both find."""

    detector: str
    faces: int
    median: float
    mean: float
    max: float
    hog_median: float  # HOG's error on the same faces
    hog_mean: float
    worse: int  # faces where this row's error is above HOG's
    better: int
    per_face: dict[str, float]  # "image#face" -> error (every face this detector finds)


def landmark_records(candidates: list[Candidate], annotated: Annotated) -> list[LandmarkRow]:
    """Per detector: error on the faces it and HOG (upsample 1) both find, with HOG's on the same faces."""
    errors = {"truth box (hand-drawn)": face_errors(None, annotated)}
    errors.update({c.name: face_errors(c.detect, annotated) for c in candidates if c.detect and not c.slow})
    hog = errors[HOG_REFERENCE]
    records = []
    for name, errs in errors.items():
        common = sorted(set(errs) & set(hog))
        own = np.array([errs[k] for k in common])
        ref = np.array([hog[k] for k in common])
        records.append(
            LandmarkRow(
                name, len(common), float(np.median(own)), float(own.mean()), float(own.max()),
                float(np.median(ref)), float(ref.mean()), int((own > ref).sum()), int((own < ref).sum()), errs,
            )
        )
    return records


# -- video: turned, tilted and small faces, no ground truth -----------------------------------------

CLIPS = (  # (path under the shared data, keep every n-th frame)
    ("faces/face_recognition-examples/examples/short_hamilton_clip.mp4", 5),
    ("video/intel-sample-videos/preview/face-demographics-walking.gif", 1),
    ("video/intel-sample-videos/preview/face-demographics-walking-and-pause.gif", 1),
    ("video/intel-sample-videos/preview/head-pose-face-detection-female-and-male.gif", 1),
    ("video/intel-sample-videos/preview/head-pose-face-detection-female.gif", 1),
    ("video/intel-sample-videos/preview/head-pose-face-detection-male.gif", 1),
    ("video/intel-sample-videos/preview/classroom.gif", 1),
)


def read_clip(path: Path, step: int) -> list[np.ndarray]:
    """Every ``step``-th frame of a video or animated GIF as (H, W, 3) uint8 RGB."""
    import cv2

    capture = cv2.VideoCapture(str(path))
    frames, index = [], 0
    try:
        while True:
            ok, bgr = capture.read()
            if not ok:
                break
            if index % step == 0:
                frames.append(np.ascontiguousarray(bgr[:, :, ::-1]))
            index += 1
    finally:
        capture.release()
    return frames


Clips = dict[str, list[np.ndarray]]  # clip name -> (H, W, 3) uint8 RGB frames
Found = dict[str, list[tuple[np.ndarray, np.ndarray]]]  # clip name -> per frame (D, 4) xyxy, (D,) scores


@dataclass
class VideoRow:
    """One detector on every clip."""

    detector: str
    frames: int
    frames_with_face: int
    detections: int
    finds_hog: float  # share of HOG up 1's boxes this detector also finds (IoU >= IOU_LOOSE)
    not_in_hog: int  # detections that overlap none of HOG's boxes
    median_ms: float  # per frame
    per_clip: dict[str, tuple[int, int, int]]  # clip -> frames with a face, detections, frames


def run_clips(detect: Detect, clips: Clips) -> tuple[Found, list[float]]:
    """Boxes and scores per frame per clip, and ms per frame (after one warm-up call)."""
    detect(next(iter(clips.values()))[0])
    out, ms = {}, []
    for name, frames in clips.items():
        found = []
        for frame in frames:
            start = time.perf_counter()
            boxes, scores = detect(frame)
            ms.append(1000 * (time.perf_counter() - start))
            found.append((np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(scores, np.float32).reshape(-1)))
        out[name] = found
    return out, ms


def _agreement(found: Found, hog: Found) -> tuple[int, int, int]:
    """HOG's boxes, how many of them ``found`` matches (IoU >= IOU_LOOSE), ``found``'s boxes matching none."""
    hog_total = hog_found = extra = 0
    for clip, frames in found.items():
        for (boxes, scores), (ref, _) in zip(frames, hog[clip], strict=True):
            taken, _ = match(boxes, scores, ref, IOU_LOOSE)
            hog_total += len(ref)
            hog_found += int((taken >= 0).sum())
            extra += int((taken < 0).sum())
    return hog_total, hog_found, extra


def video_records(candidates: list[Candidate], clips: Clips) -> list[VideoRow]:
    """Per detector: per-clip frames with a face and detections, agreement with HOG (upsample 1), ms."""
    runs = {c.name: run_clips(c.detect, clips) for c in candidates if c.detect and not c.slow}
    hog = runs[HOG_REFERENCE][0]
    records = []
    for name, (found, ms) in runs.items():
        per_clip = {
            clip: (sum(len(b) > 0 for b, _ in frames), sum(len(b) for b, _ in frames), len(frames))
            for clip, frames in found.items()
        }
        hog_total, hog_found, extra = _agreement(found, hog)
        records.append(
            VideoRow(
                name, sum(v[2] for v in per_clip.values()), sum(v[0] for v in per_clip.values()),
                sum(v[1] for v in per_clip.values()), hog_found / max(hog_total, 1), extra,
                statistics.median(ms), per_clip,
            )
        )
    return records


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
    per_image = [cast(dict[str, str], r["per_image"]) for r in rows]
    for name in per_image[0]:
        print(f"{name:<28}" + "".join(f"{cells[name]:>16}" for cells in per_image))


def print_landmarks(records: list[LandmarkRow]) -> None:
    """Landmark error from each detector's box, beside HOG's on the same faces."""
    print("\n== 5-point landmarks from the detector's box vs dlib's 68-point truth, original size")
    print("error = mean point distance / outer-eye-corner distance, on the faces this row and HOG up 1 both find")
    head = (
        f"{'box from':<34}{'faces':>6}{'median':>8}{'mean':>8}{'max':>8}"
        f"{'HOG med':>9}{'HOG mean':>9}{'worse/better':>14}"
    )
    print(head)
    print("-" * len(head))
    for r in records:
        print(
            f"{r.detector:<34}{r.faces:>6}{r.median:>8.4f}{r.mean:>8.4f}{r.max:>8.4f}"
            f"{r.hog_median:>9.4f}{r.hog_mean:>9.4f}{f'{r.worse}/{r.better}':>14}"
        )


def print_video(records: list[VideoRow], sizes: dict[str, str]) -> None:
    """Per clip: frames with a face / frames and detections per frame; then one summary row per detector."""
    print("\n== videos: turned, tilted and small faces (no ground truth), frames at their own size")
    print("per clip: frames with >= 1 face / frames, detections per frame")
    print(f"{'clip':<44}" + "".join(f"{r.detector[:20]:>22}" for r in records))
    for clip, size in sizes.items():
        cells = ""
        for r in records:
            with_face, dets, frames = r.per_clip[clip]
            cells += f"{f'{with_face}/{frames}':>14}{dets / frames:>8.2f}"
        print(f"{clip[:34] + ' ' + size:<44}{cells}")
    head = f"{'detector':<34}{'frames>=1':>12}{'det/frame':>10}{'finds HOGs':>11}{'not in HOG':>11}{'ms/frame':>9}"
    print(f"\nall clips; 'finds HOGs': share of HOG up 1's boxes it also finds (IoU >= {IOU_LOOSE})")
    print(head)
    print("-" * len(head))
    for r in records:
        print(
            f"{r.detector:<34}{f'{r.frames_with_face}/{r.frames}':>12}{r.detections / r.frames:>10.2f}"
            f"{r.finds_hog:>11.1%}{r.not_in_hog:>11}{r.median_ms:>9.1f}"
        )


def load_clips() -> tuple[Clips, dict[str, str]]:
    """The clips that exist here (frames), and "WxH, every n" per clip for the table."""
    clips: Clips = {}
    sizes: dict[str, str] = {}
    for relative, step in CLIPS:
        path = _data() / relative
        frames = read_clip(path, step) if path.is_file() else []
        if not frames:
            print(f"note: {path} missing or unreadable; left out", file=sys.stderr)
            continue
        clips[path.name] = frames
        sizes[path.name] = f"{frames[0].shape[1]}x{frames[0].shape[0]}" + (f"/{step}" if step > 1 else "")
    return clips, sizes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per image (the best counts)")
    parser.add_argument("--sizes", default="original,640x480", help="comma-separated: original and/or WxH")
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime threads of the ONNX detectors")
    parser.add_argument("--reference", action="store_true", help="add dlib's own CNN (seconds per image)")
    parser.add_argument("--no-video", action="store_true", help="skip the video section")
    args = parser.parse_args()

    folder = _data() / "faces" / "dlib-examples" / "examples" / "faces"
    truth = read_truth(folder)
    print(f"{len(truth)} images, {sum(int((~ig).sum()) for _, _, ig in truth)} faces from {folder}")
    print(f"hit = IoU >= {IOU_STRICT} with a truth box; IoU >= {IOU_LOOSE} also shown (box conventions differ)")
    candidates = detectors(args.threads, reference=args.reference)
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
    landmarks = landmark_records(candidates, read_landmarks(folder))
    print_landmarks(landmarks)
    video: list[VideoRow] = []
    if not args.no_video:
        clips, sizes = load_clips()
        if clips:
            video = video_records(candidates, clips)
            print_video(video, sizes)

    OUT.mkdir(parents=True, exist_ok=True)
    out = OUT / "detect_recall.json"
    config = {"iou_strict": IOU_STRICT, "iou_loose": IOU_LOOSE, "repeats": args.repeats, "threads": args.threads}
    result = {"config": config, "data": str(folder), "results": records, "landmarks": [asdict(r) for r in landmarks],
              "video": [asdict(r) for r in video]}
    out.write_text(json.dumps(result, indent=1))
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
