"""People counting on MOT15 clips: HOG or CNN person detector + ByteTrack-style tracker, against MOT ground truth.

Run:  python bench/counting.py [--data DIR] [--sequence PETS09-S2L1 --sequence TUD-Campus] [--cnn nanodet:416 ...]
      python bench/counting.py --tune TUD-Campus   (the CNN tracker-setting grid, on that clip only)

For PETS09-S2L1 (OpenCV's vtest.avi, 795 frames 768x576, 19 people) and TUD-Campus (71 frames
640x480, 8 people), side by side in one run:

- reference "peak": the largest number of HOG detections in any one frame, what a user counting
  per frame would report (a count only);
- reference "IoU link": the same HOG detections linked frame to frame (a new id whenever a box has
  no IoU >= 0.2 partner in the previous frame: our Tracker with min_hits=1, max_age=0, no low-score
  stage), counting every id;
- faceplane without and with the MOG2 foreground filter, every frame and at ~5 analysed frames/s;
- the CNN object detector (``faceplane.objects.ObjectDetector``, person class) at each ``--cnn
  MODEL:SIZE``, with its own tracker settings (``CNN_TRACKER``: its scores are probabilities in
  [0, 1], HOG's are SVM margins), chosen by ``--tune`` on TUD-Campus alone and reported on PETS09
  unchanged;
- where the model has re-identification settings (``REID_SETTINGS``: colour descriptors of the boxes
  let a track that lost its person take it back instead of a new id), the same tracker with them
  ("+ reid"), every frame and at ~5 fps. They were chosen on TUD-Campus and the first half of
  PETS09-S2L1, so ``--halves`` adds every CNN row's figures on each half of the clip: the second half
  is the held-out one.

Columns: detection precision/recall (IoU >= 0.5, after the foreground filter; for the CNN, of the
boxes scoring >= the tracker's ``high_score``: weaker ones only extend tracks), MOTA and IDF1 of the
reported tracks, id switches, the count (every confirmed id, and ids reported in >= K analysed frames)
against the number of ground-truth ids (in the analysed frames), and milliseconds per analysed frame
on one core (detector + MOG2 + tracker, and the colour descriptors for "+ reid"; decoding excluded).
Each detector runs once per frame; its rows reuse those detections.
Writes bench/out/counting.json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from _mot import Boxes, clear_mot, detection_pr, idf1, read_mot_gt
from faceplane.errors import FaceplaneError
from faceplane.video.appearance import DESCRIPTOR_SIZE, describe
from faceplane.video.object_tracks import REID_SETTINGS, TRACKER_SETTINGS
from faceplane.video.people import ForegroundFilter, PersonDetector
from faceplane.video.tracker import Tracker

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
MOT = "video/mot15/benchmarks/MOT15"
VIDEOS = {
    "PETS09-S2L1": "video/opencv-doc-vtest/usr/share/doc/opencv-doc/examples/data/vtest.avi",
    "TUD-Campus": f"{MOT}/TUD-Campus/TUD-Campus.mp4",
}
# Chosen once for both clips (see the PersonDetector docstring and the report of issue 3).
TRACKER: dict[str, Any] = {"high_score": 0.8, "low_score": 0.0, "match_iou": 0.2, "min_hits": 3, "max_age": 30}
FOREGROUND = 0.2
MIN_FRAMES = 5  # count rule: a person is an id reported in at least this many analysed frames
# For the CNNs' [0, 1] person scores, per model: what the video engine uses (chosen with --tune on TUD-Campus).
CNN_TRACKER: dict[str, dict[str, Any]] = {m: TRACKER_SETTINGS[m] for m in ("nanodet", "centernet")}
CNN_REID = {m: REID_SETTINGS[m] for m in CNN_TRACKER}  # None: the model has none
CNN_MIN_SCORE = 0.1  # what the detector keeps; the tracker's low_score stage uses 0.1..high_score
TUNE_GRID: dict[str, tuple[Any, ...]] = {
    "high_score": (0.4, 0.5, 0.6, 0.7), "low_score": (0.1, 0.2, 0.3), "match_iou": (0.2, 0.3),
    "min_hits": (2, 3, 5), "max_age": (30,),
}  # fmt: skip


@dataclass
class Detections:
    """Every frame's person detections (one row per box) and the time the detector took per frame."""

    frame: np.ndarray  # (M,) int64
    xyxy: np.ndarray  # (M, 4) float32 pixels
    score: np.ndarray  # (M,) float32: HOG's SVM margin or the CNN's probability
    n_frames: int
    det_ms: float


def _frames(path: Path):
    cap = cv2.VideoCapture(str(path))
    try:
        while True:
            ok, bgr = cap.read()
            if not ok:
                return
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    finally:
        cap.release()


def _cnn(model: str, size: int) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """The CNN person detector as HOG's ``detect``: one core, low threshold (the tracker thresholds)."""
    from faceplane.objects import ObjectDetector

    detector = ObjectDetector(model=model, classes=("person",), input_size=size, min_score=CNN_MIN_SCORE,
                              num_threads=1)  # fmt: skip

    def detect(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        objs = detector.detect(rgb)
        return objs.xyxy, objs.score

    return detect


def _detect_all(path: Path, detect: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]) -> Detections:
    frames, boxes, scores, seconds, n = [], [], [], 0.0, 0
    for n, rgb in enumerate(_frames(path), start=1):
        start = time.perf_counter()
        xyxy, score = detect(rgb)
        seconds += time.perf_counter() - start
        frames.append(np.full(len(score), n - 1))
        boxes.append(xyxy)
        scores.append(score)
    return Detections(np.concatenate(frames), np.concatenate(boxes), np.concatenate(scores), n, 1000 * seconds / n)


def _track(path: Path, det: Detections, step: int, tracker: Tracker, foreground: float) -> dict:
    """Run the tracker over every ``step``-th frame; returns the kept detections, tracks and timing."""
    keep_filter = ForegroundFilter(min_fraction=foreground) if foreground else None
    kept, hyp_rows = np.zeros(len(det.frame), bool), []
    life: dict[int, int] = {}
    seconds = 0.0
    for f, rgb in enumerate(_frames(path)):
        if f % step:
            continue
        rows = np.flatnonzero(det.frame == f)
        start = time.perf_counter()
        if keep_filter is not None:
            rows = rows[keep_filter(rgb, det.xyxy[rows])]
        appearance = None
        if tracker.reid is not None:  # as ObjectTracks: only the boxes that may start or take back a track
            appearance = np.zeros((len(rows), DESCRIPTOR_SIZE), np.float32)
            strong = det.score[rows] >= tracker.high_score
            appearance[strong] = describe(rgb, det.xyxy[rows[strong]])
        tracks = tracker.update(det.xyxy[rows], det.score[rows], appearance)
        seconds += time.perf_counter() - start
        kept[rows] = True
        for tid, box in zip(tracks.track_id.tolist(), tracks.xyxy, strict=True):
            hyp_rows.append((f, tid, box))
            life[tid] = life.get(tid, 0) + 1
    tracker.flush()
    n = len(range(0, det.n_frames, step))
    hyp = Boxes.from_rows([r[0] for r in hyp_rows], [r[1] for r in hyp_rows], [r[2][None] for r in hyp_rows])
    return {"kept": kept, "hyp": hyp, "life": life, "extra_ms": 1000 * seconds / n}


def _row(name: str, seq: str, gt: Boxes, det: Detections, step: int, fps: float, run: dict,
         pr_min_score: float = -np.inf, span: tuple[int, int] | None = None) -> dict:  # fmt: skip
    """One table row; detection precision/recall count the boxes scoring >= ``pr_min_score``.

    ``span``: only frames ``[first, stop)`` of the run (a half of the clip): the tracks are those of the
    whole run, counted where seen in at least MIN_FRAMES analysed frames of the span.
    """
    first, stop = span or (0, det.n_frames)
    frames = np.arange(0, det.n_frames, step)
    frames = frames[(frames >= first) & (frames < stop)]
    if span is not None:
        in_span = np.isin(run["hyp"].frame, frames)
        ids, life = np.unique(run["hyp"].ident[in_span], return_counts=True)
        run = run | {"hyp": run["hyp"].select(in_span), "life": dict(zip(ids.tolist(), life.tolist(), strict=True))}
        name = f"{name}, frames {first}-{stop - 1}"
    gt_s = gt.select(np.isin(gt.frame, frames))
    det_boxes = Boxes(det.frame, np.zeros(len(det.frame), np.int64), det.xyxy, np.ones(len(det.frame), bool))
    used = run["kept"] & np.isin(det.frame, frames) & (det.score >= pr_min_score)
    precision, recall = detection_pr(gt_s, det_boxes.select(used))
    mot = clear_mot(gt_s, run["hyp"])
    n_gt = len(np.unique(gt_s.ident))
    count_k = sum(v >= MIN_FRAMES for v in run["life"].values())
    return {
        "sequence": seq, "method": name, "analysed_fps": fps / step, "frames": len(frames),
        "precision": precision, "recall": recall, "mota": mot["mota"], "idf1": idf1(gt_s, run["hyp"]),
        "id_switches": mot["id_switches"], "count_all": len(run["life"]), "count_k": count_k, "gt_count": n_gt,
        "count_error": abs(count_k - n_gt), "ms_per_frame": det.det_ms + run["extra_ms"],
    }  # fmt: skip


def _clip(data: Path, seq: str) -> tuple[Path, Boxes, float]:
    video = data / VIDEOS[seq]
    return video, read_mot_gt(data / MOT / seq / "gt" / "gt.txt"), cv2.VideoCapture(str(video)).get(cv2.CAP_PROP_FPS)


def _hog_rows(data: Path, seq: str) -> list[dict]:
    video, gt, fps = _clip(data, seq)
    det = _detect_all(video, PersonDetector().detect)
    step5 = max(1, round(fps / 5))
    rows = []
    high = TRACKER["high_score"]
    naive = Tracker(high_score=high, low_score=high, match_iou=0.2, min_hits=1, max_age=0)
    link = _track(video, det, 1, naive, 0.0)
    rows.append(_row("reference: IoU link, every id", seq, gt, det, 1, fps, link) | {"count_k": len(link["life"])})
    configs = [("faceplane, no foreground filter", 1, 0.0), ("faceplane + MOG2", 1, FOREGROUND)]
    configs.append(("faceplane + MOG2", step5, FOREGROUND))
    for name, step, foreground in configs:
        rows.append(_row(name, seq, gt, det, step, fps, _track(video, det, step, Tracker(**TRACKER), foreground)))
    strong = det.score >= TRACKER["high_score"]
    peak = int(np.bincount(det.frame[strong], minlength=det.n_frames).max())
    rows.insert(0, {"sequence": seq, "method": "reference: peak detections in a frame", "count_k": peak,
                    "gt_count": rows[0]["gt_count"], "count_error": abs(peak - rows[0]["gt_count"]),
                    "analysed_fps": fps, "frames": det.n_frames, "ms_per_frame": det.det_ms})  # fmt: skip
    return rows


def _cnn_rows(data: Path, seq: str, model: str, size: int, halves: bool = False) -> list[dict]:
    """The CNN at one input size: every frame, at ~5 fps, at ~5 fps with the MOG2 filter, and with re-id."""
    video, gt, fps = _clip(data, seq)
    det = _detect_all(video, _cnn(model, size))
    step5 = max(1, round(fps / 5))
    rows = []
    settings, reid = CNN_TRACKER[model], CNN_REID[model]
    configs = [("", 1, 0.0, None), ("", step5, 0.0, None), (" + MOG2", step5, FOREGROUND, None)]
    if reid is not None:
        configs += [(" + reid", 1, 0.0, reid), (" + reid", step5, 0.0, reid)]
    half = det.n_frames // 2
    spans = [None, (0, half), (half, det.n_frames)] if halves else [None]
    for name, step, foreground, reid_ in configs:
        run = _track(video, det, step, Tracker(**settings, reid=reid_), foreground)
        for span in spans:
            rows.append(_row(f"CNN {model} {size}{name}", seq, gt, det, step, fps, run, settings["high_score"], span))
    return rows


def _sequence(data: Path, seq: str, cnn: list[tuple[str, int]], halves: bool = False) -> list[dict]:
    rows = _hog_rows(data, seq)
    for model, size in cnn:
        try:
            rows += _cnn_rows(data, seq, model, size, halves)
        except (ImportError, FaceplaneError) as exc:  # a model not installed: reported, HOG rows still shown
            print(f"skipped CNN {model} {size} on {seq}: {type(exc).__name__}: {exc}", file=sys.stderr)
    for r in rows:
        r["count_error"] = abs(r["count_k"] - r["gt_count"])
    return rows


def _tune(data: Path, seq: str, model: str, size: int) -> list[dict]:
    """Every CNN_TRACKER candidate of TUNE_GRID on one clip, every frame, no foreground filter.

    Best first: a count within 15% of the truth (the issue's target), then the highest MOTA.
    """
    video, gt, fps = _clip(data, seq)
    det = _detect_all(video, _cnn(model, size))
    rows = []
    for values in itertools.product(*TUNE_GRID.values()):
        settings = dict(zip(TUNE_GRID, values, strict=True))
        if settings["low_score"] >= settings["high_score"]:
            continue
        run = _track(video, det, 1, Tracker(**settings), 0)
        rows.append(_row(f"{model} {size} {settings}", seq, gt, det, 1, fps, run, settings["high_score"]))
    return sorted(rows, key=lambda r: (r["count_error"] > 0.15 * r["gt_count"], -r["mota"], r["count_error"]))


def _print(rows: list[dict]) -> None:
    cols = [("sequence", "{}"), ("method", "{}"), ("analysed_fps", "{:.1f}"), ("frames", "{}"),
            ("precision", "{:.2f}"), ("recall", "{:.2f}"), ("mota", "{:.3f}"), ("idf1", "{:.3f}"),
            ("id_switches", "{}"), ("count_all", "{}"), ("count_k", "{}"), ("gt_count", "{}"),
            ("count_error", "{}"), ("ms_per_frame", "{:.0f}")]  # fmt: skip
    heads = [c if c != "count_k" else f"count (>={MIN_FRAMES} frames)" for c, _ in cols]
    print("| " + " | ".join(heads) + " |")
    print("|" + "|".join("---" for _ in cols) + "|")
    for r in rows:
        print("| " + " | ".join(fmt.format(r[c]) if c in r else "-" for c, fmt in cols) + " |")


def _model_size(text: str) -> tuple[str, int]:
    model, _, size = text.partition(":")
    if model not in CNN_TRACKER or not size.isdigit():
        raise argparse.ArgumentTypeError(f"expected MODEL:SIZE, MODEL one of {list(CNN_TRACKER)}, got {text!r}")
    return model, int(size)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_data = os.environ.get("FACEPLANE_DATA") or str(REPO.parent / "shared" / "data")
    parser.add_argument("--data", type=Path, default=Path(default_data), help="shared data root ($FACEPLANE_DATA)")
    parser.add_argument("--sequence", action="append", choices=sorted(VIDEOS), help="default: both")
    parser.add_argument("--threads", type=int, default=1, help="OpenCV threads (default 1: per-core timing)")
    parser.add_argument("--cnn", action="append", type=_model_size, help="MODEL:SIZE (nanodet:416, centernet:512)")
    parser.add_argument("--tune", choices=sorted(VIDEOS), help="print the CNN tracker-setting grid on this clip")
    parser.add_argument("--halves", action="store_true", help="also each CNN row on each half of the clip")
    args = parser.parse_args()
    cv2.setNumThreads(args.threads)
    cnn = args.cnn or [("nanodet", 416), ("centernet", 512)]
    if args.tune:
        _print(_tune(args.data, args.tune, *cnn[0])[:15])
        return 0
    rows = [r for seq in args.sequence or list(VIDEOS) for r in _sequence(args.data, seq, cnn, args.halves)]
    print(f"HOG tracker {TRACKER}, MOG2 foreground >= {FOREGROUND}, count = ids reported in >= {MIN_FRAMES} frames")
    print(f"CNN trackers {CNN_TRACKER}, re-id {CNN_REID}, detector min_score {CNN_MIN_SCORE}\n")
    _print(rows)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "counting.json").write_text(json.dumps(rows, indent=2))
    print(f"\nwrote {OUT / 'counting.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
