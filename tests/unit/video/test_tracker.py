"""The ByteTrack-style tracker on synthetic boxes: ids, occlusion, ageing, tentative tracks, arguments."""

from __future__ import annotations

import numpy as np
import pytest

from faceplane.errors import InvalidArgumentError
from faceplane.video.tracker import Tracker, Tracks


def _box(cx: float, cy: float, w: float = 40.0, h: float = 100.0) -> list[float]:
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]


def _walk(start: tuple[float, float], step: tuple[float, float], t: int) -> list[float]:
    return _box(start[0] + step[0] * t, start[1] + step[1] * t)


def _run(tracker: Tracker, frames: list[list[list[float]]], score: float = 0.9) -> list[Tracks]:
    return [tracker.update(np.asarray(boxes, np.float32).reshape(-1, 4), [score] * len(boxes)) for boxes in frames]


def test_linear_motion_keeps_one_id():
    tracker = Tracker()
    out = _run(tracker, [[_walk((100, 200), (6, 1), t)] for t in range(40)])
    assert len(out[0]) == 0  # tentative on the first frame (min_hits=2)
    ids = {int(i) for tracks in out for i in tracks.track_id}
    assert ids == {1}
    assert all(len(tracks) == 1 for tracks in out[1:])
    assert tracker.active_ids() == [1]


def test_reported_box_and_det_index_are_the_detections():
    tracker = Tracker(min_hits=1)
    tracker.update([_box(100, 100), _box(300, 100)], [0.9, 0.8])
    dets = np.array([_box(303, 101), _box(102, 100)], np.float32)
    tracks = tracker.update(dets, [0.7, 0.95])
    assert tracks.track_id.tolist() == [1, 2]
    assert tracks.det_index.tolist() == [1, 0]
    np.testing.assert_array_equal(tracks.xyxy, dets[[1, 0]])
    np.testing.assert_allclose(tracks.score, [0.95, 0.7])
    assert tracks.xyxy.dtype == np.float32 and tracks.track_id.dtype == np.int64


def test_crossing_objects_keep_their_ids():
    # two people walk towards each other on the same line and pass, boxes overlapping for a few frames
    tracker = Tracker()
    frames = [[_walk((100, 200), (8, 0), t), _walk((500, 200), (-8, 0), t)] for t in range(50)]
    out = _run(tracker, frames)
    ids = {int(i) for tracks in out for i in tracks.track_id}
    assert ids == {1, 2}
    # the id that started on the left is still the one furthest right at the end
    first, last = out[1], out[-1]
    left_id = int(first.track_id[np.argmin(first.xyxy[:, 0])])
    assert int(last.track_id[np.argmax(last.xyxy[:, 0])]) == left_id


def test_missed_detections_keep_the_id_through_prediction():
    tracker = Tracker(max_age=10)
    frames = [[_walk((100, 200), (10, 0), t)] if not 10 <= t < 16 else [] for t in range(30)]
    out = _run(tracker, frames)
    assert [len(out[t]) for t in range(10, 16)] == [0] * 6
    assert {int(i) for tracks in out for i in tracks.track_id} == {1}
    assert out[-1].track_id.tolist() == [1]  # found again 60 px further on


def test_low_score_detections_keep_a_track_but_do_not_start_one():
    tracker = Tracker(high_score=0.5, low_score=0.1, max_age=0)
    _run(tracker, [[_box(100, 100)]] * 3, score=0.9)
    # a weak detection of the same person keeps track 1 alive; max_age=0 would end it at a miss
    assert tracker.update([_box(102, 100)], [0.2]).track_id.tolist() == [1]
    assert tracker.ended == []
    # a weak detection somewhere else starts nothing, and the unmatched track 1 ends at once
    assert len(tracker.update([_box(400, 300)], [0.3])) == 0
    assert tracker.ended == [1]
    assert len(_run(tracker, [[_box(400, 300)]] * 3, score=0.3)[-1]) == 0
    assert tracker.active_ids() == []


def test_lost_track_ends_after_max_age():
    tracker = Tracker(max_age=5)
    _run(tracker, [[_box(100, 100)]] * 3)
    ended_at = []
    for t in range(10):
        tracker.update(np.zeros((0, 4)), [])
        if tracker.ended:
            ended_at.append((t, tracker.ended))
    assert ended_at == [(5, [1])]  # survives 5 missed updates, ends on the 6th
    assert tracker.active_ids() == []


def test_tentative_tracks_are_never_reported():
    tracker = Tracker(min_hits=3)
    # a detection that blinks (one frame on, one off) never gets 3 consecutive matches
    out = _run(tracker, [[_box(100, 100)] if t % 2 == 0 else [] for t in range(20)])
    assert all(len(tracks) == 0 for tracks in out)
    assert tracker.active_ids() == [] and tracker.flush() == []
    # three in a row confirm it, and the first id given is 1
    out = _run(tracker, [[_box(300, 100)]] * 3)
    assert [len(t) for t in out] == [0, 0, 1] and out[2].track_id.tolist() == [1]


def test_ids_are_never_reused():
    tracker = Tracker(max_age=0)
    seen = []
    for k in range(5):  # five people appear one after another in the same place
        for tracks in _run(tracker, [[_box(100, 100)]] * 3 + [[]]):
            seen.extend(tracks.track_id.tolist())
        assert tracker.ended == [k + 1]
    assert sorted(set(seen)) == [1, 2, 3, 4, 5]


def test_flush_ends_everything():
    tracker = Tracker()
    _run(tracker, [[_box(100, 100), _box(300, 100)]] * 2 + [[_box(300, 100), _box(500, 100)]])
    assert tracker.active_ids() == [1, 2]  # 1 is lost, 2 tracked, the third box is tentative
    assert tracker.flush() == [1, 2]
    assert tracker.ended == [1, 2] and tracker.active_ids() == []
    assert tracker.update(np.zeros((0, 4)), []).track_id.tolist() == []
    assert tracker.ended == []


@pytest.mark.parametrize("boxes", [np.zeros((0, 4), np.float32), [], np.zeros((0,))])
def test_empty_input(boxes):
    tracker = Tracker()
    tracks = tracker.update(boxes, [])
    assert len(tracks) == 0 and tracks.xyxy.shape == (0, 4)
    assert tracker.ended == [] and tracker.active_ids() == []


def test_empty_tracks():
    empty = Tracks.empty()
    assert len(empty) == 0 and empty.xyxy.shape == (0, 4) and empty.det_index.dtype == np.int64


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"high_score": 0.1, "low_score": 0.5}, "low_score"),
        ({"high_score": float("nan")}, "high_score"),
        ({"match_iou": 0.0}, "match_iou"),
        ({"match_iou": 1.5}, "match_iou"),
        ({"min_hits": 0}, "min_hits"),
        ({"min_hits": 2.5}, "min_hits"),
        ({"max_age": -1}, "max_age"),
    ],
)
def test_bad_arguments_raise(kwargs, name):
    with pytest.raises(ValueError, match=name):
        Tracker(**kwargs)


@pytest.mark.parametrize(
    ("boxes", "scores"),
    [
        ([[0, 0, 10]], [0.9]),
        ([[0, 0, 10, 10]], [0.9, 0.8]),
        ([[0, 0, 10, float("nan")]], [0.9]),
    ],
)
def test_bad_detections_raise(boxes, scores):
    with pytest.raises(InvalidArgumentError):
        Tracker().update(boxes, scores)


def test_scores_need_not_be_probabilities():
    # dlib HOG margins run to ~3: thresholds are on the detector's own scale
    tracker = Tracker(high_score=1.0, low_score=0.2, min_hits=1)
    assert tracker.update([_box(100, 100)], [2.7]).track_id.tolist() == [1]
    assert len(tracker.update([_box(400, 100)], [0.8])) == 0
