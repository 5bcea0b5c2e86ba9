"""The learned PAD API: crops as upstream makes them, the score mappings, batching, errors.

The models' numerical match with their original runtimes is in tests/unit/models/test_pad_port.py; here
the three classes run on real photos (face_recognition examples, LFW) with faceplane's own boxes.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from faceplane import Engine, load_image
from faceplane.errors import InvalidArgumentError, ModelError
from faceplane.liveness.learned import (
    DTN_THRESHOLD,
    LIVE_THRESHOLD,
    AntiSpoof,
    FaceAntiSpoofing,
    LivenessNet,
    dtn_crop,
    dtn_live,
    human_box,
    training_crop,
)

MODELS = [FaceAntiSpoofing, AntiSpoof, LivenessNet]


@pytest.fixture(scope="module")
def photo(examples: Path) -> tuple[np.ndarray, np.ndarray]:
    """two_people.jpg (RGB) and its two HOG face boxes."""
    image = load_image(examples / "two_people.jpg")
    faces = Engine(detector="hog", num_threads=1).detect(image)
    assert len(faces) == 2
    return image, faces.xyxy


@pytest.fixture(scope="module", params=MODELS, ids=lambda c: c.store_name)
def model(request: pytest.FixtureRequest) -> FaceAntiSpoofing | AntiSpoof | LivenessNet:
    try:
        return request.param()
    except ModelError as exc:
        pytest.fail(str(exc))


# ---------------------------------------------------------------------------------------------
# Mappings and crops (pure functions).


def test_dtn_live_puts_the_upstream_threshold_at_one_half() -> None:
    s = np.array([0.0, 0.1, DTN_THRESHOLD, 0.6, 1.0, 1.7], np.float32)
    live = dtn_live(s)
    np.testing.assert_allclose(live, [1.0, 0.75, LIVE_THRESHOLD, 0.25, 0.0, 0.0], atol=1e-6)
    assert (np.diff(live) <= 0).all()
    assert ((live >= LIVE_THRESHOLD) == (s <= DTN_THRESHOLD)).all()  # the same decisions as upstream's s > 0.2


@pytest.mark.parametrize(
    ("box", "expected"),
    [
        ((10, 20, 49, 79), (20, 79, 0, 59)),  # 40 x 60 (inclusive widths): x grows by 10 before and 10 after
        ((10, 20, 50, 79), (20, 79, 1, 60)),  # 41 x 60: 9 before, 10 after
        ((-10, 5, 29, 64), (25, 64, 0, 39)),  # x0 = -20 after squaring: both starts move in by 20 (limitSquare)
        ((150, 150, 209, 189), (140, 189, 150, 199)),  # 60 x 40 -> y 140..199, then both ends move back by 10
    ],
)
def test_dtn_crop_squares_like_mtcnn_box(box: tuple[int, ...], expected: tuple[int, ...]) -> None:
    image = np.arange(200 * 200 * 3, dtype=np.uint32).reshape(200, 200, 3).astype(np.uint8)
    y0, y1, x0, x1 = expected
    np.testing.assert_array_equal(dtn_crop(image, box), image[y0:y1, x0:x1])


@pytest.mark.parametrize(
    ("box", "square"),
    [
        ((0, 0, 10, 20), (-9, -4, 19, 24)),  # x1.4 -> 14 x 28 about (5, 10), then square on the long side
        ((0.5, 0.5, 10.5, 10.5), (-1, -1, 13, 13)),  # -1.5 and 12.5 round up, as JavaScript's Math.round does
    ],
)
def test_human_box_enlarges_and_squares(box: tuple[float, ...], square: tuple[int, ...]) -> None:
    assert human_box(box) == square


def test_training_crop_is_the_bgr_resize_of_the_truncated_box() -> None:
    image = np.random.default_rng(0).integers(0, 256, (60, 80, 3), dtype=np.uint8)
    crop = training_crop(image, (10.9, 5.2, 50.7, 45.9), 32)
    expected = cv2.resize(np.ascontiguousarray(image[5:45, 10:50, ::-1]), (32, 32)).astype(np.float32) / 255
    np.testing.assert_array_equal(crop, expected)


# ---------------------------------------------------------------------------------------------
# The models on real photos.


def test_scores_are_live_probabilities_with_raw_outputs(model, photo) -> None:
    image, boxes = photo
    scores = model.score_batch(image, boxes)
    assert scores.live.shape == (2,) and scores.live.dtype == np.float32
    assert ((scores.live >= 0) & (scores.live <= 1)).all()
    assert scores.raw.shape == (2, {"faceantispoofing": 1, "antispoof": 1, "liveness": 2}[model.store_name])
    if model.store_name == "liveness":
        np.testing.assert_allclose(scores.raw.sum(axis=1), 1.0, atol=1e-5)  # softmax
        np.testing.assert_array_equal(scores.live, scores.raw[:, 0])  # Human's reading with Human's crop
    elif model.store_name == "faceantispoofing":
        np.testing.assert_array_equal(scores.live, dtn_live(scores.raw[:, 0]))
    else:
        np.testing.assert_array_equal(scores.live, scores.raw[:, 0])


def test_batch_equals_one_at_a_time(model, photo, data: Path) -> None:
    image, boxes = photo
    lfw = load_image(data / "faces" / "lfw-view1" / "images" / "AJ_Cook" / "AJ_Cook_0001.jpg")
    images, xyxy = [image, image, lfw], np.vstack([boxes, [[67, 80, 176, 188]]]).astype(np.float32)
    together = model.score_batch(images, xyxy)
    alone = np.array([model.score(im, box) for im, box in zip(images, xyxy, strict=True)], np.float32)
    np.testing.assert_allclose(together.live, alone, atol=1e-5)
    assert len(model.score_batch(image, np.zeros((0, 4), np.float32))) == 0


def test_crop_follows_the_box(model, photo) -> None:
    """Two different faces, and a face against a patch of background, do not score the same."""
    image, boxes = photo
    background = np.array([[0, 400, 150, 550]], np.float32)  # the bottom-left corner, no face
    scores = model.score_batch(image, np.vstack([boxes, background])).raw
    assert np.abs(scores[0] - scores[1]).max() > 1e-3
    assert np.abs(scores[0] - scores[2]).max() > 1e-3


def test_liveness_training_recipe_reads_the_other_index(photo) -> None:
    image, boxes = photo
    scores = LivenessNet(recipe="training").score_batch(image, boxes)
    np.testing.assert_array_equal(scores.live, scores.raw[:, 1])
    with pytest.raises(InvalidArgumentError, match="recipe"):
        LivenessNet(recipe="opencv")


def test_sharpness_counts_laplacian_responses(photo) -> None:
    image, boxes = photo
    sharp = FaceAntiSpoofing.sharpness(image, boxes[0])
    blurred = FaceAntiSpoofing.sharpness(cv2.GaussianBlur(image, (0, 0), 4), boxes[0])
    assert sharp > blurred >= 0
    assert FaceAntiSpoofing.sharpness(np.full_like(image, 128), boxes[0]) == 0


@pytest.mark.parametrize(
    ("image", "boxes", "message"),
    [
        (np.zeros((50, 50, 3), np.float32), [[5, 5, 40, 40]], "uint8"),
        (np.zeros((50, 50), np.uint8), [[5, 5, 40, 40]], "uint8"),
        (np.zeros((50, 50, 3), np.uint8), [[5, 5, 4, 40]], "x1 > x0"),
        (np.zeros((50, 50, 3), np.uint8), [[5, 5, np.nan, 40]], "finite"),
        (np.zeros((50, 50, 3), np.uint8), [5, 5, 40, 40], r"\(N, 4\)"),
        ([np.zeros((50, 50, 3), np.uint8)] * 2, [[5, 5, 40, 40]], "2 images for 1 boxes"),
        (np.zeros((50, 50, 3), np.uint8), [[60, 60, 90, 90]], "no face pixels"),
    ],
    ids=["float", "grey", "empty-box", "nan", "flat-boxes", "count", "outside"],
)
def test_bad_input_is_an_invalid_argument(image, boxes, message: str) -> None:
    model = FaceAntiSpoofing()
    with pytest.raises(InvalidArgumentError, match=message):
        model.score_batch(image, boxes)


def test_a_missing_model_names_the_install_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FACEPLANE_MODEL_STORE", str(tmp_path))
    for cls in MODELS:
        with pytest.raises(ModelError, match=f"faceplane models install {cls.store_name}"):
            cls()
