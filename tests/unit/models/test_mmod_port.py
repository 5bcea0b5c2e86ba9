"""The onnxruntime MMOD port against dlib's own ``cnn_face_detection_model_v1``.

The comparison runs dlib's CNN (single-threaded, ~6 s a 500x375 photo at ``upsample=1`` here), so
it is limited to five of dlib's small example photos, two of them group photos (6 and 7 faces);
the other checks (pre-processing pieces against dlib's C++, argument validation) take a second.
"""

from __future__ import annotations

import itertools
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from faceplane.errors import InvalidArgumentError
from faceplane.models import _pyramid
from faceplane.models.mmod import MMODDetector

dlib = pytest.importorskip("dlib")

_REPO = Path(__file__).resolve().parents[3]
_DATA = Path(os.environ.get("FACEPLANE_DATA", _REPO.parent / "shared" / "data"))
_FACES = _DATA / "faces" / "dlib-examples" / "examples" / "faces"
# Small photos (500x375 or less): 2008_002470 and 2008_007676 are group photos (6 and 7 faces).
_PHOTOS = ["2008_002470.jpg", "2008_007676.jpg", "2008_002506.jpg", "2008_002079.jpg", "2008_001009.jpg"]
_UPSAMPLE = 1


def _load_rgb(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.ascontiguousarray(np.asarray(im.convert("RGB")))


def _weights() -> str:
    import face_recognition_models as models

    path = models.cnn_face_detector_model_location()
    if not Path(path).is_file():
        pytest.fail(f"MMOD weights not found at {path}")
    return str(path)


def _ground_truth() -> dict[str, np.ndarray]:
    """imglab boxes of dlib's example photos as (N, 4) xyxy, by file name."""
    boxes: dict[str, np.ndarray] = {}
    for xml in ("training.xml", "testing.xml"):
        for image in ET.parse(_FACES / xml).getroot().iter("image"):
            rows = [[int(b.get(k, 0)) for k in ("left", "top", "width", "height")] for b in image.iter("box")]
            arr = np.asarray(rows, dtype=np.float32).reshape(-1, 4)
            arr[:, 2:] += arr[:, :2]
            boxes[str(image.get("file"))] = arr
    return boxes


@pytest.fixture(scope="module")
def results() -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Per photo: dlib's boxes (xyxy) and confidences, then the port's, at upsample=1."""
    missing = [p for p in _PHOTOS if not (_FACES / p).is_file()]
    if missing:
        pytest.fail(f"example photos not found under {_FACES}: {missing}")
    weights = _weights()
    reference = dlib.cnn_face_detection_model_v1(weights)
    port = MMODDetector(weights_path=weights, num_threads=2)
    out = {}
    for name in _PHOTOS:
        img = _load_rgb(_FACES / name)
        dets = reference(img, _UPSAMPLE)
        ref_boxes = np.asarray(
            [[d.rect.left(), d.rect.top(), d.rect.right() + 1, d.rect.bottom() + 1] for d in dets],
            dtype=np.float32,
        ).reshape(-1, 4)
        ref_scores = np.asarray([d.confidence for d in dets], dtype=np.float32)
        boxes, scores = port.detect(img, upsample=_UPSAMPLE)
        out[name] = (ref_boxes, ref_scores, boxes, scores)
    return out


def _area(xyxy: np.ndarray) -> np.ndarray:
    return (xyxy[:, 2] - xyxy[:, 0]) * (xyxy[:, 3] - xyxy[:, 1])


def _match(ref: np.ndarray, got: np.ndarray) -> np.ndarray:
    """For each reference box, the index of the port's box nearest to it (one-to-one)."""
    cost = np.abs(ref[:, None, :] - got[None, :, :]).max(axis=2)
    order = np.full(len(ref), -1)
    for i in np.argsort(cost.min(axis=1)):
        free = [j for j in np.argsort(cost[i]) if j not in order]
        order[i] = free[0]
    return order


@pytest.mark.slow
@pytest.mark.parametrize("name", _PHOTOS)
def test_same_detections_as_dlib(results, name: str) -> None:
    ref_boxes, ref_scores, boxes, scores = results[name]
    assert len(boxes) == len(ref_boxes), f"{name}: port {len(boxes)} faces, dlib {len(ref_boxes)}"
    assert boxes.dtype == np.float32 and scores.dtype == np.float32
    assert np.all(np.diff(scores) <= 0), "scores must be sorted descending"
    if not len(ref_boxes):
        return
    idx = _match(ref_boxes, boxes)
    np.testing.assert_allclose(boxes[idx], ref_boxes, atol=1.0, rtol=0)
    np.testing.assert_allclose(scores[idx], ref_scores, atol=1e-3, rtol=0)


@pytest.mark.slow
def test_group_photos_find_the_annotated_faces(results) -> None:
    """Sanity on imglab ground truth: the port finds the annotated faces of the group photos."""
    truth = _ground_truth()
    for name in ("2008_002470.jpg", "2008_007676.jpg"):
        boxes = results[name][2]
        gt = truth[name]
        lt = np.maximum(gt[:, None, :2], boxes[None, :, :2])
        rb = np.minimum(gt[:, None, 2:], boxes[None, :, 2:])
        inter = np.clip(rb - lt, 0, None).prod(axis=2)
        iou = inter / (_area(gt)[:, None] + _area(boxes)[None, :] - inter)
        assert (iou.max(axis=1) >= 0.5).all(), f"{name}: IoU of each annotated face {iou.max(axis=1)}"


def test_pyramid_up_matches_dlib_resize_bit_for_bit() -> None:
    """The upsampling and its pure-numpy fallback equal dlib's C++ bilinear resize exactly."""
    rng = np.random.default_rng(0)
    for h, w in [(37, 53), (120, 97), (9, 12)]:
        img = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
        rows, cols = _pyramid.pyramid_up_size(h, w)
        assert (rows, cols) == (2 * h + 1, 2 * w + 2)
        expected = dlib.resize_image(img, rows, cols)
        np.testing.assert_array_equal(_pyramid.resize_rgb_u8(img, rows, cols), expected)
        np.testing.assert_array_equal(_pyramid.pyramid_up(img), expected)


def test_pyramid_level_resize_matches_dlib_float_resize() -> None:
    """Pyramid levels: same sample positions as dlib's float resize, to float32 rounding."""
    rng = np.random.default_rng(1)
    for (h, w), (oh, ow) in [((241, 322), (200, 268)), ((13, 19), (10, 15)), ((6, 7), (5, 5))]:
        src = (rng.random((3, h, w), dtype=np.float32) - 0.5).astype(np.float32)
        dst = np.empty((3, oh, ow), np.float32)
        _pyramid.resize_planes_into(src, dst)
        for c in range(3):
            expected = dlib.resize_image(np.ascontiguousarray(src[c]), oh, ow)
            np.testing.assert_allclose(dst[c], expected, atol=1e-6, rtol=0)


def test_tiled_pyramid_layout_shape() -> None:
    """Levels shrink by 5/6, never overlap, and stay inside the tiled image."""
    rects, rows, cols = _pyramid.tiled_pyramid_layout(751, 1002, factor=6, padding=10, outer_padding=11)
    assert cols == 1002 + 22 and rects[0] == (11, 11, 1012, 761)
    for (l0, t0, r0, b0), (l1, t1, r1, b1) in itertools.pairwise(rects):
        assert r1 - l1 + 1 == int(5 / 6 * (r0 - l0 + 1)) and b1 - t1 + 1 == int(5 / 6 * (b0 - t0 + 1))
    for i, a in enumerate(rects):
        assert 0 <= a[0] <= a[2] < cols and 0 <= a[1] <= a[3] < rows
        for b in rects[i + 1 :]:
            assert max(a[0], b[0]) > min(a[2], b[2]) or max(a[1], b[1]) > min(a[3], b[3])


@pytest.mark.parametrize(
    ("image", "kwargs", "needle"),
    [
        (np.zeros((8, 8), np.uint8), {}, "shape"),
        (np.zeros((8, 8, 4), np.uint8), {}, "shape"),
        (np.zeros((8, 8, 3), np.float32), {}, "float32"),
        ([[0, 0, 0]], {}, "list"),
        (np.zeros((8, 8, 3), np.uint8), {"upsample": -1}, "-1"),
        (np.zeros((8, 8, 3), np.uint8), {"upsample": 1.5}, "1.5"),
    ],
)
def test_detect_rejects_bad_arguments(image, kwargs, needle: str) -> None:
    detector = MMODDetector(weights_path="/nonexistent/never-loaded.dat")
    with pytest.raises(InvalidArgumentError, match=needle) as info:
        detector.detect(image, **kwargs)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("kwargs", [{"upsample": -2}, {"num_threads": -1}])
def test_constructor_rejects_bad_arguments(kwargs) -> None:
    with pytest.raises(ValueError, match="-"):
        MMODDetector(**kwargs)


def test_tiny_and_empty_images_give_no_detections() -> None:
    detector = MMODDetector(weights_path=_weights())
    for shape in [(0, 0, 3), (1, 1, 3), (20, 30, 3)]:
        boxes, scores = detector.detect(np.zeros(shape, np.uint8), upsample=0)
        assert boxes.shape == (0, 4) and scores.shape == (0,)
        assert boxes.dtype == np.float32 and scores.dtype == np.float32
