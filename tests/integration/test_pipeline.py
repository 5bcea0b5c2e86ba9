"""The Engine on real photos with the real models."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

import faceplane
from faceplane import Engine, NoFaceError
from faceplane.verify import load_calibration


def test_two_people_found_largest_first(engine: Engine, examples):
    faces = engine.analyze(examples / "two_people.jpg")
    assert len(faces) == 2
    assert faces.area[0] >= faces.area[1]
    assert faces.embedding.shape == (2, engine.embedding_dim) and faces.landmarks.shape == (2, 5, 2)
    assert ((faces.quality > 0) & (faces.quality <= 1)).all()
    # landmarks lie inside their own box
    inside = (faces.landmarks >= faces.xyxy[:, None, :2] - 5) & (faces.landmarks <= faces.xyxy[:, None, 2:] + 5)
    assert inside.all()


def test_verify_same_and_different(engine: Engine, examples):
    same = engine.verify(examples / "obama.jpg", examples / "obama2.jpg")
    diff = engine.verify(examples / "obama.jpg", examples / "biden.jpg")
    assert same.is_match and not diff.is_match
    # the same person matches even at a strict false-accept rate; the other is beyond the best-accuracy threshold
    calibration = load_calibration(engine.calibration_key)
    assert same.distance < calibration.threshold_at_far(1e-4) < calibration.threshold() < diff.distance


def test_inputs_path_bytes_array_agree(engine: Engine, examples):
    path = examples / "obama.jpg"
    a = engine.analyze(path)
    b = engine.analyze(path.read_bytes())
    c = engine.analyze(np.asarray(Image.open(path).convert("RGB")))
    np.testing.assert_allclose(a.embedding, b.embedding, atol=1e-6)
    np.testing.assert_allclose(a.embedding, c.embedding, atol=1e-6)


def test_exif_rotated_photo_still_matches(engine: Engine, examples):
    img = Image.open(examples / "obama.jpg").convert("RGB")
    stored = img.transpose(Image.Transpose.ROTATE_90)  # what a phone writes to disk ...
    exif = Image.Exif()
    exif[0x0112] = 6  # ... with the tag that says "rotate 90 degrees clockwise to display"
    buf = io.BytesIO()
    stored.save(buf, format="JPEG", quality=95, exif=exif)
    rotated = engine.analyze(buf.getvalue())
    upright = engine.analyze(examples / "obama.jpg")
    assert len(rotated) == 1
    assert faceplane.face_distance(rotated.embedding, upright.embedding)[0, 0] < 0.15


def test_greyscale_and_rgba_photos_work(engine: Engine, examples):
    img = Image.open(examples / "biden.jpg")
    for mode in ("L", "RGBA", "CMYK"):
        buf = io.BytesIO()
        img.convert(mode).save(buf, format="PNG" if mode != "CMYK" else "JPEG")
        assert len(engine.analyze(buf.getvalue())) == 1, mode


def test_no_face_is_an_empty_result(engine: Engine, data):
    rng = np.random.default_rng(1)
    noise = (rng.random((240, 320, 3)) * 255).astype(np.uint8)
    faces = engine.analyze(noise)
    assert len(faces) == 0 and faces.embedding.shape[0] == 0
    with pytest.raises(NoFaceError, match="second image"):
        engine.verify(data / "faces/face_recognition-examples/examples/obama.jpg", noise)


def test_quality_drops_for_blur_and_small_faces(engine: Engine, examples):
    import cv2

    rgb = engine.load(examples / "obama.jpg")
    sharp = engine.detect(rgb).quality[0]
    blurred = engine.detect(cv2.GaussianBlur(rgb, (0, 0), 4)).quality[0]
    h, w = rgb.shape[:2]
    small_img = cv2.resize(rgb, (w // 6, h // 6), interpolation=cv2.INTER_AREA)
    small = engine.detect(small_img)
    assert blurred < sharp - 0.15
    assert len(small) == 1 and small.quality[0] < sharp


def test_flip_tta_stays_close(examples):
    plain = Engine(flip_tta=False).analyze(examples / "obama.jpg").embedding
    tta = Engine(flip_tta=True).analyze(examples / "obama.jpg").embedding
    d = faceplane.face_distance(plain, tta)[0, 0]
    assert 0 < d < 0.2


def test_cnn_engine_agrees_with_hog_engine(engine: Engine, examples):
    from faceplane.geometry import box_iou

    cnn = Engine(detector="cnn")
    for name in ("two_people.jpg", "obama-240p.jpg"):
        a, b = engine.analyze(examples / name), cnn.analyze(examples / name)
        assert len(a) == len(b) >= 1, name
        iou = box_iou(a.xyxy, b.xyxy)
        assert (iou.max(axis=1) > 0.4).all(), (name, iou)
        # same faces -> same people, whichever detector cut the chip
        d = faceplane.face_distance(a.embedding, b.embedding)
        assert (d.min(axis=1) < 0.4).all(), (name, d)


def test_detect_width_keeps_boxes_and_full_size_chips(engine: Engine, examples):
    """Detecting a 1920-px photo at 640 px finds the same face; chips come from the full-size image."""
    full, full_chips, _ = engine.detect_detailed(examples / "obama-1080p.jpg")
    small, small_chips, _ = Engine(detect_width=640).detect_detailed(examples / "obama-1080p.jpg")
    assert len(full) == len(small) == 1
    assert np.abs(full.xyxy - small.xyxy).max() < 0.03 * (full.xyxy[0, 2] - full.xyxy[0, 0])
    emb = engine.embed_chips(np.concatenate([full_chips, small_chips]))
    assert np.linalg.norm(emb[0] - emb[1]) < load_calibration(engine.calibration_key).threshold() / 6
    with pytest.raises(faceplane.InvalidArgumentError):
        Engine(detect_width=-1)


def test_blazeface_ignores_detect_width(examples):
    """BlazeFace warps any frame to its 192 px input: no shrunk copy first (it cost more than the detection)."""
    photo = examples / "obama-1080p.jpg"
    direct = Engine(detector="blazeface").detect(photo)
    shrunk = Engine(detector="blazeface", detect_width=640).detect(photo)
    assert len(direct) == 1 and np.array_equal(direct.xyxy, shrunk.xyxy)
