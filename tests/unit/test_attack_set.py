"""bench/_attack_set.py on the shared data: every attack type is made, deterministically, with its face where
the generator says, and the tuning and reporting splits share neither people nor appearance.

Short clips (2 frames) keep it fast; the face boxes of the sources come from faceplane's HOG detector
(cached under bench/out after the first run).
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from _attack_looks import BEARERS, DEVICES, DISPLAYS, PAPERS, ROOMS, SKINS, SLEEVES, WALLS
from _attack_set import ATTACK_TYPES, SPLITS, Presentation, presentation, presentations, source_pool

FRAMES = 2
SHARED_ROOMS = {"zubair-room", "own-photo"}  # real.mov's own room; an LFW photo's own background


@pytest.fixture(scope="module")
def made(data: Path) -> dict[str, list[Presentation]]:
    """One presentation of every attack type on a tuning and a reporting split."""
    return {split: list(presentations(data, split, n=5, seed=3, n_frames=FRAMES)) for split in ("lfw-dev", "lfw-test")}


def test_every_attack_type_is_made_with_frames_boxes_and_surfaces(made):
    for split, items in made.items():
        assert [p.attack_type for p in items] == list(ATTACK_TYPES)
        for p in items:
            assert p.split == split
            assert len(p.frames) == FRAMES
            assert all(f.shape == (480, 640, 3) and f.dtype == np.uint8 for f in p.frames)
            assert p.face_box.shape == (FRAMES, 4) and p.face_box.dtype == np.float32
            assert p.face_quad.shape == (FRAMES, 4, 2)
            assert p.surface.shape == (FRAMES, 4, 2)
            assert np.isnan(p.surface).all() == (p.attack_type == "bona_fide")
            assert float(np.std(p.frames[0])) > 10  # a picture, not a blank


def test_same_seed_same_presentation_other_seed_other(data):
    a = presentation(data, "zubair-dev", "replay_phone", seed=11, n_frames=FRAMES)
    b = presentation(data, "zubair-dev", "replay_phone", seed=11, n_frames=FRAMES)
    c = presentation(data, "zubair-dev", "replay_phone", seed=12, n_frames=FRAMES)
    assert all(np.array_equal(x, y) for x, y in zip(a.frames, b.frames, strict=True))
    assert np.array_equal(a.face_box, b.face_box) and a.source_frames == b.source_frames
    assert not np.array_equal(a.frames[0], c.frames[0])
    assert not np.array_equal(a.face_box[0], a.face_box[1])  # the hand moves over the clip


def test_a_presentation_is_rebuilt_alone_from_its_seed(data, made):
    p = made["lfw-test"][3]
    again = presentation(data, "lfw-test", p.attack_type, p.seed, n_frames=FRAMES)
    assert again.source == p.source and np.array_equal(again.frames[-1], p.frames[-1])


def _inside(outer: np.ndarray, inner: np.ndarray, tol_px: float) -> bool:
    contour = outer.astype(np.float32).reshape(-1, 1, 2)
    return all(cv2.pointPolygonTest(contour, (float(x), float(y)), True) >= -tol_px for x, y in inner)


def test_the_face_is_inside_the_frame_and_on_the_screen_or_paper(made):
    for p in made["lfw-dev"] + made["lfw-test"]:
        for t in range(FRAMES):
            quad = p.face_quad[t]
            assert (quad >= -0.5).all() and (quad <= [640.5, 480.5]).all(), (p.attack_type, quad)  # not clipped
            assert np.allclose(p.face_box[t], np.concatenate([quad.min(axis=0), quad.max(axis=0)]), atol=0.5)
            assert p.face_box[t][2] - p.face_box[t][0] >= 15, (p.attack_type, p.face_box[t])
            if p.attack_type != "bona_fide":
                assert _inside(p.surface[t], quad, tol_px=1.5), (p.attack_type, p.surface[t], quad)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    lo, hi = np.maximum(a[:2], b[:2]), np.minimum(a[2:], b[2:])
    inter = float(np.prod(np.clip(hi - lo, 0, None)))
    return inter / float(np.prod(a[2:] - a[:2]) + np.prod(b[2:] - b[:2]) - inter)


def test_the_detector_finds_the_face_where_the_generator_put_it(made):
    from faceplane import Engine

    engine = Engine(detector="hog", upsample=1, num_threads=1)
    hits = 0
    items = made["lfw-dev"] + made["lfw-test"]
    for p in items:
        found = engine.detect(p.frames[0])
        hits += any(_iou(box, p.face_box[0]) >= 0.3 for box in found.xyxy)
    assert hits >= len(items) * 0.6, f"{hits}/{len(items)} generated faces found where the generator put them"


def test_splits_draw_from_disjoint_people_and_frames(data, made):
    pools = {split: set(source_pool(data, split)) for split in SPLITS}
    assert len(pools["lfw-dev"]) > 1000 and len(pools["lfw-test"]) > 500
    assert not pools["lfw-dev"] & pools["lfw-test"]
    assert not pools["zubair-dev"] & pools["zubair-test"]
    assert (
        max(int(s.split("#")[1]) for s in pools["zubair-dev"])
        < 75
        <= min(int(s.split("#")[1]) for s in pools["zubair-test"])
    )
    for split, items in made.items():
        assert {p.source for p in items if p.source.startswith("lfw:")} <= pools[split]
    zubair = presentation(data, "zubair-test", "print", seed=5, n_frames=1)
    assert zubair.source == "zubair" and all(i >= 75 for i in zubair.source_frames)


def test_appearance_families_share_nothing():
    for catalogue in (DEVICES, DISPLAYS, PAPERS, SKINS):
        names = {fam: {x.name for x in catalogue if x.family == fam} for fam in "AB"}
        assert names["A"] and names["B"] and not names["A"] & names["B"]
        assert all(x.name.startswith(f"{x.family}-") for x in catalogue)
    for table in (ROOMS, WALLS, BEARERS, SLEEVES):
        assert table["A"] and table["B"] and not set(table["A"]) & set(table["B"])


def test_each_split_uses_only_its_own_family(made):
    for split, items in made.items():
        fam = SPLITS[split].family
        for p in items:
            look = p.look
            assert look.family == fam
            for name in (look.device, look.display, look.paper, look.skin):
                assert name == "" or name.startswith(f"{fam}-"), (split, look)
            for name in (look.room, look.bearer):
                assert name in ("", *SHARED_ROOMS) or name.startswith(f"{fam}:"), (split, look)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"split": "lfw-train", "attack_type": "print"}, "split"),
        ({"split": "lfw-dev", "attack_type": "video"}, "attack_type"),
        ({"split": "lfw-dev", "attack_type": "print", "n_frames": 0}, "n_frames"),
    ],
)
def test_bad_arguments_raise_value_error(data, kwargs, message):
    with pytest.raises(ValueError, match=message):
        presentation(data, seed=0, **kwargs)
