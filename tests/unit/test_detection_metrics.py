"""bench/_detection_metrics.py on hand-made boxes (AP worked out by hand), and bench/_object_sets.py on the real sets.

The hand-made case has everything the object bench relies on: a duplicate detection (a false positive,
not a second hit), a detection inside a crowd region (ignored), a stray one (false positive), two
images pooled into one ranking, and a lower-scored detection that must not take a box from a better one.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from _detection_metrics import Matched, average_precision, best_f1, match_image, precision_recall
from _object_sets import load_coco128, load_ngsim

A, B = [0, 0, 10, 10], [20, 0, 30, 10]
CROWD = [40, 0, 60, 20]


def _two_images() -> Matched:
    first = match_image(
        np.array([A, B]),
        np.array([A, [1, 0, 11, 10], [42, 2, 50, 10], [100, 100, 110, 110]]),  # hit, duplicate, in crowd, stray
        np.array([0.9, 0.8, 0.7, 0.6]),
        ignore_xyxy=np.array([CROWD]),
    )
    second = match_image(np.array([A]), np.array([A]), np.array([0.75]))
    return Matched.concat([first, second])


def test_duplicates_are_false_positives_and_crowd_hits_are_dropped():
    m = _two_images()
    assert m.n_gt == 3
    assert m.score.tolist() == pytest.approx([0.9, 0.8, 0.6, 0.75])  # the crowd hit (0.7) is gone
    assert m.tp.tolist() == [True, False, False, True]


def test_average_precision_is_the_area_under_the_precision_envelope():
    # ranking: 0.9 TP, 0.8 FP, 0.75 TP, 0.6 FP over 3 boxes -> recall 1/3 at precision 1, 2/3 at 2/3
    assert average_precision(_two_images()) == pytest.approx(1 / 3 * 1 + 1 / 3 * 2 / 3)
    # a dip then a recovery: the envelope takes the later, higher precision (all-point interpolation)
    dip = Matched(np.array([0.9, 0.8, 0.7]), np.array([False, True, True]), n_gt=2)
    assert average_precision(dip) == pytest.approx(2 / 3)
    assert np.isnan(average_precision(Matched(np.zeros(0), np.zeros(0, bool), n_gt=0)))


def test_precision_and_recall_at_a_threshold():
    assert precision_recall(_two_images(), 0.7) == pytest.approx((2 / 3, 2 / 3))
    assert precision_recall(_two_images()) == pytest.approx((2 / 4, 2 / 3))
    p, r = precision_recall(_two_images(), 0.95)
    assert np.isnan(p) and r == 0.0


def test_the_best_f1_threshold_takes_every_detection_of_equal_score():
    # thresholds 0.9: P 1, R 1/4 (F1 0.4); 0.8 takes both 0.8s: P 2/3, R 1/2 (F1 0.57); 0.5: P 1/2, R 1/2
    tied = Matched(np.array([0.9, 0.8, 0.8, 0.5]), np.array([True, True, False, False]), n_gt=4)
    assert best_f1(tied) == pytest.approx((2 / 3, 1 / 2, 0.8))
    assert all(np.isnan(best_f1(Matched(np.array([0.9]), np.array([False]), n_gt=3))))


def test_the_best_score_takes_the_box_even_when_a_weaker_one_overlaps_it_more():
    loose, tight = [0, 0, 12, 10], A  # IoU with A: 0.83 and 1.0
    m = match_image(np.array([A]), np.array([tight, loose]), np.array([0.5, 0.9]))
    assert m.score.tolist() == pytest.approx([0.9, 0.5]) and m.tp.tolist() == [True, False]


def test_a_detection_takes_the_box_it_overlaps_most():
    # the first detection overlaps box 0 (IoU 0.67) and box 1 (1.0); the second only box 0 (0.54)
    m = match_image(np.array([[0, 0, 10, 10], [2, 0, 12, 10]]), np.array([[2, 0, 12, 10], [-3, 0, 7, 10]]),
                    np.array([0.9, 0.8]))  # fmt: skip
    assert m.tp.tolist() == [True, True]  # taking the first box above 0.5 would leave the second detection unmatched


def test_optional_detections_count_when_they_match_and_vanish_when_they_do_not():
    m = match_image(np.array([A]), np.array([A, B]), np.array([0.9, 0.8]), optional=np.array([True, True]))
    assert m.tp.tolist() == [True] and m.n_gt == 1


def test_a_detection_on_a_real_box_inside_a_crowd_is_a_hit():
    m = match_image(np.array([[42, 2, 50, 10]]), np.array([[42, 2, 50, 10]]), np.array([0.9]),
                    ignore_xyxy=np.array([CROWD]))  # fmt: skip
    assert m.tp.tolist() == [True]


def test_the_sets_read_as_their_source_notes_count_them(data):
    """Box counts from objects/coco128/SOURCE.txt and objects/ngsim-us101-vehicles/SOURCE.txt."""
    counts = {}
    for split in ("val2017", "train2017"):
        truth = load_coco128(data, split)
        names = np.concatenate([t.names for t in truth])
        crowd = np.concatenate([t.crowd for t in truth])
        counts[split] = {n: (int(((names == n) & ~crowd).sum()), int(((names == n) & crowd).sum()))
                         for n in ("person", "bicycle", "car", "motorcycle", "bus", "truck")}  # fmt: skip
        assert len(truth) == 128 and all(t.path.exists() for t in truth)
    assert counts["val2017"] == {"person": (350, 0), "bicycle": (10, 0), "car": (24, 0), "motorcycle": (6, 0),
                                 "bus": (6, 0), "truck": (9, 0)}  # fmt: skip
    assert counts["train2017"] == {"person": (254, 5), "bicycle": (6, 0), "car": (46, 1), "motorcycle": (5, 0),
                                   "bus": (7, 0), "truck": (12, 0)}  # fmt: skip
    ngsim = load_ngsim(data)
    assert [int(t.path.stem) for t in ngsim] == list(range(156))
    assert sum(len(t.names) for t in ngsim) == 4438
    # YOLO -> pixels: 000000000139.jpg (640x426) has COCO's person box [412.8, 157.61, 53.05, 138.01] (x, y, w, h)
    first = load_coco128(data, "val2017")[0]
    people = first.xyxy[first.names == "person"]
    assert first.path.name == "000000000139.jpg"
    assert people[0] == pytest.approx([412.8, 157.61, 412.8 + 53.05, 157.61 + 138.01], abs=0.05)
