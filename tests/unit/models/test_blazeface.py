"""MediaPipe BlazeFace and face mesh on real photos, with the models inside the mediapipe wheel.

Needs the ``faceplane[mediapipe]`` extra (its own venv: it pins numpy < 2); skipped without it.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mediapipe")

from faceplane import load_image
from faceplane.errors import InvalidArgumentError, ModelError
from faceplane.geometry import box_iou
from faceplane.models.blazeface import (
    MEDIAPIPE_MODEL_FILES,
    BlazeFaceDetector,
    FaceMesh,
    mediapipe_model_path,
)
from faceplane.models.dlib_models import HogDetector

pytestmark = pytest.mark.mediapipe

MODELS = ["short", "full"]


@pytest.fixture(scope="module", params=MODELS)
def detector(request: pytest.FixtureRequest):
    with BlazeFaceDetector(model=request.param) as det:
        yield det


@pytest.fixture(scope="module")
def mesh():
    with FaceMesh(max_faces=4) as model:
        yield model


@pytest.fixture(scope="module")
def obama(examples: Path) -> np.ndarray:
    return load_image(examples / "obama.jpg")


@pytest.fixture(scope="module")
def two_people(examples: Path) -> np.ndarray:
    return load_image(examples / "two_people.jpg")


@pytest.fixture(scope="module")
def noise() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)


@pytest.mark.parametrize("name", sorted(MEDIAPIPE_MODEL_FILES))
def test_models_are_inside_the_installed_wheel(name: str) -> None:
    path = mediapipe_model_path(name)
    assert path.is_file() and path.suffix == ".tflite"
    assert "mediapipe" in path.parts


def test_two_people_gives_two_faces(detector: BlazeFaceDetector, two_people: np.ndarray) -> None:
    boxes, scores = detector.detect(two_people)
    assert boxes.shape == (2, 4) and boxes.dtype == np.float32
    assert scores.shape == (2,) and scores.dtype == np.float32
    assert np.all(scores >= detector.min_score) and np.all(np.diff(scores) <= 0)
    assert np.all(boxes[:, 2:] > boxes[:, :2])
    assert box_iou(boxes[:1], boxes[1:])[0, 0] == 0.0  # two different people, side by side


def test_obama_box_agrees_with_hog(detector: BlazeFaceDetector, obama: np.ndarray) -> None:
    boxes, _ = detector.detect(obama)
    hog_boxes, _ = HogDetector(upsample=1).detect(obama)
    assert len(boxes) == 1 and len(hog_boxes) == 1
    assert box_iou(boxes, hog_boxes)[0, 0] > 0.3


def test_keypoints_lie_in_the_face(detector: BlazeFaceDetector, obama: np.ndarray) -> None:
    boxes, _, keypoints = detector.detect_with_keypoints(obama)
    assert keypoints.shape == (1, 6, 2) and keypoints.dtype == np.float32
    x1, y1, x2, y2 = boxes[0]
    eyes_nose_mouth = keypoints[0, :4]
    assert np.all((eyes_nose_mouth >= [x1, y1]) & (eyes_nose_mouth <= [x2, y2]))
    right_eye, left_eye, nose, mouth = eyes_nose_mouth
    assert right_eye[0] < left_eye[0]  # the subject's right eye is on the image's left
    assert max(right_eye[1], left_eye[1]) < nose[1] < mouth[1]


def test_noise_has_no_face(detector: BlazeFaceDetector, noise: np.ndarray) -> None:
    # The short-range model "sees" a face in uniform noise about one time in four, scoring 0.52-0.57
    # (measured over 40 noise images); the faces in these photos score above 0.9, so 0.6 filters it.
    threshold = 0.6 if detector.model == "short" else None
    boxes, scores, keypoints = detector.detect_with_keypoints(noise, threshold=threshold)
    assert boxes.shape == (0, 4) and scores.shape == (0,) and keypoints.shape == (0, 6, 2)


def test_full_range_finds_nothing_in_noise_at_the_default_score(noise: np.ndarray) -> None:
    with BlazeFaceDetector(model="full") as det:
        assert len(det.detect(noise)[0]) == 0


def test_threshold_filters_weak_faces(obama: np.ndarray) -> None:
    with BlazeFaceDetector(min_score=0.3) as det:
        boxes, scores = det.detect(obama)
        strict, _ = det.detect(obama, threshold=min(1.0, float(scores.max()) + 1e-3))
    assert len(boxes) >= 1 and len(strict) == 0


def test_mesh_on_obama(mesh: FaceMesh, obama: np.ndarray) -> None:
    points = mesh.predict(obama)
    assert points.shape == (1, 468, 3) and points.dtype == np.float32
    with BlazeFaceDetector(model="short") as det:
        (box,), _ = det.detect(obama)
    x1, y1, x2, y2 = box
    margin = 0.1 * (x2 - x1)  # the mesh reaches the hairline, a little above the detector's box
    xy = points[0, :, :2]
    assert np.all((xy >= [x1 - margin, y1 - margin]) & (xy <= [x2 + margin, y2 + margin]))
    assert np.mean((xy >= [x1, y1]) & (xy <= [x2, y2])) > 0.95
    assert np.ptp(points[0, :, 2]) < (x2 - x1)  # depth on the scale of x: a head is not deeper than wide


def test_mesh_two_people_and_noise(mesh: FaceMesh, two_people: np.ndarray, noise: np.ndarray) -> None:
    assert mesh.predict(two_people).shape == (2, 468, 3)
    assert mesh.predict(noise).shape == (0, 468, 3)


def test_refined_mesh_has_iris_points(obama: np.ndarray) -> None:
    with FaceMesh(max_faces=1, refine=True) as model:
        assert model.predict(obama).shape == (1, 478, 3)


def test_close_then_reuse(obama: np.ndarray) -> None:
    det = BlazeFaceDetector()
    first, _ = det.detect(obama)
    det.close()
    det.close()  # idempotent
    again, _ = det.detect(obama)  # rebuilt on use
    det.close()
    np.testing.assert_allclose(first, again)


def test_threads_share_one_detector(two_people: np.ndarray) -> None:
    results: list[np.ndarray] = []
    with BlazeFaceDetector() as det:
        expected, _ = det.detect(two_people)

        def work() -> None:
            for _ in range(5):
                results.append(det.detect(two_people)[0])

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(results) == 20
    for boxes in results:
        np.testing.assert_allclose(boxes, expected)


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((64, 64), np.uint8),
        np.zeros((64, 64, 4), np.uint8),
        np.zeros((64, 64, 3), np.float32),
        np.zeros((0, 64, 3), np.uint8),
        [[[0, 0, 0]]],
    ],
    ids=["grey", "rgba", "float", "empty", "list"],
)
def test_bad_images_raise(image: object) -> None:
    with pytest.raises(InvalidArgumentError):
        BlazeFaceDetector().detect(image)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError):
        FaceMesh().predict(image)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda: BlazeFaceDetector(model="mid"), "'mid'"),  # type: ignore[arg-type]
        (lambda: BlazeFaceDetector(min_score=1.5), "1.5"),
        (lambda: BlazeFaceDetector(min_score=-0.1), "-0.1"),
        (lambda: FaceMesh(max_faces=0), "got 0"),
        (lambda: FaceMesh(max_faces=2.5), "2.5"),  # type: ignore[arg-type]
    ],
)
def test_bad_arguments_raise_naming_the_value(make, needle: str) -> None:
    with pytest.raises(InvalidArgumentError, match=needle):
        make()


def test_threshold_below_min_score_raises(obama: np.ndarray) -> None:
    with pytest.raises(InvalidArgumentError, match=r"got 0\.2"):
        BlazeFaceDetector(min_score=0.5).detect(obama, threshold=0.2)


def test_missing_mediapipe_is_a_model_error(monkeypatch: pytest.MonkeyPatch, obama: np.ndarray) -> None:
    monkeypatch.setitem(sys.modules, "mediapipe", None)  # makes `import mediapipe` fail
    with pytest.raises(ModelError, match=r"faceplane\[mediapipe\]"):
        BlazeFaceDetector().detect(obama)


def test_engine_with_blazeface_embeds_the_same_person(examples) -> None:
    from faceplane import Engine, face_distance

    fast = Engine(detector="blazeface")
    ref = Engine()
    for name in ("obama.jpg", "two_people.jpg"):
        a, b = fast.analyze(examples / name), ref.analyze(examples / name)
        assert len(a) == len(b), name
        # the chip is cut from dlib's 5 points on BlazeFace's box: still the same person
        assert (face_distance(a.embedding, b.embedding).min(axis=1) < 0.35).all(), name
