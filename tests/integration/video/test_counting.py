"""People counting on real MOT15 clips: HOG person detector + tracker against the ground-truth ids.

Tolerances come from bench/counting.py and the measured runs of these exact configurations (noted
beside each assert); they leave headroom for noise but fail a tracker that gives a new id per
detection (IoU linking frame to frame: 49 ids on TUD-Campus, 358 on PETS09) and a detector that finds nobody.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from faceplane.geometry import box_iou
from faceplane.video.people import PersonDetector
from faceplane.video.tracker import Tracker

pytestmark = pytest.mark.slow

MOT = Path("video/mot15/benchmarks/MOT15")
PETS_VIDEO = Path("video/opencv-doc-vtest/usr/share/doc/opencv-doc/examples/data/vtest.avi")
# As bench/counting.py: one setting for both clips.
TRACKER = {"high_score": 0.8, "low_score": 0.0, "match_iou": 0.2, "min_hits": 3, "max_age": 30}
MIN_FRAMES = 5  # a person is an id reported in at least this many analysed frames


def _read_gt(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MOTChallenge gt.txt -> 0-based frame (M,), id (M,), xyxy (M, 4); rows flagged 0 (ignore) dropped."""
    rows = np.loadtxt(path, delimiter=",", ndmin=2)
    rows = rows[rows[:, 6] != 0]
    xyxy = np.concatenate([rows[:, 2:4], rows[:, 2:4] + rows[:, 4:6]], axis=1)
    return rows[:, 0].astype(int) - 1, rows[:, 1].astype(int), xyxy


def _frames(path: Path, stop: int, step: int):
    import av

    with av.open(str(path)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index >= stop:
                return
            if index % step == 0:
                yield index, frame.to_ndarray(format="rgb24")


def _count(path: Path, gt_path: Path, *, stop: int, step: int) -> tuple[int, int, float]:
    """(people counted, people in the ground truth over the analysed frames, detection recall at IoU 0.5)."""
    g_frame, g_id, g_xyxy = _read_gt(gt_path)
    detector, tracker = PersonDetector(foreground=0.2), Tracker(**TRACKER)
    life: dict[int, int] = {}
    found = total = 0
    analysed = []
    for index, rgb in _frames(path, stop, step):
        analysed.append(index)
        xyxy, score = detector.detect(rgb)
        for tid in tracker.update(xyxy, score).track_id.tolist():
            life[tid] = life.get(tid, 0) + 1
        truth = g_xyxy[g_frame == index]
        total += len(truth)
        if len(truth) and len(xyxy):
            found += int((box_iou(truth, xyxy) >= 0.5).any(axis=1).sum())
    people = len(np.unique(g_id[np.isin(g_frame, analysed)]))
    return sum(n >= MIN_FRAMES for n in life.values()), people, found / max(total, 1)


def test_tud_campus_count(data: Path):
    tud = data / MOT / "TUD-Campus"
    counted, people, recall = _count(tud / "TUD-Campus.mp4", tud / "gt/gt.txt", stop=71, step=1)
    assert people == 8
    assert abs(counted - people) <= 3, counted  # measured 6
    assert recall >= 0.4, recall  # measured 0.52


def test_pets09_count(data: Path):
    # the first 300 frames (30 s) at every 2nd frame (5 fps): 150 HOG runs keep the test near 25 s
    counted, people, recall = _count(data / PETS_VIDEO, data / MOT / "PETS09-S2L1/gt/gt.txt", stop=300, step=2)
    assert people == 10
    # HOG misses small and crossing people for a few frames, so tracks fragment and the count runs high
    # (whole clip: 30 ids for 19 people, bench/counting.py); too few is the failure we must not see.
    assert people - 2 <= counted <= 2 * people, counted  # measured 16
    assert recall >= 0.75, recall  # measured 0.85


def _gt_crossings(gt_path: Path, *, x: float, frames: int) -> dict[str, int]:
    """Crossings of the vertical line at ``x`` by ground-truth feet in the first ``frames`` frames.

    Direction as faceplane's line from (x, 0) to (x, H): "in" = right to left on screen.
    """
    g_frame, g_id, g_xyxy = _read_gt(gt_path)
    counts = {"in": 0, "out": 0}
    for pid in np.unique(g_id):
        rows = np.flatnonzero((g_id == pid) & (g_frame < frames))
        feet_x = (g_xyxy[rows, 0] + g_xyxy[rows, 2])[np.argsort(g_frame[rows])] / 2
        side = np.sign(feet_x - x)
        steps = np.diff(side[side != 0])
        counts["in"] += int((steps < 0).sum())
        counts["out"] += int((steps > 0).sum())
    return counts


def test_engine_counts_line_crossings_on_pets09(data: Path):
    """The product path (`faceplane run --objects person --object-detector hog --line`): in/out counts on PETS09's
    first 30 s vs ground truth, with the HOG people detector (still selectable; the CNN is the default)."""
    from faceplane import Engine
    from faceplane.video import Line, LocalAnalyzer, VideoEngine, VideoSource
    from faceplane.video.analyzer import ObjectSettings

    video = VideoEngine(engine=Engine(), analyzer=LocalAnalyzer())
    source = VideoSource(str(data / PETS_VIDEO), fps=5, end_s=30.0)
    video.add_camera(source, lines=[Line.parse("0.5,0,0.5,1")], objects=ObjectSettings(("person",), "hog"))
    (summary,) = video.run()
    truth = _gt_crossings(data / MOT / "PETS09-S2L1/gt/gt.txt", x=384.0, frames=300)
    counted = summary.line_counts["line"]
    assert summary.frames == 150
    for direction in ("in", "out"):
        assert abs(counted[direction] - truth[direction]) <= 2, (counted, truth)  # measured in 7/7, out 3/2
    assert 8 <= summary.people_tracks <= 20, summary.people_tracks  # 10 people in these 30 s; measured 16
    assert summary.object_tracks == {"person": summary.people_tracks}
    assert summary.class_counts["line"] == {"person": counted}  # every crossing was a person's
