"""Device/print frame evidence (faceplane.liveness.device) on real shared frames: the phone replay in
``fake.mp4`` against the live ``real.mov``, a real face photo framed by a rendered device, input checks.

Accuracy per source, dev and held-out apart, is in bench/liveness_device.py; these tests hold the
behaviour the fusion relies on."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from faceplane import Engine, InvalidArgumentError
from faceplane.liveness.device import DEVICE_CLASSES, DeviceCues, DeviceResult, device_frame
from faceplane.objects import COCO_CLASSES, Objects
from faceplane.video import VideoSource

VIDEOS = "liveness/antispoof-zubair-videos/videos"
MAN_BEHIND = np.array([366, 263, 552, 450], np.float32)  # the live man behind the phone in fake.mp4
BOX = np.array([270, 190, 370, 290], np.float32)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    x0, y0 = np.maximum(a[:2], b[:2])
    x1, y1 = np.minimum(a[2:], b[2:])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    return float(inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter))


@pytest.fixture(scope="module")
def blazeface() -> Engine:
    return Engine(detector="blazeface", num_threads=1)


def _video_evidence(data: Path, engine: Engine, name: str, step: int = 3) -> list[float]:
    """Evidence of the presented face (real.mov: the man; fake.mp4: the face on the phone), every ``step``-th frame."""
    found = []
    for i, frame in enumerate(VideoSource(str(data / VIDEOS / name), fps=None).frames()):
        if i % step:
            continue
        boxes = [b for b in engine.detect(frame.image).xyxy if name == "real.mov" or _iou(b, MAN_BEHIND) <= 0.5]
        found += [device_frame(frame.image, b).evidence for b in boxes[:1]]
    return found


@pytest.mark.slow
def test_the_phone_in_fake_mp4_scores_far_above_the_live_man(data, blazeface):
    live = _video_evidence(data, blazeface, "real.mov")
    phone = _video_evidence(data, blazeface, "fake.mp4")
    assert len(live) >= 40 and len(phone) >= 25
    assert np.median(phone) - np.median(live) >= 0.6
    assert np.mean(np.array(phone) > 0.5) >= 0.6 and np.mean(np.array(live) > 0.5) <= 0.1


def _framed_face(data: Path, angle_deg: float, bezel_grey: int) -> np.ndarray:
    """A 640x480 frame: a real face photo on a rendered device (a 14 px bezel of grey ``bezel_grey``,
    rotated ``angle_deg``, one corner nearer the camera) held in front of a real room photo."""
    room = cv2.resize(cv2.imread(str(data / "objects/coco128/images/val2017/000000000139.jpg")), (640, 480))
    room = cv2.GaussianBlur(cv2.cvtColor(room, cv2.COLOR_BGR2RGB), (0, 0), 1.5)
    photo = cv2.cvtColor(
        cv2.imread(str(data / "faces/face_recognition-examples/examples/obama.jpg")), cv2.COLOR_BGR2RGB
    )
    screen = cv2.resize(photo, (180, 240), interpolation=cv2.INTER_AREA).astype(np.float32)
    pad = 14
    device = np.full((240 + 2 * pad, 180 + 2 * pad, 3), bezel_grey, np.float32)
    device[pad : pad + 240, pad : pad + 180] = screen
    alpha = np.ones(device.shape[:2], np.float32)
    h, w = device.shape[:2]
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    rot = cv2.getRotationMatrix2D((w / 2, h / 2), angle_deg, 1.0)
    dst = (np.hstack([src, np.ones((4, 1), np.float32)]) @ rot.T + (320 - w / 2, 240 - h / 2)).astype(np.float32)
    dst[1] += (6, 4)  # perspective: one corner nearer the camera
    warp = cv2.getPerspectiveTransform(src, dst)
    dev = cv2.warpPerspective(device, warp, (640, 480))
    a = cv2.warpPerspective(alpha, warp, (640, 480))[..., None]
    out = cv2.GaussianBlur(dev * a + room * (1 - a), (0, 0), 0.8)
    return np.clip(out, 0, 255).astype(np.uint8)


@pytest.mark.parametrize(("angle_deg", "bezel_grey"), [(0.0, 20), (12.0, 20), (-18.0, 225), (25.0, 150)])
def test_a_rendered_device_around_a_real_face_is_found_on_four_sides(data, engine, angle_deg, bezel_grey):
    image = _framed_face(data, angle_deg, bezel_grey)
    faces = engine.detect(image)
    assert len(faces) == 1
    result = device_frame(image, faces.xyxy[0])
    assert result.cues.sides == 4 and result.cues.corners >= 3
    assert result.evidence > 0.8 and any("frame" in r for r in result.reasons)
    quad = result.cues.quad
    assert quad is not None and quad.shape == (4, 2)
    centre = faces.xyxy[0].reshape(2, 2).mean(axis=0)
    assert cv2.pointPolygonTest(quad.astype(np.float32), tuple(map(float, centre)), False) > 0  # encloses the face
    grey = np.repeat(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)  # colour plays no part
    assert device_frame(grey, faces.xyxy[0]) == result


@pytest.mark.parametrize("source", ["real.mov", "image_T1.jpg"])
def test_a_plain_live_frame_is_low(data, engine, source):
    if source == "real.mov":  # the first frame: the man in his room, a window and a wall corner beside him
        image = next(iter(VideoSource(str(data / VIDEOS / source), fps=None).frames())).image
    else:  # the live still of the silent-face set (stored rotated; load applies the EXIF rotation)
        image = engine.load(data / "liveness/antispoof-silent-face/images/sample" / source)
    faces = engine.detect(image)
    assert len(faces) == 1
    result = device_frame(image, faces.xyxy[0])
    assert result.evidence < 0.3 and result.reasons == [] and result.cues.corners <= 1
    assert result == device_frame(image.copy(), faces.xyxy[0].copy())  # deterministic


def _objects(rows: list[tuple[str, float, tuple[float, float, float, float]]]) -> Objects:
    return Objects(
        np.array([r[2] for r in rows], np.float32).reshape(-1, 4),
        np.array([r[1] for r in rows], np.float32),
        np.array([COCO_CLASSES.index(r[0]) for r in rows], np.int64),
    )


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([("cell phone", 0.5, (200, 100, 460, 420))], "cell phone"),  # holds the face, 8x its area
        ([("tv", 0.3, (200, 100, 460, 420)), ("book", 0.45, (250, 150, 400, 330))], "book"),
        ([("cell phone", 0.6, (280, 200, 360, 280))], ""),  # inside the face: a phone in the hand, not around it
        ([("cell phone", 0.6, (380, 100, 600, 420))], ""),  # beside the face
        ([("person", 0.9, (200, 100, 460, 420))], ""),  # not a device class
    ],
)
def test_the_object_view(rows, expected):
    image = np.full((480, 640, 3), 128, np.uint8)
    result = device_frame(image, BOX, objects=_objects(rows))
    assert result.cues.object_class == expected
    if expected:
        assert result.evidence > 0.3 and any(expected in r for r in result.reasons)
    else:
        assert result.evidence == 0.0 and result.reasons == []
    assert set(DEVICE_CLASSES) <= set(COCO_CLASSES)


def test_nanodet_sees_the_phone_in_fake_mp4(data):
    from faceplane.objects import ObjectDetector

    frame = next(f for f in VideoSource(str(data / VIDEOS / "fake.mp4"), fps=None).frames() if f.t_s >= 4.0)
    detector = ObjectDetector(classes=DEVICE_CLASSES, min_score=0.1, num_threads=1)
    phone_face = np.array([462, 223, 570, 332], np.float32)  # HOG's box of the face on the screen at t = 4 s
    result = device_frame(frame.image, phone_face, objects=detector.detect(frame.image))
    assert result.cues.object_class == "cell phone" and result.cues.object_score >= 0.3


@pytest.mark.parametrize(
    ("image", "box", "match"),
    [
        (np.zeros((480, 640, 3), np.float32), BOX, "uint8"),
        (np.zeros((480, 640), np.uint8), BOX, r"\(H, W, 3\)"),
        ([[0, 0, 0]], BOX, "array"),
        (np.zeros((480, 640, 3), np.uint8), np.array([1, 2, 3], np.float32), "4 finite"),
        (np.zeros((480, 640, 3), np.uint8), np.array([0, 0, np.inf, 10], np.float32), "4 finite"),
        (np.zeros((480, 640, 3), np.uint8), np.array([300, 300, 200, 400], np.float32), "empty"),
        (np.zeros((480, 640, 3), np.uint8), np.array([620, 400, 820, 600], np.float32), "outside"),
    ],
)
def test_bad_input_is_refused(image, box, match):
    with pytest.raises(InvalidArgumentError, match=match):
        device_frame(image, box)


def test_result_types_on_an_empty_scene():
    result = device_frame(np.full((480, 640, 3), 128, np.uint8), BOX)
    assert isinstance(result, DeviceResult) and isinstance(result.cues, DeviceCues)
    assert (result.evidence, result.cues.sides, result.cues.quad, result.reasons) == (0.0, 0, None, [])
