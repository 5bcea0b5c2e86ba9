"""blur_faces: shapes and errors, the caller's image untouched, kept faces byte-identical, and real faces
made unrecognisable to our own embedder (two_people.jpg, LFW View 1 DevTest pairs)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from faceplane.errors import InvalidArgumentError
from faceplane.redact import blur_faces
from faceplane.verify import load_calibration


def _noise(h: int = 120, w: int = 160) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _sharpness(image: np.ndarray) -> float:
    """Variance of the Laplacian: high for detail, near zero for a smooth blob."""
    return float(cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var())


@pytest.mark.parametrize(
    ("image", "boxes", "keep", "margin", "message"),
    [
        (np.zeros((10, 10), np.uint8), [], None, 0.3, "image must be"),
        (np.zeros((10, 10, 4), np.uint8), [], None, 0.3, "image must be"),
        (np.zeros((10, 10, 3), np.float32), [], None, 0.3, "image must be"),
        ([[[0, 0, 0]]], [], None, 0.3, "image must be"),
        (_noise(), [1, 2, 3, 4], None, 0.3, "boxes must be"),
        (_noise(), [[1, 2, 3]], None, 0.3, "boxes must be"),
        (_noise(), [[1, 2, 3, np.nan]], None, 0.3, "boxes must be"),
        (_noise(), [["a", 2, 3, 4]], None, 0.3, "boxes must be"),
        (_noise(), [[1, 2, 30, 40]], [True, False], 0.3, "keep must be"),
        (_noise(), [[1, 2, 30, 40]], [1], 0.3, "keep must be"),
        (_noise(), [[1, 2, 30, 40]], None, -0.1, "margin must be"),
        (_noise(), [[1, 2, 30, 40]], None, float("inf"), "margin must be"),
    ],
)
def test_bad_input_raises(image, boxes, keep, margin, message):
    with pytest.raises(InvalidArgumentError, match=message):
        blur_faces(image, boxes, keep=keep, margin=margin)


def test_returns_a_new_image_and_leaves_the_callers_alone():
    image = _noise()
    before = image.copy()
    out = blur_faces(image, np.array([[40, 30, 80, 70]], np.float32))
    assert out is not image and out.shape == image.shape and out.dtype == np.uint8
    assert np.array_equal(image, before)
    assert not np.array_equal(out, image)


@pytest.mark.parametrize(
    ("boxes", "keep"),
    [
        (np.zeros((0, 4), np.float32), None),
        ([], None),
        ([[40, 30, 80, 70], [100, 20, 150, 90]], [True, True]),
    ],
)
def test_nothing_to_obscure_gives_an_identical_copy(boxes, keep):
    image = _noise()
    out = blur_faces(image, boxes, keep=keep)
    assert out is not image and np.array_equal(out, image)


def test_only_the_grown_box_changes_and_its_detail_is_gone():
    image = _noise()
    out = blur_faces(image, [[40, 30, 80, 70]], margin=0.25)  # grown to x 30..90, y 20..80
    changed = np.argwhere((out != image).any(axis=2))
    assert changed[:, 0].min() >= 20 and changed[:, 0].max() < 80
    assert changed[:, 1].min() >= 30 and changed[:, 1].max() < 90
    assert (out[20:80, 30:90] != image[20:80, 30:90]).any(axis=2).mean() > 0.95
    assert _sharpness(out[30:70, 40:80]) < _sharpness(image[30:70, 40:80]) / 100


def test_kept_face_byte_identical_even_inside_a_neighbours_margin():
    image = _noise()
    kept, other = [20, 20, 60, 60], [62, 20, 102, 60]  # the bystander's margin reaches into the kept box
    out = blur_faces(image, [kept, other], keep=np.array([True, False]), margin=0.3)
    assert np.array_equal(out[20:60, 20:60], image[20:60, 20:60])
    assert (out[20:60, 62:102] != image[20:60, 62:102]).any(axis=2).mean() > 0.95
    assert (out[20:60, 52:60] == image[20:60, 52:60]).all()  # the margin stops at the kept face


def test_overlapping_faces_the_kept_one_wins():
    image = _noise()
    out = blur_faces(image, [[20, 20, 60, 60], [50, 30, 90, 70]], keep=np.array([True, False]), margin=0.0)
    assert np.array_equal(out[20:60, 20:60], image[20:60, 20:60])
    assert (out[30:70, 60:90] != image[30:70, 60:90]).any(axis=2).mean() > 0.95
    assert (out[60:70, 50:60] != image[60:70, 50:60]).any(axis=2).mean() > 0.95


def test_boxes_outside_or_across_the_border():
    image = _noise()
    out = blur_faces(image, [[-30, -30, 20, 20], [500, 500, 600, 600], [150, 100, 200, 150]])
    assert out.shape == image.shape
    assert (out[:20, :20] != image[:20, :20]).any()
    assert (out[100:, 150:] != image[100:, 150:]).any()


def test_real_faces_no_longer_match_and_the_kept_one_does(engine, examples):
    """two_people.jpg: keep one face, obscure the other; re-embed both from the original landmarks."""
    image = engine.load(examples / "two_people.jpg")
    faces = engine.analyze(image)
    assert len(faces) == 2
    out = blur_faces(image, faces.xyxy, keep=np.array([True, False]))
    after = engine.embed_chips(engine.align(out, faces.xyxy, faces.landmarks))
    distance = np.linalg.norm(after - faces.embedding, axis=1)
    assert distance[0] < 1e-5  # the kept face is untouched
    # even knowing exactly where the face was, it no longer matches
    assert distance[1] > load_calibration(engine.calibration_key).threshold()
    again = engine.detect(out)
    assert len(again) == 1 and np.abs(again.xyxy[0] - faces.xyxy[0]).max() < 2  # only the kept face is found
    x1, y1, x2, y2 = faces.xyxy[1].astype(int)
    assert _sharpness(out[y1:y2, x1:x2]) < _sharpness(image[y1:y2, x1:x2]) / 20


@pytest.mark.slow
def test_obscured_lfw_faces_are_not_identified(engine, data):
    """1:N on LFW DevTest same-person pairs: the obscured first photo should not find its own second photo."""
    root = data / "faces" / "lfw-view1"
    rows = [line.split("\t") for line in (root / "pairsDevTest.txt").read_text().splitlines()[1:501]]
    rows = list({name: (name, a, b) for name, a, b in reversed(rows)}.values())[:40]  # one pair per person
    probes, gallery = [], []
    for name, a, b in rows:
        fa, fb = (engine.analyze(root / "images" / name / f"{name}_{int(n):04d}.jpg") for n in (a, b))
        if len(fa) and len(fb):
            probes.append((engine.load(root / "images" / name / f"{name}_{int(a):04d}.jpg"), fa[:1]))
            gallery.append(fb.embedding[0])
    assert len(gallery) >= 35
    target = np.stack(gallery)
    before = np.stack([f.embedding[0] for _, f in probes])
    after = np.stack(
        [engine.embed_chips(engine.align(blur_faces(img, f.xyxy), f.xyxy, f.landmarks))[0] for img, f in probes]
    )
    rank1 = [
        float(np.mean(np.linalg.norm(e[:, None] - target[None], axis=2).argmin(axis=1) == np.arange(len(target))))
        for e in (before, after)
    ]
    same_after = np.linalg.norm(after - target, axis=1)
    print("rank-1 before/after", rank1, "closest same-person after", np.round(np.sort(same_after)[:3], 3))
    assert rank1[0] >= 0.8, rank1  # the faces are identifiable before
    assert rank1[1] <= 0.1, rank1  # and at about chance (1 / 40) after
    threshold = load_calibration(engine.calibration_key).threshold()
    assert np.mean(same_after < threshold) <= 0.1, np.sort(same_after)[:5]
