import numpy as np
import pytest

from faceplane.geometry import box_iou, clip_boxes, ltrb_inclusive_from_xyxy, xyxy_from_ltrb_inclusive


@pytest.mark.parametrize("ltrb", [[0, 0, 9, 9], [10, 20, 59, 79], [-5, 3, 4, 100]])
def test_dlib_rect_round_trip(ltrb):
    xyxy = xyxy_from_ltrb_inclusive([ltrb])
    assert xyxy[0, 2] - xyxy[0, 0] == ltrb[2] - ltrb[0] + 1
    assert ltrb_inclusive_from_xyxy(xyxy).tolist() == [ltrb]


def test_iou_table():
    a = np.array([[0, 0, 10, 10], [0, 0, 10, 10]], np.float32)
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]], np.float32)
    np.testing.assert_allclose(box_iou(a, b)[0], [1.0, 50 / 150, 0.0], rtol=1e-6)
    assert box_iou(a, np.zeros((0, 4))).shape == (2, 0)


def test_clip():
    assert clip_boxes([[-5, -5, 50, 50]], 40, 30).tolist() == [[0, 0, 40, 30]]
