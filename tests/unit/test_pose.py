"""Head pose from 68-point landmarks on real photos: mirror and rotation behave as documented."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from faceplane import Engine, InvalidArgumentError
from faceplane.pose import head_pose


@pytest.fixture(scope="module")
def engine68():
    return Engine(landmarks=68)


def _pose(engine68, rgb):
    faces = engine68.detect(rgb)
    assert len(faces) == 1
    return head_pose(faces.landmarks, rgb.shape[1], rgb.shape[0])[0]


def test_turned_face_mirror_and_roll(engine68, examples):
    rgb = np.asarray(Image.open(examples / "alex-lacamoire.png").convert("RGB"))
    yaw, pitch, roll = _pose(engine68, rgb)
    assert yaw > 8  # he faces the image's right
    m_yaw, m_pitch, m_roll = _pose(engine68, np.ascontiguousarray(rgb[:, ::-1]))
    assert m_yaw == pytest.approx(-yaw, abs=4) and m_pitch == pytest.approx(pitch, abs=4)
    assert m_roll == pytest.approx(-roll, abs=4)
    h, w = rgb.shape[:2]
    turned = cv2.warpAffine(rgb, cv2.getRotationMatrix2D((w / 2, h / 2), -20, 1.0), (w, h))  # 20 deg clockwise
    assert _pose(engine68, turned)[2] == pytest.approx(roll + 20, abs=4)


def test_frontal_face_is_near_zero_yaw(engine68, examples):
    rgb = np.asarray(Image.open(examples / "obama.jpg").convert("RGB"))
    assert abs(_pose(engine68, rgb)[0]) < 8


def test_needs_68_points():
    with pytest.raises(InvalidArgumentError, match="68"):
        head_pose(np.zeros((1, 5, 2)), 640, 480)
