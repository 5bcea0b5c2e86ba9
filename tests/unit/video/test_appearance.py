"""Appearance re-identification: colour descriptors, their distance, and lost tracks taking their person back.

The tracker scenes use real frames 40-79 of PETS09-S2L1 (OpenCV's vtest.avi) and the MOT15 ground-truth
boxes of the people in them as detections, so the descriptors are those of real people in real light.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import cv2
import numpy as np
import pytest

from faceplane.errors import InvalidArgumentError
from faceplane.objects import COCO_CLASSES, Objects
from faceplane.video.analyzer import ObjectSettings
from faceplane.video.appearance import DESCRIPTOR_SIZE, Reid, appearance_distance, describe
from faceplane.video.object_tracks import REID_SETTINGS, TRACKER_SETTINGS, ObjectTracks
from faceplane.video.tracker import Tracker

PETS_VIDEO = Path("video/opencv-doc-vtest/usr/share/doc/opencv-doc/examples/data/vtest.avi")
PETS_GT = Path("video/mot15/benchmarks/MOT15/PETS09-S2L1/gt/gt.txt")
FIRST, STOP = 40, 80  # the frames of the scene: six people walking, two pairs side by side
HIDDEN = 11  # the ground-truth person hidden in frames 50-59 (1 s at 10 fps), as behind another person
IMPOSTOR = 15  # a person in other clothes, whose crop stands in for someone beside where HIDDEN was
REID = REID_SETTINGS["nanodet"]
SETTINGS = TRACKER_SETTINGS["nanodet"]


def _tracker(reid: Reid | None) -> Tracker:
    s = SETTINGS
    return Tracker(high_score=s["high_score"], low_score=s["low_score"], match_iou=s["match_iou"],
                   min_hits=int(s["min_hits"]), max_age=int(s["max_age"]), reid=reid)  # fmt: skip


@pytest.fixture(scope="module")
def scene(data: Path) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Per frame FIRST..STOP-1: ground-truth ids (N,), boxes (N, 4), their descriptors (N, D) and the RGB frame."""
    rows = np.loadtxt(data / PETS_GT, delimiter=",", ndmin=2)
    rows = rows[(rows[:, 6] != 0) & (rows[:, 0] - 1 >= FIRST) & (rows[:, 0] - 1 < STOP)]
    cap = cv2.VideoCapture(str(data / PETS_VIDEO))
    out = []
    try:
        for index in range(STOP):
            ok, bgr = cap.read()
            assert ok, index
            if index < FIRST:
                continue
            mine = rows[rows[:, 0] - 1 == index]
            xyxy = np.concatenate([mine[:, 2:4], mine[:, 2:4] + mine[:, 4:6]], axis=1).astype(np.float32)
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            out.append((mine[:, 1].astype(np.int64), xyxy, describe(rgb, xyxy), rgb))
    finally:
        cap.release()
    return out


def _play(scene, tracker: Tracker, *, impostor: bool = False, flat: bool = False) -> dict[int, list[int]]:
    """Run the scene with HIDDEN undetected in frames 50-59: ground-truth id -> the track ids it was given.

    ``impostor``: in frames 52-57 IMPOSTOR's descriptor also appears, on HIDDEN's true box moved one and
    a half widths to the right (no overlap with HIDDEN's predicted box, well inside the motion gate); its
    track ids are listed under -1. ``flat``: every descriptor the same (appearance tells nothing).
    """
    given: dict[int, list[int]] = {}
    for index, (ids, xyxy, feats, _) in enumerate(scene, start=FIRST):
        hidden = (ids == HIDDEN) & (50 <= index < 60)
        if impostor and 52 <= index < 58:
            box = xyxy[ids == HIDDEN][0]
            moved = box + 1.5 * (box[2] - box[0]) * np.float32([1, 0, 1, 0])
            ids, xyxy = np.append(ids, -1), np.concatenate([xyxy, moved[None]])
            feats, hidden = np.concatenate([feats, feats[ids[:-1] == IMPOSTOR]]), np.append(hidden, False)
        ids, xyxy, feats = ids[~hidden], xyxy[~hidden], feats[~hidden]
        if flat:
            feats = np.full_like(feats, 1 / np.sqrt(DESCRIPTOR_SIZE))
        tracks = tracker.update(xyxy, np.full(len(ids), 0.9, np.float32), feats)
        for tid, row in zip(tracks.track_id.tolist(), tracks.det_index.tolist(), strict=True):
            seen = given.setdefault(int(ids[row]), [])
            if tid not in seen:
                seen.append(tid)
    return given


def test_a_hidden_person_keeps_their_id(scene):
    given = _play(scene, _tracker(REID))
    assert len(given) == 6 and all(len(tids) == 1 for tids in given.values()), given  # one id each...
    assert len({tids[0] for tids in given.values()}) == 6  # ...and no two people share one
    # without appearance the same scene splits HIDDEN: the prediction has left them after 1 s unseen
    plain = _play(scene, _tracker(None))
    assert len(plain[HIDDEN]) == 2, plain


def test_someone_in_other_clothes_does_not_take_a_lost_id(scene):
    first, second = scene[0], scene[-1]
    # the precondition: HIDDEN and IMPOSTOR dress differently, HIDDEN looks like themself 4 s later
    far = appearance_distance(first[2][first[0] == HIDDEN], first[2][first[0] == IMPOSTOR])[0, 0]
    near = appearance_distance(first[2][first[0] == HIDDEN], second[2][second[0] == HIDDEN])[0, 0]
    assert near <= REID.max_distance < far, (near, far)
    given = _play(scene, _tracker(REID), impostor=True)
    assert len(given[-1]) == 1 and given[-1][0] not in given[HIDDEN], given  # a new id for the impostor
    assert all(len(given[g]) == 1 for g in given if g != -1), given  # HIDDEN got theirs back, nobody swapped
    # with appearance telling nothing, the impostor takes the lost id: colour is what keeps them apart
    blind = _play(scene, _tracker(REID), impostor=True, flat=True)
    assert blind[-1] == blind[HIDDEN][:1], blind


def test_describe_shapes_and_unusable_boxes():
    image = np.zeros((120, 160, 3), np.uint8)
    image[:, :80] = (200, 40, 40)  # a red left half, a black right half
    boxes = np.array([[10, 0, 60, 120], [90, 0, 150, 120], [0, 0, 3, 3], [200, 200, 260, 300]], np.float32)
    feats = describe(image, boxes)
    assert feats.shape == (4, DESCRIPTOR_SIZE) and feats.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(feats[:2], axis=1), 1.0, rtol=1e-5)
    assert not feats[2:].any()  # too small, outside the image: zero rows, which match nothing
    distance = appearance_distance(feats, feats)
    assert distance[0, 0] == pytest.approx(0, abs=1e-3) and distance[0, 1] == pytest.approx(1.0)
    assert distance[2, 2] == pytest.approx(1.0)
    assert describe(image, np.zeros((0, 4))).shape == (0, DESCRIPTOR_SIZE)


def test_revive_respects_the_gate_and_the_distance():
    reid = Reid(max_distance=0.4, gate=0.3)
    a, b = np.eye(DESCRIPTOR_SIZE, dtype=np.float32)[:2]
    track = np.array([[100, 100, 130, 200]], np.float32)  # 100 px tall, centre (115, 150)
    near, further = track + np.float32([20, 0, 20, 0]), track + np.float32([100, 0, 100, 0])
    dets = np.concatenate([near, further])
    # the near box is within 0.3 heights after 0 misses; the further one only after 3 (1.2 heights)
    assert reid.revive(a[None], track, np.array([0]), np.stack([a, a]), dets).tolist() == [[0, 0]]
    assert reid.revive(a[None], track, np.array([3]), np.stack([b, a]), dets).tolist() == [[0, 1]]
    assert reid.revive(a[None], track, np.array([3]), np.stack([b, b]), dets).tolist() == []  # nobody alike
    assert reid.revive(np.zeros((1, DESCRIPTOR_SIZE), np.float32), track, np.array([0]), a[None], near).shape == (0, 2)


def test_blend_is_a_moving_average_of_unit_rows():
    reid = Reid(momentum=0.75)
    a, b = np.eye(DESCRIPTOR_SIZE, dtype=np.float32)[:2]
    none = np.zeros(DESCRIPTOR_SIZE, np.float32)
    out = reid.blend(np.stack([a, none, a]), np.stack([b, b, none]))
    np.testing.assert_allclose(out[0], (0.75 * a + 0.25 * b) / np.linalg.norm(0.75 * a + 0.25 * b), rtol=1e-6)
    np.testing.assert_array_equal(out[1], b)  # a new track takes its first descriptor
    np.testing.assert_array_equal(out[2], a)  # a detection without one teaches nothing


@pytest.mark.parametrize(("kwargs", "name"), [({"max_distance": 1.5}, "max_distance"), ({"momentum": -0.1}, "momentum"),
                                              ({"gate": float("inf")}, "gate"), ({"gate": -1.0}, "gate")])  # fmt: skip
def test_bad_reid_settings_raise(kwargs, name):
    with pytest.raises(InvalidArgumentError, match=name):
        Reid(**kwargs)


def test_the_tracker_checks_descriptors():
    tracker = Tracker(reid=Reid())
    with pytest.raises(InvalidArgumentError, match="appearance"):
        tracker.update([[0, 0, 10, 20]], [0.9], np.zeros((1, 3), np.float32))
    with pytest.raises(InvalidArgumentError, match="appearance"):
        tracker.update([[0, 0, 10, 20]], [0.9], np.full((1, DESCRIPTOR_SIZE), np.nan, np.float32))
    assert len(tracker.update([[0, 0, 10, 20]], [0.9], None)) == 0  # no appearance this frame: allowed
    assert Tracker().update([[0, 0, 10, 20]], [0.9], np.zeros((1, 3))).track_id.tolist() == []  # no reid: unread


def test_object_tracks_describe_people_from_the_frame(scene):
    """ObjectTracks describes NanoDet's person boxes in the frame it is given, so HIDDEN keeps their id there too."""
    tracks = ObjectTracks(ObjectSettings(("person", "car")), ids=itertools.count(1))
    assert tracks.trackers["person"].reid == REID and tracks.trackers["car"].reid is None
    centernet = ObjectTracks(ObjectSettings(("person",), detector="centernet"), ids=itertools.count(1))
    assert centernet.trackers["person"].reid is None  # not measured for CenterNet: off
    given: dict[int, set[int]] = {}
    for index, (ids, xyxy, _, rgb) in enumerate(scene, start=FIRST):
        keep = ~((ids == HIDDEN) & (50 <= index < 60))
        person = np.full(int(keep.sum()), COCO_CLASSES.index("person"), np.int64)
        tracked = tracks.update(rgb, Objects(xyxy[keep], np.full(len(person), 0.9, np.float32), person))
        for tid, box in zip(tracked.track_id.tolist(), tracked.xyxy, strict=True):
            given.setdefault(int(ids[keep][(xyxy[keep] == box).all(axis=1)][0]), set()).add(tid)
    assert len(given[HIDDEN]) == 1 and tracks.counted(min_frames=5) == {"person": 6, "car": 0}, given
